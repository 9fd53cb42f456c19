use proptest::prelude::*;

use super::*;

fn params(max_step: u8, hysteresis_percent: u8) -> Rebalancing {
    Rebalancing { max_step, hysteresis_percent, initial_weight: 8 }
}

fn shard(index: u8, current: Option<u8>, healthy: u32, draining: bool) -> ShardCapacity {
    ShardCapacity {
        index: ShardIndex::new(index).unwrap(),
        current,
        healthy_targets: healthy,
        draining,
        protection: Protection::Matches,
    }
}

fn fleet() -> impl Strategy<Value = Vec<ShardCapacity>> {
    prop::collection::vec((prop::option::of(0u8..=255), 0u32..2000, prop::bool::weighted(0.15)), 1..12).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (current, healthy, draining))| shard(i as u8, current, healthy, draining))
            .collect()
    })
}

fn weights_after(shards: &[ShardCapacity], plan: &WeightPlan) -> Vec<u8> {
    apply_plan(shards, plan).iter().map(|s| s.current.unwrap_or(0)).collect()
}

/// Passes until nothing changes (bounded: every pass moves each shard at least one step toward its target).
fn settle(mut shards: Vec<ShardCapacity>, p: &Rebalancing) -> (Vec<ShardCapacity>, usize) {
    for pass in 0..=(255 / usize::from(p.max_step) + 2) {
        let plan = plan_weights(&shards, p);
        if plan.changes.is_empty() {
            return (shards, pass);
        }
        shards = apply_plan(&shards, &plan);
    }
    panic!("did not settle: {shards:?}");
}

proptest! {
    #[test]
    fn weights_stay_in_range_and_never_all_zero(shards in fleet(), step in 1u8..=255, band in 0u8..=20) {
        let plan = plan_weights(&shards, &params(step, band));
        let after = weights_after(&shards, &plan);
        let before_all_zero = shards.iter().all(|s| s.current.unwrap_or(0) == 0);
        prop_assert!(plan.changes.is_empty() || after.iter().any(|w| *w > 0), "all zero: {after:?}");
        prop_assert!(!after.iter().all(|w| *w == 0) || before_all_zero || plan.changes.is_empty());
    }

    #[test]
    fn draining_shards_get_zero(shards in fleet(), step in 1u8..=255) {
        let plan = plan_weights(&shards, &params(step, 0));
        for (s, w) in shards.iter().zip(weights_after(&shards, &plan)) {
            if s.draining && !plan.changes.is_empty() {
                prop_assert_eq!(w, 0, "draining shard {} kept weight", s.index);
            }
        }
    }

    #[test]
    fn increases_respect_the_ramp_step(shards in fleet(), step in 1u8..=255, band in 0u8..=20) {
        let plan = plan_weights(&shards, &params(step, band));
        for change in &plan.changes {
            let from = change.from.unwrap_or(0);
            prop_assert!(change.to <= from.saturating_add(step), "{change:?} jumps more than {step}");
        }
    }

    #[test]
    fn same_input_same_plan(shards in fleet(), step in 1u8..=255, band in 0u8..=20) {
        prop_assert_eq!(plan_weights(&shards, &params(step, band)), plan_weights(&shards, &params(step, band)));
    }

    #[test]
    fn settled_weights_are_within_one_unit_of_ideal_and_a_further_pass_changes_nothing(shards in fleet(), step in 1u8..=255) {
        let p = params(step, 0);
        let (settled, _) = settle(shards, &p);
        prop_assert!(plan_weights(&settled, &p).changes.is_empty());
        // Shares, in units of the ideal weights: what each shard receives versus what its capacity warrants.
        let ideal = ideal_weights(&settled);
        let ideal_total: f64 = ideal.iter().map(|(_, w)| f64::from(*w)).sum();
        let total: f64 = settled.iter().map(|s| f64::from(s.current.unwrap_or(0))).sum();
        if total > 0.0 && ideal_total > 0.0 {
            for (s, (_, t)) in settled.iter().zip(&ideal) {
                let received = f64::from(s.current.unwrap_or(0)) * ideal_total / total;
                prop_assert!((received - f64::from(*t)).abs() <= 1.0, "shard {} gets {received:.2} of ideal {t}", s.index);
            }
        }
    }

    #[test]
    fn a_pass_over_its_own_unclamped_output_changes_nothing(shards in fleet(), band in 0u8..=20) {
        let p = params(255, band);
        let plan = plan_weights(&shards, &p);
        let after = apply_plan(&shards, &plan);
        prop_assert!(plan_weights(&after, &p).changes.is_empty());
    }
}

#[test]
fn a_shard_losing_half_its_targets_gets_half_the_weight() {
    let shards = [shard(0, Some(255), 10, false), shard(1, Some(255), 5, false)];
    let plan = plan_weights(&shards, &params(32, 5));
    assert_eq!(weights_after(&shards, &plan), vec![255, 128]);
}

#[test]
fn a_new_shard_ramps_by_the_step() {
    let mut shards = vec![shard(0, Some(255), 10, false), shard(1, Some(8), 10, false)];
    let p = params(32, 5);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let plan = plan_weights(&shards, &p);
        shards = apply_plan(&shards, &plan);
        seen.push(shards[1].current.unwrap());
    }
    assert_eq!(&seen[..4], &[40, 72, 104, 136]);
    assert!(seen.last().unwrap() >= &230, "ramped close to its share: {seen:?}");
}

#[test]
fn no_change_inside_the_hysteresis_band() {
    let shards = [shard(0, Some(250), 100, false), shard(1, Some(255), 100, false)];
    assert!(plan_weights(&shards, &params(32, 5)).changes.is_empty());
    assert_eq!(plan_weights(&shards, &params(32, 0)).changes.len(), 1);
}

#[test]
fn when_no_shard_has_a_healthy_target_weights_stay_equal_not_zero() {
    let shards = [shard(0, Some(255), 0, false), shard(1, Some(0), 0, false)];
    let plan = plan_weights(&shards, &params(255, 0));
    assert_eq!(weights_after(&shards, &plan), vec![255, 255]);
}

#[test]
fn a_draining_only_fleet_is_never_set_all_zero() {
    let shards = [shard(0, Some(100), 10, true)];
    assert!(plan_weights(&shards, &params(32, 5)).changes.is_empty());
}

#[test]
fn a_reason_is_answered_as_the_sentence_it_displays_and_reads_back() {
    use WeightReason::*;
    for reason in [WithinBand, AllZero, FollowCapacity, GuardRefused, BeingDeleted, Paused] {
        let written = serde_json::to_value(reason).unwrap();
        assert_eq!(written, serde_json::json!(reason.to_string()));
        assert_eq!(serde_json::from_value::<WeightReason>(written).unwrap(), reason);
    }
}

#[test]
fn a_shard_less_protected_than_the_fleet_gets_no_weight_and_an_unread_one_is_not_raised() {
    let missing = Protection::Missing { fleet_web_acl: "arn:acl/a".into() };
    let shards = vec![
        shard(0, Some(255), 10, false),
        ShardCapacity { protection: missing, ..shard(1, Some(200), 10, false) },
        ShardCapacity { protection: Protection::Unknown, ..shard(2, Some(8), 10, false) },
    ];
    let plan = plan_weights(&shards, &params(32, 5));
    let to = |i: u8| plan.changes.iter().find(|c| c.index.get() == i).map(|c| c.to);
    assert_eq!(to(1), Some(0), "less protected: taken out at once");
    assert_eq!(to(2), None, "unknown: held at its weight, not ramped");
    assert_eq!(plan.targets[1].1, 0);
}

#[test]
fn equal_weights_without_a_capacity_signal_leave_out_a_less_protected_shard() {
    let differs = Protection::Differs { web_acl: "arn:acl/b".into(), fleet_web_acl: "arn:acl/a".into() };
    let shards =
        vec![shard(0, Some(255), 0, false), ShardCapacity { protection: differs, ..shard(1, Some(255), 0, false) }];
    assert_eq!(ideal_weights(&shards).iter().map(|(_, w)| *w).collect::<Vec<_>>(), vec![MAX_WEIGHT, 0]);
}

#[test]
fn a_less_protected_shard_keeps_its_weight_while_it_alone_has_healthy_targets() {
    let missing = Protection::Missing { fleet_web_acl: "arn:acl/a".into() };
    let shards =
        vec![shard(0, Some(255), 0, false), ShardCapacity { protection: missing, ..shard(1, Some(255), 4, false) }];
    assert_eq!(ideal_weights(&shards).iter().map(|(_, w)| *w).collect::<Vec<_>>(), vec![0, MAX_WEIGHT]);
}

#[test]
fn protection_never_takes_more_than_half_the_healthy_capacity_out_of_rotation() {
    let missing = || Protection::Missing { fleet_web_acl: "arn:acl/a".into() };
    let less = |i: u8| ShardCapacity { protection: missing(), ..shard(i, Some(255), 10, false) };
    let half = vec![shard(0, Some(255), 10, false), less(1)];
    assert_eq!(ideal_weights(&half).iter().map(|(_, w)| *w).collect::<Vec<_>>(), vec![MAX_WEIGHT, 0]);
    let most = vec![shard(0, Some(255), 10, false), less(1), less(2)];
    assert!(ideal_weights(&most).iter().all(|(_, w)| *w == MAX_WEIGHT), "availability first");
}

#[test]
fn an_unread_shard_is_raised_when_no_other_shard_can_carry_the_traffic() {
    let unread = ShardCapacity { protection: Protection::Unknown, ..shard(1, Some(0), 10, false) };
    let plan = plan_weights(&[shard(0, Some(255), 0, false), unread], &params(32, 5));
    assert!(plan.changes.iter().any(|c| c.index.get() == 1 && c.to > 0), "{plan:?}");
}

use proptest::prelude::*;

use super::*;
use crate::plan::protection::Protection;
use crate::plan::weights::{ShardCapacity, apply_plan, plan_weights};
use crate::spec::Rebalancing;

fn shard(index: u8, weight: u8, healthy: Option<u32>) -> GuardedShard {
    GuardedShard { index: ShardIndex::new(index).unwrap(), weight, healthy, serving: true }
}

#[test]
fn all_zero_weights_are_refused() {
    assert!(check(&[shard(0, 0, Some(3)), shard(1, 0, Some(0))]).is_err());
    assert!(check(&[]).is_ok(), "a fleet without records has nothing to guard");
}

#[test]
fn weight_only_on_empty_shards_is_refused_while_a_shard_has_healthy_targets() {
    // The rebalancer zeroed shard 1 (no healthy targets); draining shard 0 would leave weight on nothing good.
    assert!(check(&[shard(0, 0, Some(4)), shard(1, 12, Some(0))]).is_err());
    assert!(check(&[shard(0, 255, Some(4)), shard(1, 0, Some(0))]).is_ok());
    // Nobody has healthy targets: nothing better exists, weights may stay where they are.
    assert!(check(&[shard(0, 10, Some(0)), shard(1, 0, Some(0))]).is_ok());
}

#[test]
fn a_draining_shard_with_healthy_targets_strands_no_one() {
    let draining = GuardedShard { serving: false, ..shard(0, 0, Some(4)) };
    assert!(check(&[draining, shard(1, 32, Some(0))]).is_ok());
}

#[test]
fn unknown_health_gets_the_benefit_of_the_doubt() {
    assert!(check(&[shard(0, 0, Some(4)), shard(1, 8, None)]).is_ok());
}

fn rebalancing() -> Rebalancing {
    Rebalancing { max_step: 32, hysteresis_percent: 5, initial_weight: 8 }
}

proptest! {
    /// Whatever the fleet looks like, the rebalancer's own plan never needs the guard to step in, when the
    /// current weights already pass it (a guard and a planner that disagree would fight every minute).
    #[test]
    fn the_rebalancer_plan_always_passes_the_guard(
        shards in prop::collection::vec((any::<Option<u8>>(), 0u32..50, any::<bool>(), 0u8..3), 1..8)
    ) {
        let capacities: Vec<ShardCapacity> = shards
            .iter()
            .enumerate()
            .map(|(i, (current, healthy, draining, protection))| ShardCapacity {
                index: ShardIndex::new(i as u8).unwrap(),
                current: *current,
                healthy_targets: *healthy,
                draining: *draining,
                protection: match protection {
                    0 => Protection::Matches,
                    1 => Protection::Missing { fleet_web_acl: "arn:acl/a".into() },
                    _ => Protection::Unknown,
                },
            })
            .collect();
        let as_guarded = |c: &[ShardCapacity]| -> Vec<GuardedShard> {
            c.iter()
                .map(|s| GuardedShard {
                    index: s.index,
                    weight: s.current.unwrap_or(0),
                    healthy: Some(s.healthy_targets),
                    serving: !s.draining,
                })
                .collect()
        };
        prop_assume!(check(&as_guarded(&capacities)).is_ok());
        let plan = plan_weights(&capacities, &rebalancing());
        let after = apply_plan(&capacities, &plan);
        prop_assert!(check(&as_guarded(&after)).is_ok(), "{:?} -> {:?}", capacities, after);
    }
}

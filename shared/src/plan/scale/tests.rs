use proptest::prelude::*;

use super::*;
use crate::model::DnsLocation;
use crate::model::RegionAlbs;
use crate::model::{Listener, LoadBalancer, OwnedRecord, Shard, Tags, TargetGroup};
use crate::names::{FleetName, STATE_DRAINING, TAG_DRAINING_SINCE, TAG_STATE};
use crate::spec::{AsgSelector, Limits, Rebalancing, ShardingMode};

pub(crate) fn policy(max_shards: u8, min_shards: u8) -> FleetPolicy {
    FleetPolicy {
        dns: DnsLocation { hosted_zone_id: "Z1".into(), domain: "api.example.com".into() },
        asgs: AsgSelector { names: vec!["web-a".into()], tag: None },
        mode: ShardingMode::Mirror,
        limits: Limits {
            requests_per_second_per_shard: 1000,
            targets_per_shard: 1000,
            max_shards,
            min_shards,
            scale_out_percent: 80,
            scale_in_percent: 30,
            scale_out_reserved_capacity_units: None,
        },
        rebalancing: Rebalancing { max_step: 32, hysteresis_percent: 5, initial_weight: 8 },
        deregistration_delay_seconds: 30,
        scaler_function_arn: None,
        paused: false,
        user_tag_keys: Vec::new(),
    }
}

/// A shard: complete (ALB, TG, two listeners, record) unless `half`; draining since `draining` if given.
pub(crate) fn shard(index: u8, weight: i64, half: bool, draining: Option<&str>) -> (Shard, Option<OwnedRecord>) {
    let index = ShardIndex::new(index).unwrap();
    let mut tags = Tags::new();
    if let Some(since) = draining {
        tags.insert(TAG_STATE.into(), STATE_DRAINING.into());
        tags.insert(TAG_DRAINING_SINCE.into(), since.into());
    }
    let lb = LoadBalancer {
        arn: format!("arn:lb/{index}"),
        name: format!("web-{index}"),
        dns_name: String::new(),
        canonical_hosted_zone_id: String::new(),
        scheme: Some("internet-facing".into()),
        ip_address_type: Some("ipv4".into()),
        vpc_id: "vpc-1".into(),
        subnet_ids: vec![],
        security_group_ids: vec![],
        created_epoch: 0,
        state: Some("active".into()),
        tags,
        attributes: Tags::new(),
        web_acl: crate::model::WebAcl::None,
    };
    let tg = TargetGroup {
        arn: format!("arn:tg/{index}"),
        name: format!("web-{index}-tg"),
        target_type: Some("instance".into()),
        protocol: Some("HTTP".into()),
        port: 80,
        vpc_id: "vpc-1".into(),
        health_check_path: "/health".into(),
        health_check_interval_seconds: 15,
        healthy_threshold: 3,
        unhealthy_threshold: 3,
        load_balancer_arns: vec![],
        tags: Tags::new(),
        attributes: Tags::new(),
    };
    let listener = |port| Listener {
        arn: format!("arn:l/{index}/{port}"),
        port,
        protocol: None,
        ssl_policy: None,
        certificate_arns: vec![],
        default_action: None,
    };
    let mut s = Shard::new(index);
    s.load_balancer = Some(lb);
    s.target_group = Some(tg);
    s.listeners = if half { vec![listener(80)] } else { vec![listener(80), listener(443)] };
    let record = (!half).then(|| OwnedRecord {
        name: "us-east-1.api.example.com".into(),
        record_type: "A".into(),
        set_identifier: format!("strata:web:us-east-1:{index}"),
        weight: Some(weight),
        region: None,
        alias: None,
        health_check_id: None,
        shard: Some(index),
    });
    (s, record)
}

/// `n` ALBs in the region, against AWS's default quota.
pub(crate) fn albs(n: usize) -> RegionAlbs {
    RegionAlbs { in_use: n, quota: 50 }
}

pub(crate) fn fleet(shards: Vec<(Shard, Option<OwnedRecord>)>) -> ObservedFleet {
    let (shards, records): (Vec<_>, Vec<_>) = shards.into_iter().unzip();
    ObservedFleet {
        fleet: FleetName::parse("web").unwrap(),
        region: "us-east-1".into(),
        shards,
        duplicate_load_balancers: vec![],
        duplicate_target_groups: vec![],
        records: records.into_iter().flatten().collect(),
        asgs: vec![],
        alarms: vec![],
        region_albs: 0,
        alb_quota: None,
        owner: None,
        taken_indexes: Default::default(),
        other_owners: Vec::new(),
        deleting: false,
    }
}

const NOW: i64 = 1_795_000_000;
fn s(i: u8) -> ShardIndex {
    ShardIndex::new(i).unwrap()
}

#[test]
fn scale_out_creates_exactly_the_next_shard_cloning_a_serving_one() {
    let plan =
        plan_scale(&fleet(vec![shard(0, 255, false, None)]), &policy(8, 1), ScaleTrigger::Out, None, NOW, 60, albs(1));
    assert_eq!(plan.steps, vec![ScaleStep::Create { index: s(1), from: s(0) }]);
}

#[test]
fn a_half_built_shard_is_finished_not_duplicated() {
    let plan = plan_scale(
        &fleet(vec![shard(0, 255, false, None), shard(1, 0, true, None)]),
        &policy(8, 1),
        ScaleTrigger::Out,
        None,
        NOW,
        60,
        albs(2),
    );
    assert_eq!(plan.steps, vec![ScaleStep::Finish { index: s(1), from: s(0) }]);
}

#[test]
fn max_shards_and_the_regional_quota_stop_scale_out_with_a_note() {
    let two = fleet(vec![shard(0, 255, false, None), shard(1, 255, false, None)]);
    let capped = plan_scale(&two, &policy(2, 1), ScaleTrigger::Out, None, NOW, 60, albs(2));
    assert!(capped.steps.is_empty());
    assert_eq!(capped.notes, vec![ScaleNote::MaxShards { max: 2 }]);
    let quota = plan_scale(&two, &policy(8, 1), ScaleTrigger::Out, None, NOW, 60, albs(50));
    assert_eq!(quota.steps, vec![]);
    assert_eq!(quota.notes, vec![ScaleNote::RegionQuota { load_balancers: 50, quota: 50 }]);
    let raised =
        plan_scale(&two, &policy(8, 1), ScaleTrigger::Out, None, NOW, 60, RegionAlbs { in_use: 50, quota: 60 });
    assert_eq!(raised.steps, vec![ScaleStep::Create { index: s(2), from: s(0) }], "the quota read, not 50");
    let lowered = plan_scale(&two, &policy(8, 1), ScaleTrigger::Out, None, NOW, 60, RegionAlbs { in_use: 2, quota: 2 });
    assert_eq!(lowered.notes, vec![ScaleNote::RegionQuota { load_balancers: 2, quota: 2 }]);
}

#[test]
fn scale_in_drains_the_newest_weighted_shard_and_never_the_last() {
    let two = fleet(vec![shard(0, 255, false, None), shard(1, 255, false, None)]);
    assert_eq!(
        plan_scale(&two, &policy(8, 1), ScaleTrigger::In, None, NOW, 60, albs(2)).steps,
        vec![ScaleStep::Drain { index: s(1) }]
    );
    let one = fleet(vec![shard(0, 255, false, None)]);
    let plan = plan_scale(&one, &policy(8, 1), ScaleTrigger::In, None, NOW, 60, albs(1));
    assert!(plan.steps.is_empty() && matches!(plan.notes[..], [ScaleNote::AtMinShards { serving: 1, floor: 1 }]));
}

#[test]
fn a_drained_shard_is_removed_only_after_ttl_plus_deregistration_delay() {
    let since = format_rfc3339(NOW - 60);
    assert_eq!(parse_rfc3339(&since), Some(NOW - 60));
    let drained = fleet(vec![shard(0, 255, false, None), shard(1, 0, false, Some(&since))]);
    let early = plan_scale(&drained, &policy(8, 1), ScaleTrigger::Tidy, None, NOW, 60, albs(2));
    assert!(early.steps.is_empty(), "60 s + 30 s have not passed: {early:?}");
    let later = plan_scale(&drained, &policy(8, 1), ScaleTrigger::Tidy, None, NOW + 30, 60, albs(2));
    assert_eq!(later.steps, vec![ScaleStep::Remove { index: s(1) }]);
}

/// Issue 20: the removal deleted the ALB, then AWS answered ResourceInUse on the TG (or the function died):
/// the TG left behind carries the draining mark too, so every trigger removes it and none rebuilds it.
#[test]
fn the_target_group_left_by_a_removal_cut_short_is_removed_never_finished() {
    let since = format_rfc3339(NOW - 3600);
    let (mut remnant, _) = shard(1, 0, false, Some(&since));
    let marks = remnant.load_balancer.take().unwrap().tags;
    remnant.target_group.as_mut().unwrap().tags = marks;
    remnant.listeners.clear();
    let observed = fleet(vec![shard(0, 255, false, None), (remnant, None)]);
    assert!(observed.shards[1].is_draining() && !observed.shards[1].is_serving());
    for trigger in [ScaleTrigger::Tidy, ScaleTrigger::Out, ScaleTrigger::In] {
        let plan = plan_scale(&observed, &policy(8, 1), trigger, None, NOW, 60, albs(1));
        assert!(plan.steps.contains(&ScaleStep::Remove { index: s(1) }), "{trigger:?}: {plan:?}");
        assert!(
            !plan.steps.iter().any(|step| matches!(step, ScaleStep::Finish { index, .. } if *index == s(1))),
            "{trigger:?}: {plan:?}"
        );
    }
}

proptest! {
    #[test]
    fn scale_in_never_leaves_fewer_than_min_shards_serving(weights in prop::collection::vec(0i64..=255, 1..8), min in 1u8..4) {
        let observed = fleet(weights.iter().enumerate().map(|(i, w)| shard(i as u8, *w, false, None)).collect());
        let plan = plan_scale(&observed, &policy(8, min), ScaleTrigger::In, None, NOW, 60, albs(weights.len()));
        let drains = plan.steps.iter().filter(|s| matches!(s, ScaleStep::Drain { .. })).count();
        prop_assert!(drains <= 1);
        prop_assert!(weights.len() - drains >= usize::from(min).min(weights.len()));
    }

    #[test]
    fn scale_out_adds_at_most_one_shard_and_respects_max(count in 1usize..10, max in 1u8..10) {
        let observed = fleet((0..count).map(|i| shard(i as u8, 255, false, None)).collect());
        let plan = plan_scale(&observed, &policy(max, 1), ScaleTrigger::Out, None, NOW, 60, albs(count));
        let creates = plan.steps.iter().filter(|s| matches!(s, ScaleStep::Create { .. })).count();
        prop_assert!(creates <= 1);
        prop_assert!(count + creates <= usize::from(max).max(count));
    }
}

#[test]
fn a_drain_cut_short_before_its_weights_is_finished_and_duplicate_low_alarms_drain_one_shard() {
    let since = format_rfc3339(NOW - 3600);
    // Tagged draining long ago, but the record still has weight: finish the drain, do not remove yet.
    let cut_short = fleet(vec![shard(0, 255, false, None), shard(1, 255, false, Some(&since))]);
    let plan = plan_scale(&cut_short, &policy(8, 1), ScaleTrigger::Tidy, None, NOW, 60, albs(2));
    assert_eq!(plan.steps, vec![ScaleStep::Drain { index: s(1) }]);

    let (mut drained, record) = shard(2, 0, false, Some(&since));
    drained.load_balancer.as_mut().unwrap().tags.insert(crate::names::TAG_DRAIN_TRIGGER.into(), "low@t1".into());
    let three = fleet(vec![shard(0, 255, false, None), shard(1, 255, false, None), (drained, record)]);
    let again = plan_scale(&three, &policy(8, 1), ScaleTrigger::In, Some("low@t1"), NOW - 3590, 60, albs(3));
    assert!(!again.steps.iter().any(|s| matches!(s, ScaleStep::Drain { .. })), "{again:?}");
}

#[test]
fn a_shard_drained_by_hand_without_a_time_waits_like_any_other() {
    let mut manual = shard(1, 0, false, None);
    manual.0.load_balancer.as_mut().unwrap().tags.insert(TAG_STATE.into(), STATE_DRAINING.into());
    let observed = fleet(vec![shard(0, 255, false, None), manual]);
    let plan = plan_scale(&observed, &policy(8, 1), ScaleTrigger::Tidy, None, NOW, 60, albs(2));
    assert_eq!(plan.steps, vec![ScaleStep::Drain { index: s(1) }], "stamped now, removed only after the wait");
}

#[test]
fn a_plan_in_a_report_reads_back_as_the_same_steps_and_notes_with_their_sentences() {
    let plan = ScalePlan {
        steps: vec![ScaleStep::Create { index: s(2), from: s(0) }, ScaleStep::Remove { index: s(1) }],
        notes: vec![
            ScaleNote::Kept { index: s(1), why: "the last shard with healthy targets".into() },
            ScaleNote::Draining { index: s(3), seconds_left: 42 },
            ScaleNote::NoTemplate,
            ScaleNote::AlreadyAdded,
            ScaleNote::BeingBuilt,
            ScaleNote::MaxShards { max: 2 },
            ScaleNote::RegionQuota { load_balancers: 50, quota: 50 },
            ScaleNote::NoFreeIndex,
            ScaleNote::AlreadyDrained,
            ScaleNote::AtMinShards { serving: 1, floor: 1 },
            ScaleNote::NotDrained { why: "no healthy target elsewhere".into() },
            ScaleNote::NothingToDrain,
            ScaleNote::BeingDeleted,
        ],
    };
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["steps"][0], serde_json::json!({"action": "create", "index": 2, "from": 0}));
    assert_eq!(
        json["notes"][5],
        serde_json::json!({"note": "max_shards", "max": 2, "message": "MaxShards (2) reached: no new shard"})
    );
    assert_eq!(
        json["notes"][2],
        serde_json::json!({"note": "no_template", "message": ScaleNote::NoTemplate.to_string()})
    );
    for (note, written) in plan.notes.iter().zip(json["notes"].as_array().unwrap()) {
        assert_eq!(written["message"], note.to_string(), "every note carries its sentence");
    }
    assert_eq!(serde_json::from_value::<ScalePlan>(json).unwrap(), plan);
    let out_of_range = serde_json::json!({"action": "drain", "index": 200});
    assert!(serde_json::from_value::<ScaleStep>(out_of_range).is_err(), "s200 is no shard");
}

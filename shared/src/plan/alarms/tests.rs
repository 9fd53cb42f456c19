use proptest::prelude::*;

use super::*;
use crate::names::{FleetAlarm, parse_alarm_name};
use crate::plan::scale::tests::{fleet, shard};

fn limits() -> Limits {
    Limits {
        requests_per_second_per_shard: 1000,
        targets_per_shard: 1000,
        max_shards: 50,
        min_shards: 1,
        scale_out_percent: 80,
        scale_in_percent: 30,
    }
}

#[test]
fn thresholds_follow_the_limits_and_the_low_one_scales_with_the_shards_summed() {
    assert_eq!(high_threshold(&limits()), 48_000.0, "80 % of 1,000 RPS over 60 s");
    assert_eq!(summed_low_threshold(&limits(), 1), 0.0, "one shard never scales in");
    assert_eq!(summed_low_threshold(&limits(), 4), 3.0 * 60_000.0 * 0.3);
    // 20 shards: the alarm sums 10 of them, so it compares against half the fleet-wide threshold.
    assert_eq!(summed_low_threshold(&limits(), 20), 19.0 * 60_000.0 * 0.3 / 2.0);
}

/// The alarm as AWS would hold it after the write (what `observe` reads back).
fn written(fleet_name: &FleetName, limits: &Limits, write: &AlarmWrite, actions: &[String], shards: usize) -> Alarm {
    let (name, threshold, high, load_balancer, summed) = match write {
        AlarmWrite::RequestsHigh { shard, load_balancer_arn } => (
            ShardNames::new(fleet_name, *shard).requests_high_alarm,
            high_threshold(limits),
            true,
            Some(load_balancer_dimension(load_balancer_arn)),
            Vec::new(),
        ),
        AlarmWrite::RequestsLow { load_balancer_arns } => (
            requests_low_alarm(fleet_name),
            summed_low_threshold(limits, shards),
            false,
            None,
            load_balancer_arns.iter().take(MAX_ALARM_METRICS).map(|a| load_balancer_dimension(a)).collect(),
        ),
        AlarmWrite::TargetsFull => (targets_full_alarm(fleet_name), 0.0, true, None, Vec::new()),
    };
    Alarm {
        kind: parse_alarm_name(fleet_name, &name).unwrap_or(FleetAlarm::TargetsFull),
        name,
        alarm_arn: String::new(),
        state: "OK".into(),
        threshold: Some(threshold),
        alarm_actions: actions.to_vec(),
        load_balancer,
        summed_load_balancers: summed,
        evaluation_periods: Some(if high { HIGH_EVALUATION_PERIODS } else { LOW_EVALUATION_PERIODS }),
        comparison_operator: Some(if high { "GreaterThanThreshold" } else { "LessThanThreshold" }.into()),
        treat_missing_data: Some(TREAT_MISSING_DATA.into()),
    }
}

proptest! {
    /// Writing what the plan says leaves nothing to write: a re-run after success makes no call. A drifted
    /// threshold (new limits) rewrites every alarm that depends on it.
    #[test]
    fn alarm_plans_converge(shards in 1..14u8, rps in 1..100_000u32, with_scaler in any::<bool>()) {
        let mut observed = fleet((0..shards).map(|i| shard(i, 10, false, None)).collect());
        let limits = Limits { requests_per_second_per_shard: rps, ..limits() };
        let scaler = with_scaler.then_some("arn:aws:lambda:us-east-1:1:function:scaler");
        let plan = alarm_plan(&observed.fleet, &limits, scaler, &observed);
        prop_assert_eq!(plan.writes.len(), usize::from(shards) + 2, "every alarm is missing at first");
        let actions: Vec<String> = plan.scaler_arn.iter().cloned().collect();
        let fleet_name = observed.fleet.clone();
        observed.alarms =
            plan.writes.iter().map(|w| written(&fleet_name, &limits, w, &actions, usize::from(shards))).collect();
        prop_assert_eq!(alarm_plan(&fleet_name, &limits, scaler, &observed).writes, vec![]);
        let doubled = Limits { requests_per_second_per_shard: rps * 2, ..limits };
        let rewritten = alarm_plan(&fleet_name, &doubled, scaler, &observed).writes;
        let expected_low = usize::from(shards > 1);
        prop_assert_eq!(rewritten.len(), usize::from(shards) + expected_low);
    }
}

#[test]
fn without_a_scaler_arn_the_alarms_keep_the_action_they_have() {
    let mut observed = fleet(vec![shard(0, 255, false, None)]);
    let kept = "arn:aws:lambda:us-east-1:1:function:old-scaler";
    let fleet_name = observed.fleet.clone();
    let plan = alarm_plan(&fleet_name, &limits(), Some(kept), &observed);
    observed.alarms = plan.writes.iter().map(|w| written(&fleet_name, &limits(), w, &[kept.to_owned()], 1)).collect();
    let plan = alarm_plan(&fleet_name, &limits(), None, &observed);
    assert_eq!(plan.scaler_arn.as_deref(), Some(kept));
    assert!(plan.writes.is_empty(), "{:?}", plan.writes);
}

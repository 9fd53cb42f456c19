use proptest::prelude::*;

use super::*;
use crate::names::parse_alarm_name;
use crate::plan::scale::tests::{fleet, shard};

fn limits() -> Limits {
    Limits {
        requests_per_second_per_shard: 1000,
        targets_per_shard: 1000,
        max_shards: 50,
        min_shards: 1,
        scale_out_percent: 80,
        scale_in_percent: 30,
        scale_out_reserved_capacity_units: None,
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
fn written(fleet_name: &FleetName, desired: &DesiredAlarm) -> Alarm {
    let (load_balancer, summed) = match &desired.metric {
        AlarmMetric::Requests { load_balancer } => (Some(load_balancer.clone()), Vec::new()),
        AlarmMetric::SummedRequests { load_balancers } => (None, load_balancers.clone()),
        AlarmMetric::NoTargetRoom => (None, Vec::new()),
    };
    Alarm {
        kind: parse_alarm_name(fleet_name, &desired.name).expect("a fleet alarm's name"),
        name: desired.name.clone(),
        alarm_arn: String::new(),
        state: Some("OK".into()),
        threshold: Some(desired.threshold),
        alarm_actions: desired.actions.clone(),
        load_balancer,
        summed_load_balancers: summed,
        evaluation_periods: Some(desired.evaluation_periods),
        comparison_operator: Some(desired.comparison()),
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
        let fleet_name = observed.fleet.clone();
        let writes = alarm_writes(&fleet_name, &limits, scaler, &observed);
        prop_assert_eq!(writes.len(), usize::from(shards) + 2, "every alarm is missing at first");
        observed.alarms = writes.iter().map(|w| written(&fleet_name, w)).collect();
        prop_assert_eq!(alarm_writes(&fleet_name, &limits, scaler, &observed), vec![]);
        let doubled = Limits { requests_per_second_per_shard: rps * 2, ..limits };
        let rewritten = alarm_writes(&fleet_name, &doubled, scaler, &observed);
        let expected_low = usize::from(shards > 1);
        prop_assert_eq!(rewritten.len(), usize::from(shards) + expected_low);
        // A shard's alarm on another ALB (a shard made again) is rewritten.
        observed.alarms[0].load_balancer = Some("app/web-s0/other".into());
        prop_assert_eq!(alarm_writes(&fleet_name, &limits, scaler, &observed).len(), 1);
    }
}

#[test]
fn without_a_scaler_arn_the_alarms_keep_the_action_they_have() {
    let mut observed = fleet(vec![shard(0, 255, false, None)]);
    let kept = "arn:aws:lambda:us-east-1:1:function:old-scaler";
    let fleet_name = observed.fleet.clone();
    let writes = alarm_writes(&fleet_name, &limits(), Some(kept), &observed);
    observed.alarms = writes.iter().map(|w| written(&fleet_name, w)).collect();
    let writes = alarm_writes(&fleet_name, &limits(), None, &observed);
    assert!(writes.is_empty(), "{writes:?}");
    assert!(observed.alarms.iter().all(|a| a.alarm_actions == [kept]));
}

//! The fleet's alarms as they should be, and which of them must be written: per serving shard
//! `strata-<fleet>-s<k>-requests-high`, per fleet `strata-<fleet>-requests-low` and `strata-<fleet>-targets-full`.

use crate::model::{Alarm, ObservedFleet};
use crate::names::{FleetName, ShardIndex, ShardNames, requests_low_alarm, targets_full_alarm};
use crate::spec::Limits;

/// Alarm metric math takes at most 10 metrics: the low-load alarm sums the first 10 shards.
pub const MAX_ALARM_METRICS: usize = 10;
pub const PERIOD_SECONDS: i32 = 60;
/// Minutes above the high threshold before a shard's alarm fires, and below the low one before the fleet's does.
pub const HIGH_EVALUATION_PERIODS: i32 = 3;
pub const LOW_EVALUATION_PERIODS: i32 = 15;
pub const TREAT_MISSING_DATA: &str = "notBreaching";

/// Whether `alarm` already says what a put would write (beyond its name and metrics): a threshold within rounding
/// (beyond 10 shards the low one is not a whole number), the actions, the evaluation and comparison.
pub fn says(alarm: &Alarm, threshold: f64, actions: &[String], high: bool) -> bool {
    let (periods, comparison) = match high {
        true => (HIGH_EVALUATION_PERIODS, "GreaterThanThreshold"),
        false => (LOW_EVALUATION_PERIODS, "LessThanThreshold"),
    };
    alarm.threshold.is_some_and(|t| (t - threshold).abs() <= 1e-6 * threshold.abs().max(1.0))
        && alarm.alarm_actions == actions
        && alarm.evaluation_periods == Some(periods)
        && alarm.comparison_operator.as_deref() == Some(comparison)
        && alarm.treat_missing_data.as_deref() == Some(TREAT_MISSING_DATA)
}

/// `app/<name>/<id>`: the LoadBalancer dimension of AWS/ApplicationELB metrics, from the ALB ARN.
pub fn load_balancer_dimension(lb_arn: &str) -> String {
    lb_arn.split_once(":loadbalancer/").map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| lb_arn.to_owned())
}

/// Requests per minute at which a shard's high alarm fires.
pub fn high_threshold(limits: &Limits) -> f64 {
    f64::from(limits.requests_per_second_per_shard) * f64::from(PERIOD_SECONDS) * f64::from(limits.scale_out_percent)
        / 100.0
}

/// Requests per minute below which the fleet would fit in one shard fewer.
pub fn low_threshold(limits: &Limits, shards: usize) -> f64 {
    let fewer = shards.saturating_sub(1) as f64;
    fewer
        * f64::from(limits.requests_per_second_per_shard)
        * f64::from(PERIOD_SECONDS)
        * f64::from(limits.scale_in_percent)
        / 100.0
}

/// The low threshold for what the alarm sums: all shards up to 10; beyond, the first 10 stand for the fleet
/// (the threshold scales down with the share of shards summed, as load is spread evenly by weight).
pub fn summed_low_threshold(limits: &Limits, shards: usize) -> f64 {
    if shards == 0 {
        return 0.0;
    }
    low_threshold(limits, shards) * shards.min(MAX_ALARM_METRICS) as f64 / shards as f64
}

/// An alarm to (re)write with PutMetricAlarm.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmWrite {
    RequestsHigh {
        shard: ShardIndex,
        load_balancer_arn: String,
    },
    /// Sums the first [`MAX_ALARM_METRICS`] ALBs; the threshold follows the number of serving shards.
    RequestsLow {
        load_balancer_arns: Vec<String>,
    },
    TargetsFull,
}

/// The alarms to write and the action they carry.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmPlan {
    pub scaler_arn: Option<String>,
    pub writes: Vec<AlarmWrite>,
}

/// Every alarm of the serving shards that does not already say what it should. Without a scaler ARN (from the
/// spec or the environment) the actions the alarms already have are kept rather than rewritten empty, which
/// would silently stop scaling.
pub fn alarm_plan(fleet: &FleetName, limits: &Limits, scaler_arn: Option<&str>, observed: &ObservedFleet) -> AlarmPlan {
    let kept = observed.alarms.iter().find_map(|a| a.alarm_actions.first().cloned());
    let scaler_arn = scaler_arn.map(str::to_owned).or(kept);
    let actions: Vec<String> = scaler_arn.iter().cloned().collect();
    let named = |name: String| observed.alarms.iter().filter(move |a| a.name == name);
    let serving: Vec<(ShardIndex, String)> = observed
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| Some((s.index, s.load_balancer.as_ref()?.arn.clone())))
        .collect();
    let high = high_threshold(limits);
    let mut writes: Vec<AlarmWrite> = serving
        .iter()
        .filter(|(index, arn)| {
            let dimension = Some(load_balancer_dimension(arn));
            !named(ShardNames::new(fleet, *index).requests_high_alarm)
                .any(|a| says(a, high, &actions, true) && a.load_balancer == dimension)
        })
        .map(|(shard, arn)| AlarmWrite::RequestsHigh { shard: *shard, load_balancer_arn: arn.clone() })
        .collect();
    let arns: Vec<String> = serving.into_iter().map(|(_, arn)| arn).collect();
    let summed: Vec<String> = arns.iter().take(MAX_ALARM_METRICS).map(|arn| load_balancer_dimension(arn)).collect();
    let low = summed_low_threshold(limits, arns.len());
    if !named(requests_low_alarm(fleet)).any(|a| says(a, low, &actions, false) && a.summed_load_balancers == summed) {
        writes.push(AlarmWrite::RequestsLow { load_balancer_arns: arns });
    }
    if !named(targets_full_alarm(fleet)).any(|a| a.threshold == Some(0.0) && a.alarm_actions == actions) {
        writes.push(AlarmWrite::TargetsFull);
    }
    AlarmPlan { scaler_arn, writes }
}

#[cfg(test)]
mod tests;

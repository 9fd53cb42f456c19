//! The fleet's alarms as they should be, and which of them must be written: per serving shard
//! `strata-<fleet>-s<k>-requests-high`, per fleet `strata-<fleet>-requests-low` and `strata-<fleet>-targets-full`.

use aws_sdk_cloudwatch::types::ComparisonOperator;

use crate::model::{Alarm, ObservedFleet};
use crate::names::{
    FleetName, ShardIndex, ShardNames, load_balancer_dimension, requests_low_alarm, targets_full_alarm,
};
use crate::spec::Limits;

/// Alarm metric math takes at most 10 metrics: the low-load alarm sums the first 10 shards.
pub const MAX_ALARM_METRICS: usize = 10;
pub const PERIOD_SECONDS: i32 = 60;
/// Minutes above the high threshold before a shard's alarm fires, and below the low one before the fleet's does.
pub const HIGH_EVALUATION_PERIODS: i32 = 3;
pub const LOW_EVALUATION_PERIODS: i32 = 15;
pub const TREAT_MISSING_DATA: &str = "notBreaching";

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

/// What an alarm watches.
#[derive(Debug, Clone, PartialEq)]
pub enum AlarmMetric {
    /// `AWS/ApplicationELB` `RequestCount` (Sum a minute) of one ALB, by its `LoadBalancer` dimension.
    Requests { load_balancer: String },
    /// Metric math: the sum of the `RequestCount` of these ALBs (at most [`MAX_ALARM_METRICS`]).
    SummedRequests { load_balancers: Vec<String> },
    /// The asg-registrar's `NoTargetRoom` for the fleet (Maximum a minute).
    NoTargetRoom,
}

/// A fleet alarm as PutMetricAlarm writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredAlarm {
    pub name: String,
    pub description: String,
    /// Per-shard alarms also carry the `strata:shard` tag.
    pub shard: Option<ShardIndex>,
    pub metric: AlarmMetric,
    pub evaluation_periods: i32,
    pub threshold: f64,
    /// Fires above the threshold; otherwise below it.
    pub above: bool,
    pub actions: Vec<String>,
}

impl DesiredAlarm {
    pub fn comparison(&self) -> ComparisonOperator {
        if self.above { ComparisonOperator::GreaterThanThreshold } else { ComparisonOperator::LessThanThreshold }
    }

    /// Whether `alarm` already is this one: a threshold within rounding (beyond 10 shards the low one is not a
    /// whole number), the actions, the metric, the evaluation and comparison.
    pub fn is_met_by(&self, alarm: &Alarm) -> bool {
        let metric = match &self.metric {
            AlarmMetric::Requests { load_balancer } => alarm.load_balancer.as_ref() == Some(load_balancer),
            AlarmMetric::SummedRequests { load_balancers } => alarm.summed_load_balancers == *load_balancers,
            AlarmMetric::NoTargetRoom => alarm.load_balancer.is_none() && alarm.summed_load_balancers.is_empty(),
        };
        alarm.name == self.name
            && metric
            && alarm.threshold.is_some_and(|t| (t - self.threshold).abs() <= 1e-6 * self.threshold.abs().max(1.0))
            && alarm.alarm_actions == self.actions
            && alarm.evaluation_periods == Some(self.evaluation_periods)
            && alarm.comparison_operator == Some(self.comparison())
            && alarm.treat_missing_data.as_deref() == Some(TREAT_MISSING_DATA)
    }
}

/// The fleet's alarms as they should be for its serving ALBs (by shard), acting on `actions`.
pub fn desired_alarms(
    fleet: &FleetName,
    limits: &Limits,
    actions: &[String],
    serving: &[(ShardIndex, String)],
) -> Vec<DesiredAlarm> {
    let alarm = |name, description, shard, metric, evaluation_periods, threshold, above| DesiredAlarm {
        name,
        description,
        shard,
        metric,
        evaluation_periods,
        threshold,
        above,
        actions: actions.to_vec(),
    };
    let mut out: Vec<DesiredAlarm> = serving
        .iter()
        .map(|(index, arn)| {
            alarm(
                ShardNames::new(fleet, *index).requests_high_alarm,
                format!("Strata: shard {index} of fleet {fleet} nears its RPS limit; the alb-scaler adds a shard"),
                Some(*index),
                AlarmMetric::Requests { load_balancer: load_balancer_dimension(arn) },
                HIGH_EVALUATION_PERIODS,
                high_threshold(limits),
                true,
            )
        })
        .collect();
    let summed = serving.iter().take(MAX_ALARM_METRICS).map(|(_, arn)| load_balancer_dimension(arn)).collect();
    out.push(alarm(
        requests_low_alarm(fleet),
        format!("Strata: fleet {fleet} would fit in fewer shards; the alb-scaler drains one"),
        None,
        AlarmMetric::SummedRequests { load_balancers: summed },
        LOW_EVALUATION_PERIODS,
        summed_low_threshold(limits, serving.len()),
        false,
    ));
    out.push(alarm(
        targets_full_alarm(fleet),
        format!("Strata: an ASG of fleet {fleet} found no shard with room; the alb-scaler adds a shard"),
        None,
        AlarmMetric::NoTargetRoom,
        1,
        0.0,
        true,
    ));
    out
}

/// The alarms to write: those of the serving shards that the observed ones are not already. Without a scaler ARN
/// (from the spec or the environment) the actions the alarms already have are kept rather than rewritten empty,
/// which would silently stop scaling.
pub fn alarm_writes(
    fleet: &FleetName,
    limits: &Limits,
    scaler_arn: Option<&str>,
    observed: &ObservedFleet,
) -> Vec<DesiredAlarm> {
    let kept = observed.alarms.iter().find_map(|a| a.alarm_actions.first().cloned());
    let actions: Vec<String> = scaler_arn.map(str::to_owned).or(kept).into_iter().collect();
    let serving: Vec<(ShardIndex, String)> = observed
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| Some((s.index, s.load_balancer.as_ref()?.arn.clone())))
        .collect();
    let mut desired = desired_alarms(fleet, limits, &actions, &serving);
    desired.retain(|d| !observed.alarms.iter().any(|a| d.is_met_by(a)));
    desired
}

#[cfg(test)]
mod tests;

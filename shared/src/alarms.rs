//! The fleet's CloudWatch alarms: per shard `strata-<fleet>-s<k>-requests-high` (scale out) and per fleet and
//! region `strata-<fleet>-requests-low` (scale in), both acting on the alb-scaler.

use aws_sdk_cloudwatch as cloudwatch;
use cloudwatch::types::{ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Statistic, Tag};

use crate::error::{Result, aws_error};
use crate::names::{FleetName, MANAGED_BY, ShardIndex, ShardNames, TAG_FLEET, TAG_MANAGED_BY, requests_low_alarm};
use crate::spec::Limits;

/// Alarm metric math takes at most 10 metrics: the low-load alarm sums the first 10 shards.
const MAX_ALARM_METRICS: usize = 10;
const PERIOD_SECONDS: i32 = 60;

/// `app/<name>/<id>`: the LoadBalancer dimension of AWS/ApplicationELB metrics, from the ALB ARN.
pub fn load_balancer_dimension(lb_arn: &str) -> String {
    lb_arn.split_once(":loadbalancer/").map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| lb_arn.to_owned())
}

fn tags(fleet: &FleetName) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_FLEET).value(fleet.as_str()).build(),
        Tag::builder().key(TAG_MANAGED_BY).value(MANAGED_BY).build(),
    ]
}

fn request_count(lb_arn: &str) -> Metric {
    Metric::builder()
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .dimensions(Dimension::builder().name("LoadBalancer").value(load_balancer_dimension(lb_arn)).build())
        .build()
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

pub async fn put_requests_high(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    index: ShardIndex,
    lb_arn: &str,
    limits: &Limits,
    scaler_arn: Option<&str>,
) -> Result<()> {
    client
        .put_metric_alarm()
        .alarm_name(ShardNames::new(fleet, index).requests_high_alarm)
        .alarm_description(format!(
            "Strata: shard {index} of fleet {fleet} nears its RPS limit; the alb-scaler adds a shard"
        ))
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .dimensions(Dimension::builder().name("LoadBalancer").value(load_balancer_dimension(lb_arn)).build())
        .statistic(Statistic::Sum)
        .period(PERIOD_SECONDS)
        .evaluation_periods(3)
        .threshold(high_threshold(limits))
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .set_alarm_actions(scaler_arn.map(|a| vec![a.to_owned()]))
        .set_tags(Some(tags(fleet)))
        .send()
        .await
        .map_err(|e| aws_error("cloudwatch", "PutMetricAlarm", e))?;
    Ok(())
}

/// The fleet's low-load alarm over the sum of its shards' request counts.
pub async fn put_requests_low(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    lb_arns: &[String],
    limits: &Limits,
    scaler_arn: Option<&str>,
) -> Result<()> {
    let mut queries: Vec<MetricDataQuery> = lb_arns
        .iter()
        .take(MAX_ALARM_METRICS)
        .enumerate()
        .map(|(i, arn)| {
            MetricDataQuery::builder()
                .id(format!("s{i}"))
                .metric_stat(
                    MetricStat::builder().metric(request_count(arn)).period(PERIOD_SECONDS).stat("Sum").build(),
                )
                .return_data(false)
                .build()
        })
        .collect();
    queries.push(
        MetricDataQuery::builder()
            .id("total")
            .expression("SUM(METRICS())")
            .label("fleet requests")
            .return_data(true)
            .build(),
    );
    client
        .put_metric_alarm()
        .alarm_name(requests_low_alarm(fleet))
        .alarm_description(format!("Strata: fleet {fleet} would fit in fewer shards; the alb-scaler drains one"))
        .set_metrics(Some(queries))
        .evaluation_periods(15)
        .threshold(summed_low_threshold(limits, lb_arns.len()))
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .treat_missing_data("notBreaching")
        .set_alarm_actions(scaler_arn.map(|a| vec![a.to_owned()]))
        .set_tags(Some(tags(fleet)))
        .send()
        .await
        .map_err(|e| aws_error("cloudwatch", "PutMetricAlarm", e))?;
    Ok(())
}

/// Deletes alarms by name (DeleteAlarms takes up to 100 names and ignores missing ones).
pub async fn delete_alarms(client: &cloudwatch::Client, names: Vec<String>) -> Result<()> {
    for chunk in names.chunks(100) {
        client
            .delete_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "DeleteAlarms", e))?;
    }
    Ok(())
}

/// The fleet's "no target room" alarm: the asg-registrar's `NoTargetRoom` metric above 0 means an ASG found no
/// shard with room for its targets (partition mode), so the alb-scaler adds one.
pub async fn put_targets_full(client: &cloudwatch::Client, fleet: &FleetName, scaler_arn: Option<&str>) -> Result<()> {
    client
        .put_metric_alarm()
        .alarm_name(crate::names::targets_full_alarm(fleet))
        .alarm_description(format!(
            "Strata: an ASG of fleet {fleet} found no shard with room; the alb-scaler adds a shard"
        ))
        .namespace(crate::telemetry::NAMESPACE)
        .metric_name("NoTargetRoom")
        .dimensions(Dimension::builder().name("Function").value("asg-registrar").build())
        .dimensions(Dimension::builder().name("Fleet").value(fleet.as_str()).build())
        .statistic(Statistic::Maximum)
        .period(PERIOD_SECONDS)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .set_alarm_actions(scaler_arn.map(|a| vec![a.to_owned()]))
        .set_tags(Some(tags(fleet)))
        .send()
        .await
        .map_err(|e| aws_error("cloudwatch", "PutMetricAlarm", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! CloudWatch reads: the fleet's alarms by name prefix.

use aws_sdk_cloudwatch as cloudwatch;

use crate::error::{Result, aws_error};
use crate::model::Alarm;

pub async fn alarms_with_prefix(client: &cloudwatch::Client, prefix: &str) -> Result<Vec<Alarm>> {
    let mut pages = client.describe_alarms().alarm_name_prefix(prefix).max_records(100).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("cloudwatch", "DescribeAlarms", e))?;
        out.extend(page.metric_alarms().iter().map(|a| {
            Alarm {
                name: a.alarm_name().unwrap_or_default().to_owned(),
                state: a.state_value().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                threshold: a.threshold(),
                alarm_actions: a.alarm_actions().to_vec(),
                load_balancer: a
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some("LoadBalancer"))
                    .and_then(|d| d.value())
                    .map(str::to_owned),
            }
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// GetMetricData takes at most 500 queries a call.
pub const METRIC_QUERIES_PER_CALL: usize = 500;

/// Requests per second of each ALB over the last full minutes (`None` where CloudWatch has no data):
/// RequestCount Sum, 60 s periods, the latest of the last 5 minutes; one call per 500 ALBs.
pub async fn request_rates(client: &cloudwatch::Client, lb_arns: &[String]) -> Result<Vec<Option<f64>>> {
    use aws_smithy_types::DateTime;
    use cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

    let now = DateTime::from(std::time::SystemTime::now()).secs();
    let mut rates = vec![None; lb_arns.len()];
    for (chunk_index, chunk) in lb_arns.chunks(METRIC_QUERIES_PER_CALL).enumerate() {
        let queries = chunk.iter().enumerate().map(|(i, arn)| {
            let metric = Metric::builder()
                .namespace("AWS/ApplicationELB")
                .metric_name("RequestCount")
                .dimensions(
                    Dimension::builder()
                        .name("LoadBalancer")
                        .value(crate::alarms::load_balancer_dimension(arn))
                        .build(),
                )
                .build();
            MetricDataQuery::builder()
                .id(format!("r{}", chunk_index * METRIC_QUERIES_PER_CALL + i))
                .metric_stat(MetricStat::builder().metric(metric).period(60).stat("Sum").build())
                .build()
        });
        let answer = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.collect()))
            .start_time(DateTime::from_secs(now - 300))
            .end_time(DateTime::from_secs(now))
            .scan_by(ScanBy::TimestampDescending)
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "GetMetricData", e))?;
        for result in answer.metric_data_results() {
            let Some(index) = result.id().and_then(|id| id.strip_prefix('r')).and_then(|i| i.parse::<usize>().ok())
            else {
                continue;
            };
            let latest =
                result.timestamps().iter().zip(result.values()).max_by_key(|(t, _)| t.secs()).map(|(_, v)| *v / 60.0);
            if let Some(slot) = rates.get_mut(index) {
                *slot = latest;
            }
        }
    }
    Ok(rates)
}

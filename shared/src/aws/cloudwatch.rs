//! CloudWatch reads: the fleet's alarms (found by name prefix, kept by exact name), their tags, request rates.

use aws_sdk_cloudwatch as cloudwatch;

use crate::error::{Result, aws_error};
use crate::model::{Alarm, Tags};
use crate::names::{FleetName, alarm_prefix, parse_alarm_name};

/// The fleet's alarms: the prefix search also finds other fleets' (`web` finds `web-v2`'s); only names that
/// parse exactly as this fleet's are kept.
pub async fn fleet_alarms(client: &cloudwatch::Client, fleet: &FleetName) -> Result<Vec<Alarm>> {
    let prefix = alarm_prefix(fleet);
    let mut pages = client.describe_alarms().alarm_name_prefix(prefix).max_records(100).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("cloudwatch", "DescribeAlarms", e))?;
        out.extend(page.metric_alarms().iter().filter_map(|a| {
            let name = a.alarm_name()?;
            Some(Alarm {
                kind: parse_alarm_name(fleet, name)?,
                alarm_arn: a.alarm_arn()?.to_owned(),
                name: name.to_owned(),
                state: a.state_value().cloned(),
                threshold: a.threshold(),
                alarm_actions: a.alarm_actions().to_vec(),
                load_balancer: a
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some("LoadBalancer"))
                    .and_then(|d| d.value())
                    .map(str::to_owned),
                summed_load_balancers: a
                    .metrics()
                    .iter()
                    .filter_map(|q| {
                        q.metric_stat()?.metric()?.dimensions().iter().find(|d| d.name() == Some("LoadBalancer"))
                    })
                    .filter_map(|d| d.value().map(str::to_owned))
                    .collect(),
                evaluation_periods: a.evaluation_periods(),
                comparison_operator: a.comparison_operator().cloned(),
                treat_missing_data: a.treat_missing_data().map(str::to_owned),
            })
        }));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// An alarm's tags (CloudWatch reads them one alarm at a time); `None` for an alarm already gone.
pub async fn alarm_tags(client: &cloudwatch::Client, alarm_arn: &str) -> Result<Option<Tags>> {
    match client.list_tags_for_resource().resource_arn(alarm_arn).send().await {
        Ok(out) => {
            Ok(Some(out.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect()))
        }
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
        Err(err) => Err(aws_error("cloudwatch", "ListTagsForResource", err)),
    }
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
                    Dimension::builder().name("LoadBalancer").value(crate::names::load_balancer_dimension(arn)).build(),
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

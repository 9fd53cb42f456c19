//! The fleet's CloudWatch alarms: per shard `strata-<fleet>-s<k>-requests-high` (scale out) and per fleet and
//! region `strata-<fleet>-requests-low` (scale in), both acting on the alb-scaler.

use aws_sdk_cloudwatch as cloudwatch;
use cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, Statistic, Tag};

use crate::error::{Result, aws_error};
use crate::model::Tags;
use futures::future::try_join_all;

use crate::aws::cloudwatch::alarm_tags;
use crate::model::Alarm;
use crate::names::{
    FleetAlarm, FleetName, MANAGED_BY, Owner, ShardIndex, TAG_FLEET, TAG_MANAGED_BY, may_act_on, ownership_marks,
};
use crate::plan::alarms::{AlarmMetric, DesiredAlarm, PERIOD_SECONDS, TREAT_MISSING_DATA};

/// PutMetricAlarm applies tags only when it creates the alarm; an existing alarm keeps the tags it has.
fn tags(fleet: &FleetName, shard: Option<ShardIndex>, owner: Option<&Owner>, user_tags: &Tags) -> Vec<Tag> {
    let mut tags = user_tags.clone();
    tags.extend(ownership_marks(fleet, shard, owner));
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn request_count(load_balancer: &str) -> Metric {
    Metric::builder()
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .dimensions(Dimension::builder().name("LoadBalancer").value(load_balancer).build())
        .build()
}

/// The sum of the ALBs' request counts, as metric math (the low-load alarm).
fn summed_requests(load_balancers: &[String]) -> Vec<MetricDataQuery> {
    let mut queries: Vec<MetricDataQuery> = load_balancers
        .iter()
        .enumerate()
        .map(|(i, dimension)| {
            let stat = MetricStat::builder().metric(request_count(dimension)).period(PERIOD_SECONDS).stat("Sum");
            MetricDataQuery::builder().id(format!("s{i}")).metric_stat(stat.build()).return_data(false).build()
        })
        .collect();
    let total = MetricDataQuery::builder().id("total").expression("SUM(METRICS())").label("fleet requests");
    queries.push(total.return_data(true).build());
    queries
}

/// Writes one alarm as the plan has it (PutMetricAlarm creates or replaces by name).
pub async fn put_alarm(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    alarm: &DesiredAlarm,
    owner: Option<&Owner>,
    user_tags: &Tags,
) -> Result<()> {
    let request = client
        .put_metric_alarm()
        .alarm_name(&alarm.name)
        .alarm_description(&alarm.description)
        .evaluation_periods(alarm.evaluation_periods)
        .threshold(alarm.threshold)
        .comparison_operator(alarm.comparison())
        .treat_missing_data(TREAT_MISSING_DATA)
        .set_alarm_actions(Some(alarm.actions.clone()).filter(|a| !a.is_empty()))
        .set_tags(Some(tags(fleet, alarm.shard, owner, user_tags)));
    let request = match &alarm.metric {
        AlarmMetric::Requests { load_balancer } => request
            .namespace("AWS/ApplicationELB")
            .metric_name("RequestCount")
            .dimensions(Dimension::builder().name("LoadBalancer").value(load_balancer).build())
            .statistic(Statistic::Sum)
            .period(PERIOD_SECONDS),
        AlarmMetric::SummedRequests { load_balancers } => request.set_metrics(Some(summed_requests(load_balancers))),
        AlarmMetric::NoTargetRoom => request
            .namespace(crate::telemetry::NAMESPACE)
            .metric_name("NoTargetRoom")
            .dimensions(Dimension::builder().name("Function").value("asg-registrar").build())
            .dimensions(Dimension::builder().name("Fleet").value(fleet.as_str()).build())
            .statistic(Statistic::Maximum)
            .period(PERIOD_SECONDS),
    };
    request.send().await.map_err(|e| aws_error("cloudwatch", "PutMetricAlarm", e))?;
    Ok(())
}

fn shard_of(alarm: &Alarm) -> Option<ShardIndex> {
    match alarm.kind {
        FleetAlarm::RequestsHigh(shard) => Some(shard),
        FleetAlarm::RequestsLow | FleetAlarm::TargetsFull => None,
    }
}

/// Puts the owner's marks on alarms made before owners were written (the claim of an Update).
pub async fn claim_alarms(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    alarms: &[Alarm],
    owner: &Owner,
) -> Result<()> {
    try_join_all(alarms.iter().map(|alarm| async move {
        client
            .tag_resource()
            .resource_arn(&alarm.alarm_arn)
            .set_tags(Some(tags(fleet, shard_of(alarm), Some(owner), &Tags::new())))
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "TagResource", e))
    }))
    .await?;
    Ok(())
}

/// Deletes those of `alarms` (already parsed as the fleet's by name) whose tags also say they are the fleet's
/// and not another owner's: a name alone is never enough. Returns how many were deleted.
pub async fn delete_owned_alarms(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    alarms: &[Alarm],
    owner: Option<&Owner>,
    take_unclaimed: bool,
) -> Result<usize> {
    let owned: Vec<String> =
        owned_alarms(client, fleet, alarms, owner, take_unclaimed).await?.into_iter().map(|a| a.name.clone()).collect();
    delete_alarms(client, owned.clone()).await?;
    Ok(owned.len())
}

/// Those of `alarms` whose tags carry the fleet's marks and an owner `owner` may act on (alarms already gone
/// are left out).
async fn owned_alarms<'a>(
    client: &cloudwatch::Client,
    fleet: &FleetName,
    alarms: &'a [Alarm],
    owner: Option<&Owner>,
    take_unclaimed: bool,
) -> Result<Vec<&'a Alarm>> {
    let tags = try_join_all(alarms.iter().map(|a| alarm_tags(client, &a.alarm_arn))).await?;
    Ok(alarms
        .iter()
        .zip(tags)
        .filter_map(|(alarm, tags)| Some((alarm, tags?)))
        .filter(|(_, tags)| {
            tags.get(TAG_FLEET).map(String::as_str) == Some(fleet.as_str())
                && tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY)
                && may_act_on(Owner::from_tags(|k| tags.get(k).map(String::as_str)).as_ref(), owner, take_unclaimed)
        })
        .map(|(alarm, _)| alarm)
        .collect())
}

/// Deletes alarms by name (DeleteAlarms takes up to 100 names and ignores missing ones).
async fn delete_alarms(client: &cloudwatch::Client, names: Vec<String>) -> Result<()> {
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

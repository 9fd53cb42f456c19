//! Route 53: a shard's health check, the region's weighted set and its latency record.
//! Records cannot be tagged; every record Strata writes carries a `strata:<fleet>:` SetIdentifier, and every
//! change goes through `change_owned_records`, which refuses anything else.

use std::time::Duration;

use aws_sdk_route53 as route53;
use route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType, ResourceRecordSet,
    ResourceRecordSetRegion, RrType, Tag, TagResourceType,
};

use crate::error::{Result, StrataError, aws_error};
use crate::model::OwnedRecord;
use crate::names::{
    FleetName, MANAGED_BY, ShardIndex, TAG_FLEET, TAG_MANAGED_BY, TAG_SHARD, health_check_caller_reference,
    latency_set_identifier, regional_name, weighted_set_identifier,
};

/// A Route 53 change batch holds at most 1,000 records (an UPSERT counts twice): stay well under it.
const MAX_CHANGES_PER_BATCH: usize = 400;

/// The record types a fleet answers: A, and AAAA too for dualstack ALBs.
pub fn record_types(ip_address_type: &str) -> Vec<RrType> {
    if ip_address_type == "dualstack" { vec![RrType::A, RrType::Aaaa] } else { vec![RrType::A] }
}

fn alias_target(dns_name: &str, hosted_zone_id: &str, evaluate_target_health: bool) -> AliasTarget {
    AliasTarget::builder()
        .dns_name(dns_name)
        .hosted_zone_id(hosted_zone_id)
        .evaluate_target_health(evaluate_target_health)
        .build()
        .expect("all alias fields set")
}

/// Shard `index`'s weighted alias records (one per record type).
#[allow(clippy::too_many_arguments)]
pub fn weighted_records(
    fleet: &FleetName,
    region: &str,
    domain: &str,
    index: ShardIndex,
    alb_dns: &str,
    alb_zone: &str,
    weight: u8,
    health_check_id: Option<&str>,
    ip_address_type: &str,
) -> Vec<ResourceRecordSet> {
    record_types(ip_address_type)
        .into_iter()
        .map(|rtype| {
            ResourceRecordSet::builder()
                .name(regional_name(region, domain))
                .r#type(rtype)
                .set_identifier(weighted_set_identifier(fleet, region, index))
                .weight(i64::from(weight))
                .alias_target(alias_target(alb_dns, alb_zone, true))
                .set_health_check_id(health_check_id.map(str::to_owned))
                .build()
                .expect("all record fields set")
        })
        .collect()
}

/// The region's latency records: `<domain>` → `<region>.<domain>` in the same zone.
pub fn latency_records(
    fleet: &FleetName,
    region: &str,
    domain: &str,
    zone_id: &str,
    ip_address_type: &str,
) -> Vec<ResourceRecordSet> {
    record_types(ip_address_type)
        .into_iter()
        .map(|rtype| {
            ResourceRecordSet::builder()
                .name(domain)
                .r#type(rtype)
                .set_identifier(latency_set_identifier(fleet, region))
                .region(ResourceRecordSetRegion::from(region))
                .alias_target(alias_target(&regional_name(region, domain), zone_id, true))
                .build()
                .expect("all record fields set")
        })
        .collect()
}

/// An observed record as the same record again, for a DELETE (Route 53 wants the exact record).
pub fn as_record_set(record: &OwnedRecord) -> ResourceRecordSet {
    let mut builder = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::from(record.record_type.as_str()))
        .set_identifier(&record.set_identifier)
        .set_weight(record.weight)
        .set_region(record.region.as_deref().map(ResourceRecordSetRegion::from))
        .set_health_check_id(record.health_check_id.clone());
    if let Some(alias) = &record.alias {
        builder =
            builder.alias_target(alias_target(&alias.dns_name, &alias.hosted_zone_id, alias.evaluate_target_health));
    }
    builder.build().expect("all record fields set")
}

/// Whether an observed record already is the desired one (names compared without the trailing dot, in lower case).
pub fn same_record(desired: &ResourceRecordSet, current: &OwnedRecord) -> bool {
    let norm = |name: &str| name.trim_end_matches('.').to_ascii_lowercase();
    let alias = match (desired.alias_target(), &current.alias) {
        (Some(d), Some(c)) => {
            norm(d.dns_name()) == norm(&c.dns_name)
                && d.hosted_zone_id() == c.hosted_zone_id
                && d.evaluate_target_health() == c.evaluate_target_health
        }
        (None, None) => true,
        _ => false,
    };
    alias
        && norm(desired.name()) == norm(&current.name)
        && desired.r#type().as_str() == current.record_type
        && desired.set_identifier() == Some(current.set_identifier.as_str())
        && desired.weight() == current.weight
        && desired.region().map(|r| r.as_str()) == current.region.as_deref()
        && desired.health_check_id() == current.health_check_id.as_deref()
}

/// Applies record changes in as few batches as allowed, retrying Route 53's `PriorRequestNotComplete` and
/// throttling with backoff. Refuses any record that is not `fleet`'s (the ownership guard for DNS).
pub async fn change_owned_records(
    client: &route53::Client,
    zone_id: &str,
    fleet: &FleetName,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<usize> {
    let prefix = fleet.set_identifier_prefix();
    if let Some((_, foreign)) =
        changes.iter().find(|(_, r)| !r.set_identifier().is_some_and(|id| id.starts_with(&prefix)))
    {
        return Err(StrataError::Refused(format!(
            "record {} {:?} is not owned by fleet {fleet}",
            foreign.name(),
            foreign.set_identifier()
        )));
    }
    let mut calls = 0;
    for chunk in changes.chunks(MAX_CHANGES_PER_BATCH) {
        let batch = ChangeBatch::builder()
            .comment(format!("strata fleet {fleet}"))
            .set_changes(Some(
                chunk
                    .iter()
                    .map(|(action, record)| {
                        Change::builder()
                            .action(action.clone())
                            .resource_record_set(record.clone())
                            .build()
                            .expect("set")
                    })
                    .collect(),
            ))
            .build()
            .expect("changes set");
        send_with_backoff(client, zone_id, batch).await?;
        calls += 1;
    }
    Ok(calls)
}

async fn send_with_backoff(client: &route53::Client, zone_id: &str, batch: ChangeBatch) -> Result<()> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        let sent =
            client.change_resource_record_sets().hosted_zone_id(zone_id).change_batch(batch.clone()).send().await;
        match sent {
            Ok(_) => return Ok(()),
            Err(err) => {
                let retryable = err
                    .as_service_error()
                    .is_some_and(|e| e.is_prior_request_not_complete() || e.meta().code() == Some("Throttling"));
                if !retryable || attempt >= 6 {
                    return Err(aws_error("route53", "ChangeResourceRecordSets", err));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    unreachable!("the loop returns")
}

/// The fleet's health checks by CallerReference (`strata-<fleet>-s<k>-<alb id>`): id per reference.
pub async fn fleet_health_checks(client: &route53::Client, fleet: &FleetName) -> Result<Vec<(String, String)>> {
    let prefix = format!("strata-{fleet}-s");
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_health_checks()
            .set_marker(marker.take())
            .max_items(1000)
            .send()
            .await
            .map_err(|e| aws_error("route53", "ListHealthChecks", e))?;
        for check in page.health_checks() {
            if check.caller_reference().starts_with(&prefix) {
                out.push((check.id().to_owned(), check.caller_reference().to_owned()));
            }
        }
        match page.next_marker().filter(|_| page.is_truncated()) {
            Some(next) => marker = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(out)
}

/// An HTTPS health check on the shard's ALB (internet-facing shards only: Route 53's checkers cannot reach an
/// internal ALB). Finds the one this shard incarnation already has before creating one.
pub async fn ensure_health_check(
    client: &route53::Client,
    fleet: &FleetName,
    index: ShardIndex,
    lb_arn: &str,
    alb_dns: &str,
    path: &str,
    existing: &[(String, String)],
) -> Result<String> {
    let reference = health_check_caller_reference(fleet, index, lb_arn);
    if let Some((id, _)) = existing.iter().find(|(_, r)| *r == reference) {
        return Ok(id.clone());
    }
    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::Https)
        .fully_qualified_domain_name(alb_dns)
        .port(443)
        .resource_path(path)
        .request_interval(30)
        .failure_threshold(3)
        .enable_sni(true)
        .build()
        .expect("type set");
    let created = client
        .create_health_check()
        .caller_reference(&reference)
        .health_check_config(config)
        .send()
        .await
        .map_err(|e| aws_error("route53", "CreateHealthCheck", e))?;
    let id = created.health_check().map(|h| h.id().to_owned()).unwrap_or_default();
    let tags =
        [(TAG_FLEET, fleet.to_string()), (TAG_SHARD, index.get().to_string()), (TAG_MANAGED_BY, MANAGED_BY.to_owned())]
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
    client
        .change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(&id)
        .set_add_tags(Some(tags))
        .send()
        .await
        .map_err(|e| aws_error("route53", "ChangeTagsForResource", e))?;
    Ok(id)
}

/// Deletes a health check, tolerating one already gone.
pub async fn delete_health_check(client: &route53::Client, id: &str) -> Result<()> {
    match client.delete_health_check().health_check_id(id).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_health_check()) => Ok(()),
        Err(err) => Err(aws_error("route53", "DeleteHealthCheck", err)),
    }
}

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
use crate::model::{LoadBalancer, OwnedRecord};
use crate::names::{
    FleetName, MANAGED_BY, Owner, ShardIndex, TAG_FLEET, TAG_MANAGED_BY, health_check_caller_reference,
    latency_set_identifier, may_act_on, ownership_marks, parse_health_check_caller_reference, regional_name,
    shard_of_set_identifier, weighted_set_identifier,
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
    region: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
) -> Result<usize> {
    let owned =
        |id: &str| id == latency_set_identifier(fleet, region) || shard_of_set_identifier(fleet, region, id).is_some();
    if let Some((_, foreign)) = changes.iter().find(|(_, r)| !r.set_identifier().is_some_and(owned)) {
        return Err(StrataError::Refused(format!(
            "record {} {:?} is not fleet {fleet}'s in {region}",
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
        send_with_backoff(client, zone_id, &owned, batch).await?;
        calls += 1;
    }
    Ok(calls)
}

async fn send_with_backoff(
    client: &route53::Client,
    zone_id: &str,
    owned: &(impl Fn(&str) -> bool + Sync),
    batch: ChangeBatch,
) -> Result<()> {
    let mut batch = batch;
    let mut reobserved = false;
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        let sent =
            client.change_resource_record_sets().hosted_zone_id(zone_id).change_batch(batch.clone()).send().await;
        let err = match sent {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        let code = err.as_service_error().and_then(|e| e.meta().code()).map(str::to_owned);
        // A CREATE or DELETE is conditional: after an answer lost in transit (the change was applied, the SDK
        // sent it again) Route 53 refuses the whole batch. Look again at the zone and send what is still to do.
        if code.as_deref() == Some("InvalidChangeBatch") && !reobserved {
            reobserved = true;
            match still_to_do(client, zone_id, owned, &batch).await? {
                Some(rest) => batch = rest,
                None => return Ok(()),
            }
            continue;
        }
        let retryable = matches!(code.as_deref(), Some("PriorRequestNotComplete" | "Throttling"));
        if !retryable || attempt >= 6 {
            return Err(aws_error("route53", "ChangeResourceRecordSets", err));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    unreachable!("the loop returns")
}

/// The changes of `batch` that the zone does not already reflect: a DELETE of a record that is gone and a
/// CREATE of a record that exists are dropped, a DELETE of a record whose values changed since it was read
/// deletes the current values (ownership is the SetIdentifier). None when nothing is left to do.
async fn still_to_do(
    client: &route53::Client,
    zone_id: &str,
    owned: &(impl Fn(&str) -> bool + Sync),
    batch: &ChangeBatch,
) -> Result<Option<ChangeBatch>> {
    let current = owned_sets(client, zone_id, owned).await?;
    let norm = |name: &str| name.trim_end_matches('.').to_ascii_lowercase();
    let find = |record: &ResourceRecordSet| {
        current.iter().find(|c| {
            norm(c.name()) == norm(record.name())
                && c.r#type() == record.r#type()
                && c.set_identifier() == record.set_identifier()
        })
    };
    let mut changes = Vec::new();
    for change in batch.changes() {
        let Some(record) = change.resource_record_set() else { continue };
        let kept = match change.action() {
            ChangeAction::Delete => find(record).cloned(),
            ChangeAction::Create if find(record).is_some() => None,
            _ => Some(record.clone()),
        };
        if let Some(record) = kept {
            changes.push(
                Change::builder().action(change.action().clone()).resource_record_set(record).build().expect("set"),
            );
        }
    }
    if changes.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        ChangeBatch::builder()
            .set_comment(batch.comment().map(str::to_owned))
            .set_changes(Some(changes))
            .build()
            .expect("changes set"),
    ))
}

/// Every record set of the zone whose SetIdentifier is the fleet's, in one walk.
async fn owned_sets(
    client: &route53::Client,
    zone_id: &str,
    owned: &(impl Fn(&str) -> bool + Sync),
) -> Result<Vec<ResourceRecordSet>> {
    crate::aws::route53::record_sets(client, zone_id, |r| r.set_identifier().is_some_and(owned))
        .await
        .map_err(|e| aws_error("route53", "ListResourceRecordSets", e))
}

/// One of the fleet's health checks, found by its exact CallerReference (`strata-<fleet>-s<k>-<alb id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHealthCheck {
    pub id: String,
    pub caller_reference: String,
    pub shard: ShardIndex,
    pub alb_id: String,
}

/// The fleet's health checks: every CallerReference that parses exactly as this fleet's.
pub async fn fleet_health_checks(client: &route53::Client, fleet: &FleetName) -> Result<Vec<FleetHealthCheck>> {
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
            let reference = check.caller_reference();
            if let Some((shard, alb_id)) = parse_health_check_caller_reference(fleet, reference) {
                out.push(FleetHealthCheck {
                    id: check.id().to_owned(),
                    caller_reference: reference.to_owned(),
                    shard,
                    alb_id,
                });
            }
        }
        match page.next_marker().filter(|_| page.is_truncated()) {
            Some(next) => marker = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(out)
}

/// ListTagsForResources takes at most 10 health checks a call.
const TAG_READ_BATCH: usize = 10;

/// Those of `checks` whose tags say they are the fleet's and not another owner's: a CallerReference alone is
/// never enough to delete or claim. An untagged one (its tagging call failed after the create) is the fleet's
/// when its reference names one of `own_alb_ids` (ALB ids are unique, and those ALBs are the owner's).
pub async fn owned_health_checks(
    client: &route53::Client,
    fleet: &FleetName,
    checks: Vec<FleetHealthCheck>,
    owner: Option<&Owner>,
    take_unclaimed: bool,
    own_alb_ids: &[&str],
) -> Result<Vec<FleetHealthCheck>> {
    let mut owned = Vec::new();
    for chunk in checks.chunks(TAG_READ_BATCH) {
        let sets = health_check_tags(client, chunk).await?;
        for check in chunk {
            // No tag set: untagged, or deleted since it was listed (then deleting it again is harmless).
            let tags = sets.iter().find(|(id, _)| *id == check.id).map(|(_, tags)| tags.as_slice()).unwrap_or_default();
            let tag = |key: &str| tags.iter().find(|tag| tag.key() == Some(key)).and_then(|tag| tag.value());
            let marked = tag(TAG_FLEET) == Some(fleet.as_str()) && tag(TAG_MANAGED_BY) == Some(MANAGED_BY);
            let untagged = tags.is_empty();
            let ours = if untagged {
                own_alb_ids.contains(&check.alb_id.as_str())
            } else {
                marked && may_act_on(Owner::from_tags(tag).as_ref(), owner, take_unclaimed)
            };
            if ours {
                owned.push(check.clone());
            }
        }
    }
    Ok(owned)
}

/// Those of `checks` that carry no tag at all: made, then their tagging call failed (the next finish tags them).
pub async fn untagged_health_checks(
    client: &route53::Client,
    checks: &[FleetHealthCheck],
) -> Result<Vec<FleetHealthCheck>> {
    let mut untagged = Vec::new();
    for chunk in checks.chunks(TAG_READ_BATCH) {
        let sets = health_check_tags(client, chunk).await?;
        let tagged = |check: &FleetHealthCheck| sets.iter().any(|(id, tags)| *id == check.id && !tags.is_empty());
        // One deleted since it was listed has no tag set either; tagging it would fail, so it is left out.
        let listed = |check: &FleetHealthCheck| sets.iter().any(|(id, _)| *id == check.id);
        untagged.extend(chunk.iter().filter(|c| listed(c) && !tagged(c)).cloned());
    }
    Ok(untagged)
}

/// The tags of up to 10 health checks. One deleted since it was listed fails the whole batch
/// (NoSuchHealthCheck): then each is read alone and the missing ones are left out.
async fn health_check_tags(client: &route53::Client, checks: &[FleetHealthCheck]) -> Result<Vec<(String, Vec<Tag>)>> {
    let read = |ids: Vec<String>| {
        client.list_tags_for_resources().resource_type(TagResourceType::Healthcheck).set_resource_ids(Some(ids)).send()
    };
    let sets = |out: route53::operation::list_tags_for_resources::ListTagsForResourcesOutput| {
        out.resource_tag_sets()
            .iter()
            .filter_map(|t| Some((t.resource_id()?.to_owned(), t.tags().to_vec())))
            .collect::<Vec<_>>()
    };
    match read(checks.iter().map(|c| c.id.clone()).collect()).await {
        Ok(out) => Ok(sets(out)),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_health_check()) => {
            let mut out = Vec::new();
            for check in checks {
                match read(vec![check.id.clone()]).await {
                    Ok(one) => out.extend(sets(one)),
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_health_check()) => {}
                    Err(err) => return Err(aws_error("route53", "ListTagsForResources", err)),
                }
            }
            Ok(out)
        }
        Err(err) => Err(aws_error("route53", "ListTagsForResources", err)),
    }
}

/// Puts the fleet's marks (owner included) on a health check.
pub async fn tag_health_check(
    client: &route53::Client,
    fleet: &FleetName,
    check: &FleetHealthCheck,
    owner: Option<&Owner>,
) -> Result<()> {
    let tags = ownership_marks(fleet, Some(check.shard), owner)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    client
        .change_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(&check.id)
        .set_add_tags(Some(tags))
        .send()
        .await
        .map_err(|e| aws_error("route53", "ChangeTagsForResource", e))?;
    Ok(())
}

/// An HTTPS health check on the shard's ALB (internet-facing shards only: Route 53's checkers cannot reach an
/// internal ALB). Finds the one this shard incarnation already has before creating one. A new one is returned
/// for its caller to tag (`tag_health_check`) side by side with the records that need its id.
pub async fn ensure_health_check(
    client: &route53::Client,
    fleet: &FleetName,
    index: ShardIndex,
    lb: &LoadBalancer,
    path: &str,
    existing: &[FleetHealthCheck],
) -> Result<(String, Option<FleetHealthCheck>)> {
    let (lb_arn, alb_dns) = (lb.arn.as_str(), lb.dns_name.as_str());
    let reference = health_check_caller_reference(fleet, index, lb_arn);
    if let Some(check) = existing.iter().find(|c| c.caller_reference == reference) {
        return Ok((check.id.clone(), None));
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
    let id = created.health_check().map(|h| h.id().to_owned()).filter(|id| !id.is_empty()).ok_or_else(|| {
        StrataError::Aws {
            service: "route53",
            operation: "CreateHealthCheck",
            message: format!("{reference}: the answer holds no health check"),
        }
    })?;
    let alb_id = lb_arn.rsplit('/').next().unwrap_or_default().to_owned();
    Ok((id.clone(), Some(FleetHealthCheck { id, caller_reference: reference, shard: index, alb_id })))
}

/// Deletes a health check, tolerating one already gone.
pub async fn delete_health_check(client: &route53::Client, id: &str) -> Result<()> {
    match client.delete_health_check().health_check_id(id).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_health_check()) => Ok(()),
        Err(err) => Err(aws_error("route53", "DeleteHealthCheck", err)),
    }
}

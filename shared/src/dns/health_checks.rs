//! Route 53 health checks of internet-facing shards: found by their exact CallerReference
//! (`strata-<fleet>-s<k>-<alb id>`), tagged like everything Strata makes.

use aws_sdk_route53 as route53;
use route53::types::{HealthCheckConfig, HealthCheckType, Tag, TagResourceType};

use crate::error::{Result, StrataError, aws_error};
pub use crate::model::FleetHealthCheck;
use crate::model::Tags;
use crate::names::{FleetName, Owner, health_check_is_owned, ownership_marks, parse_health_check_caller_reference};
use crate::plan::health_checks::HealthCheckCreate;

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
            let tags: Tags = sets
                .iter()
                .find(|(id, _)| *id == check.id)
                .into_iter()
                .flat_map(|(_, tags)| {
                    tags.iter()
                        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
                })
                .collect();
            if health_check_is_owned(check, &tags, fleet, owner, take_unclaimed, own_alb_ids) {
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
    user_tags: &Tags,
) -> Result<()> {
    let mut tags = user_tags.clone();
    tags.extend(ownership_marks(fleet, Some(check.shard), owner));
    let tags = tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
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

/// Makes the health check the plan asks for, under its deterministic CallerReference (a retry after a lost
/// answer gets the same one back from Route 53).
pub async fn create_health_check(
    client: &route53::Client,
    wanted: &HealthCheckCreate,
    path: &str,
) -> Result<FleetHealthCheck> {
    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::Https)
        .fully_qualified_domain_name(&wanted.alb_dns)
        .port(443)
        .resource_path(path)
        .request_interval(30)
        .failure_threshold(3)
        .enable_sni(true)
        .build()
        .expect("type set");
    let reference = &wanted.caller_reference;
    let created = client
        .create_health_check()
        .caller_reference(reference)
        .health_check_config(config)
        .send()
        .await
        .map_err(|e| aws_error("route53", "CreateHealthCheck", e))?;
    let id = created.health_check().map(|h| h.id().to_owned()).filter(|id| !id.is_empty()).ok_or_else(|| {
        StrataError::Aws {
            code: None,
            service: "route53",
            operation: "CreateHealthCheck",
            message: format!("{reference}: the answer holds no health check"),
        }
    })?;
    Ok(FleetHealthCheck { id, caller_reference: reference.clone(), shard: wanted.shard, alb_id: wanted.alb_id.clone() })
}

/// Deletes a health check, tolerating one already gone.
pub async fn delete_health_check(client: &route53::Client, id: &str) -> Result<()> {
    match client.delete_health_check().health_check_id(id).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_health_check()) => Ok(()),
        Err(err) => Err(aws_error("route53", "DeleteHealthCheck", err)),
    }
}

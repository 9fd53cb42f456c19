//! Route 53: a shard's health check, the region's weighted set and its latency record.
//! Records cannot be tagged; every record Strata writes carries a `strata:<fleet>:` SetIdentifier, and every
//! change goes through `change_owned_records`, which refuses anything else.

use std::time::Duration;

use aws_sdk_route53 as route53;
use route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet};

mod health_checks;

pub use health_checks::*;

use crate::error::{Result, StrataError, aws_error};
use crate::names::{FleetName, latency_set_identifier, shard_of_set_identifier};

/// A Route 53 change batch holds at most 1,000 records (an UPSERT counts twice): stay well under it.
const MAX_CHANGES_PER_BATCH: usize = 400;

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

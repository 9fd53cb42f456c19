//! Route 53 reads: one ListResourceRecordSets walk, keeping only the records a fleet owns.

use aws_sdk_route53 as route53;
use route53::types::{ResourceRecordSet, RrType};
use tracing::warn;

use crate::error::{Result, aws_error};
use crate::model::{AliasTarget, OwnedRecord};
use crate::names::{FleetName, ShardIndex, latency_set_identifier, shard_of_set_identifier};

/// The SDK's error of a ListResourceRecordSets call.
pub type ListError = aws_sdk_route53::error::SdkError<
    route53::operation::list_resource_record_sets::ListResourceRecordSetsError,
    route53::config::http::HttpResponse,
>;

/// Every record set of the zone that `keep` selects, in one ListResourceRecordSets walk (300 a page).
pub async fn record_sets(
    client: &route53::Client,
    zone_id: &str,
    keep: impl Fn(&ResourceRecordSet) -> bool,
) -> std::result::Result<Vec<ResourceRecordSet>, ListError> {
    let mut out = Vec::new();
    let mut start: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut request = client.list_resource_record_sets().hosted_zone_id(zone_id).max_items(300);
        if let Some((name, rtype, identifier)) = start.take() {
            request = request.start_record_name(name).start_record_type(rtype).set_start_record_identifier(identifier);
        }
        let page = request.send().await?;
        out.extend(page.resource_record_sets().iter().filter(|r| keep(r)).cloned());
        match (page.is_truncated(), page.next_record_name(), page.next_record_type()) {
            (true, Some(name), Some(rtype)) => {
                start = Some((name.to_owned(), rtype.clone(), page.next_record_identifier().map(str::to_owned)));
            }
            _ => return Ok(out),
        }
    }
}

/// Records of `fleet` in the zone: the exact SetIdentifiers `strata:<fleet>:<region>` (latency, every region's)
/// and `strata:<fleet>:<region>:s<k>` (this region's weighted set) are the only mark of ownership Route 53 allows.
/// With `zone_may_be_gone` (a Delete), a zone that does not exist has none.
pub async fn owned_records(
    client: &route53::Client,
    zone_id: &str,
    fleet: &FleetName,
    region: &str,
    zone_may_be_gone: bool,
) -> Result<Vec<OwnedRecord>> {
    let shard_of = |set: &ResourceRecordSet| {
        shard_of_set_identifier(fleet, region, set.set_identifier()?).filter(|_| set.weight().is_some())
    };
    let is_latency = |set: &ResourceRecordSet| {
        let (Some(id), Some(r)) = (set.set_identifier(), set.region()) else { return false };
        id == latency_set_identifier(fleet, r.as_str())
    };
    let sets = match record_sets(client, zone_id, |set| shard_of(set).is_some() || is_latency(set)).await {
        Ok(sets) => sets,
        // For a Delete, a deleted zone holds no records: its fleet must stay deletable. Anywhere else a missing
        // zone is an error before anything is built.
        Err(err) if zone_may_be_gone && err.as_service_error().is_some_and(|e| e.is_no_such_hosted_zone()) => {
            warn!(zone_id, fleet = %fleet, "hosted zone does not exist (NoSuchHostedZone): the fleet has no records there");
            return Ok(Vec::new());
        }
        Err(err) => {
            return Err(aws_error("route53", "ListResourceRecordSets", err).about(format!("HostedZoneId {zone_id}")));
        }
    };
    let mut out: Vec<OwnedRecord> = sets.iter().map(|set| owned_record(set, shard_of(set))).collect();
    out.sort_by(|a, b| (&a.name, &a.record_type, &a.set_identifier).cmp(&(&b.name, &b.record_type, &b.set_identifier)));
    Ok(out)
}

/// A record as the model holds it (names without the final dot).
pub fn owned_record(set: &ResourceRecordSet, shard: Option<ShardIndex>) -> OwnedRecord {
    OwnedRecord {
        name: set.name().trim_end_matches('.').to_owned(),
        record_type: set.r#type().clone(),
        set_identifier: set.set_identifier().unwrap_or_default().to_owned(),
        weight: set.weight(),
        region: set.region().map(|r| r.as_str().to_owned()),
        alias: set.alias_target().map(|a| AliasTarget {
            dns_name: a.dns_name().trim_end_matches('.').to_owned(),
            hosted_zone_id: a.hosted_zone_id().to_owned(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: set.health_check_id().map(str::to_owned),
        shard,
    }
}

//! Route 53 reads: one ListResourceRecordSets walk, keeping only the records a fleet owns.

use aws_sdk_route53 as route53;
use route53::types::RrType;

use crate::error::{Result, aws_error};
use crate::model::{AliasTarget, OwnedRecord};
use crate::names::{FleetName, shard_of_set_identifier};

/// Records of `fleet` in the zone: SetIdentifier prefix `strata:<fleet>:` is the only mark of ownership
/// Route 53 allows. Weighted records of other regions are skipped; latency records of every region are kept.
pub async fn owned_records(
    client: &route53::Client,
    zone_id: &str,
    fleet: &FleetName,
    region: &str,
) -> Result<Vec<OwnedRecord>> {
    let prefix = fleet.set_identifier_prefix();
    let mut out = Vec::new();
    let mut start: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut request = client.list_resource_record_sets().hosted_zone_id(zone_id).max_items(300);
        if let Some((name, rtype, identifier)) = start.take() {
            request = request.start_record_name(name).start_record_type(rtype).set_start_record_identifier(identifier);
        }
        let page = request.send().await.map_err(|e| aws_error("route53", "ListResourceRecordSets", e))?;
        for set in page.resource_record_sets() {
            let Some(set_identifier) = set.set_identifier().filter(|id| id.starts_with(&prefix)) else { continue };
            let shard = shard_of_set_identifier(fleet, region, set_identifier);
            let is_latency = set.region().is_some();
            if shard.is_none() && !is_latency {
                continue; // another region's weighted set
            }
            out.push(OwnedRecord {
                name: set.name().trim_end_matches('.').to_owned(),
                record_type: set.r#type().as_str().to_owned(),
                set_identifier: set_identifier.to_owned(),
                weight: set.weight(),
                region: set.region().map(|r| r.as_str().to_owned()),
                alias: set.alias_target().map(|a| AliasTarget {
                    dns_name: a.dns_name().trim_end_matches('.').to_owned(),
                    hosted_zone_id: a.hosted_zone_id().to_owned(),
                    evaluate_target_health: a.evaluate_target_health(),
                }),
                health_check_id: set.health_check_id().map(str::to_owned),
                shard,
            });
        }
        if !page.is_truncated() {
            break;
        }
        match (page.next_record_name(), page.next_record_type()) {
            (Some(name), Some(rtype)) => {
                start = Some((name.to_owned(), rtype.clone(), page.next_record_identifier().map(str::to_owned)));
            }
            _ => break,
        }
    }
    out.sort_by(|a, b| (&a.name, &a.record_type, &a.set_identifier).cmp(&(&b.name, &b.record_type, &b.set_identifier)));
    Ok(out)
}

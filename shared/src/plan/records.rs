//! The fleet's Route 53 records as they should be: per serving shard a weighted alias record (per record type),
//! and the region's latency record; and which of them must be written. Records cannot be tagged: every one
//! carries the fleet's exact SetIdentifier.

use aws_sdk_route53::types::{AliasTarget, ResourceRecordSet, ResourceRecordSetRegion, RrType};

use crate::model::{ObservedFleet, OwnedRecord};
use crate::names::{FleetName, ShardIndex, latency_set_identifier, regional_name, weighted_set_identifier};
use crate::plan::protection::{Protection, fleet_web_acl, protection_of};
use crate::plan::weights::MAX_WEIGHT;
use crate::policy::FleetPolicy;

/// The record types a fleet answers: A, and AAAA too for dualstack ALBs.
pub fn record_types(dualstack: bool) -> Vec<RrType> {
    if dualstack { vec![RrType::A, RrType::Aaaa] } else { vec![RrType::A] }
}

fn alias_target(dns_name: &str, hosted_zone_id: &str, evaluate_target_health: bool) -> AliasTarget {
    AliasTarget::builder()
        .dns_name(dns_name)
        .hosted_zone_id(hosted_zone_id)
        .evaluate_target_health(evaluate_target_health)
        .build()
        .expect("all alias fields set")
}

/// What routes a fleet's alias record: a weight (a shard's record) or a region (the latency record).
enum Routing<'a> {
    Weighted { weight: u8, health_check_id: Option<&'a str> },
    Latency { region: &'a str },
}

/// One alias record per record type, all evaluating the target's health.
fn alias_records(
    name: &str,
    set_identifier: &str,
    target: (&str, &str),
    routing: Routing,
    dualstack: bool,
) -> Vec<ResourceRecordSet> {
    record_types(dualstack)
        .into_iter()
        .map(|rtype| {
            let builder = ResourceRecordSet::builder()
                .name(name)
                .r#type(rtype)
                .set_identifier(set_identifier)
                .alias_target(alias_target(target.0, target.1, true));
            let builder = match routing {
                Routing::Weighted { weight, health_check_id } => {
                    builder.weight(i64::from(weight)).set_health_check_id(health_check_id.map(str::to_owned))
                }
                Routing::Latency { region } => builder.region(ResourceRecordSetRegion::from(region)),
            };
            builder.build().expect("all record fields set")
        })
        .collect()
}

/// Shard `index`'s weighted alias records (one per record type) to its ALB (`alb`: DNS name and zone).
#[allow(clippy::too_many_arguments)]
pub fn weighted_records(
    fleet: &FleetName,
    region: &str,
    domain: &str,
    index: ShardIndex,
    alb: (&str, &str),
    weight: u8,
    health_check_id: Option<&str>,
    dualstack: bool,
) -> Vec<ResourceRecordSet> {
    let set_identifier = weighted_set_identifier(fleet, region, index);
    let routing = Routing::Weighted { weight, health_check_id };
    alias_records(&regional_name(region, domain), &set_identifier, alb, routing, dualstack)
}

/// The region's latency records: `<domain>` → `<region>.<domain>` in the same zone.
pub fn latency_records(
    fleet: &FleetName,
    region: &str,
    domain: &str,
    zone_id: &str,
    dualstack: bool,
) -> Vec<ResourceRecordSet> {
    let target = regional_name(region, domain);
    let set_identifier = latency_set_identifier(fleet, region);
    alias_records(domain, &set_identifier, (&target, zone_id), Routing::Latency { region }, dualstack)
}

/// An observed record as the same record again, for a DELETE (Route 53 wants the exact record).
pub fn as_record_set(record: &OwnedRecord) -> ResourceRecordSet {
    let mut builder = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(record.record_type.clone())
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
        && *desired.r#type() == current.record_type
        && desired.set_identifier() == Some(current.set_identifier.as_str())
        && desired.weight() == current.weight
        && desired.region().map(|r| r.as_str()) == current.region.as_deref()
        && desired.health_check_id() == current.health_check_id.as_deref()
}

/// The records to UPSERT, and every serving shard's weight after them (for the weight guard).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPlan {
    pub upserts: Vec<ResourceRecordSet>,
    pub weights: Vec<(ShardIndex, u8)>,
}

/// Weighted records for every serving shard (a shard keeps its current weight; a new one starts at the
/// policy's initial weight and the rebalancer ramps it, unless the fleet has no weighted record yet: then every
/// shard starts at full weight; a new one less protected than the fleet, or whose web ACL could not be read,
/// starts at 0 and the rebalancer raises it once it matches) and the region's latency record. Records that
/// already say the same are left out: a re-run after success writes nothing.
pub fn record_plan(
    fleet_name: &FleetName,
    region: &str,
    policy: &FleetPolicy,
    fleet: &ObservedFleet,
    health_checks: &[(ShardIndex, String)],
) -> RecordPlan {
    let first_shards = !fleet.records.iter().any(|r| r.shard.is_some());
    let web_acl = fleet_web_acl(fleet);
    let mut upserts = Vec::new();
    let mut weights = Vec::new();
    let mut dualstack = false;
    for shard in fleet.shards.iter().filter(|s| s.is_serving()) {
        let Some(lb) = &shard.load_balancer else { continue };
        dualstack |= lb.is_dualstack();
        let current = fleet.weighted_record(shard.index).and_then(|r| r.weight).and_then(|w| u8::try_from(w).ok());
        let start = match protection_of(shard, web_acl) {
            protection if protection.withholds_weight() => 0,
            _ if first_shards => MAX_WEIGHT,
            Protection::Unknown => 0,
            _ => policy.rebalancing.initial_weight,
        };
        let weight = current.unwrap_or(start);
        weights.push((shard.index, weight));
        let health_check = health_checks.iter().find(|(i, _)| *i == shard.index).map(|(_, id)| id.as_str());
        upserts.extend(weighted_records(
            fleet_name,
            region,
            &policy.dns.domain,
            shard.index,
            (&lb.dns_name, &lb.canonical_hosted_zone_id),
            weight,
            health_check,
            lb.is_dualstack(),
        ));
    }
    upserts.extend(latency_records(fleet_name, region, &policy.dns.domain, &policy.dns.hosted_zone_id, dualstack));
    upserts.retain(|desired| !fleet.records.iter().any(|current| same_record(desired, current)));
    RecordPlan { upserts, weights }
}

#[cfg(test)]
mod tests;

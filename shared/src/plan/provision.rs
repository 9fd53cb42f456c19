//! The provisioner's decisions: whose fleet this is, what AWS cannot change in place, which shards a
//! Create or Update builds, and what a Delete removes.

use serde_json::{Value, json};

use crate::error::{Result, StrataError};
use crate::model::{ObservedFleet, OwnedRecord, Shard, Tags};
use crate::names::{FleetName, Owner, ShardIndex};
use crate::spec::FleetSpec;
use crate::spec::schema::{pointer, refused_properties};

/// One fleet name in a region belongs to one custom resource. Another owner's fleet is refused; an unclaimed
/// one (made before owners were written) only to a request that may claim it: the Update of the custom
/// resource whose PhysicalResourceId names it.
pub fn check_owner(fleet: &FleetName, region: &str, observed: &ObservedFleet, may_claim: bool) -> Result<()> {
    if let Some(other) = observed.other_owners.first() {
        return Err(StrataError::NotOwner(format!(
            "fleet {fleet} in {region} belongs to {other}; give this fleet another FleetName"
        )));
    }
    if observed.has_unclaimed() && !may_claim {
        return Err(StrataError::NotOwner(format!(
            "fleet {fleet} in {region} exists without an owner (made before Strata recorded owners): only the \
             custom resource that made it may take it, by its next Update or Delete; give this fleet another FleetName"
        )));
    }
    Ok(())
}

/// Properties declared `refused` on Update (`x-on-update` on the field) whose value differs from what an
/// existing ALB or target group was built with: AWS cannot change them in place.
pub fn replacement_conflicts(spec: &FleetSpec, observed: &ObservedFleet) -> Vec<String> {
    let wanted = serde_json::to_value(spec).unwrap_or_default();
    let refused = refused_properties();
    let mut conflicts = Vec::new();
    for (property, resource, built) in observed.shards.iter().flat_map(built_with) {
        let Some(want) = pointer(&wanted, property).filter(|_| refused.iter().any(|r| r == property)) else {
            continue;
        };
        if *want != built {
            conflicts.push(format!("{property} ({resource} has {}, spec says {})", plain(&built), plain(want)));
        }
    }
    conflicts
}

/// What a shard's ALB and target group were built with, by property, as the spec writes it. Every property
/// declared `refused` has a reading here (a test holds the two together).
fn built_with(shard: &Shard) -> Vec<(&'static str, &str, Value)> {
    let mut out = Vec::new();
    if let Some(lb) = &shard.load_balancer {
        out.push(("Scheme", lb.name.as_str(), aws_name(&lb.scheme)));
        out.push(("VpcId", lb.name.as_str(), json!(lb.vpc_id)));
    }
    if let Some(tg) = &shard.target_group {
        out.push(("TargetType", tg.name.as_str(), aws_name(&tg.target_type)));
        out.push(("TargetPort", tg.name.as_str(), json!(tg.port)));
        out.push(("VpcId", tg.name.as_str(), json!(tg.vpc_id)));
    }
    // A value AWS left out: nothing to compare.
    out.retain(|(_, _, value)| !value.is_null() && value.as_str() != Some(""));
    out
}

fn aws_name<T: AsRef<str>>(value: &Option<T>) -> Value {
    value.as_ref().map_or(Value::Null, |v| json!(v.as_ref()))
}

fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// The shards a Create or Update converges: every one not draining, and, up to MinShards, new ones at the
/// lowest indexes whose names nothing else holds.
pub fn shards_to_converge(before: &ObservedFleet, min_shards: u8) -> Vec<ShardIndex> {
    let mut indexes: Vec<ShardIndex> = before.shards.iter().filter(|s| !s.is_draining()).map(|s| s.index).collect();
    let missing = usize::from(min_shards).saturating_sub(indexes.len());
    indexes
        .extend((0..=ShardIndex::MAX).filter_map(ShardIndex::new).filter(|i| before.index_is_free(*i)).take(missing));
    indexes.sort();
    indexes.dedup();
    indexes
}

/// The ALB ids (the last part of their ARNs) of the fleet's shards and duplicates: a health check's
/// CallerReference names one.
pub fn alb_ids_of(fleet: &ObservedFleet) -> Vec<&str> {
    fleet
        .shards
        .iter()
        .filter_map(|s| s.load_balancer.as_ref())
        .chain(&fleet.duplicate_load_balancers)
        .filter_map(|lb| lb.arn.rsplit('/').next())
        .collect()
}

/// Leaves out what was made before owners were written (a rollback removes only what its own Create made).
pub fn keep_only_owned_by(observed: &mut ObservedFleet, owner: &Owner) {
    let mine = |tags: &Tags| Owner::from_tags(|k| tags.get(k).map(String::as_str)).as_ref() == Some(owner);
    for shard in &mut observed.shards {
        shard.load_balancer = shard.load_balancer.take().filter(|lb| mine(&lb.tags));
        shard.target_group = shard.target_group.take().filter(|tg| mine(&tg.tags));
    }
    observed.shards.retain(|s| s.load_balancer.is_some() || s.target_group.is_some());
    observed.duplicate_load_balancers.retain(|lb| mine(&lb.tags));
}

/// The records a Delete removes: this region's weighted set and its own latency record (another region's
/// latency record is that region's stack's).
pub fn region_records<'a>(observed: &'a ObservedFleet, region: &'a str) -> impl Iterator<Item = &'a OwnedRecord> {
    observed.records.iter().filter(move |r| r.shard.is_some() || r.region.as_deref() == Some(region))
}

#[cfg(test)]
mod tests;

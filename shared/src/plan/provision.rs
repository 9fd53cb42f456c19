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
/// existing ALB or target group was built with: AWS cannot change them in place. One entry per property.
pub fn replacement_conflicts(spec: &FleetSpec, observed: &ObservedFleet) -> Vec<String> {
    let wanted = serde_json::to_value(spec).expect("a parsed spec serializes");
    let mut differing: Vec<(&str, Vec<&str>, Value, &Value)> = Vec::new();
    for property in refused_properties() {
        let Some(want) = pointer(&wanted, property) else { continue };
        for (_, resource, built) in observed.shards.iter().flat_map(built_with).filter(|(p, ..)| p == property) {
            if built == *want {
                continue;
            }
            match differing.iter_mut().find(|(p, _, b, _)| p == property && *b == built) {
                Some((_, resources, ..)) => resources.push(resource),
                None => differing.push((property.as_str(), vec![resource], built, want)),
            }
        }
    }
    differing
        .into_iter()
        .map(|(property, resources, built, want)| {
            let resources = match resources.as_slice() {
                [one] => format!("{one} has"),
                [first, rest @ ..] => format!("{first} and {} more have", rest.len()),
                [] => unreachable!("an entry is made with its first resource"),
            };
            format!("{property} ({resources} {}, spec says {})", plain(&built), plain(want))
        })
        .collect()
}

/// What a shard's ALB and target group were built with, by property, as the spec writes it. Every property
/// declared `refused` has a reading here (a test holds the two together).
fn built_with(shard: &Shard) -> Vec<(&'static str, &str, Value)> {
    let mut out = Vec::new();
    if let Some(lb) = &shard.load_balancer {
        out.push(("Scheme", lb.name.as_str(), json!(lb.scheme.as_ref().map(|s| s.as_str()))));
        out.push(("VpcId", lb.name.as_str(), json!(lb.vpc_id)));
    }
    if let Some(tg) = &shard.target_group {
        out.push(("TargetType", tg.name.as_str(), json!(tg.target_type.as_ref().map(|t| t.as_str()))));
        out.push(("TargetPort", tg.name.as_str(), json!(tg.port)));
        out.push(("VpcId", tg.name.as_str(), json!(tg.vpc_id)));
    }
    // A value AWS left out: nothing to compare.
    out.retain(|(_, _, value)| !value.is_null() && value.as_str() != Some(""));
    out
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

//! What removing shards deletes, decided before any call: one drained shard (the scaler), a whole fleet (the
//! provisioner's Delete), or what a pass made when it finds its fleet being deleted. One executor,
//! `crate::teardown::remove`, carries every `Removal` out in AWS's dependency order.

use aws_sdk_route53::types::ResourceRecordSet;

use crate::model::{Alarm, ObservedFleet, OwnedRecord};
use crate::names::{FleetAlarm, ShardIndex};
use crate::plan::provision::{alb_ids_of, region_records};
use crate::plan::records::as_record_set;
use crate::plan::shard::ShardResources;

/// What to delete, in this order: records → health checks → alarms → ASG attachments → ALBs (listeners first)
/// → target groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removal {
    /// The records and their hosted zone, each exactly as Route 53 holds it (a DELETE must match).
    pub records: Option<(String, Vec<ResourceRecordSet>)>,
    pub health_checks: HealthChecks,
    pub alarms: Vec<Alarm>,
    /// ASG name → the target groups to detach from it.
    pub detach: Vec<(String, Vec<String>)>,
    pub load_balancer_arns: Vec<String>,
    /// (ARN, name)
    pub target_groups: Vec<(String, String)>,
}

/// Which Route 53 health checks go. Either way only those whose tags say they are the owner's, or untagged
/// ones whose CallerReference names one of `alb_ids` (ALB ids are unique).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum HealthChecks {
    #[default]
    None,
    /// Those made for these ALBs.
    OfAlbs(Vec<String>),
    /// Every one of the fleet's, also those of ALBs already gone.
    All { alb_ids: Vec<String> },
}

/// Removing drained shard `index`: its records, its health check, its alarm, its attachments, its ALB and TG.
pub fn removal_of(observed: &ObservedFleet, index: ShardIndex, hosted_zone_id: &str) -> Removal {
    let shard = observed.shard(index);
    let lb = shard.and_then(|s| s.load_balancer.as_ref());
    let tg = shard.and_then(|s| s.target_group.as_ref());
    let records: Vec<OwnedRecord> = observed.records.iter().filter(|r| r.shard == Some(index)).cloned().collect();
    let alb_ids: Vec<String> = lb.and_then(|lb| lb.arn.rsplit('/').next()).map(str::to_owned).into_iter().collect();
    Removal {
        records: (!records.is_empty())
            .then(|| (hosted_zone_id.to_owned(), records.iter().map(as_record_set).collect())),
        health_checks: if alb_ids.is_empty() { HealthChecks::None } else { HealthChecks::OfAlbs(alb_ids) },
        alarms: observed.alarms.iter().filter(|a| a.kind == FleetAlarm::RequestsHigh(index)).cloned().collect(),
        detach: detachments(observed, &tg.map(|tg| tg.arn.clone()).into_iter().collect::<Vec<_>>()),
        load_balancer_arns: lb.map(|lb| lb.arn.clone()).into_iter().collect(),
        target_groups: tg.map(|tg| (tg.arn.clone(), tg.name.clone())).into_iter().collect(),
    }
}

/// Removing the whole fleet as observed (already narrowed to what the owner may remove): this region's records
/// when they are the owner's (`hosted_zone_id`), every owned health check (`alb_ids`: every ALB id the Delete
/// has seen, so an untagged check of an ALB removed by an earlier pass is found too), every alarm, and every
/// shard and duplicate ALB.
pub fn fleet_removal(
    observed: &ObservedFleet,
    region: &str,
    hosted_zone_id: Option<&str>,
    alb_ids: &[String],
) -> Removal {
    let records: Vec<OwnedRecord> = region_records(observed, region).cloned().collect();
    let target_groups: Vec<(String, String)> = observed
        .shards
        .iter()
        .filter_map(|s| s.target_group.as_ref())
        .map(|tg| (tg.arn.clone(), tg.name.clone()))
        .collect();
    let tg_arns: Vec<String> = target_groups.iter().map(|(arn, _)| arn.clone()).collect();
    let mut all_alb_ids = alb_ids.to_vec();
    all_alb_ids.extend(alb_ids_of(observed).into_iter().map(str::to_owned));
    all_alb_ids.sort();
    all_alb_ids.dedup();
    Removal {
        records: hosted_zone_id
            .filter(|_| !records.is_empty())
            .map(|zone| (zone.to_owned(), records.iter().map(as_record_set).collect())),
        health_checks: HealthChecks::All { alb_ids: all_alb_ids },
        alarms: observed.alarms.clone(),
        detach: detachments(observed, &tg_arns),
        load_balancer_arns: observed
            .shards
            .iter()
            .filter_map(|s| s.load_balancer.as_ref())
            .chain(&observed.duplicate_load_balancers)
            .map(|lb| lb.arn.clone())
            .collect(),
        target_groups,
    }
}

/// Removing the ALBs that racing creates left beside a shard's own (the oldest is kept).
pub fn duplicates_of(observed: &ObservedFleet) -> Removal {
    let load_balancer_arns = observed.duplicate_load_balancers.iter().map(|lb| lb.arn.clone()).collect();
    Removal { load_balancer_arns, ..Removal::default() }
}

/// Removing what a pass has just made (nothing uses it yet): the ALBs and TGs it created, not those it found.
pub fn removal_of_made<'a>(made: impl IntoIterator<Item = &'a ShardResources>) -> Removal {
    let mut removal = Removal::default();
    for made in made {
        if made.fresh_load_balancer {
            removal.load_balancer_arns.push(made.load_balancer.arn.clone());
        }
        if made.fresh_target_group {
            removal.target_groups.push((made.target_group.arn.clone(), made.target_group.name.clone()));
        }
    }
    removal
}

/// For each ASG that has any of `target_groups` attached: those of them.
fn detachments(observed: &ObservedFleet, target_groups: &[String]) -> Vec<(String, Vec<String>)> {
    observed
        .asgs
        .iter()
        .map(|asg| {
            let attached = asg.target_group_arns.iter().filter(|t| target_groups.contains(t)).cloned().collect();
            (asg.name.clone(), attached)
        })
        .filter(|(_, attached): &(String, Vec<String>)| !attached.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;

//! The rebalancer's observe → plan → apply: weights that follow healthy capacity, written in one
//! Route 53 change batch that holds only the records whose weight changes.

use aws_sdk_route53::types::ChangeAction;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::aws::AwsClients;
use crate::dns::change_owned_records;
use crate::error::{Result, StrataError};
use crate::model::{ObservedFleet, Pause};
use crate::names::FleetName;
use crate::observe::{Depth, FleetQuery, observe};
use crate::plan::guard;
use crate::plan::protection::{Protection, ShardProtection, fleet_web_acl, protection_of, unmatched};
use crate::plan::records::as_record_set;
use crate::plan::weights::{ShardCapacity, WeightChange, WeightReason, plan_weights};
use crate::policy::{FleetPolicy, dns_from_tags};
use crate::spec::Rebalancing;
use crate::telemetry::{MetricUnit, Metrics};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebalanceReport {
    pub fleet: FleetName,
    pub changes: Vec<WeightChange>,
    pub reason: WeightReason,
    /// Records written (A and AAAA count apart); 0 in a dry run.
    pub records_written: usize,
    /// Busiest shard's requests per healthy target over the mean (1.0 = even), where load is known.
    pub imbalance: Option<f64>,
    pub dry_run: bool,
    /// Set when the fleet is paused: then nothing was changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// Serving shards not protected as the fleet is (its AWS WAF web ACL): kept at weight 0, or not raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub less_protected: Vec<ShardProtection>,
}

/// The planner's view of the fleet: one entry per weighted record of this region.
pub fn capacities(fleet: &ObservedFleet) -> Vec<ShardCapacity> {
    let web_acl = fleet_web_acl(fleet);
    let mut out: Vec<ShardCapacity> = fleet
        .records
        .iter()
        .filter_map(|r| r.shard.map(|index| (index, r.weight)))
        .map(|(index, weight)| {
            let shard = fleet.shard(index);
            ShardCapacity {
                index,
                current: weight.and_then(|w| u8::try_from(w).ok()),
                healthy_targets: shard.and_then(|s| s.health).map(|h| h.healthy).unwrap_or(0),
                draining: shard.is_none_or(|s| !s.is_serving()),
                protection: shard.map(|s| protection_of(s, web_acl)).unwrap_or(Protection::Matches),
            }
        })
        .collect();
    out.sort_by_key(|c| c.index);
    out.dedup_by_key(|c| c.index);
    out
}

/// Max over mean of requests per healthy target, over shards with load data and healthy targets.
pub fn imbalance(fleet: &ObservedFleet) -> Option<f64> {
    let per_target: Vec<f64> = fleet
        .shards
        .iter()
        .filter_map(|s| Some((s.requests_per_second?, s.health?.healthy)))
        .filter(|(_, healthy)| *healthy > 0)
        .map(|(rps, healthy)| rps / f64::from(healthy))
        .collect();
    let mean = per_target.iter().sum::<f64>() / per_target.len() as f64;
    (mean > 0.0).then(|| per_target.iter().copied().fold(0.0, f64::max) / mean)
}

/// Observes the fleet, plans the weights, and (unless `dry_run`) writes the changed records.
///
/// Healthy capacity comes from DescribeTargetHealth, one call per target group (concurrent), not from the
/// HealthyHostCount metric that would ride in the one GetMetricData call with RequestCount: the metric lags a
/// minute or two and does not exist yet for a new target group, and the rebalancer's job is to move traffic
/// off capacity that is gone *now*. The price is N calls for N shards (at most 50 per region); the
/// other reads stay batched (20 ARNs per DescribeTags, one GetMetricData for up to 500 shards, one
/// ListResourceRecordSets walk). docs/benchmarks.md has the measured counts.
pub async fn rebalance(aws: &AwsClients, fleet: &FleetName, dry_run: bool) -> Result<RebalanceReport> {
    let depth = Depth { target_health: true, load: true, web_acls: true, ..Depth::default() };
    let observed = observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth, owner: None }).await?;
    if observed.deleting {
        info!(fleet = %fleet, "the fleet is being deleted: weights left alone");
        return Ok(RebalanceReport {
            fleet: fleet.clone(),
            changes: Vec::new(),
            reason: WeightReason::BeingDeleted,
            records_written: 0,
            imbalance: None,
            dry_run,
            paused: None,
            less_protected: Vec::new(),
        });
    }
    if let Some(pause) = observed.pause() {
        info!(fleet = %fleet, pause = %pause, "the fleet is paused: weights left alone");
        return Ok(RebalanceReport {
            fleet: fleet.clone(),
            changes: Vec::new(),
            reason: WeightReason::Paused,
            records_written: 0,
            imbalance: imbalance(&observed),
            dry_run,
            paused: Some(pause),
            less_protected: unmatched(&observed),
        });
    }
    let tags = observed.policy_tags();
    let params = FleetPolicy::from_tags(&tags).map(|p| p.rebalancing).unwrap_or_else(|| {
        warn!(fleet = %fleet, "no complete policy tags on the fleet's ALBs: default rebalancing parameters");
        Rebalancing::default()
    });
    let mut plan = plan_weights(&capacities(&observed), &params);
    let proposed: Vec<_> = plan.changes.iter().map(|c| (c.index, c.to)).collect();
    if let Err(why) = guard::check(&guard::weights_after(&observed, &proposed)) {
        warn!(fleet = %fleet, why, "weight change refused by the guard");
        plan.changes.clear();
        plan.reason = WeightReason::GuardRefused;
    }
    let imbalance = imbalance(&observed);
    let less_protected = unmatched(&observed);
    for shard in &less_protected {
        warn!(fleet = %fleet, shard = %shard.shard, protection = %shard.protection, "shard less protected than the fleet");
    }
    let mut records_written = 0;
    if !plan.changes.is_empty() && !dry_run {
        let dns = dns_from_tags(&tags)
            .ok_or_else(|| StrataError::Config(format!("fleet {fleet} has no hosted-zone policy tag")))?;
        let changes: Vec<_> = plan
            .changes
            .iter()
            .flat_map(|change| {
                observed.records.iter().filter(move |r| r.shard == Some(change.index)).map(move |r| (change, r))
            })
            .map(|(change, record)| {
                let mut record = record.clone();
                record.weight = Some(i64::from(change.to));
                (ChangeAction::Upsert, as_record_set(&record))
            })
            .collect();
        records_written = changes.len();
        change_owned_records(&aws.route53, &dns.hosted_zone_id, fleet, &aws.region, changes).await?;
    }
    for change in &plan.changes {
        info!(fleet = %fleet, shard = %change.index, from = ?change.from, to = change.to, dry_run, "weight change");
    }
    let mut metrics = Metrics::new(&[("Function", "dns-rebalancer"), ("Fleet", fleet.as_str())]);
    for capacity in crate::plan::weights::apply_plan(&capacities(&observed), &plan) {
        metrics.put(&format!("Weight.{}", capacity.index), f64::from(capacity.current.unwrap_or(0)), MetricUnit::None);
    }
    metrics.count("RecordChanges", records_written as u64);
    metrics.count("LessProtectedShards", less_protected.len() as u64);
    if let Some(value) = imbalance {
        metrics.put("Imbalance", value, MetricUnit::None);
    }
    metrics.emit();
    Ok(RebalanceReport {
        fleet: fleet.clone(),
        changes: plan.changes,
        reason: plan.reason,
        records_written,
        imbalance,
        dry_run,
        paused: None,
        less_protected,
    })
}

//! The one weight guard: every path that writes a fleet's weighted records (rebalance, drain, a new shard,
//! provisioning) and every choice of a shard to drain or remove passes through `check`.
//!
//! Route 53's own fallbacks are what it guards against relying on: a weighted set answers only with records of
//! weight > 0 while one of them is healthy; when every non-zero record is unhealthy it falls back to the healthy
//! zero-weight records; when every record is unhealthy it treats them all as healthy; and all-zero weights are
//! read as equal weights. So (1) never all zero: traffic would spread evenly over drained and empty shards;
//! (2) never leave weight only on shards without healthy targets while a shard with healthy targets exists:
//! traffic would then reach the good shard only through the fallback, and only while health checks or target
//! health evaluation notice it (internal ALBs have no Route 53 health check); (3) never remove a zero-weight
//! shard that is that fallback: the only one with healthy targets. No I/O, no clock.

use serde::Serialize;

use crate::model::ObservedFleet;
use crate::names::ShardIndex;

/// One weighted record's shard as the guard sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GuardedShard {
    pub index: ShardIndex,
    pub weight: u8,
    /// Healthy targets, where they were read (`None`: unknown, given the benefit of the doubt).
    pub healthy: Option<u32>,
    /// Serving (not draining): a draining shard's healthy targets are on their way out and strand no one.
    pub serving: bool,
}

impl GuardedShard {
    fn surely_healthy(&self) -> bool {
        self.healthy.is_some_and(|h| h > 0)
    }
    fn maybe_healthy(&self) -> bool {
        self.healthy.is_none_or(|h| h > 0)
    }
}

/// Why a set of weights is refused.
pub fn check(after: &[GuardedShard]) -> Result<(), String> {
    if after.is_empty() {
        return Ok(());
    }
    if after.iter().all(|s| s.weight == 0) {
        return Err("every weighted record would be 0, which Route 53 reads as equal weights".into());
    }
    let healthy_exists = after.iter().any(|s| s.serving && s.surely_healthy());
    let weight_on_healthy = after.iter().any(|s| s.weight > 0 && s.maybe_healthy());
    if healthy_exists && !weight_on_healthy {
        return Err("weight would be left only on shards with no healthy target".into());
    }
    Ok(())
}

/// The fleet's weighted records with `changes` applied: one entry per shard that has a record or gets one.
pub fn weights_after(fleet: &ObservedFleet, changes: &[(ShardIndex, u8)]) -> Vec<GuardedShard> {
    let mut out: Vec<GuardedShard> = fleet
        .records
        .iter()
        .filter_map(|r| Some((r.shard?, u8::try_from(r.weight?).ok()?)))
        .chain(changes.iter().copied())
        .map(|(index, _)| index)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|index| {
            let current = fleet.weighted_record(index).and_then(|r| r.weight).and_then(|w| u8::try_from(w).ok());
            let weight = changes.iter().rev().find(|(i, _)| *i == index).map(|(_, w)| *w).or(current).unwrap_or(0);
            let shard = fleet.shard(index);
            let healthy = match shard {
                Some(s) if s.is_serving() || s.is_draining() => s.health.map(|h| h.healthy),
                // A record whose shard is gone has nothing behind it.
                _ => Some(0),
            };
            // As observed: a shard about to be drained still counts as serving, so the last healthy one stays.
            let serving = shard.is_some_and(|s| s.is_serving());
            GuardedShard { index, weight, healthy, serving }
        })
        .collect();
    out.sort_by_key(|s| s.index);
    out
}

/// Whether shard `index` may be drained now: the weights after its drain pass `check`.
pub fn may_drain(fleet: &ObservedFleet, index: ShardIndex) -> Result<(), String> {
    check(&weights_after(fleet, &[(index, 0)]))
}

/// Whether the drained shard `index` may be removed: it is not the only shard with healthy targets (Route 53's
/// fallback when every weighted shard fails its health check).
pub fn may_remove(fleet: &ObservedFleet, index: ShardIndex) -> Result<(), String> {
    let weights = weights_after(fleet, &[]);
    let this = weights.iter().find(|s| s.index == index);
    let others_healthy = weights.iter().filter(|s| s.index != index).any(GuardedShard::maybe_healthy);
    match this {
        Some(shard) if shard.surely_healthy() && !others_healthy => {
            Err(format!("shard {index} is the only shard with healthy targets"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;

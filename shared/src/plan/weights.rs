//! The rebalancer's pure planner: Route 53 weights from healthy capacity (DESIGN.md §5).
//! No I/O, no clock, no randomness: the same input always gives the same plan.

use serde::{Deserialize, Serialize};

use crate::names::ShardIndex;
use crate::plan::protection::Protection;
use crate::spec::Rebalancing;

pub const MAX_WEIGHT: u8 = 255;

/// One shard as the planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardCapacity {
    pub index: ShardIndex,
    /// The weight its record has now (`None`: no record yet).
    pub current: Option<u8>,
    pub healthy_targets: u32,
    pub draining: bool,
    /// Less protected than the fleet (its web ACL): weight 0; unknown: its weight is not raised.
    pub protection: Protection,
}

impl ShardCapacity {
    /// It should get no traffic: draining, or less protected than the other shards (where `protecting`).
    fn withheld(&self, protecting: bool) -> bool {
        self.draining || (protecting && self.protection.withholds_weight())
    }
}

/// Whether less protected shards are kept out: while the shards that match the fleet's web ACL hold at least as
/// many healthy targets as they do (or no shard has any). Availability comes first: protection never takes more
/// than half the healthy capacity out of rotation at once, nor sends everyone to empty shards (the weight guard
/// would refuse), and the reports still name the shards.
fn protecting(shards: &[ShardCapacity]) -> bool {
    let healthy = |withheld: bool| -> u64 {
        let counted = shards.iter().filter(|s| !s.draining && s.protection.withholds_weight() == withheld);
        counted.map(|s| u64::from(s.healthy_targets)).sum()
    };
    let (matching, less_protected) = (healthy(false), healthy(true));
    matching >= less_protected
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightChange {
    pub index: ShardIndex,
    pub from: Option<u8>,
    pub to: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightPlan {
    /// Only the shards whose weight changes, by index.
    pub changes: Vec<WeightChange>,
    /// Each shard's ideal weight (capacity share scaled so the largest is 255).
    pub targets: Vec<(ShardIndex, u8)>,
    pub reason: WeightReason,
}

/// An enum whose variants are answered, displayed and read back as their sentence, written once.
macro_rules! sentences {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

sentences! {
    /// Why the weights change or stay, answered as its sentence (reports and logs read the same words).
    pub enum WeightReason {
        WithinBand => "within the hysteresis band",
        AllZero => "refusing all-zero weights",
        FollowCapacity => "weights follow healthy capacity",
        GuardRefused => "refused by the weight guard",
        BeingDeleted => "the fleet is being deleted",
        Paused => "the fleet is paused",
    }
}

/// Ideal weights: ∝ healthy targets, the largest scaled to 255, rounded, at least 1 for any shard with a healthy
/// target; draining shards, shards less protected than the fleet (see `protecting`) and shards with no healthy
/// target get 0. When no other shard has a healthy target the capacity signal is absent: each of them gets an
/// equal weight rather than all zero.
pub fn ideal_weights(shards: &[ShardCapacity]) -> Vec<(ShardIndex, u8)> {
    let protecting = protecting(shards);
    let largest = shards.iter().filter(|s| !s.withheld(protecting)).map(|s| s.healthy_targets).max().unwrap_or(0);
    shards
        .iter()
        .map(|s| {
            let weight = if s.withheld(protecting) {
                0
            } else if largest == 0 {
                MAX_WEIGHT
            } else if s.healthy_targets == 0 {
                0
            } else {
                let scaled = (f64::from(MAX_WEIGHT) * f64::from(s.healthy_targets) / f64::from(largest)).round();
                (scaled as u8).max(1)
            };
            (s.index, weight)
        })
        .collect()
}

fn shares(weights: &[u8]) -> Vec<f64> {
    let total: f64 = weights.iter().map(|w| f64::from(*w)).sum();
    weights.iter().map(|w| if total > 0.0 { f64::from(*w) / total } else { 0.0 }).collect()
}

/// Whether traffic already follows capacity closely enough: over the shards that should get traffic, the
/// busiest shard's utilisation (traffic share over capacity share) is within `band` of the least busy one's,
/// so the busiest is at most `1 + band` times the mean.
fn within_band(current: &[u8], ideal: &[u8], band: f64) -> bool {
    let utilisation: Vec<f64> =
        shares(current).iter().zip(shares(ideal)).filter(|(_, t)| *t > 0.0).map(|(c, t)| c / t).collect();
    let (Some(max), Some(min)) =
        (utilisation.iter().copied().reduce(f64::max), utilisation.iter().copied().reduce(f64::min))
    else {
        return true;
    };
    min > 0.0 && max / min <= 1.0 + band + 1e-9
}

/// The next weights. Increases are capped at `max_step` per pass (a new shard ramps up); decreases apply at
/// once (capacity that is gone must stop getting traffic now). A shard whose web ACL could not be read is not
/// raised while another shard can carry the traffic. Nothing changes while every shard's utilisation is within the hysteresis band (see `within_band`),
/// unless a draining, empty or less protected shard still has weight. Never returns all-zero weights.
pub fn plan_weights(shards: &[ShardCapacity], params: &Rebalancing) -> WeightPlan {
    let targets = ideal_weights(shards);
    let current: Vec<u8> = shards.iter().map(|s| s.current.unwrap_or(0)).collect();
    let ideal: Vec<u8> = targets.iter().map(|(_, w)| *w).collect();
    let must_zero = shards.iter().zip(&ideal).zip(&current).any(|((_, t), c)| *t == 0 && *c > 0);
    let missing = shards.iter().any(|s| s.current.is_none());
    let band = f64::from(params.hysteresis_percent) / 100.0;
    if shards.is_empty() || (within_band(&current, &ideal, band) && !must_zero && !missing) {
        return WeightPlan { changes: Vec::new(), targets, reason: WeightReason::WithinBand };
    }
    // An unread shard is held where it is, unless no other shard has healthy targets to carry the traffic.
    let hold_unknown =
        shards.iter().any(|s| s.protection == Protection::Matches && !s.draining && s.healthy_targets > 0);
    let next: Vec<u8> = shards
        .iter()
        .zip(current.iter().zip(&ideal))
        .map(|(s, (c, t))| match (t > c, hold_unknown && s.protection == Protection::Unknown) {
            (true, true) => *c,
            (true, false) => (*t).min(c.saturating_add(params.max_step)),
            (false, _) => *t,
        })
        .collect();
    if next.iter().all(|w| *w == 0) {
        return WeightPlan { changes: Vec::new(), targets, reason: WeightReason::AllZero };
    }
    let changes = shards
        .iter()
        .zip(&next)
        .filter(|(s, to)| s.current != Some(**to))
        .map(|(s, to)| WeightChange { index: s.index, from: s.current, to: *to })
        .collect();
    WeightPlan { changes, targets, reason: WeightReason::FollowCapacity }
}

/// The weights after applying a plan.
pub fn apply_plan(shards: &[ShardCapacity], plan: &WeightPlan) -> Vec<ShardCapacity> {
    shards
        .iter()
        .map(|s| {
            let to = plan.changes.iter().find(|c| c.index == s.index).map(|c| c.to);
            ShardCapacity { current: to.or(s.current), ..s.clone() }
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! The alb-scaler's pure planner: which shard to add, finish, drain or remove, from the observed fleet, the
//! trigger and the time. No I/O, no clock: `now` is an input.

use serde::{Deserialize, Serialize};

use crate::model::ObservedFleet;
use crate::model::RegionAlbs;
use crate::names::{ShardIndex, TAG_DRAIN_TRIGGER, TAG_TRIGGER};
use crate::plan::guard;
use crate::policy::FleetPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleTrigger {
    /// A shard's RPS alarm, or the registrar's "no target room": more capacity is needed.
    Out,
    /// The fleet's low-load alarm: one shard fewer would do.
    In,
    /// A schedule: finish drains whose wait is over, and half-built shards.
    Tidy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ScaleStep {
    /// Build shard `index` (new), cloning shard `from`.
    Create { index: ShardIndex, from: ShardIndex },
    /// A shard left half-built (by a crash, or by a concurrent copy of this trigger): finish it.
    Finish { index: ShardIndex, from: ShardIndex },
    /// Weight 0 and the draining tags.
    Drain { index: ShardIndex },
    /// Delete a drained shard whose wait is over.
    Remove { index: ShardIndex },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalePlan {
    pub steps: Vec<ScaleStep>,
    /// Why nothing (more) is done: a limit reached, nothing to drain, ...
    pub notes: Vec<ScaleNote>,
}

/// Why a plan does less than its trigger asked. Displayed as a sentence (logs, `strata plan`); in a report, the
/// variant and its fields (`{"note": "max_shards", "max": 2, "message": "MaxShards (2) reached: no new shard"}`),
/// so that a reader matches the variant rather than words, and people still read the sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "note", rename_all = "snake_case")]
pub enum ScaleNote {
    /// The weight guard keeps a drained shard (its reason).
    Kept {
        index: ShardIndex,
        why: String,
    },
    Draining {
        index: ShardIndex,
        seconds_left: i64,
    },
    NoTemplate,
    AlreadyAdded,
    BeingBuilt,
    MaxShards {
        max: u8,
    },
    RegionQuota {
        load_balancers: usize,
        quota: usize,
    },
    NoFreeIndex,
    AlreadyDrained,
    AtMinShards {
        serving: usize,
        floor: usize,
    },
    /// The weight guard refuses every candidate (the first one's reason).
    NotDrained {
        why: String,
    },
    NothingToDrain,
    BeingDeleted,
    /// The fleet is paused (the `Paused` property or `strata pause`): the scaler observes and reports only.
    Paused,
}

impl ScaleNote {
    /// A scale-out refused by a shard limit (MaxShards or the region's load balancer quota).
    pub fn is_shard_limit(&self) -> bool {
        matches!(self, Self::MaxShards { .. } | Self::RegionQuota { .. })
    }
}

impl std::fmt::Display for ScaleNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kept { index, why } => write!(f, "shard {index} is kept: {why}"),
            Self::Draining { index, seconds_left } => write!(f, "shard {index} drains until {seconds_left}s from now"),
            Self::NoTemplate => {
                f.write_str("no complete serving shard to clone: the provisioner must build shard 0 first")
            }
            Self::AlreadyAdded => f.write_str("this alarm transition already added a shard: nothing more"),
            Self::BeingBuilt => f.write_str("a shard is being built: finishing it instead of adding another"),
            Self::MaxShards { max } => write!(f, "MaxShards ({max}) reached: no new shard"),
            Self::RegionQuota { load_balancers, quota } => write!(
                f,
                "the region holds {load_balancers} application load balancers, as many as its quota allows ({quota}): no new shard"
            ),
            Self::NoFreeIndex => f.write_str("every shard index is in use"),
            Self::AlreadyDrained => f.write_str("this alarm transition already drained a shard: nothing more"),
            Self::AtMinShards { serving, floor } => {
                write!(f, "{serving} serving shard(s), MinShards {floor}: never remove the last serving shards")
            }
            Self::NotDrained { why } => write!(f, "no shard drained: {why}"),
            Self::NothingToDrain => f.write_str("no serving shard with weight to drain"),
            Self::BeingDeleted => f.write_str("the fleet is being deleted: nothing to do"),
            Self::Paused => f.write_str("the fleet is paused: observed and reported, nothing changed"),
        }
    }
}

/// The derived (remote = "Self") fields of a note, to flatten beside its sentence.
struct NoteFields<'a>(&'a ScaleNote);

impl Serialize for NoteFields<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ScaleNote::serialize(self.0, serializer)
    }
}

impl Serialize for ScaleNote {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithMessage<'a> {
            #[serde(flatten)]
            fields: NoteFields<'a>,
            message: String,
        }
        WithMessage { fields: NoteFields(self), message: self.to_string() }.serialize(serializer)
    }
}

/// The `message` is ignored: the sentence always follows from the variant.
impl<'de> Deserialize<'de> for ScaleNote {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScaleNote::deserialize(deserializer)
    }
}

/// Seconds to wait after a shard's weight went to 0 before deleting it: clients may hold the old DNS answer
/// for the alias TTL, then in-flight requests drain for the deregistration delay.
pub fn drain_wait_seconds(policy: &FleetPolicy, alias_ttl_seconds: u32) -> i64 {
    i64::from(alias_ttl_seconds) + i64::from(policy.deregistration_delay_seconds)
}

/// `now` and `draining-since` are seconds since the epoch; `region_albs` bounds a scale-out (and the index a
/// new shard may take).
/// `trigger_id` identifies the alarm transition (see `AlarmTransition::transition_id`): a shard made for it
/// carries it as the `strata:trigger` tag, so duplicate deliveries and replays add nothing more.
#[allow(clippy::too_many_arguments)]
pub fn plan_scale(
    fleet: &ObservedFleet,
    policy: &FleetPolicy,
    trigger: ScaleTrigger,
    trigger_id: Option<&str>,
    now: i64,
    alias_ttl_seconds: u32,
    region_albs: RegionAlbs,
) -> ScalePlan {
    let mut plan = ScalePlan { steps: Vec::new(), notes: Vec::new() };
    let tagged_with = |key: &str| {
        trigger_id.is_some_and(|id| {
            fleet
                .shards
                .iter()
                .filter_map(|s| s.load_balancer.as_ref())
                .any(|lb| lb.tags.get(key).map(String::as_str) == Some(id))
        })
    };
    let (handled, drained_by_this) = (tagged_with(TAG_TRIGGER), tagged_with(TAG_DRAIN_TRIGGER));
    let complete = |index: ShardIndex| {
        fleet.shard(index).is_some_and(|s| s.is_serving() && s.listeners.len() >= 2)
            && fleet.weighted_record(index).is_some()
    };
    let serving: Vec<ShardIndex> = fleet.shards.iter().filter(|s| s.is_serving()).map(|s| s.index).collect();
    let template = serving.iter().copied().find(|i| complete(*i));
    let half_built: Vec<ShardIndex> =
        fleet.shards.iter().filter(|s| !s.is_draining() && !complete(s.index)).map(|s| s.index).collect();

    // Half-built shards are finished first, whatever the trigger: they are capacity already paid for.
    if let Some(from) = template {
        plan.steps.extend(half_built.iter().map(|&index| ScaleStep::Finish { index, from }));
    }
    let wait = drain_wait_seconds(policy, alias_ttl_seconds);
    for shard in fleet.shards.iter().filter(|s| s.is_draining()) {
        let still_weighted = fleet.records.iter().any(|r| r.shard == Some(shard.index) && r.weight.unwrap_or(0) > 0);
        match shard.draining_since().and_then(parse_rfc3339) {
            // A drain cut short between its tags and its weights: finish it, and the wait starts again.
            _ if still_weighted => plan.steps.push(ScaleStep::Drain { index: shard.index }),
            Some(since) if now >= since + wait => match guard::may_remove(fleet, shard.index) {
                Ok(()) => plan.steps.push(ScaleStep::Remove { index: shard.index }),
                Err(why) => plan.notes.push(ScaleNote::Kept { index: shard.index, why: why.to_string() }),
            },
            Some(since) => {
                plan.notes.push(ScaleNote::Draining { index: shard.index, seconds_left: since + wait - now })
            }
            // Drained by hand without a time: stamp it now, so it waits like any other drain.
            None => plan.steps.push(ScaleStep::Drain { index: shard.index }),
        }
    }
    match trigger {
        ScaleTrigger::Out => {
            let Some(from) = template else {
                plan.notes.push(ScaleNote::NoTemplate);
                return plan;
            };
            if handled {
                plan.notes.push(ScaleNote::AlreadyAdded);
            } else if !half_built.is_empty() {
                plan.notes.push(ScaleNote::BeingBuilt);
            } else if serving.len() >= usize::from(policy.limits.max_shards) {
                plan.notes.push(ScaleNote::MaxShards { max: policy.limits.max_shards });
            } else if region_albs.in_use >= region_albs.quota {
                plan.notes
                    .push(ScaleNote::RegionQuota { load_balancers: region_albs.in_use, quota: region_albs.quota });
            } else {
                // Indexes as far as the quota reaches: a fleet never needs more names than the region has ALBs.
                let last = region_albs.quota.saturating_sub(1).min(usize::from(ShardIndex::MAX));
                let index = (0..=last).filter_map(|i| ShardIndex::new(i as u8)).find(|i| fleet.index_is_free(*i));
                match index {
                    Some(index) => plan.steps.push(ScaleStep::Create { index, from }),
                    None => plan.notes.push(ScaleNote::NoFreeIndex),
                }
            }
        }
        ScaleTrigger::In => {
            let floor = usize::from(policy.limits.min_shards.max(1));
            let weighted = |i: &ShardIndex| fleet.weighted_record(*i).and_then(|r| r.weight).unwrap_or(0) > 0;
            if drained_by_this {
                plan.notes.push(ScaleNote::AlreadyDrained);
            } else if serving.len() <= floor {
                plan.notes.push(ScaleNote::AtMinShards { serving: serving.len(), floor });
            } else {
                let candidates: Vec<ShardIndex> =
                    serving.iter().rev().copied().filter(|i| weighted(i) && complete(*i)).collect();
                match candidates.iter().find(|i| guard::may_drain(fleet, **i).is_ok()) {
                    Some(index) => plan.steps.push(ScaleStep::Drain { index: *index }),
                    None => match candidates.first().map(|i| guard::may_drain(fleet, *i)) {
                        Some(Err(why)) => plan.notes.push(ScaleNote::NotDrained { why: why.to_string() }),
                        _ => plan.notes.push(ScaleNote::NothingToDrain),
                    },
                }
            }
        }
        ScaleTrigger::Tidy => {}
    }
    plan
}

/// An RFC 3339 UTC time (`2026-11-25T09:30:00Z`) of seconds since the epoch.
pub fn format_rfc3339(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default()
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2026-11-25T09:30:00Z`).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime).ok().map(|t| t.secs())
}

#[cfg(test)]
pub(crate) mod tests;

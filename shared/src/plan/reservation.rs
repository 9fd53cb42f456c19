//! When the scaler reserves LCU capacity on a hot shard and when it gives it back. Pure: `crate::relief` reads
//! the reservation, asks these functions, and makes the calls.

use crate::model::ObservedFleet;
use crate::names::{FleetAlarm, ShardIndex, TAG_RESERVED_LCU};
use crate::plan::scale::{ScalePlan, ScaleStep};
use crate::policy::FleetPolicy;

/// A reservation is given back at the latest this long after it was made, ramp or not (it is billed).
pub const MAX_HOLD_SECONDS: i64 = 6 * 3600;

/// A hot shard's reservation as AWS answers it (DescribeCapacityReservation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReservationState {
    /// The reserved minimum, in LCUs; `None` without a reservation.
    pub minimum: Option<u32>,
    /// A change is still being provisioned in some zone (AWS refuses another until it is done).
    pub pending: bool,
    /// Decreases (a reset counts) AWS still allows today; `None` when AWS did not say.
    pub decreases_remaining: Option<i32>,
}

/// What Strata reserved on an ALB, written on it (`strata:reserved-lcu`) before the reservation is requested, so
/// that no reservation Strata made is ever left without the mark that gives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub units: u32,
    /// The reservation before Strata's (someone else's): restored, not reset, when Strata gives its own back.
    pub prior: u32,
    /// The shard being built: the reservation is held until it carries its planned weight.
    pub for_shard: ShardIndex,
    /// Seconds since the epoch.
    pub since: i64,
}

impl Mark {
    /// `units=500 prior=0 shard=1 since=1796190268` (only characters an ELBv2 tag value allows).
    pub fn to_tag_value(self) -> String {
        format!("units={} prior={} shard={} since={}", self.units, self.prior, self.for_shard.get(), self.since)
    }

    pub fn parse(value: &str) -> Option<Self> {
        let field = |name: &str| value.split(' ').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='));
        Some(Self {
            units: field("units")?.parse().ok()?,
            prior: field("prior")?.parse().ok()?,
            for_shard: ShardIndex::new(field("shard")?.parse().ok()?)?,
            since: field("since")?.parse().ok()?,
        })
    }
}

/// The relief a scale-out asks for: only when the fleet wants it, a shard is about to be built, and the alarm
/// named the hot shard (the targets-full alarm names none). (hot shard's ALB, LCUs, the shard being built)
pub fn reservation_for(
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    plan: &ScalePlan,
    hot: Option<ShardIndex>,
) -> Option<(String, u32, ShardIndex)> {
    let units = policy.limits.scale_out_reserved_capacity_units?;
    let building = plan.steps.iter().find_map(|s| match s {
        ScaleStep::Create { index, .. } => Some(*index),
        _ => None,
    })?;
    let lb = observed.shard(hot?)?.load_balancer.as_ref()?;
    (!lb.tags.contains_key(TAG_RESERVED_LCU)).then(|| (lb.arn.clone(), units, building))
}

/// Whether to raise `state` to `wanted`, and the reservation to restore later. Never lowers one (someone else's
/// may be larger), never while a change is pending, and never when no decrease is left today (it could not be
/// given back before tomorrow, billed all the while).
pub fn raise(state: ReservationState, wanted: u32) -> Result<u32, &'static str> {
    let prior = state.minimum.unwrap_or(0);
    if state.pending {
        return Err("a change of this reservation is still pending");
    }
    if prior >= wanted {
        return Err("the shard already has at least that much reserved");
    }
    if state.decreases_remaining.is_some_and(|d| d <= 0) {
        return Err("no capacity decrease left today to give it back");
    }
    Ok(prior)
}

/// The marked reservations that may be given back now: the shard they were made for carries its planned
/// weight (serving, healthy targets, a weight above 0, no increase planned), or is gone, or the hold is over.
/// Never while the hot shard's requests-high alarm is in ALARM. (ALB, its mark)
pub fn give_backs(
    observed: &ObservedFleet,
    increase_planned: impl Fn(ShardIndex) -> bool,
    now: i64,
) -> Vec<(String, Mark)> {
    let carries_its_weight = |index: ShardIndex| match observed.shard(index) {
        None => true,
        Some(shard) => {
            let weight = observed.weighted_record(index).and_then(|r| r.weight).unwrap_or(0);
            shard.is_serving() && shard.health.is_some_and(|h| h.healthy > 0) && weight > 0 && !increase_planned(index)
        }
    };
    observed
        .shards
        .iter()
        .filter(|s| !observed.alarms.iter().any(|a| a.kind == FleetAlarm::RequestsHigh(s.index) && a.is_firing()))
        .filter_map(|s| {
            let lb = s.load_balancer.as_ref()?;
            Some((lb.arn.clone(), Mark::parse(lb.tags.get(TAG_RESERVED_LCU)?)?))
        })
        .filter(|(_, mark)| now - mark.since >= MAX_HOLD_SECONDS || carries_its_weight(mark.for_shard))
        .collect()
}

/// What giving a marked reservation back takes, from what AWS holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveBack {
    /// Nothing of Strata's is reserved (never applied, or already given back): only the mark goes.
    Unmark,
    /// Back to the reservation that was there before Strata's.
    Restore(u32),
    /// No reservation before Strata's.
    Reset,
    Wait(&'static str),
}

pub fn give_back(state: ReservationState, mark: Mark) -> GiveBack {
    if state.pending {
        return GiveBack::Wait("a change of this reservation is still pending");
    }
    if state.minimum.unwrap_or(0) <= mark.prior {
        return GiveBack::Unmark;
    }
    if state.decreases_remaining.is_some_and(|d| d <= 0) {
        return GiveBack::Wait("no capacity decrease left today (AWS allows a few a day)");
    }
    if mark.prior > 0 { GiveBack::Restore(mark.prior) } else { GiveBack::Reset }
}

#[cfg(test)]
mod tests;

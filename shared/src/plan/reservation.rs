//! When the scaler reserves LCU capacity and when it gives it back. Pure: the scaler's command makes the calls.

use crate::model::ObservedFleet;
use crate::names::{FleetAlarm, ShardIndex, TAG_RESERVED_LCU};
use crate::plan::scale::{ScalePlan, ScaleStep};
use crate::policy::FleetPolicy;

/// The hot shard's ALB and the LCUs to reserve on it: only when the fleet asks for it, a shard is about to be
/// built, and the alarm named the hot shard (the targets-full alarm names none).
pub fn reservation_for(
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    plan: &ScalePlan,
    hot: Option<ShardIndex>,
) -> Option<(String, u32)> {
    let units = policy.limits.scale_out_reserved_capacity_units?;
    plan.steps.iter().any(|s| matches!(s, ScaleStep::Create { .. })).then_some(())?;
    let lb = observed.shard(hot?)?.load_balancer.as_ref()?;
    Some((lb.arn.clone(), units))
}

/// The ALBs holding a reservation Strata made, once no shard is still ramping up (the new shard has the weight
/// the rebalancer plans for it): (shard, ALB ARN, whether its requests-high alarm is still in ALARM).
pub fn reservations_to_reset(observed: &ObservedFleet, ramping: bool) -> Vec<(ShardIndex, String, bool)> {
    if ramping {
        return Vec::new();
    }
    observed
        .shards
        .iter()
        .filter_map(|s| Some((s.index, s.load_balancer.as_ref().filter(|lb| lb.tags.contains_key(TAG_RESERVED_LCU))?)))
        .map(|(index, lb)| {
            let hot = observed.alarms.iter().any(|a| a.kind == FleetAlarm::RequestsHigh(index) && a.is_firing());
            (index, lb.arn.clone(), hot)
        })
        .collect()
}

/// Whether a reset may spend one of the day's decreases: never the last one on a shard still hot (it may need
/// relief again today), and none when none is left.
pub fn may_reset(decreases_remaining: i32, hot: bool) -> Result<(), &'static str> {
    match decreases_remaining {
        ..=0 => Err("no capacity decrease left today (AWS allows a few a day)"),
        1 if hot => Err("the last capacity decrease of the day is kept while the shard is still hot"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_decrease_of_the_day_is_never_spent_on_a_hot_shard() {
        assert!(may_reset(2, true).is_ok());
        assert!(may_reset(1, false).is_ok());
        assert!(may_reset(1, true).is_err());
        assert!(may_reset(0, false).is_err());
    }
}

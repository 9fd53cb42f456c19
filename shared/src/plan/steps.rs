//! What each scale step changes, decided before any call: the configuration of a shard to build (cloned from a
//! serving shard), the marks and zero weights of a drain (a removal: `plan::removal`); and the fleet after the steps,
//! built from their answers instead of read back.

use aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum;

use crate::error::{Result, StrataError};
use crate::model::{ObservedFleet, OwnedRecord, Shard, Tags};
use crate::names::{
    FleetAlarm, STATE_DRAINING, ShardIndex, TAG_DRAIN_TRIGGER, TAG_DRAINING_SINCE, TAG_STATE, TAG_TRIGGER,
};
use crate::plan::guard;
use crate::plan::scale::{ScaleStep, format_rfc3339};
use crate::plan::shard::{ShardConfig, ShardResources};
use crate::policy::FleetPolicy;
use crate::policy::user_tags_of;

/// The configuration of a shard built by cloning serving shard `from`, with the fleet policy and, on a new
/// shard, the alarm transition it is made for.
pub fn clone_config(
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    step: &ScaleStep,
    from: ShardIndex,
    trigger_id: Option<&str>,
) -> Result<ShardConfig> {
    let template =
        observed.shard(from).ok_or_else(|| StrataError::Refused(format!("template shard {from} vanished")))?;
    let mut tags = policy.to_tags();
    if let (ScaleStep::Create { .. }, Some(id)) = (step, trigger_id) {
        tags.insert(TAG_TRIGGER.to_owned(), id.to_owned());
    }
    ShardConfig::cloned_from(template, tags, observed.owner.clone())
        .filter(|_| template.configured)
        .ok_or_else(|| StrataError::Refused(format!("shard {from} is not complete enough to clone")))
}

/// A drain: the tags on the shard's ALB and TG (one call, so a TG left without its ALB is still known as
/// draining), then its records at weight 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Drain {
    pub marked: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub zeroed: Vec<OwnedRecord>,
}

fn drain_marks(trigger_id: Option<&str>, now: i64) -> Vec<(String, String)> {
    let mut marks =
        vec![(TAG_STATE.to_owned(), STATE_DRAINING.to_owned()), (TAG_DRAINING_SINCE.to_owned(), format_rfc3339(now))];
    if let Some(id) = trigger_id {
        marks.push((TAG_DRAIN_TRIGGER.to_owned(), id.to_owned()));
    }
    marks
}

/// Shard `index`'s drain; refused by the weight guard as the planner's choice was (checked again here, where the
/// weight is about to be written).
pub fn drain_of(observed: &ObservedFleet, index: ShardIndex, trigger_id: Option<&str>, now: i64) -> Result<Drain> {
    guard::may_drain(observed, index)
        .map_err(|why| StrataError::Refused(format!("shard {index} not drained: {why}")))?;
    let shard = observed.shard(index);
    let marked = shard
        .and_then(|s| s.load_balancer.as_ref())
        .map(|lb| lb.arn.clone())
        .into_iter()
        .chain(shard.and_then(|s| s.target_group.as_ref()).map(|tg| tg.arn.clone()))
        .collect();
    let zeroed = observed
        .records
        .iter()
        .filter(|r| r.shard == Some(index) && r.weight != Some(0))
        .map(|r| OwnedRecord { weight: Some(0), ..r.clone() })
        .collect();
    Ok(Drain { marked, tags: drain_marks(trigger_id, now), zeroed })
}

/// `after` with shard `index` as it was just made or finished.
pub fn put_shard(after: &mut ObservedFleet, index: ShardIndex, made: &ShardResources) {
    let mut shard = after.shard(index).cloned().unwrap_or_else(|| Shard::new(index));
    shard.load_balancer = Some(made.load_balancer.clone());
    shard.target_group = Some(made.target_group.clone());
    shard.health = None;
    after.shards.retain(|s| s.index != index);
    after.shards.push(shard);
    after.shards.sort_by_key(|s| s.index);
}

/// `after` with shard `index` drained as `drain` left it: marked on its ALB and TG, its records at weight 0.
pub fn mark_drained(after: &mut ObservedFleet, index: ShardIndex, trigger_id: Option<&str>, now: i64) {
    let marks = drain_marks(trigger_id, now);
    if let Some(shard) = after.shards.iter_mut().find(|s| s.index == index) {
        let tag_sets = shard.load_balancer.as_mut().map(|lb| &mut lb.tags).into_iter();
        for tags in tag_sets.chain(shard.target_group.as_mut().map(|tg| &mut tg.tags)) {
            tags.extend(marks.iter().cloned());
        }
    }
    after.records.iter_mut().filter(|r| r.shard == Some(index)).for_each(|r| r.weight = Some(0));
}

/// `after` without shard `index`, its records and its alarm.
pub fn mark_removed(after: &mut ObservedFleet, index: ShardIndex) {
    after.shards.retain(|s| s.index != index);
    after.records.retain(|r| r.shard != Some(index));
    after.alarms.retain(|a| a.kind != FleetAlarm::RequestsHigh(index));
}

/// How the fleet is served, from its first serving shard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServedAs {
    pub health_check_path: String,
    pub internet_facing: bool,
    /// The user's tags on its ALB: what new alarms and health checks carry too.
    pub user_tags: Tags,
}

pub fn served_as(fleet: &ObservedFleet) -> ServedAs {
    let first = fleet.shards.iter().find(|s| s.is_serving());
    let lb = first.and_then(|s| s.load_balancer.as_ref());
    ServedAs {
        health_check_path: first
            .and_then(|s| s.target_group.as_ref())
            .map(|t| t.health_check_path.clone())
            .unwrap_or_default(),
        internet_facing: lb.is_some_and(|lb| lb.scheme == Some(LoadBalancerSchemeEnum::InternetFacing)),
        user_tags: lb.map(|lb| user_tags_of(&lb.tags)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scale::tests::{fleet, shard};

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn a_drain_marks_both_halves_then_zeroes_only_its_own_weighted_records() {
        let observed = fleet(vec![shard(0, 200, false, None), shard(1, 100, false, None)]);
        let one = ShardIndex::new(1).unwrap();
        let drain = drain_of(&observed, one, Some("alarm@t"), NOW).unwrap();
        assert_eq!(drain.marked, vec!["arn:lb/s1".to_owned(), "arn:tg/s1".to_owned()]);
        assert!(drain.tags.contains(&(TAG_DRAIN_TRIGGER.to_owned(), "alarm@t".to_owned())));
        assert_eq!(drain.zeroed.len(), 1);
        assert_eq!((drain.zeroed[0].shard, drain.zeroed[0].weight), (Some(one), Some(0)));
        let mut after = observed.clone();
        mark_drained(&mut after, one, Some("alarm@t"), NOW);
        assert!(after.shard(one).unwrap().is_draining());
        assert_eq!(after.weighted_record(one).unwrap().weight, Some(0));
        let only = fleet(vec![shard(0, 200, false, None)]);
        assert!(drain_of(&only, ShardIndex::new(0).unwrap(), None, NOW).is_err(), "never the last weight");
    }
}

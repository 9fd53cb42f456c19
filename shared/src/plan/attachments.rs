//! Which ASG goes on which shard's target group. Mirror: every fleet ASG on every serving shard (requests per
//! second are what a shard runs out of). Partition: each ASG on exactly one shard, placed by target headroom.

use std::collections::BTreeSet;

use crate::model::ObservedFleet;
use crate::spec::ShardingMode;

/// One ASG's change: the fleet TGs to attach and to detach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentChange {
    pub asg: String,
    pub attach: Vec<String>,
    pub detach: Vec<String>,
}

/// AWS allows at most 50 target groups per ASG.
pub const MAX_TGS_PER_ASG: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentPlan {
    pub changes: Vec<AttachmentChange>,
    /// ASGs no shard has room for (partition mode): the alb-scaler must add a shard.
    pub unplaced: Vec<String>,
}

/// Desired attachments for the fleet's ASGs. Mirror: every ASG on every serving shard. Partition: an ASG keeps
/// the serving shard it is on; otherwise it goes to the serving shard with the most target headroom, if one has
/// room for its targets. Only the fleet's own TGs are ever detached; a TG Strata does not own is never touched.
pub fn plan_attachments(fleet: &ObservedFleet, mode: ShardingMode, targets_per_shard: u32) -> AttachmentPlan {
    let serving: Vec<&str> = fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| s.target_group.as_ref())
        .map(|t| t.arn.as_str())
        .collect();
    let owned: BTreeSet<&str> =
        fleet.shards.iter().filter_map(|s| s.target_group.as_ref()).map(|t| t.arn.as_str()).collect();
    // A draining shard keeps the ASGs it has until it is removed (clients may still resolve to it), and gets no new one.
    let draining: BTreeSet<&str> = fleet
        .shards
        .iter()
        .filter(|s| s.is_draining())
        .filter_map(|s| s.target_group.as_ref())
        .map(|t| t.arn.as_str())
        .collect();
    let mut load: Vec<(u32, &str)> = serving
        .iter()
        .map(|tg| {
            let targets = fleet
                .asgs
                .iter()
                .filter(|a| a.target_group_arns.iter().any(|t| t == tg))
                .map(|a| a.instance_count)
                .sum();
            (targets, *tg)
        })
        .collect();
    let mut plan = AttachmentPlan::default();
    for asg in &fleet.asgs {
        let current: BTreeSet<&str> =
            asg.target_group_arns.iter().map(String::as_str).filter(|t| owned.contains(t)).collect();
        let kept_while_draining: BTreeSet<&str> = current.intersection(&draining).copied().collect();
        let mut desired: BTreeSet<&str> = match mode {
            ShardingMode::Mirror => serving.iter().copied().collect(),
            ShardingMode::Partition => {
                if let Some(kept) = current.iter().find(|t| serving.contains(t)) {
                    [*kept].into()
                } else if let Some(slot) = load
                    .iter_mut()
                    .filter(|(targets, _)| targets + asg.instance_count <= targets_per_shard)
                    .min_by_key(|(targets, tg)| (*targets, *tg))
                {
                    slot.0 += asg.instance_count;
                    [slot.1].into()
                } else if asg.instance_count > targets_per_shard {
                    // No shard could ever hold it, so a new shard would not help: best effort on the least loaded.
                    tracing::warn!(asg = %asg.name, "the ASG alone exceeds TargetsPerShard: placed on the least loaded shard");
                    match load.iter_mut().min_by_key(|(targets, tg)| (*targets, *tg)) {
                        Some(slot) => {
                            slot.0 += asg.instance_count;
                            [slot.1].into()
                        }
                        None => BTreeSet::new(),
                    }
                } else {
                    tracing::warn!(asg = %asg.name, "no shard has room for this ASG's targets: the alb-scaler must add a shard");
                    plan.unplaced.push(asg.name.clone());
                    BTreeSet::new()
                }
            }
        };
        desired.extend(kept_while_draining);
        let mut attach: Vec<String> = desired.difference(&current).map(|s| (*s).to_owned()).collect();
        let detach: Vec<String> = current.difference(&desired).map(|s| (*s).to_owned()).collect();
        let room = MAX_TGS_PER_ASG.saturating_sub(asg.target_group_arns.len() - detach.len());
        if attach.len() > room {
            tracing::warn!(asg = %asg.name, "the ASG would exceed 50 target groups: attaching only {room}");
            attach.truncate(room);
        }
        if !attach.is_empty() || !detach.is_empty() {
            plan.changes.push(AttachmentChange { asg: asg.name.clone(), attach, detach });
        }
    }
    plan
}

#[cfg(test)]
mod tests;

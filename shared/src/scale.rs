//! The alb-scaler's observe → plan → apply: add a shard by cloning a serving one, finish a half-built one,
//! drain one (weight 0, tagged), and remove a drained one after the wait.

use aws_sdk_elasticloadbalancingv2::types::Tag;
use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;
use serde::Serialize;
use tracing::{info, warn};

use crate::alarms;
use crate::attach::detach;
use crate::aws::AwsClients;
use crate::dns::{self, as_record_set, change_owned_records};
use crate::error::{Result, StrataError, aws_error};
use crate::finish::{FleetSettings, finish_fleet_alongside};
use crate::model::{ObservedFleet, Shard};
use crate::names::{
    FleetAlarm, FleetName, STATE_DRAINING, ShardIndex, TAG_DRAIN_TRIGGER, TAG_DRAINING_SINCE, TAG_STATE, TAG_TRIGGER,
};
use crate::observe::{Depth, FleetQuery, delete_started, ensure_configuration, observe, read_target_health};
use crate::plan::guard;
use crate::plan::scale::{ScalePlan, ScaleStep, ScaleTrigger, format_rfc3339, plan_scale};
use crate::policy::FleetPolicy;
use crate::shard::{
    ShardConfig, ShardResources, TargetGroupDeletion, delete_load_balancer, delete_target_group,
    ensure_shard_listeners, ensure_shard_resources,
};
use crate::telemetry::Metrics;

/// Deployment-wide settings of the scaler.
#[derive(Debug, Clone)]
pub struct ScalerSettings {
    pub dry_run: bool,
    /// Alias records answer with a 60 s TTL; the drain wait is this plus the deregistration delay.
    pub alias_ttl_seconds: u32,
    /// The action of the alarms it (re)writes: the alarm topic (`STRATA_ALARM_TOPIC_ARN`) or this function.
    pub scaler_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub fleet: FleetName,
    pub plan: ScalePlan,
    pub dry_run: bool,
}

/// The fleet with what the scaler decides on: listeners (complete or not), the configuration to clone, and target health where a drain or a
/// removal is weighed (the weight guard never lets the last shard with healthy targets go).
async fn observe_fleet(aws: &AwsClients, fleet: &FleetName, trigger: ScaleTrigger) -> Result<ObservedFleet> {
    // Listeners say which shards are complete; only a scale-out clones, and it clones the first serving shard.
    let depth = Depth { listeners: true, template_configuration: trigger == ScaleTrigger::Out, ..Depth::default() };
    let mut observed = observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth, owner: None }).await?;
    if trigger == ScaleTrigger::In || observed.shards.iter().any(|s| s.is_draining()) {
        read_target_health(aws, &mut observed).await?;
    }
    Ok(observed)
}

pub async fn scale(
    aws: &AwsClients,
    fleet: &FleetName,
    trigger: ScaleTrigger,
    trigger_id: Option<&str>,
    now: i64,
    settings: &ScalerSettings,
) -> Result<ScaleReport> {
    let mut observed = observe_fleet(aws, fleet, trigger).await?;
    if observed.deleting {
        let plan = ScalePlan { steps: Vec::new(), notes: vec!["the fleet is being deleted: nothing to do".into()] };
        info!(fleet = %fleet, "the fleet is being deleted: nothing to do");
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: settings.dry_run });
    }
    let Some(policy) = FleetPolicy::from_tags(&observed.policy_tags()) else {
        return Err(StrataError::Config(format!(
            "fleet {fleet} has no complete policy tags: has the provisioner built it?"
        )));
    };
    let plan = plan_scale(
        &observed,
        &policy,
        trigger,
        trigger_id,
        now,
        settings.alias_ttl_seconds,
        observed.region_load_balancers,
    );
    for note in &plan.notes {
        info!(fleet = %fleet, note, "scaler note");
    }
    let mut metrics = Metrics::new(&[("Function", "alb-scaler"), ("Fleet", fleet.as_str())]);
    let limited = plan.notes.iter().any(|n| n.contains("MaxShards") || n.contains("quota"));
    metrics.count("ShardLimitReached", u64::from(limited));
    if limited {
        warn!(fleet = %fleet, "scale-out refused: shard limit reached");
    }
    if settings.dry_run || plan.steps.is_empty() {
        metrics.emit();
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: settings.dry_run });
    }
    // A template chosen by a pass that did not expect to clone (a tidy pass finishing a half-built shard).
    // A half-built shard's own configuration too, so that finishing it changes only what differs.
    for step in &plan.steps {
        match *step {
            ScaleStep::Create { from, .. } => ensure_configuration(aws, &mut observed, from).await?,
            ScaleStep::Finish { index, from } => {
                ensure_configuration(aws, &mut observed, from).await?;
                ensure_configuration(aws, &mut observed, index).await?;
            }
            ScaleStep::Drain { .. } | ScaleStep::Remove { .. } => {}
        }
    }
    for duplicate in &observed.duplicate_load_balancers {
        delete_load_balancer(&aws.elbv2, &duplicate.arn).await?;
    }
    // The fleet after the steps, from their answers rather than read back (a second observation would cost three
    // sequential round trips on the scale-out critical path). Health is left unknown, as a fresh read would be.
    let mut after = observed.clone();
    after.shards.iter_mut().for_each(|s| s.health = None);
    let mut built = Vec::new();
    // Side by side with the first create: the health checks (a new shard's is then one call after the creates),
    // and whether the fleet's Delete has started since it was observed.
    let before_finishing =
        async { futures::try_join!(dns::fleet_health_checks(&aws.route53, fleet), delete_started(aws, &observed)) };
    let mut before_finishing = std::pin::pin!(before_finishing);
    let mut known: Option<(Vec<dns::FleetHealthCheck>, bool)> = None;
    for step in &plan.steps {
        info!(fleet = %fleet, step = ?step, "scaler step");
        match *step {
            ScaleStep::Create { index, from } | ScaleStep::Finish { index, from } => {
                let config = clone_config(&observed, &policy, step, from, trigger_id)?;
                let made = ensure_shard_resources(&aws.elbv2, fleet, index, &config, observed.shard(index));
                let made = match known {
                    Some(_) => made.await?,
                    None => {
                        let (made, found) = futures::try_join!(made, before_finishing.as_mut())?;
                        known = Some(found);
                        made
                    }
                };
                put_shard(&mut after, index, &made);
                built.push((index, config, made));
            }
            ScaleStep::Drain { index } => {
                drain(aws, &observed, &policy, index, trigger_id, now).await?;
                mark_drained(&mut after, index, trigger_id, now);
            }
            ScaleStep::Remove { index } => {
                remove(aws, &observed, &policy, index).await?;
                after.shards.retain(|s| s.index != index);
                after.records.retain(|r| r.shard != Some(index));
                after.alarms.retain(|a| a.kind != FleetAlarm::RequestsHigh(index));
            }
        }
    }
    let (health_checks, deleting) = match known {
        Some(found) => found,
        None => before_finishing.await?,
    };
    if deleting {
        // Nothing more is written behind the Delete; what this pass made is removed (no listener uses its TG).
        for (_, _, made) in built.iter().filter(|(_, _, made)| made.fresh_load_balancer) {
            delete_load_balancer(&aws.elbv2, &made.load_balancer.arn).await?;
        }
        for (_, _, made) in built.iter().filter(|(_, _, made)| made.fresh_target_group) {
            delete_target_group(&aws.elbv2, &made.target_group.arn).await?;
        }
        info!(fleet = %fleet, "the fleet's Delete started during this pass: nothing more written");
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false });
    }
    // Everything around the shards follows from them: attachments, health checks, alarms, records. New shards'
    // listeners are made side by side with them, and the records wait for both.
    let template = after.shards.iter().find(|s| s.is_serving());
    let health_check_path =
        template.and_then(|s| s.target_group.as_ref()).map(|t| t.health_check_path.clone()).unwrap_or_default();
    let internet_facing =
        template.and_then(|s| s.load_balancer.as_ref()).is_some_and(|lb| lb.scheme == "internet-facing");
    let scaler_arn = policy.scaler_function_arn.clone().or_else(|| settings.scaler_arn.clone());
    let fleet_settings = FleetSettings {
        fleet,
        policy: &policy,
        internet_facing,
        health_check_path: &health_check_path,
        scaler_arn: scaler_arn.as_deref(),
        owner: after.owner.as_ref(),
        health_checks: Some(&health_checks),
    };
    let listeners = async {
        try_join_all(built.iter().map(|(index, config, made)| {
            ensure_shard_listeners(&aws.elbv2, fleet, *index, config, made, observed.shard(*index))
        }))
        .await?;
        Ok(true)
    };
    finish_fleet_alongside(aws, &fleet_settings, &after, listeners).await?;
    let count = |f: fn(&ScaleStep) -> bool| plan.steps.iter().filter(|s| f(s)).count() as u64;
    metrics.count("ShardsCreated", count(|s| matches!(s, ScaleStep::Create { .. })));
    metrics.count("ShardsDrained", count(|s| matches!(s, ScaleStep::Drain { .. })));
    metrics.count("ShardsRemoved", count(|s| matches!(s, ScaleStep::Remove { .. })));
    metrics.emit();
    Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false })
}

/// The configuration of a shard built by cloning serving shard `from`, with the fleet policy and, on a new
/// shard, the alarm transition it is made for.
fn clone_config(
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

/// `after` with shard `index` as it was just made or finished.
fn put_shard(after: &mut ObservedFleet, index: ShardIndex, made: &ShardResources) {
    let mut shard = after.shard(index).cloned().unwrap_or_else(|| Shard::new(index));
    shard.load_balancer = Some(made.load_balancer.clone());
    shard.target_group = Some(made.target_group.clone());
    shard.health = None;
    after.shards.retain(|s| s.index != index);
    after.shards.push(shard);
    after.shards.sort_by_key(|s| s.index);
}

/// `after` with shard `index` drained as `drain` left it: marked on its ALB and TG, its records at weight 0.
fn mark_drained(after: &mut ObservedFleet, index: ShardIndex, trigger_id: Option<&str>, now: i64) {
    let mut marks = vec![(TAG_STATE, STATE_DRAINING.to_owned()), (TAG_DRAINING_SINCE, format_rfc3339(now))];
    if let Some(id) = trigger_id {
        marks.push((TAG_DRAIN_TRIGGER, id.to_owned()));
    }
    if let Some(shard) = after.shards.iter_mut().find(|s| s.index == index) {
        let tag_sets = shard.load_balancer.as_mut().map(|lb| &mut lb.tags).into_iter();
        for tags in tag_sets.chain(shard.target_group.as_mut().map(|tg| &mut tg.tags)) {
            tags.extend(marks.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        }
    }
    after.records.iter_mut().filter(|r| r.shard == Some(index)).for_each(|r| r.weight = Some(0));
}

/// The draining tags first (so a crash in between leaves a shard that every function treats as draining and the
/// next pass finishes), then weight 0; the wait is counted from this moment.
async fn drain(
    aws: &AwsClients,
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    index: ShardIndex,
    trigger_id: Option<&str>,
    now: i64,
) -> Result<()> {
    // The planner chose this shard through the same guard; checked again where the weight is written.
    guard::may_drain(observed, index)
        .map_err(|why| StrataError::Refused(format!("shard {index} not drained: {why}")))?;
    // The mark goes on the ALB and the TG in one call, so a TG left without its ALB is still known as draining.
    let shard = observed.shard(index);
    let marked: Vec<String> = shard
        .and_then(|s| s.load_balancer.as_ref())
        .map(|lb| lb.arn.clone())
        .into_iter()
        .chain(shard.and_then(|s| s.target_group.as_ref()).map(|tg| tg.arn.clone()))
        .collect();
    if !marked.is_empty() {
        let mut tags = vec![(TAG_STATE, STATE_DRAINING.to_owned()), (TAG_DRAINING_SINCE, format_rfc3339(now))];
        if let Some(id) = trigger_id {
            tags.push((TAG_DRAIN_TRIGGER, id.to_owned()));
        }
        let tags = tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        aws.elbv2
            .add_tags()
            .set_resource_arns(Some(marked))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "AddTags", e))?;
    }
    let zeroed: Vec<_> = observed
        .records
        .iter()
        .filter(|r| r.shard == Some(index) && r.weight != Some(0))
        .map(|r| {
            let mut record = r.clone();
            record.weight = Some(0);
            (ChangeAction::Upsert, as_record_set(&record))
        })
        .collect();
    if !zeroed.is_empty() {
        change_owned_records(&aws.route53, &policy.dns.hosted_zone_id, &observed.fleet, &aws.region, zeroed).await?;
    }
    Ok(())
}

/// Record → health check → alarm → ASG attachments → listeners → ALB → TG, tolerant of what is gone.
async fn remove(aws: &AwsClients, observed: &ObservedFleet, policy: &FleetPolicy, index: ShardIndex) -> Result<()> {
    let fleet = &observed.fleet;
    let records: Vec<_> = observed
        .records
        .iter()
        .filter(|r| r.shard == Some(index))
        .map(|r| (ChangeAction::Delete, as_record_set(r)))
        .collect();
    if !records.is_empty() {
        change_owned_records(&aws.route53, &policy.dns.hosted_zone_id, fleet, &aws.region, records).await?;
    }
    let Some(shard) = observed.shard(index) else { return Ok(()) };
    if let Some(lb) = &shard.load_balancer {
        let alb_id = lb.arn.rsplit('/').next().unwrap_or_default();
        let checks: Vec<_> = dns::fleet_health_checks(&aws.route53, fleet)
            .await?
            .into_iter()
            .filter(|c| c.shard == index && c.alb_id == alb_id)
            .collect();
        let owner = observed.owner.as_ref();
        for check in dns::owned_health_checks(&aws.route53, fleet, checks, owner, true, &[alb_id]).await? {
            dns::delete_health_check(&aws.route53, &check.id).await?;
        }
    }
    let alarm: Vec<_> = observed.alarms.iter().filter(|a| a.kind == FleetAlarm::RequestsHigh(index)).cloned().collect();
    alarms::delete_owned_alarms(&aws.cloudwatch, fleet, &alarm, observed.owner.as_ref(), true).await?;
    if let Some(tg) = &shard.target_group {
        for asg in observed.asgs.iter().filter(|a| a.target_group_arns.contains(&tg.arn)) {
            detach(&aws.autoscaling, &asg.name, std::slice::from_ref(&tg.arn)).await?;
        }
    }
    if let Some(lb) = &shard.load_balancer {
        delete_load_balancer(&aws.elbv2, &lb.arn).await?;
    }
    if let Some(tg) = &shard.target_group
        && delete_target_group(&aws.elbv2, &tg.arn).await? == TargetGroupDeletion::StillInUse
    {
        // Marked draining like its ALB was: the next pass removes it, never rebuilds it.
        warn!(fleet = %fleet, shard = %index, target_group = %tg.name, "target group still in use after its ALB's deletion: left for the next pass");
    }
    Ok(())
}

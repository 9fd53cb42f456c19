//! The alb-scaler's observe → plan → apply: add a shard by cloning a serving one, finish a half-built one,
//! drain one (weight 0, tagged), and remove a drained one after the wait.

use aws_sdk_elasticloadbalancingv2::types::Tag;
use aws_sdk_route53::types::ChangeAction;
use serde::Serialize;
use tracing::{info, warn};

use crate::alarms;
use crate::attach::detach;
use crate::aws::AwsClients;
use crate::dns::{self, as_record_set, change_owned_records};
use crate::error::{Result, StrataError, aws_error};
use crate::finish::{FleetSettings, finish_fleet};
use crate::model::ObservedFleet;
use crate::names::{
    FleetAlarm, FleetName, STATE_DRAINING, ShardIndex, TAG_DRAIN_TRIGGER, TAG_DRAINING_SINCE, TAG_STATE, TAG_TRIGGER,
};
use crate::observe::{Depth, FleetQuery, observe, read_target_health};
use crate::plan::guard;
use crate::plan::scale::{ScalePlan, ScaleStep, ScaleTrigger, format_rfc3339, plan_scale};
use crate::policy::FleetPolicy;
use crate::shard::{ShardConfig, TargetGroupDeletion, delete_load_balancer, delete_target_group, ensure_shard};
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

/// The fleet with what the scaler decides on: configuration to clone, and target health where a drain or a
/// removal is weighed (the weight guard never lets the last shard with healthy targets go).
async fn observe_fleet(aws: &AwsClients, fleet: &FleetName, trigger: ScaleTrigger) -> Result<ObservedFleet> {
    let depth = Depth { configuration: true, ..Depth::default() };
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
    let observed = observe_fleet(aws, fleet, trigger).await?;
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
    for step in &plan.steps {
        info!(fleet = %fleet, step = ?step, "scaler step");
        apply_step(aws, &observed, &policy, step, trigger_id, now).await?;
    }
    // Everything around the shards follows from them: attachments, health checks, alarms, records.
    // What follows needs the shards and records, not their configuration.
    let after = observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth: Depth::default(), owner: None }).await?;
    if after.deleting {
        // The fleet's Delete started while this pass ran: write no records or alarms behind it.
        info!(fleet = %fleet, "the fleet is being deleted: not finishing");
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false });
    }
    for duplicate in &after.duplicate_load_balancers {
        delete_load_balancer(&aws.elbv2, &duplicate.arn).await?;
    }
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
    };
    finish_fleet(aws, &fleet_settings, &after).await?;
    let count = |f: fn(&ScaleStep) -> bool| plan.steps.iter().filter(|s| f(s)).count() as u64;
    metrics.count("ShardsCreated", count(|s| matches!(s, ScaleStep::Create { .. })));
    metrics.count("ShardsDrained", count(|s| matches!(s, ScaleStep::Drain { .. })));
    metrics.count("ShardsRemoved", count(|s| matches!(s, ScaleStep::Remove { .. })));
    metrics.emit();
    Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false })
}

async fn apply_step(
    aws: &AwsClients,
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    step: &ScaleStep,
    trigger_id: Option<&str>,
    now: i64,
) -> Result<()> {
    let fleet = &observed.fleet;
    match *step {
        ScaleStep::Create { index, from } | ScaleStep::Finish { index, from } => {
            let template =
                observed.shard(from).ok_or_else(|| StrataError::Refused(format!("template shard {from} vanished")))?;
            let mut tags = policy.to_tags();
            if let (ScaleStep::Create { .. }, Some(id)) = (step, trigger_id) {
                tags.insert(TAG_TRIGGER.to_owned(), id.to_owned());
            }
            let config = ShardConfig::cloned_from(template, tags, observed.owner.clone())
                .ok_or_else(|| StrataError::Refused(format!("shard {from} is not complete enough to clone")))?;
            ensure_shard(&aws.elbv2, fleet, index, &config, observed.shard(index)).await?;
        }
        ScaleStep::Drain { index } => drain(aws, observed, policy, index, trigger_id, now).await?,
        ScaleStep::Remove { index } => remove(aws, observed, policy, index).await?,
    }
    Ok(())
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

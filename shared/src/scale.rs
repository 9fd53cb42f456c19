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
    FleetName, STATE_DRAINING, ShardIndex, ShardNames, TAG_DRAIN_TRIGGER, TAG_DRAINING_SINCE, TAG_STATE, TAG_TRIGGER,
};
use crate::observe::{Depth, FleetQuery, observe};
use crate::plan::scale::{ScalePlan, ScaleStep, ScaleTrigger, format_rfc3339, plan_scale};
use crate::policy::FleetPolicy;
use crate::shard::{ShardConfig, delete_load_balancer, delete_shard, ensure_shard};
use crate::telemetry::Metrics;

/// Deployment-wide settings of the scaler.
#[derive(Debug, Clone)]
pub struct ScalerSettings {
    pub dry_run: bool,
    /// Alias records answer with a 60 s TTL; the drain wait is this plus the deregistration delay.
    pub alias_ttl_seconds: u32,
    /// This function's ARN: the alarms it (re)writes act on it.
    pub scaler_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub fleet: FleetName,
    pub plan: ScalePlan,
    pub dry_run: bool,
}

async fn observe_fleet(aws: &AwsClients, fleet: &FleetName) -> Result<ObservedFleet> {
    observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth: Depth { configuration: true, ..Depth::default() } })
        .await
}

pub async fn scale(
    aws: &AwsClients,
    fleet: &FleetName,
    trigger: ScaleTrigger,
    trigger_id: Option<&str>,
    now: i64,
    settings: &ScalerSettings,
) -> Result<ScaleReport> {
    let observed = observe_fleet(aws, fleet).await?;
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
    let after = observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth: Depth::default() }).await?;
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
            let config = ShardConfig::cloned_from(template, tags)
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
    if let Some(lb) = observed.shard(index).and_then(|s| s.load_balancer.as_ref()) {
        let mut tags = vec![(TAG_STATE, STATE_DRAINING.to_owned()), (TAG_DRAINING_SINCE, format_rfc3339(now))];
        if let Some(id) = trigger_id {
            tags.push((TAG_DRAIN_TRIGGER, id.to_owned()));
        }
        let tags = tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        aws.elbv2
            .add_tags()
            .resource_arns(&lb.arn)
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
        change_owned_records(&aws.route53, &policy.dns.hosted_zone_id, &observed.fleet, zeroed).await?;
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
        change_owned_records(&aws.route53, &policy.dns.hosted_zone_id, fleet, records).await?;
    }
    let Some(shard) = observed.shard(index) else { return Ok(()) };
    if let Some(lb) = &shard.load_balancer {
        let alb_id = lb.arn.rsplit('/').next().unwrap_or_default();
        for (id, reference) in dns::fleet_health_checks(&aws.route53, fleet).await? {
            if reference.ends_with(&format!("-{index}-{alb_id}")) {
                dns::delete_health_check(&aws.route53, &id).await?;
            }
        }
    }
    alarms::delete_alarms(&aws.cloudwatch, vec![ShardNames::new(fleet, index).requests_high_alarm]).await?;
    if let Some(tg) = &shard.target_group {
        for asg in observed.asgs.iter().filter(|a| a.target_group_arns.contains(&tg.arn)) {
            detach(&aws.autoscaling, &asg.name, std::slice::from_ref(&tg.arn)).await?;
        }
    }
    delete_shard(&aws.elbv2, shard).await
}

//! The alb-scaler's observe → plan → apply: add a shard by cloning a serving one, finish a half-built one,
//! drain one (weight 0, tagged), and remove a drained one after the wait.

use aws_sdk_elasticloadbalancingv2::types::Tag;
use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::aws::AwsClients;
use crate::dns::{self, change_owned_records};
use crate::error::{Result, StrataError, aws_error};
use crate::finish::{FleetSettings, finish_fleet_alongside};
use crate::model::{ObservedFleet, Pause};
use crate::names::{FleetName, ShardIndex, TAG_RESERVED_LCU};
use crate::observe::{Depth, FleetQuery, delete_started, ensure_configuration, observe, read_target_health};
use crate::plan::records::as_record_set;
use crate::plan::removal::{duplicates_of, removal_of, removal_of_made};
use crate::plan::reservation::reservation_for;
use crate::plan::scale::{ScaleNote, ScalePlan, ScaleStep, ScaleTrigger, plan_scale};
use crate::plan::shard::{completion_plan, shard_plan};
use crate::plan::steps::{Drain, clone_config, drain_of, mark_drained, mark_removed, put_shard, served_as};
use crate::policy::FleetPolicy;
use crate::protection::ensure_web_acls;
use crate::relief;
use crate::shard::{ensure_shard_listeners, ensure_shard_resources, listeners_of};
use crate::teardown::{InUse, Remover, remove};
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleReport {
    pub fleet: FleetName,
    pub plan: ScalePlan,
    pub dry_run: bool,
    /// Set when the fleet is paused: then nothing was changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
}

/// The fleet with what the scaler decides on: listeners (complete or not), the configuration to clone, and target health where a drain or a
/// removal is weighed (the weight guard never lets the last shard with healthy targets go).
async fn observe_fleet(aws: &AwsClients, fleet: &FleetName, trigger: ScaleTrigger) -> Result<ObservedFleet> {
    // Listeners say which shards are complete; only a scale-out clones, and it clones the first serving shard.
    let out = trigger == ScaleTrigger::Out;
    let depth = Depth { listeners: true, template_configuration: out, quota: out, ..Depth::default() };
    let mut observed = observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth, owner: None }).await?;
    // A reservation is given back, on the schedule's passes only, once no shard ramps up any more: the
    // rebalancer's plan says so from health. An alarm's pass never pays for that read.
    let reserved = trigger == ScaleTrigger::Tidy
        && observed
            .shards
            .iter()
            .filter_map(|s| s.load_balancer.as_ref())
            .any(|lb| lb.tags.contains_key(TAG_RESERVED_LCU));
    if trigger == ScaleTrigger::In || reserved || observed.shards.iter().any(|s| s.is_draining()) {
        read_target_health(aws, &mut observed).await?;
    }
    Ok(observed)
}

/// What one scaler pass is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct ScaleRequest<'a> {
    pub trigger: ScaleTrigger,
    /// The alarm transition (see `AlarmTransition::transition_id`).
    pub trigger_id: Option<&'a str>,
    /// The shard whose requests-high alarm fired.
    pub hot_shard: Option<ShardIndex>,
    /// Seconds since the epoch.
    pub now: i64,
}

pub async fn scale(
    aws: &AwsClients,
    fleet: &FleetName,
    request: ScaleRequest<'_>,
    settings: &ScalerSettings,
) -> Result<ScaleReport> {
    let ScaleRequest { trigger, trigger_id, hot_shard, now } = request;
    let mut observed = observe_fleet(aws, fleet, trigger).await?;
    if observed.deleting {
        let plan = ScalePlan { steps: Vec::new(), notes: vec![ScaleNote::BeingDeleted] };
        info!(fleet = %fleet, "the fleet is being deleted: nothing to do");
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: settings.dry_run, paused: None });
    }
    if let Some(pause) = observed.pause() {
        info!(fleet = %fleet, pause = %pause, "the fleet is paused: nothing changed");
        let plan = ScalePlan { steps: Vec::new(), notes: vec![ScaleNote::Paused] };
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: settings.dry_run, paused: Some(pause) });
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
        observed.region_capacity(),
    );
    for note in &plan.notes {
        info!(fleet = %fleet, note = %note, "scaler note");
    }
    let mut metrics = Metrics::new(&[("Function", "alb-scaler"), ("Fleet", fleet.as_str())]);
    let limited = plan.notes.iter().any(ScaleNote::is_shard_limit);
    metrics.count("ShardLimitReached", u64::from(limited));
    if limited {
        warn!(fleet = %fleet, "scale-out refused: shard limit reached");
    }
    // Give-backs only on the schedule's passes: never on an alarm's critical path. A shard held at weight 0 may
    // be waiting for the fleet's web ACL (AWS refused it as too new): the schedule tries again, and every few
    // minutes for a shard that lost it but keeps its weight (availability first). A pass with steps does it when
    // it finishes the fleet.
    if !settings.dry_run && trigger == ScaleTrigger::Tidy {
        relief::give_back_ready(aws, &observed, &policy, now, &mut metrics).await;
        if plan.steps.is_empty() && (has_idle_serving_shard(&observed) || now / 60 % PROTECTION_CHECK_MINUTES == 0) {
            ensure_web_acls(aws, &observed).await;
        }
    }
    if settings.dry_run || plan.steps.is_empty() {
        metrics.emit();
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: settings.dry_run, paused: None });
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
    // Relief for the hot shard before anything is built; a refusal never stops the shard.
    if let Some(relief) = reservation_for(&observed, &policy, &plan, hot_shard) {
        relief::reserve(aws, &observed, relief, now, &mut metrics).await;
    }
    remove(aws, fleet, &duplicates_of(&observed), remover(&observed), InUse::LeaveForNextPass).await?;
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
                let shard_plan = shard_plan(fleet, index, &config, observed.shard(index));
                let made =
                    ensure_shard_resources(&aws.elbv2, fleet, index, &config, observed.shard(index), &shard_plan);
                let made = match known {
                    Some(_) => made.await?,
                    None => {
                        let (made, found) = futures::try_join!(made, before_finishing.as_mut())?;
                        known = Some(found);
                        made
                    }
                };
                put_shard(&mut after, index, &made);
                built.push((index, config, made, shard_plan));
            }
            ScaleStep::Drain { index } => {
                drain(aws, &observed, &policy, &drain_of(&observed, index, trigger_id, now)?).await?;
                mark_drained(&mut after, index, trigger_id, now);
            }
            ScaleStep::Remove { index } => {
                let removal = removal_of(&observed, index, &policy.dns.hosted_zone_id);
                remove(aws, fleet, &removal, remover(&observed), InUse::LeaveForNextPass).await?;
                mark_removed(&mut after, index);
            }
        }
    }
    let (health_checks, deleting) = match known {
        Some(found) => found,
        None => before_finishing.await?,
    };
    if deleting {
        // Nothing more is written behind the Delete; what this pass made is removed (no listener uses its TG).
        let made = removal_of_made(built.iter().map(|(_, _, made, _)| made));
        remove(aws, fleet, &made, remover(&observed), InUse::LeaveForNextPass).await?;
        info!(fleet = %fleet, "the fleet's Delete started during this pass: nothing more written");
        return Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false, paused: None });
    }
    // Everything around the shards follows from them: attachments, health checks, alarms, records. New shards'
    // listeners are made side by side with them, and the records wait for both.
    let served = served_as(&after);
    let scaler_arn = policy.scaler_function_arn.clone().or_else(|| settings.scaler_arn.clone());
    let fleet_settings = FleetSettings {
        fleet,
        policy: &policy,
        internet_facing: served.internet_facing,
        health_check_path: &served.health_check_path,
        scaler_arn: scaler_arn.as_deref(),
        owner: after.owner.as_ref(),
        user_tags: &served.user_tags,
        health_checks: Some(&health_checks),
    };
    let listeners = async {
        try_join_all(built.iter().map(|(index, config, made, plan)| {
            let existing = observed.shard(*index);
            async move {
                let listeners = listeners_of(&aws.elbv2, made, existing).await?;
                let completion = completion_plan(made, config, &listeners);
                ensure_shard_listeners(&aws.elbv2, config, made, plan, &completion).await
            }
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
    Ok(ScaleReport { fleet: fleet.clone(), plan, dry_run: false, paused: None })
}

/// The draining tags first (so a crash in between leaves a shard that every function treats as draining and the
/// next pass finishes), then weight 0; the wait is counted from this moment.
async fn drain(aws: &AwsClients, observed: &ObservedFleet, policy: &FleetPolicy, drain: &Drain) -> Result<()> {
    if !drain.marked.is_empty() {
        let tags = drain.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        aws.elbv2
            .add_tags()
            .set_resource_arns(Some(drain.marked.clone()))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "AddTags", e))?;
    }
    let zeroed: Vec<_> = drain.zeroed.iter().map(|r| (ChangeAction::Upsert, as_record_set(r))).collect();
    if !zeroed.is_empty() {
        change_owned_records(&aws.route53, &policy.dns.hosted_zone_id, &observed.fleet, &aws.region, zeroed).await?;
    }
    Ok(())
}

/// How often (in minutes of the schedule) a pass without steps checks every shard's web ACL.
const PROTECTION_CHECK_MINUTES: i64 = 5;

/// A serving shard whose weighted record is missing or at weight 0.
fn has_idle_serving_shard(fleet: &ObservedFleet) -> bool {
    let idle = |index| fleet.weighted_record(index).is_none_or(|r| r.weight == Some(0));
    fleet.shards.iter().any(|s| s.is_serving() && idle(s.index))
}

/// The scaler removes only its own fleet's resources: those of the owner the fleet records, or any of a fleet
/// made before owners were written.
fn remover(observed: &ObservedFleet) -> Remover<'_> {
    Remover { owner: observed.owner.as_ref(), take_unclaimed: true }
}

//! Everything around the shards that follows from them: ASG attachments, health checks, alarms and records.
//! Shared by the provisioner (after Create/Update) and the alb-scaler (after a shard is added or removed).

use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;

use crate::alarms;
use crate::attach::{AttachmentPlan, apply_attachments, plan_attachments};
use crate::aws::AwsClients;
use crate::dns::{self, FleetHealthCheck, change_owned_records};
use crate::error::{Result, StrataError};
use crate::model::ObservedFleet;
use crate::names::{FleetName, Owner, ShardIndex};
use crate::plan::guard;
use crate::plan::weights::MAX_WEIGHT;
use crate::policy::FleetPolicy;

/// What the finishing steps need beyond the observed fleet.
pub struct FleetSettings<'a> {
    pub fleet: &'a FleetName,
    pub policy: &'a FleetPolicy,
    /// Internal ALBs get no Route 53 health check (Route 53's checkers cannot reach them).
    pub internet_facing: bool,
    pub health_check_path: &'a str,
    pub scaler_arn: Option<&'a str>,
    /// Written on every health check and alarm made (`None` only for a fleet made before owners were written).
    pub owner: Option<&'a Owner>,
    /// The fleet's health checks where the caller listed them already (side by side with earlier work);
    /// `None`: listed here.
    pub health_checks: Option<&'a [FleetHealthCheck]>,
}

/// Attachments, health checks and alarms (independent, concurrent), then the records in one batch.
pub async fn finish_fleet(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
) -> Result<AttachmentPlan> {
    let (attachments, _) = finish_fleet_alongside(aws, settings, fleet, async { Ok(true) }).await?;
    Ok(attachments)
}

/// `finish_fleet` with `alongside` (a new shard's listeners) run side by side with the attachments, health checks
/// and alarms; the records are written only after it succeeded and answered `true`, so no record points at a
/// shard whose listeners failed. Returns whether the records were written.
pub async fn finish_fleet_alongside(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
    alongside: impl std::future::Future<Output = Result<bool>>,
) -> Result<(AttachmentPlan, bool)> {
    let attachments = plan_attachments(fleet, settings.policy.mode, settings.policy.limits.targets_per_shard);
    let (_, health_checks, _, go_on) = futures::try_join!(
        apply_attachments(&aws.autoscaling, &attachments.changes),
        ensure_health_checks(aws, settings, fleet),
        ensure_alarms(aws, settings, fleet),
        alongside,
    )?;
    let ids: Vec<(ShardIndex, String)> = health_checks.iter().map(|(index, id, _)| (*index, id.clone())).collect();
    // A new health check is tagged while the records that name it are written (its id is all they need). One
    // left untagged by a failure here is still known as this shard's by its exact caller reference, and a
    // removal or teardown takes it as unclaimed.
    let tags = try_join_all(
        health_checks
            .iter()
            .filter_map(|(_, _, new)| new.as_ref())
            .map(|check| dns::tag_health_check(&aws.route53, settings.fleet, check, settings.owner)),
    );
    let records = async {
        match go_on {
            true => write_records(aws, settings, fleet, &ids).await,
            false => Ok(()),
        }
    };
    futures::try_join!(tags, records)?;
    Ok((attachments, go_on))
}

async fn ensure_health_checks(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
) -> Result<Vec<(ShardIndex, String, Option<FleetHealthCheck>)>> {
    if !settings.internet_facing {
        return Ok(Vec::new());
    }
    let existing = match settings.health_checks {
        Some(listed) => listed.to_vec(),
        None => dns::fleet_health_checks(&aws.route53, settings.fleet).await?,
    };
    let serving: Vec<_> = fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| Some((s.index, s.load_balancer.as_ref()?)))
        .collect();
    // The serving shards' checks already made, read for tags: one whose tagging failed is tagged now.
    let made_before: Vec<dns::FleetHealthCheck> = existing
        .iter()
        .filter(|c| {
            serving.iter().any(|(index, lb)| {
                c.caller_reference == crate::names::health_check_caller_reference(settings.fleet, *index, &lb.arn)
            })
        })
        .cloned()
        .collect();
    let untagged = dns::untagged_health_checks(&aws.route53, &made_before);
    let ensured = try_join_all(serving.iter().map(|&(index, lb)| {
        let existing = &existing;
        async move {
            let (id, new) =
                dns::ensure_health_check(&aws.route53, settings.fleet, index, lb, settings.health_check_path, existing)
                    .await?;
            Ok::<_, StrataError>((index, id, new))
        }
    }));
    let (mut ensured, untagged) = futures::try_join!(ensured, untagged)?;
    for check in untagged {
        if let Some(entry) = ensured.iter_mut().find(|(_, id, _)| *id == check.id) {
            entry.2 = Some(check);
        }
    }
    Ok(ensured)
}

async fn ensure_alarms(aws: &AwsClients, settings: &FleetSettings<'_>, fleet: &ObservedFleet) -> Result<()> {
    let limits = &settings.policy.limits;
    // Without a scaler ARN from the spec or the environment, keep the actions the alarms already have rather
    // than rewriting them empty (which would silently stop scaling).
    let kept = fleet.alarms.iter().find_map(|a| a.alarm_actions.first().cloned());
    let scaler_arn = settings.scaler_arn.map(str::to_owned).or(kept);
    let scaler_arn = scaler_arn.as_deref();
    let serving: Vec<(ShardIndex, String)> = fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| Some((s.index, s.load_balancer.as_ref()?.arn.clone())))
        .collect();
    // An alarm that already says the same (threshold, actions, ALB) is left as it is.
    let actions: Vec<String> = scaler_arn.map(|a| vec![a.to_owned()]).unwrap_or_default();
    let unchanged = |name: &str, threshold: f64, load_balancer: Option<String>| {
        fleet
            .alarms
            .iter()
            .any(|a| a.name == name && alarms::says(a, threshold, &actions, true) && a.load_balancer == load_balancer)
    };
    let high = alarms::high_threshold(limits);
    try_join_all(
        serving
            .iter()
            .filter(|(index, arn)| {
                let name = crate::names::ShardNames::new(settings.fleet, *index).requests_high_alarm;
                !unchanged(&name, high, Some(alarms::load_balancer_dimension(arn)))
            })
            .map(|(index, arn)| {
                alarms::put_requests_high(
                    &aws.cloudwatch,
                    settings.fleet,
                    *index,
                    arn,
                    limits,
                    scaler_arn,
                    settings.owner,
                )
            }),
    )
    .await?;
    let arns: Vec<String> = serving.into_iter().map(|(_, arn)| arn).collect();
    let summed: Vec<String> =
        arns.iter().take(alarms::MAX_ALARM_METRICS).map(|arn| alarms::load_balancer_dimension(arn)).collect();
    let low_name = crate::names::requests_low_alarm(settings.fleet);
    let low_threshold = alarms::summed_low_threshold(limits, arns.len());
    let requests_low = async {
        let same = fleet.alarms.iter().any(|a| {
            a.name == low_name && alarms::says(a, low_threshold, &actions, false) && a.summed_load_balancers == summed
        });
        if same {
            return Ok(());
        }
        alarms::put_requests_low(&aws.cloudwatch, settings.fleet, &arns, limits, scaler_arn, settings.owner).await
    };
    let targets_full = async {
        let name = crate::names::targets_full_alarm(settings.fleet);
        if fleet.alarms.iter().any(|a| a.name == name && a.threshold == Some(0.0) && a.alarm_actions == actions) {
            return Ok(());
        }
        alarms::put_targets_full(&aws.cloudwatch, settings.fleet, scaler_arn, settings.owner).await
    };
    futures::try_join!(requests_low, targets_full,)?;
    Ok(())
}

/// Weighted records for every serving shard (a shard keeps its current weight; a new one starts small and the
/// rebalancer ramps it, unless the fleet has no weighted record yet: then every shard starts at full weight)
/// and the region's latency record, in one change batch.
async fn write_records(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
    health_checks: &[(ShardIndex, String)],
) -> Result<()> {
    let policy = settings.policy;
    let serving: Vec<_> = fleet.shards.iter().filter(|s| s.is_serving()).collect();
    let first_shards = !fleet.records.iter().any(|r| r.shard.is_some());
    let mut changes = Vec::new();
    let mut weights = Vec::new();
    let mut ip_type = "ipv4";
    for shard in &serving {
        let Some(lb) = &shard.load_balancer else { continue };
        ip_type = if lb.ip_address_type == "dualstack" { "dualstack" } else { ip_type };
        let current = fleet.weighted_record(shard.index).and_then(|r| r.weight).and_then(|w| u8::try_from(w).ok());
        let weight = current.unwrap_or(if first_shards { MAX_WEIGHT } else { policy.rebalancing.initial_weight });
        weights.push((shard.index, weight));
        let health_check = health_checks.iter().find(|(i, _)| *i == shard.index).map(|(_, id)| id.as_str());
        let records = dns::weighted_records(
            settings.fleet,
            &aws.region,
            &policy.dns.domain,
            shard.index,
            &lb.dns_name,
            &lb.canonical_hosted_zone_id,
            weight,
            health_check,
            &lb.ip_address_type,
        );
        changes.extend(records.into_iter().map(|r| (ChangeAction::Upsert, r)));
    }
    let zone = &policy.dns.hosted_zone_id;
    let latency = dns::latency_records(settings.fleet, &aws.region, &policy.dns.domain, zone, ip_type);
    changes.extend(latency.into_iter().map(|r| (ChangeAction::Upsert, r)));
    // Records that already say the same are not written again: a re-run after success is a no-op.
    changes.retain(|(_, desired)| !fleet.records.iter().any(|current| dns::same_record(desired, current)));
    if !changes.is_empty() {
        guard::check(&guard::weights_after(fleet, &weights))
            .map_err(|why| StrataError::Refused(format!("fleet {}: records not written: {why}", settings.fleet)))?;
        change_owned_records(&aws.route53, zone, settings.fleet, &aws.region, changes).await?;
    }
    Ok(())
}

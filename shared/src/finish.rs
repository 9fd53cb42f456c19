//! Everything around the shards that follows from them: ASG attachments, health checks, alarms, the fleet's web
//! ACL on every serving shard, and records.
//! Shared by the provisioner (after Create/Update) and the alb-scaler (after a shard is added or removed).

use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;

use crate::alarms;
use crate::attach::apply_attachments;
use crate::aws::AwsClients;
use crate::dns::{self, FleetHealthCheck, change_owned_records};
use crate::error::{Result, StrataError};
use crate::model::ObservedFleet;
use crate::model::Tags;
use crate::names::{FleetName, Owner, ShardIndex};
use crate::plan::alarms::alarm_writes;
use crate::plan::attachments::{AttachmentPlan, plan_attachments};
use crate::plan::guard;
use crate::plan::health_checks::health_check_plan;
use crate::plan::records::record_plan;
use crate::policy::FleetPolicy;
use crate::protection::ensure_web_acls;

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
    /// The user's own tags (the `Tags` property), on every health check and alarm made.
    pub user_tags: &'a Tags,
    /// The fleet's health checks where the caller listed them already (side by side with earlier work);
    /// `None`: listed here.
    pub health_checks: Option<&'a [FleetHealthCheck]>,
}

/// Attachments, health checks, alarms and web ACLs (independent, concurrent), then the records in one batch.
pub async fn finish_fleet(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
) -> Result<AttachmentPlan> {
    let (attachments, _) = finish_fleet_alongside(aws, settings, fleet, async { Ok(true) }).await?;
    Ok(attachments)
}

/// `finish_fleet` with `alongside` (a new shard's listeners) run side by side with the attachments, health checks,
/// alarms and web ACLs; the records are written only after it succeeded and answered `true`, so no record points
/// at a shard whose listeners failed, and only after the web ACLs, so no shard gets weight before it is as
/// protected as the others. Returns whether the records were written.
pub async fn finish_fleet_alongside(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
    alongside: impl std::future::Future<Output = Result<bool>>,
) -> Result<(AttachmentPlan, bool)> {
    let attachments = plan_attachments(fleet, settings.policy.mode, settings.policy.limits.targets_per_shard);
    let (_, health_checks, _, go_on, protected) = futures::try_join!(
        apply_attachments(&aws.autoscaling, &attachments.changes),
        ensure_health_checks(aws, settings, fleet),
        ensure_alarms(aws, settings, fleet),
        alongside,
        async { Ok(ensure_web_acls(aws, fleet).await) },
    )?;
    let ids: Vec<(ShardIndex, String)> = health_checks.iter().map(|(index, id, _)| (*index, id.clone())).collect();
    // A new health check is tagged while the records that name it are written (its id is all they need). One
    // left untagged by a failure here is still known as this shard's by its exact caller reference, and a
    // removal or teardown takes it as unclaimed.
    let tags =
        try_join_all(health_checks.iter().filter_map(|(_, _, new)| new.as_ref()).map(|check| {
            dns::tag_health_check(&aws.route53, settings.fleet, check, settings.owner, settings.user_tags)
        }));
    let records = async {
        match go_on {
            true => write_records(aws, settings, &protected, &ids).await,
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
    let listed = match settings.health_checks {
        Some(listed) => listed.to_vec(),
        None => dns::fleet_health_checks(&aws.route53, settings.fleet).await?,
    };
    let plan = health_check_plan(settings.fleet, fleet, &listed, settings.internet_facing);
    let created = try_join_all(
        plan.create.iter().map(|wanted| dns::create_health_check(&aws.route53, wanted, settings.health_check_path)),
    );
    let (created, untagged) = futures::try_join!(created, dns::untagged_health_checks(&aws.route53, &plan.existing))?;
    let existing = plan.existing.into_iter().map(|c| {
        let retag = untagged.iter().any(|u| u.id == c.id).then(|| c.clone());
        (c.shard, c.id, retag)
    });
    Ok(existing.chain(created.into_iter().map(|c| (c.shard, c.id.clone(), Some(c)))).collect())
}

async fn ensure_alarms(aws: &AwsClients, settings: &FleetSettings<'_>, fleet: &ObservedFleet) -> Result<()> {
    let writes = alarm_writes(settings.fleet, &settings.policy.limits, settings.scaler_arn, fleet);
    try_join_all(
        writes
            .iter()
            .map(|alarm| alarms::put_alarm(&aws.cloudwatch, settings.fleet, alarm, settings.owner, settings.user_tags)),
    )
    .await?;
    Ok(())
}

/// The records the plan says to write, in one change batch, if the weights they leave pass the guard.
async fn write_records(
    aws: &AwsClients,
    settings: &FleetSettings<'_>,
    fleet: &ObservedFleet,
    health_checks: &[(ShardIndex, String)],
) -> Result<()> {
    let plan = record_plan(settings.fleet, &aws.region, settings.policy, fleet, health_checks);
    if plan.upserts.is_empty() {
        return Ok(());
    }
    guard::check(&guard::weights_after(fleet, &plan.weights))
        .map_err(|why| StrataError::Refused(format!("fleet {}: records not written: {why}", settings.fleet)))?;
    let changes = plan.upserts.into_iter().map(|r| (ChangeAction::Upsert, r)).collect();
    change_owned_records(&aws.route53, &settings.policy.dns.hosted_zone_id, settings.fleet, &aws.region, changes)
        .await?;
    Ok(())
}

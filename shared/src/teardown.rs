//! Carries a `plan::removal::Removal` out, in AWS's dependency order, tolerant of what is already gone. The one
//! place that order is written: the scaler's removal of a drained shard, the provisioner's Delete, and a pass
//! that finds its fleet being deleted all run through here.

use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;
use tracing::warn;

use crate::alarms;
use crate::attach::detach;
use crate::aws::AwsClients;
use crate::dns::{self, change_owned_records};
use crate::error::{Result, StrataError};
use crate::names::{FleetName, Owner};
use crate::plan::removal::{HealthChecks, Removal};
use crate::shard::{TargetGroupDeletion, delete_load_balancer, delete_target_group};

/// Who removes: the owner whose marks a resource must carry, and whether resources made before owners were
/// written (no owner marks) may go too.
#[derive(Debug, Clone, Copy)]
pub struct Remover<'a> {
    pub owner: Option<&'a Owner>,
    pub take_unclaimed: bool,
}

/// What to do about a target group AWS still calls in use after its ALB's deletion (for a while it does; for
/// how long is not documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InUse {
    /// Leave it, marked draining like its ALB: the next pass removes it, never rebuilds it.
    LeaveForNextPass,
    /// Retry this many rounds of `delete_target_group`'s own wait (about 16 s each), then fail.
    RetryThenFail { rounds: usize },
}

/// Records → health checks → alarms → ASG attachments → listeners and ALBs → target groups.
pub async fn remove(
    aws: &AwsClients,
    fleet: &FleetName,
    removal: &Removal,
    remover: Remover<'_>,
    in_use: InUse,
) -> Result<()> {
    if let Some((zone, records)) = &removal.records {
        let deletes = records.iter().map(|r| (ChangeAction::Delete, r.clone())).collect();
        change_owned_records(&aws.route53, zone, fleet, &aws.region, deletes).await?;
    }
    remove_health_checks(aws, fleet, &removal.health_checks, remover).await?;
    alarms::delete_owned_alarms(&aws.cloudwatch, fleet, &removal.alarms, remover.owner, remover.take_unclaimed).await?;
    for (asg, target_groups) in &removal.detach {
        detach(&aws.autoscaling, asg, target_groups).await?;
    }
    try_join_all(removal.load_balancer_arns.iter().map(|arn| delete_load_balancer(&aws.elbv2, arn))).await?;
    remove_target_groups(aws, fleet, &removal.target_groups, in_use).await
}

async fn remove_health_checks(
    aws: &AwsClients,
    fleet: &FleetName,
    which: &HealthChecks,
    remover: Remover<'_>,
) -> Result<()> {
    let (alb_ids, every) = match which {
        HealthChecks::None => return Ok(()),
        HealthChecks::OfAlbs(ids) => (ids, false),
        HealthChecks::All { alb_ids } => (alb_ids, true),
    };
    let alb_ids: Vec<&str> = alb_ids.iter().map(String::as_str).collect();
    let mut checks = dns::fleet_health_checks(&aws.route53, fleet).await?;
    checks.retain(|c| every || alb_ids.contains(&c.alb_id.as_str()));
    let owned =
        dns::owned_health_checks(&aws.route53, fleet, checks, remover.owner, remover.take_unclaimed, &alb_ids).await?;
    for check in owned {
        dns::delete_health_check(&aws.route53, &check.id).await?;
    }
    Ok(())
}

/// All at once; those still in use are retried or left as `in_use` says.
async fn remove_target_groups(
    aws: &AwsClients,
    fleet: &FleetName,
    target_groups: &[(String, String)],
    in_use: InUse,
) -> Result<()> {
    let rounds = match in_use {
        InUse::LeaveForNextPass => 1,
        InUse::RetryThenFail { rounds } => rounds.max(1),
    };
    let mut left: Vec<&(String, String)> = target_groups.iter().collect();
    for _ in 0..rounds {
        let outcomes = try_join_all(left.iter().map(|(arn, _)| delete_target_group(&aws.elbv2, arn))).await?;
        left = left
            .into_iter()
            .zip(outcomes)
            .filter(|(_, o)| *o == TargetGroupDeletion::StillInUse)
            .map(|(t, _)| t)
            .collect();
        if left.is_empty() {
            return Ok(());
        }
    }
    let names: Vec<&str> = left.iter().map(|(_, name)| name.as_str()).collect();
    if in_use == InUse::LeaveForNextPass {
        warn!(fleet = %fleet, target_groups = ?names, "target group still in use after its ALB's deletion: left for the next pass");
        return Ok(());
    }
    Err(StrataError::Aws {
        code: Some("ResourceInUse".into()),
        service: "elbv2",
        operation: "DeleteTargetGroup",
        message: format!(
            "ResourceInUse: {} target group(s) still in use after their ALBs' deletion ({}); retry the Delete",
            left.len(),
            names.join(", ")
        ),
    })
}

//! The asg-registrar's observe → plan → apply: the fleet's ASGs on the right target groups, and ASGs that
//! left the fleet off them. Only target groups Strata owns are ever attached or detached.

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::attach::apply_attachments;
use crate::aws::{AwsClients, autoscaling};
use crate::error::Result;
use crate::model::{ObservedFleet, Pause};
use crate::names::FleetName;
use crate::observe::{Depth, FleetQuery, observe};
use crate::plan::attachments::{AttachmentChange, plan_attachments};
use crate::policy::FleetPolicy;
use crate::telemetry::Metrics;

/// Which ASGs outside the fleet's selector to check for leftover attachments.
#[derive(Debug, Clone)]
pub enum StrayScope {
    /// The one ASG an event named.
    Named(String),
    /// Every ASG in the region (the scheduled reconcile).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrarReport {
    pub fleet: FleetName,
    pub changes: Vec<AttachmentChangeView>,
    /// ASGs no shard has room for: the alb-scaler must add a shard (metric `NoTargetRoom`).
    pub no_target_room: Vec<String>,
    pub dry_run: bool,
    /// Set when the fleet is paused: then nothing was changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentChangeView {
    pub asg: String,
    pub attached: Vec<String>,
    pub detached: Vec<String>,
}

impl From<&AttachmentChange> for AttachmentChangeView {
    fn from(c: &AttachmentChange) -> Self {
        Self { asg: c.asg.clone(), attached: c.attach.clone(), detached: c.detach.clone() }
    }
}

/// ASGs attached to the fleet's TGs that the fleet no longer selects: detach them from those TGs only.
fn stray_detachments(fleet: &ObservedFleet, candidates: &[crate::model::AutoScalingGroup]) -> Vec<AttachmentChange> {
    let owned: Vec<&str> =
        fleet.shards.iter().filter_map(|s| s.target_group.as_ref()).map(|t| t.arn.as_str()).collect();
    candidates
        .iter()
        .filter(|asg| !fleet.asgs.iter().any(|a| a.name == asg.name))
        .filter_map(|asg| {
            let detach: Vec<String> =
                asg.target_group_arns.iter().filter(|t| owned.contains(&t.as_str())).cloned().collect();
            (!detach.is_empty()).then(|| AttachmentChange { asg: asg.name.clone(), attach: Vec::new(), detach })
        })
        .collect()
}

impl RegistrarReport {
    fn unchanged(fleet: &FleetName, dry_run: bool, paused: Option<Pause>) -> Self {
        Self { fleet: fleet.clone(), changes: Vec::new(), no_target_room: Vec::new(), dry_run, paused }
    }
}

pub async fn reconcile(
    aws: &AwsClients,
    fleet: &FleetName,
    strays: StrayScope,
    dry_run: bool,
) -> Result<RegistrarReport> {
    let observed =
        observe(aws, FleetQuery { fleet, dns: None, asgs: None, depth: Depth::default(), owner: None }).await?;
    if observed.deleting {
        info!(fleet = %fleet, "the fleet is being deleted: nothing to place");
        return Ok(RegistrarReport::unchanged(fleet, dry_run, None));
    }
    if let Some(pause) = observed.pause() {
        info!(fleet = %fleet, pause = %pause, "the fleet is paused: nothing placed");
        return Ok(RegistrarReport::unchanged(fleet, dry_run, Some(pause)));
    }
    let Some(policy) = FleetPolicy::from_tags(&observed.policy_tags()) else {
        warn!(fleet = %fleet, "the fleet has no complete policy tags (being built?): nothing to place");
        return Ok(RegistrarReport::unchanged(fleet, dry_run, None));
    };
    let mut plan = plan_attachments(&observed, policy.mode, policy.limits.targets_per_shard);
    let candidates = match &strays {
        StrayScope::Named(name) => autoscaling::asgs_named(&aws.autoscaling, std::slice::from_ref(name)).await?,
        StrayScope::All => autoscaling::all_asgs(&aws.autoscaling).await?,
    };
    plan.changes.extend(stray_detachments(&observed, &candidates));
    if !dry_run {
        apply_attachments(&aws.autoscaling, &plan.changes).await?;
    }
    for change in &plan.changes {
        info!(fleet = %fleet, asg = %change.asg, attached = ?change.attach, detached = ?change.detach, dry_run, "attachment change");
    }
    let mut metrics = Metrics::new(&[("Function", "asg-registrar"), ("Fleet", fleet.as_str())]);
    metrics.count("AsgsAttached", plan.changes.iter().filter(|c| !c.attach.is_empty()).count() as u64);
    metrics.count("AsgsDetached", plan.changes.iter().filter(|c| !c.detach.is_empty()).count() as u64);
    metrics.count("NoTargetRoom", plan.unplaced.len() as u64);
    metrics.emit();
    Ok(RegistrarReport {
        fleet: fleet.clone(),
        changes: plan.changes.iter().map(AttachmentChangeView::from).collect(),
        no_target_room: plan.unplaced,
        dry_run,
        paused: None,
    })
}

//! `strata pause` and `strata resume`: the first commands of the CLI that write. They tag (untag) the fleet's
//! own ALBs `strata:paused`, which makes its alb-scaler, dns-rebalancer and asg-registrar observe and report
//! only. Not a policy tag: a stack Update leaves it, and only `strata resume` lifts it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use strata_core::aws::{AwsClients, batches};
use strata_core::model::Pause;
use strata_core::names::{FleetName, TAG_PAUSED};
use strata_core::observe::{Depth, FleetQuery, observe};
use strata_core::plan::scale::format_rfc3339;

use crate::report::{clients, regions_of};

/// ELBv2 AddTags and RemoveTags take at most 20 resources a call.
const TAG_BATCH: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseReport {
    pub region: String,
    /// The fleet's ALBs whose tag this command wrote or removed (those already so are left alone).
    pub load_balancers_changed: Vec<String>,
    /// The fleet's pause after the command (a `Paused` property still holds after `resume`).
    pub paused: Option<Pause>,
}

/// Pauses (`pause`) or resumes the fleet in each region, in order. A region where the fleet has no ALB, or a
/// failed call, stops there: the reports of the regions already done, and the error.
pub async fn run(fleet: &FleetName, regions: &[String], pause: bool) -> (Vec<PauseReport>, Option<String>) {
    let mut reports = Vec::new();
    for region in regions_of(regions) {
        let done = async { set(&clients(region).await?, fleet, pause).await };
        match done.await {
            Ok(report) => reports.push(report),
            Err(err) => return (reports, Some(err)),
        }
    }
    (reports, None)
}

async fn set(aws: &AwsClients, fleet: &FleetName, pause: bool) -> Result<PauseReport, String> {
    let query = FleetQuery { fleet, dns: None, asgs: None, depth: Depth::default(), owner: None };
    let mut observed = observe(aws, query).await.map_err(|e| e.to_string())?;
    let albs: Vec<_> = observed.shards.iter_mut().filter_map(|s| s.load_balancer.as_mut()).collect();
    if albs.is_empty() {
        return Err(format!("fleet {fleet} has no ALB in {}: nothing to {}", aws.region, verb(pause)));
    }
    let since = format_rfc3339(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
    let mut changed = Vec::new();
    for lb in albs.into_iter().filter(|lb| lb.tags.contains_key(TAG_PAUSED) != pause) {
        if pause {
            lb.tags.insert(TAG_PAUSED.to_owned(), since.clone());
        } else {
            lb.tags.remove(TAG_PAUSED);
        }
        changed.push((lb.arn.clone(), lb.name.clone()));
    }
    let arns: Vec<String> = changed.iter().map(|(arn, _)| arn.clone()).collect();
    for batch in batches(&arns, TAG_BATCH) {
        let batch = Some(batch.to_vec());
        if pause {
            let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(TAG_PAUSED).value(&since).build();
            aws.elbv2.add_tags().set_resource_arns(batch).tags(tag).send().await.map_err(|e| failed("AddTags", e))?;
        } else {
            let untag = aws.elbv2.remove_tags().set_resource_arns(batch).tag_keys(TAG_PAUSED);
            untag.send().await.map_err(|e| failed("RemoveTags", e))?;
        }
    }
    Ok(PauseReport {
        region: aws.region.clone(),
        load_balancers_changed: changed.into_iter().map(|(_, name)| name).collect(),
        paused: observed.pause(),
    })
}

fn failed<E>(operation: &'static str, err: E) -> String
where
    E: std::error::Error + aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata + 'static,
{
    strata_core::error::aws_error("elbv2", operation, err).to_string()
}

fn verb(pause: bool) -> &'static str {
    if pause { "pause" } else { "resume" }
}

/// One line per region.
pub fn render(reports: &[PauseReport]) -> String {
    reports
        .iter()
        .map(|r| {
            let state = r.paused.as_ref().map_or_else(|| "not paused".to_owned(), ToString::to_string);
            format!("{}: {state} ({} ALB(s) changed)\n", r.region, r.load_balancers_changed.len())
        })
        .collect()
}

//! Reading a fleet in each region and rendering it as a table or JSON.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use serde::{Deserialize, Serialize};
use strata_core::aws::AwsClients;
use strata_core::events::StrataAlarm;
use strata_core::model::{ObservedFleet, Pause, WebAcl};
use strata_core::names::FleetName;
use strata_core::observe::{Depth, FleetQuery, observe};
use strata_core::plan::protection::{ShardProtection, unmatched};
use strata_core::plan::scale::{ScalePlan, ScaleTrigger, plan_scale};
use strata_core::plan::weights::{WeightPlan, plan_weights};
use strata_core::policy::FleetPolicy;
use strata_core::rebalance::{capacities, imbalance};

#[derive(Debug, Serialize, Deserialize)]
pub struct ShardRow {
    pub region: String,
    pub shard: String,
    pub load_balancer: String,
    pub healthy_targets: u32,
    pub total_targets: u32,
    pub requests_per_second: Option<f64>,
    pub weight: Option<i64>,
    pub state: String,
    /// The AWS WAF web ACL that protects its ALB: `{"arn": …}`, `none`, or `unknown` (not read).
    #[serde(default)]
    pub web_acl: WebAcl,
}

/// One region's answer to `status` and `plan`; `--output json` prints a list of them, which scripts (and the
/// tests) read back as this type.
#[derive(Debug, Serialize, Deserialize)]
pub struct RegionReport {
    pub region: String,
    pub shards: Vec<ShardRow>,
    pub alarms_in_alarm: Vec<String>,
    pub imbalance: Option<f64>,
    /// Paused, and by which switch: the scaler, rebalancer and registrar observe and report only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// Serving shards not protected as the fleet is (its AWS WAF web ACL), and why they get no weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub less_protected: Vec<ShardProtection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_plan: Option<WeightPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_plans: Option<Vec<(String, ScalePlan)>>,
}

pub(crate) async fn clients(region: Option<&str>) -> Result<AwsClients, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    AwsClients::from_config(&loader.load().await).map_err(|e| e.to_string())
}

/// The regions asked for (`--region`, repeatable), or the environment's own (`None`).
pub(crate) fn regions_of(regions: &[String]) -> Vec<Option<&str>> {
    if regions.is_empty() { vec![None] } else { regions.iter().map(|r| Some(r.as_str())).collect() }
}

pub async fn run(fleet: &FleetName, regions: &[String], with_plan: bool) -> Result<Vec<RegionReport>, String> {
    let mut reports = Vec::new();
    for region in regions_of(regions) {
        let aws = clients(region).await?;
        let depth = Depth {
            configuration: with_plan,
            target_health: true,
            load: true,
            quota: with_plan,
            web_acls: true,
            ..Depth::default()
        };
        let observed = observe(&aws, FleetQuery { fleet, dns: None, asgs: None, depth, owner: None })
            .await
            .map_err(|e| e.to_string())?;
        reports.push(region_report(&observed, with_plan));
    }
    Ok(reports)
}

fn region_report(observed: &ObservedFleet, with_plan: bool) -> RegionReport {
    let shards = observed
        .shards
        .iter()
        .map(|s| {
            let health = s.health.unwrap_or_default();
            let state = if s.is_draining() {
                format!("draining since {}", s.draining_since().unwrap_or("?"))
            } else if s.is_serving() {
                "serving".to_owned()
            } else {
                "incomplete".to_owned()
            };
            ShardRow {
                region: observed.region.clone(),
                shard: s.index.to_string(),
                load_balancer: s.load_balancer.as_ref().map(|lb| lb.name.clone()).unwrap_or_else(|| "-".into()),
                healthy_targets: health.healthy,
                total_targets: health.total,
                requests_per_second: s.requests_per_second,
                weight: observed.weighted_record(s.index).and_then(|r| r.weight),
                state,
                web_acl: s.load_balancer.as_ref().map(|lb| lb.web_acl.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let alarms_in_alarm: Vec<String> =
        observed.alarms.iter().filter(|a| a.is_firing()).map(|a| a.name.clone()).collect();
    let (weight_plan, scale_plans) = if with_plan { plans(observed, &alarms_in_alarm) } else { (None, None) };
    RegionReport {
        region: observed.region.clone(),
        shards,
        alarms_in_alarm,
        imbalance: imbalance(observed),
        paused: observed.pause(),
        less_protected: unmatched(observed),
        weight_plan,
        scale_plans,
    }
}

/// What the rebalancer would do now, and what the scaler would do on a tidy pass and for each Strata alarm
/// that is in ALARM now.
fn plans(
    observed: &ObservedFleet,
    alarms_in_alarm: &[String],
) -> (Option<WeightPlan>, Option<Vec<(String, ScalePlan)>>) {
    let policy = FleetPolicy::from_tags(&observed.policy_tags());
    let rebalancing = policy.as_ref().map(|p| p.rebalancing.clone()).unwrap_or_default();
    let weight_plan = plan_weights(&capacities(observed), &rebalancing);
    let Some(policy) = policy else { return (Some(weight_plan), None) };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut triggers = vec![("schedule (tidy)".to_owned(), ScaleTrigger::Tidy)];
    for name in alarms_in_alarm {
        match StrataAlarm::parse(name) {
            Some(StrataAlarm::RequestsLow { .. }) => triggers.push((name.clone(), ScaleTrigger::In)),
            Some(_) => triggers.push((name.clone(), ScaleTrigger::Out)),
            None => {}
        }
    }
    let region_lbs = observed.region_capacity();
    let scale = triggers
        .into_iter()
        .map(|(why, t)| (why, plan_scale(observed, &policy, t, None, now, 60, region_lbs)))
        .collect();
    (Some(weight_plan), Some(scale))
}

fn rps(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into())
}

/// A plain-text table: fixed columns, one row per shard.
pub fn render(reports: &[RegionReport], with_plan: bool) -> String {
    let header = ["REGION", "SHARD", "ALB", "TARGETS", "RPS", "WEIGHT", "STATE"];
    let mut rows: Vec<[String; 7]> = Vec::new();
    for report in reports {
        for s in &report.shards {
            rows.push([
                s.region.clone(),
                s.shard.clone(),
                s.load_balancer.clone(),
                format!("{}/{}", s.healthy_targets, s.total_targets),
                rps(s.requests_per_second),
                s.weight.map(|w| w.to_string()).unwrap_or_else(|| "-".into()),
                s.state.clone(),
            ]);
        }
    }
    let widths: Vec<usize> =
        (0..7).map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0)).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header.map(str::to_owned));
    if rows.is_empty() {
        out.push_str("(no shard of this fleet in the region)\n");
    }
    for row in &rows {
        out.push_str(&line(row));
    }
    for report in reports {
        if let Some(pause) = &report.paused {
            out.push_str(&format!("{}: {pause}: the functions observe and report only\n", report.region));
        }
        for shard in &report.less_protected {
            let weight = report.shards.iter().find(|s| s.shard == shard.shard.to_string()).and_then(|s| s.weight);
            let consequence = shard.protection.consequence(weight);
            out.push_str(&format!("{}: {}: {consequence}: {}\n", report.region, shard.shard, shard.protection));
        }
        if !report.alarms_in_alarm.is_empty() {
            out.push_str(&format!("{}: in ALARM: {}\n", report.region, report.alarms_in_alarm.join(", ")));
        }
        if !with_plan {
            continue;
        }
        if let Some(plan) = &report.weight_plan {
            if plan.changes.is_empty() {
                out.push_str(&format!("{}: rebalancer: no change ({})\n", report.region, plan.reason));
            }
            for c in &plan.changes {
                let from = c.from.map(|w| w.to_string()).unwrap_or_else(|| "-".into());
                out.push_str(&format!("{}: rebalancer: {} weight {from} -> {}\n", report.region, c.index, c.to));
            }
        }
        for (why, plan) in report.scale_plans.iter().flatten() {
            let steps: Vec<String> = plan.steps.iter().map(|s| format!("{s:?}")).collect();
            let what = if steps.is_empty() { "nothing".to_owned() } else { steps.join(", ") };
            out.push_str(&format!("{}: scaler on {why}: {what}\n", report.region));
            for note in &plan.notes {
                out.push_str(&format!("{}:   note: {note}\n", report.region));
            }
        }
    }
    out
}

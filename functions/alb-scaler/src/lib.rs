//! alb-scaler: adds an ALB shard when one nears its limits (RPS alarm, or no target room), drains and removes
//! one when load falls. Triggers: the CloudWatch alarm action, EventBridge alarm state changes, SNS-wrapped
//! alarms, and a schedule that finishes drains.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use strata_core::Result;
use strata_core::aws::AwsClients;
use strata_core::events::{ScaleCommand, decode_scale};
use strata_core::observe::discover_fleets;
use strata_core::plan::scale::ScaleTrigger;
use strata_core::scale::{ScalerSettings, scale};
use tracing::info;

pub fn settings_from_env() -> ScalerSettings {
    ScalerSettings {
        dry_run: std::env::var("STRATA_DRY_RUN").is_ok_and(|v| v.eq_ignore_ascii_case("true")),
        alias_ttl_seconds: std::env::var("STRATA_ALIAS_TTL_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60),
        scaler_arn: std::env::var("STRATA_SCALER_ARN").ok().filter(|v| !v.is_empty()),
    }
}

/// The account of this function, from its ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
fn own_account(function_arn: &str) -> Option<&str> {
    function_arn.split(':').nth(4).filter(|a| !a.is_empty())
}

pub async fn handle(aws: &AwsClients, settings: &ScalerSettings, event: LambdaEvent<Value>) -> Result<Value> {
    let account = own_account(&event.context.invoked_function_arn);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let targets = match decode_scale(&event.payload, &aws.region, account)? {
        ScaleCommand::Ignored(reason) => {
            info!(reason, "event ignored");
            return Ok(json!({"ignored": reason}));
        }
        ScaleCommand::Scale { fleet, trigger, transition_id } => vec![(fleet, trigger, transition_id)],
        ScaleCommand::TidyAll => {
            discover_fleets(aws).await?.into_iter().map(|f| (f, ScaleTrigger::Tidy, None)).collect()
        }
    };
    let mut reports = Vec::new();
    for (fleet, trigger, transition_id) in targets {
        let report = Box::pin(scale(aws, &fleet, trigger, transition_id.as_deref(), now, settings)).await?;
        info!(fleet = %fleet, steps = report.plan.steps.len(), "scaled");
        reports.push(report);
    }
    Ok(json!({ "fleets": reports }))
}

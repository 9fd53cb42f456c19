//! alb-scaler: adds an ALB shard when one nears its limits (RPS alarm, or no target room), drains and removes
//! one when load falls. Triggers: the CloudWatch alarm action, EventBridge alarm state changes, SNS-wrapped
//! alarms, and a schedule that finishes drains.

use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strata_core::Result;
use strata_core::answer::Answer;
use strata_core::aws::AwsClients;
use strata_core::events::{ScaleCommand, arn_account, decode_scale};
use strata_core::fleets::for_each_fleet;
use strata_core::observe::discover_fleets;
use strata_core::plan::scale::ScaleTrigger;
use strata_core::scale::{ScaleReport, ScaleRequest, ScalerSettings, scale};
use strata_core::settings::Settings;
use tracing::info;

pub fn scaler_settings(settings: &Settings) -> ScalerSettings {
    ScalerSettings {
        dry_run: settings.dry_run,
        alias_ttl_seconds: settings.alias_ttl_seconds,
        scaler_arn: settings.alarm_action.clone(),
    }
}

pub async fn handle(
    aws: &AwsClients,
    settings: &ScalerSettings,
    event: LambdaEvent<Value>,
) -> Result<Answer<ScaleReport>> {
    let account = arn_account(&event.context.invoked_function_arn);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let targets = match decode_scale(&event.payload, &aws.region, account)? {
        ScaleCommand::Ignored(reason) => {
            info!(reason, "event ignored");
            return Ok(Answer::Ignored { ignored: reason });
        }
        ScaleCommand::Scale { fleet, trigger, transition_id, hot_shard } => {
            vec![(fleet, (trigger, transition_id, hot_shard))]
        }
        ScaleCommand::TidyAll => {
            discover_fleets(aws).await?.into_iter().map(|f| (f, (ScaleTrigger::Tidy, None, None))).collect()
        }
    };
    let reports = for_each_fleet("alb-scaler", targets, |fleet, (trigger, transition_id, hot_shard)| async move {
        let request = ScaleRequest { trigger, trigger_id: transition_id.as_deref(), hot_shard, now };
        let report = Box::pin(scale(aws, &fleet, request, settings)).await?;
        info!(fleet = %fleet, steps = report.plan.steps.len(), "scaled");
        Ok(report)
    })
    .await?;
    Ok(Answer::Fleets { fleets: reports })
}

//! dns-rebalancer: recomputes the Route 53 weights across a region's shards from healthy capacity.
//! Triggers: a schedule (every fleet in the region), a Strata alarm's state change, or `{"fleet": ...}` from
//! the alb-scaler after it changed shards.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strata_core::Result;
use strata_core::answer::Answer;
use strata_core::aws::AwsClients;
use strata_core::events::{RebalanceTrigger, arn_account, decode_rebalance};
use strata_core::fleets::for_each_fleet;
use strata_core::observe::discover_fleets;
use strata_core::rebalance::{RebalanceReport, rebalance};
use strata_core::settings::Settings;
use tracing::info;

/// `settings.dry_run`: plan and log, change nothing.
pub async fn handle(
    aws: &AwsClients,
    settings: &Settings,
    event: LambdaEvent<Value>,
) -> Result<Answer<RebalanceReport>> {
    let account = arn_account(&event.context.invoked_function_arn);
    let fleets = match decode_rebalance(&event.payload, account)? {
        RebalanceTrigger::Ignored(reason) => {
            info!(reason, "event ignored");
            return Ok(Answer::Ignored { ignored: reason });
        }
        RebalanceTrigger::Fleet(fleet) => vec![fleet],
        RebalanceTrigger::AllFleets => discover_fleets(aws).await?,
    };
    let work = fleets.into_iter().map(|f| (f, ())).collect();
    let reports = for_each_fleet("dns-rebalancer", work, |fleet, ()| async move {
        let report = Box::pin(rebalance(aws, &fleet, settings.dry_run)).await?;
        info!(fleet = %fleet, changes = report.changes.len(), reason = %report.reason, "rebalanced");
        Ok(report)
    })
    .await?;
    Ok(Answer::Fleets { fleets: reports })
}

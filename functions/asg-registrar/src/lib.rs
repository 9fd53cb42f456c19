//! asg-registrar: attaches the fleet's ASGs to the right target groups and detaches those that left, on
//! EventBridge ASG events and on a schedule that repairs any drift.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strata_core::Result;
use strata_core::answer::Answer;
use strata_core::aws::AwsClients;
use strata_core::events::{AsgTrigger, arn_account, decode_asg_event};
use strata_core::fleets::for_each_fleet;
use strata_core::observe::discover_fleets;
use strata_core::register::{RegistrarReport, StrayScope, reconcile};
use strata_core::settings::Settings;
use tracing::info;

/// `settings.dry_run`: plan and log, change nothing.
pub async fn handle(
    aws: &AwsClients,
    settings: &Settings,
    event: LambdaEvent<Value>,
) -> Result<Answer<RegistrarReport>> {
    let account = arn_account(&event.context.invoked_function_arn);
    let scope = match decode_asg_event(&event.payload, &aws.region, account)? {
        AsgTrigger::Ignored(reason) => {
            info!(reason, "event ignored");
            return Ok(Answer::Ignored { ignored: reason });
        }
        AsgTrigger::Reconcile => StrayScope::All,
        AsgTrigger::Asg { name, cause } => {
            info!(asg = %name, cause, "ASG event");
            StrayScope::Named(name)
        }
    };
    let work = discover_fleets(aws).await?.into_iter().map(|f| (f, scope.clone())).collect();
    let reports = for_each_fleet("asg-registrar", work, |fleet, scope| async move {
        Box::pin(reconcile(aws, &fleet, scope, settings.dry_run)).await
    })
    .await?;
    Ok(Answer::Fleets { fleets: reports })
}

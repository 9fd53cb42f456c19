//! asg-registrar: attaches the fleet's ASGs to the right target groups and detaches those that left, on
//! EventBridge ASG events and on a schedule that repairs any drift.

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use strata_core::Result;
use strata_core::aws::AwsClients;
use strata_core::events::{AsgTrigger, arn_account, decode_asg_event};
use strata_core::fleets::for_each_fleet;
use strata_core::observe::discover_fleets;
use strata_core::register::{StrayScope, reconcile};
use tracing::info;

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `STRATA_DRY_RUN=true`: plan and log, change nothing.
    pub dry_run: bool,
}

impl Config {
    pub fn from_env() -> Self {
        Self { dry_run: std::env::var("STRATA_DRY_RUN").is_ok_and(|v| v.eq_ignore_ascii_case("true")) }
    }
}

pub async fn handle(aws: &AwsClients, config: &Config, event: LambdaEvent<Value>) -> Result<Value> {
    let account = arn_account(&event.context.invoked_function_arn);
    let scope = match decode_asg_event(&event.payload, &aws.region, account)? {
        AsgTrigger::Ignored(reason) => {
            info!(reason, "event ignored");
            return Ok(json!({"ignored": reason}));
        }
        AsgTrigger::Reconcile => StrayScope::All,
        AsgTrigger::Asg { name, cause } => {
            info!(asg = %name, cause, "ASG event");
            StrayScope::Named(name)
        }
    };
    let work = discover_fleets(aws).await?.into_iter().map(|f| (f, scope.clone())).collect();
    let reports = for_each_fleet("asg-registrar", work, |fleet, scope| async move {
        Box::pin(reconcile(aws, &fleet, scope, config.dry_run)).await
    })
    .await?;
    Ok(json!({ "fleets": reports }))
}

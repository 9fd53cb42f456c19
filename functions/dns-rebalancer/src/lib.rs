//! dns-rebalancer: recomputes the Route 53 weights across a region's shards from healthy capacity and load.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::names::FleetName;
use strata_core::observe::{Depth, FleetQuery, discover_fleets, observe};
use strata_core::{Result, StrataError};
use tracing::info;

/// Which fleets an event asks for: the one it names (`detail.fleet`), or every fleet in the region.
fn requested_fleet(event: &Value) -> Result<Option<FleetName>> {
    let parsed: EventBridgeEvent<Value> = serde_json::from_value(event.clone())
        .map_err(|e| StrataError::InvalidEvent(format!("not an EventBridge event: {e}")))?;
    match parsed.detail.get("fleet") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => {
            FleetName::parse(name).map(Some).map_err(|e| StrataError::InvalidEvent(e.to_string()))
        }
        Some(other) => Err(StrataError::InvalidEvent(format!("detail.fleet must be a string, got {other}"))),
    }
}

/// Observes the requested fleets and reports them.
pub async fn handle(aws: &AwsClients, event: LambdaEvent<Value>) -> Result<Value> {
    let fleets = match requested_fleet(&event.payload)? {
        Some(fleet) => vec![fleet],
        None => discover_fleets(aws).await?,
    };
    let mut observed = Vec::new();
    for fleet in &fleets {
        let query =
            FleetQuery { fleet, dns: None, asgs: None, depth: Depth { configuration: false, target_health: true } };
        let fleet_state = observe(aws, query).await?;
        info!(fleet = %fleet, shards = fleet_state.shards.len(), records = fleet_state.records.len(), "observed fleet");
        observed.push(fleet_state);
    }
    Ok(json!({ "fleets": observed }))
}

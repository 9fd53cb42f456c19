//! Passes over every fleet of a region (schedules, and triggers that name no fleet): each fleet on its own, so
//! that one broken fleet never stops the drains, placements and weights of the others.

use std::future::Future;

use tracing::error;

use crate::error::{Result, StrataError};
use crate::names::FleetName;
use crate::telemetry::Metrics;

/// Runs `pass` for each fleet's work item in turn. A fleet's failure is logged and counted (EMF `FleetFailed`,
/// with the function and fleet as dimensions) and the others go on; afterwards the invocation fails, naming
/// every failed fleet, so that Lambda's retry and on-failure destination see it. All passed: their reports.
pub async fn for_each_fleet<I, T, F, Fut>(function: &str, work: Vec<(FleetName, I)>, mut pass: F) -> Result<Vec<T>>
where
    F: FnMut(FleetName, I) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let total = work.len();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (fleet, item) in work {
        match pass(fleet.clone(), item).await {
            Ok(report) => reports.push(report),
            Err(err) => {
                error!(fleet = %fleet, error = %err, "fleet pass failed; the other fleets go on");
                let mut metrics = Metrics::new(&[("Function", function), ("Fleet", fleet.as_str())]);
                metrics.count("FleetFailed", 1);
                metrics.emit();
                failures.push(format!("{fleet}: {err}"));
            }
        }
    }
    if failures.is_empty() {
        return Ok(reports);
    }
    Err(StrataError::FleetsFailed(format!(
        "{} of {total} fleet(s) failed ({} passed): {}",
        failures.len(),
        reports.len(),
        failures.join("; ")
    )))
}

//! Telemetry: JSON logs through `tracing` (each line carries the Lambda request id and the fleet from the
//! enclosing spans) and CloudWatch Embedded Metric Format lines for the counts the functions emit.

mod emf;

pub use emf::{MetricUnit, Metrics, NAMESPACE};

use tracing_subscriber::EnvFilter;

/// JSON logs on stdout, filtered by `filter` (`STRATA_LOG`, see `settings`). Safe to call more than once.
pub fn init_logging(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

//! Telemetry: JSON logs through `tracing` (each line carries the Lambda request id and the fleet from the
//! enclosing spans) and CloudWatch Embedded Metric Format lines for the counts the functions emit.

mod emf;

pub use emf::{MetricUnit, Metrics, NAMESPACE};

use tracing_subscriber::EnvFilter;

/// JSON logs on stdout, filtered by `STRATA_LOG` (default `info`). Safe to call more than once.
pub fn init_logging() {
    let filter = EnvFilter::try_from_env("STRATA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

//! provisioner: the `Custom::StrataFleet` CloudFormation custom resource. Create/Update converge the region's
//! fleet to the spec, Delete removes it; CloudFormation is answered on every path, before the deadline.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::custom_resource::command::{
    FleetCommand, ProvisionerReport, command_of, done, failed, timeout_physical_id,
};
use strata_core::custom_resource::{
    CustomResourceRequest, CustomResourceResponse, send_response, validate_response_url,
};
use strata_core::model::DnsLocation;
use strata_core::names::Owner;
use strata_core::provision::{converge, teardown};
use strata_core::settings::Settings;
use strata_core::spec::FleetSpec;
use strata_core::{Result, StrataError};
use tracing::{Instrument, error, info, info_span};

/// Deployment-wide settings, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The alarms' action unless the spec names one: `STRATA_ALARM_TOPIC_ARN`, else `STRATA_SCALER_ARN` (the
    /// alb-scaler).
    pub scaler_arn: Option<String>,
    /// `AWS_ENDPOINT_URL`: with an emulator, ResponseURLs on its host are accepted.
    pub endpoint: Option<String>,
    /// `STRATA_ANSWER_MARGIN_MS`: answer FAILED this long before the Lambda deadline (default 10 s).
    pub answer_margin: Duration,
    /// `STRATA_TEST_PANIC=1`, a test hook only: the handler panics once the request decoded into a command that
    /// acts on AWS, so that a test can show the deployed (release) binary still answers CloudFormation.
    pub test_panic: bool,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            scaler_arn: settings.alarm_action.clone(),
            endpoint: settings.endpoint.clone(),
            answer_margin: settings.answer_margin,
            test_panic: settings.test_panic,
        }
    }
}

/// Time to work before answering: up to the Lambda deadline less the margin. A deadline already past is not a
/// real one (local runtimes such as `cargo lambda watch` send a fixed, long-gone value): then 5 minutes.
fn answer_budget(deadline_ms: u64, now_ms: u64, margin: Duration) -> Duration {
    if deadline_ms <= now_ms {
        tracing::warn!(deadline_ms, "the invocation's deadline is in the past: working for at most 5 minutes");
        return Duration::from_secs(300);
    }
    Duration::from_millis(deadline_ms - now_ms).saturating_sub(margin)
}

/// Time left to PUT the answer: up to the deadline, less a moment to post the Lambda response; the margin
/// when the deadline is not a real one.
fn answer_window(deadline_ms: u64, now_ms: u64, margin: Duration) -> Duration {
    if deadline_ms <= now_ms {
        return margin;
    }
    Duration::from_millis(deadline_ms - now_ms).saturating_sub(Duration::from_millis(250))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Handles one request and always answers CloudFormation (on a panic too), unless the request cannot be
/// answered at all (no ResponseURL, or one that is not CloudFormation's): then it fails without any AWS call.
pub async fn handle(aws: &AwsClients, config: &Config, event: LambdaEvent<Value>) -> Result<ProvisionerReport> {
    let request = CustomResourceRequest::from_json(&event.payload)?;
    if let Err(err) = validate_response_url(&request.response_url, &aws.region, config.endpoint.as_deref()) {
        error!(error = %err, stack_id = %request.stack_id, "cannot answer this request: no AWS call made");
        return Err(err);
    }
    let budget = answer_budget(event.context.deadline, now_ms(), config.answer_margin);
    let log_stream = event.context.env_config.log_stream.clone();
    let fleet_taken = AtomicBool::new(false);
    // A Create cut short (time out, panic) after it passed the owner check may have made resources: its answer
    // names the fleet, so that CloudFormation's rollback Delete removes them.
    let cut_short = |reason: String| CustomResourceResponse {
        physical_resource_id: timeout_physical_id(&request, &aws.region, fleet_taken.load(Ordering::SeqCst)),
        ..failed(&request, &aws.region, reason)
    };
    let function_arn = event.context.invoked_function_arn.as_str();
    // Decoding (the spec parser included) runs inside the guard too: a panic anywhere still gets an answer.
    let work = async {
        let command = command_of(&request, &aws.region, function_arn);
        act(aws, config, &request, command, &fleet_taken).await
    };
    let span =
        info_span!("custom_resource", request_type = ?request.request_type, logical_id = %request.logical_resource_id);
    let work = AssertUnwindSafe(Box::pin(work).instrument(span)).catch_unwind();
    let response = match tokio::time::timeout(budget, work).await {
        Ok(Ok(response)) => response,
        Ok(Err(panic)) => {
            let reason = format!("the provisioner failed unexpectedly (panic: {})", panic_message(&*panic));
            error!(reason, "handler panicked");
            cut_short(reason)
        }
        Err(_) => cut_short(format!("timed out after {budget:?}, before the Lambda deadline")),
    };
    let response = if response.success {
        response
    } else {
        CustomResourceResponse { reason: format!("{} (log stream {log_stream})", response.reason), ..response }
    };
    let status = if response.success { "SUCCESS" } else { "FAILED" };
    info!(status, physical_resource_id = %response.physical_resource_id, reason = %response.reason, "answering CloudFormation");
    let window = answer_window(event.context.deadline, now_ms(), config.answer_margin);
    send_response(&request.response_url, response.body(&request), window).await?;
    Ok(ProvisionerReport::from(&response))
}

/// A panic's message, short.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    text.chars().take(200).collect()
}

async fn act(
    aws: &AwsClients,
    config: &Config,
    request: &CustomResourceRequest,
    command: FleetCommand,
    fleet_taken: &AtomicBool,
) -> CustomResourceResponse {
    if config.test_panic && !matches!(command, FleetCommand::Answer(_)) {
        panic!("STRATA_TEST_PANIC=1: the test hook's panic");
    }
    match command {
        FleetCommand::Answer(response) => {
            info!(success = response.success, reason = %response.reason, "answered without any AWS call");
            response
        }
        FleetCommand::Converge { spec, owner, may_claim, roll_back_on_failure, physical_resource_id } => {
            let scaler_arn = config.scaler_arn.as_deref();
            match Box::pin(converge(aws, &spec, &owner, may_claim, scaler_arn, fleet_taken)).await {
                Ok(summary) => CustomResourceResponse {
                    success: true,
                    reason: String::new(),
                    physical_resource_id,
                    // Lists are answered comma-separated, and shortened first if the answer exceeds 4 KiB.
                    data: json!({
                        "RegionalDnsName": summary.regional_dns_name,
                        "LoadBalancerArns": summary.load_balancer_arns,
                        "LoadBalancerDnsNames": summary.load_balancer_dns_names,
                        "TargetGroupArns": summary.target_group_arns,
                    }),
                },
                // Nothing was changed: the fleet is someone else's.
                Err(err @ StrataError::NotOwner(_)) => {
                    error!(error = %err, "refused: not the fleet's owner");
                    failed(request, &aws.region, err.to_string())
                }
                Err(err) => {
                    error!(error = %err, "converge failed");
                    let reason =
                        if roll_back_on_failure { rollback(aws, &spec, &owner, err).await } else { err.to_string() };
                    CustomResourceResponse { success: false, reason, physical_resource_id, data: json!({}) }
                }
            }
        }
        FleetCommand::Delete { fleet, dns, asgs, owner } => {
            let id = request.physical_resource_id.clone().unwrap_or_default();
            match Box::pin(teardown(aws, &fleet, dns, asgs, &owner, true)).await {
                Ok(0) => done(&id, "nothing of this custom resource's fleet exists in this region"),
                Ok(_) => done(&id, ""),
                Err(err) => failed(request, &aws.region, err.to_string()),
            }
        }
    }
}

/// A failed Create removes what it made (what carries its owner's marks), so CloudFormation's rollback leaves
/// nothing behind.
async fn rollback(aws: &AwsClients, spec: &FleetSpec, owner: &Owner, cause: StrataError) -> String {
    let dns = DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() };
    match Box::pin(teardown(aws, &spec.fleet, Some(dns), Some(spec.asgs()), owner, false)).await {
        Ok(_) => format!("{cause}; everything this Create made was removed"),
        Err(cleanup) => format!("{cause}; rolling back also failed ({cleanup}): CloudFormation's Delete will retry it"),
    }
}

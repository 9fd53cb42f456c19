//! provisioner: the `Custom::StrataFleet` CloudFormation custom resource. Create/Update converge the region's
//! fleet to the spec, Delete removes it; CloudFormation is answered on every path, before the deadline.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::custom_resource::{
    CustomResourceRequest, CustomResourceResponse, RequestType, send_response, validate_response_url,
};
use strata_core::names::FleetName;
use strata_core::observe::DnsLocation;
use strata_core::provision::{converge, teardown};
use strata_core::spec::FleetSpec;
use strata_core::{Result, StrataError};
use tracing::{Instrument, error, info, info_span};

/// Deployment-wide settings, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `STRATA_SCALER_ARN`: the alb-scaler the alarms act on, unless the spec names one.
    pub scaler_arn: Option<String>,
    /// `AWS_ENDPOINT_URL`: with an emulator, ResponseURLs on its host are accepted.
    pub endpoint: Option<String>,
    /// `STRATA_ANSWER_MARGIN_MS`: answer FAILED this long before the Lambda deadline (default 10 s).
    pub answer_margin: Duration,
}

impl Config {
    pub fn from_env() -> Self {
        let margin = std::env::var("STRATA_ANSWER_MARGIN_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
        Self {
            scaler_arn: std::env::var("STRATA_SCALER_ARN").ok().filter(|v| !v.is_empty()),
            endpoint: std::env::var("AWS_ENDPOINT_URL").ok().filter(|v| !v.is_empty()),
            answer_margin: Duration::from_millis(margin),
        }
    }
}

fn physical_id(fleet: &str, region: &str) -> String {
    format!("strata:{fleet}:{region}")
}

/// The fleet a PhysicalResourceId names in this region, if it is one of Strata's.
fn fleet_of_physical_id(id: &str, region: &str) -> Option<FleetName> {
    let rest = id.strip_prefix("strata:")?;
    let (fleet, id_region) = rest.split_once(':')?;
    (id_region == region).then(|| FleetName::parse(fleet).ok()).flatten()
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

/// Handles one request and always answers CloudFormation, unless the request cannot be answered at all
/// (no ResponseURL, or one that is not a pre-signed S3 URL): then it fails without any AWS call.
pub async fn handle(aws: &AwsClients, config: &Config, event: LambdaEvent<Value>) -> Result<Value> {
    let request = CustomResourceRequest::from_json(&event.payload)?;
    validate_response_url(&request.response_url, config.endpoint.as_deref())?;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let budget = answer_budget(event.context.deadline, now_ms, config.answer_margin);
    let log_stream = event.context.env_config.log_stream.clone();
    let span =
        info_span!("custom_resource", request_type = ?request.request_type, logical_id = %request.logical_resource_id);
    let outcome = tokio::time::timeout(budget, Box::pin(act(aws, config, &request)).instrument(span)).await;
    let response = match outcome {
        Ok(response) => response,
        Err(_) => CustomResourceResponse {
            success: false,
            reason: format!("timed out after {budget:?}, before the Lambda deadline; see log stream {log_stream}"),
            physical_resource_id: fallback_physical_id(&request, &aws.region),
            data: json!({}),
        },
    };
    let response = if response.success {
        response
    } else {
        CustomResourceResponse { reason: format!("{} (log stream {log_stream})", response.reason), ..response }
    };
    let status = if response.success { "SUCCESS" } else { "FAILED" };
    info!(status, physical_resource_id = %response.physical_resource_id, reason = %response.reason, "answering CloudFormation");
    send_response(&request.response_url, response.body(&request)).await?;
    Ok(json!({"Status": status, "PhysicalResourceId": response.physical_resource_id, "Reason": response.reason}))
}

/// The id to answer with when the spec cannot say: the one CloudFormation sent, or one derived from the raw
/// fleet name, so that the Delete CloudFormation sends after a failure maps to nothing and succeeds.
fn fallback_physical_id(request: &CustomResourceRequest, region: &str) -> String {
    if let Some(id) = &request.physical_resource_id {
        return id.clone();
    }
    let raw = request.properties.get("FleetName").and_then(Value::as_str).unwrap_or("invalid");
    match FleetName::parse(raw) {
        Ok(fleet) => physical_id(fleet.as_str(), region),
        Err(_) => format!("strata-invalid:{region}:{}", request.request_id),
    }
}

async fn act(aws: &AwsClients, config: &Config, request: &CustomResourceRequest) -> CustomResourceResponse {
    let failed = |reason: String| CustomResourceResponse {
        success: false,
        reason,
        physical_resource_id: fallback_physical_id(request, &aws.region),
        data: json!({}),
    };
    match request.request_type {
        RequestType::Create | RequestType::Update => {
            let spec = match FleetSpec::from_properties(&request.properties) {
                Ok(spec) => spec,
                Err(err) => return failed(err.to_string()),
            };
            let physical_resource_id = physical_id(spec.fleet.as_str(), &aws.region);
            match Box::pin(converge(aws, &spec, config.scaler_arn.as_deref())).await {
                Ok(summary) => CustomResourceResponse {
                    success: true,
                    reason: String::new(),
                    physical_resource_id,
                    data: json!({
                        "RegionalDnsName": summary.regional_dns_name,
                        "LoadBalancerArns": summary.load_balancer_arns.join(","),
                        "LoadBalancerDnsNames": summary.load_balancer_dns_names.join(","),
                        "TargetGroupArns": summary.target_group_arns.join(","),
                    }),
                },
                Err(err) => {
                    error!(error = %err, "converge failed");
                    let reason = if request.request_type == RequestType::Create {
                        rollback(aws, &spec, err).await
                    } else {
                        err.to_string()
                    };
                    CustomResourceResponse { success: false, reason, physical_resource_id, data: json!({}) }
                }
            }
        }
        RequestType::Delete => delete(aws, request).await,
    }
}

/// A failed Create removes what it made, so CloudFormation's rollback leaves nothing behind.
async fn rollback(aws: &AwsClients, spec: &FleetSpec, cause: StrataError) -> String {
    let dns = DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() };
    match Box::pin(teardown(aws, &spec.fleet, dns, Some(spec.asgs.clone()))).await {
        Ok(_) => format!("{cause}; everything this Create made was removed"),
        Err(cleanup) => format!("{cause}; rolling back also failed ({cleanup}): CloudFormation's Delete will retry it"),
    }
}

async fn delete(aws: &AwsClients, request: &CustomResourceRequest) -> CustomResourceResponse {
    let id = request.physical_resource_id.clone().unwrap_or_default();
    let done = |reason: &str| CustomResourceResponse {
        success: true,
        reason: reason.to_owned(),
        physical_resource_id: id.clone(),
        data: json!({}),
    };
    let Some(fleet) = fleet_of_physical_id(&id, &aws.region) else {
        return done("nothing to delete: this resource was never created");
    };
    // The zone comes from the properties when they parse, else from the shards' own policy tags.
    let spec = FleetSpec::from_properties(&request.properties).ok().filter(|s| s.fleet == fleet);
    let zone = request.properties.get("HostedZoneId").and_then(Value::as_str);
    let domain = request.properties.get("Domain").and_then(Value::as_str);
    let dns = match (&spec, zone, domain) {
        (Some(spec), _, _) => {
            Some(DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() })
        }
        (None, Some(zone), Some(domain)) => {
            Some(DnsLocation { hosted_zone_id: zone.to_owned(), domain: domain.to_owned() })
        }
        _ => None,
    };
    let Some(dns) = dns else {
        return CustomResourceResponse {
            success: false,
            reason: "Delete needs HostedZoneId and Domain in the properties to find the fleet's records".into(),
            physical_resource_id: id.clone(),
            data: json!({}),
        };
    };
    match Box::pin(teardown(aws, &fleet, dns, spec.map(|s| s.asgs))).await {
        Ok(0) => done("nothing to delete: no shard of this fleet exists in this region"),
        Ok(_) => done(""),
        Err(err) => CustomResourceResponse {
            success: false,
            reason: err.to_string(),
            physical_resource_id: id.clone(),
            data: json!({}),
        },
    }
}

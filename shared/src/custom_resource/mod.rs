//! The CloudFormation custom-resource protocol: the request read as raw JSON (so a request with malformed
//! properties still gets its FAILED answer), the response body, and the PUT to the pre-signed ResponseURL.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::error::{Result, StrataError};

pub mod command;

/// CloudFormation rejects response bodies over 4 KiB.
pub const MAX_RESPONSE_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

/// The parts of a request needed to answer it; the properties stay raw until the spec parses them.
#[derive(Debug, Clone)]
pub struct CustomResourceRequest {
    pub request_type: RequestType,
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub properties: Value,
    pub old_properties: Option<Value>,
}

impl CustomResourceRequest {
    /// The request as `aws_lambda_events` reads it, its properties kept as raw JSON (they are validated later, so
    /// that malformed ones still get a FAILED answer); anything missing here means it cannot be answered at all.
    pub fn from_json(event: &Value) -> Result<Self> {
        let mut event = event.clone();
        // What an answer does not need is not required: such a request is still answered (FAILED, or a Delete).
        if let Some(map) = event.as_object_mut() {
            map.entry("ResourceProperties").or_insert(Value::Null);
            map.entry("OldResourceProperties").or_insert(Value::Null);
            for key in ["ResourceType", "PhysicalResourceId"] {
                if !map.get(key).is_some_and(Value::is_string) {
                    map.insert(key.to_owned(), Value::String(String::new()));
                }
            }
            if map.get("ServiceToken").is_some_and(|t| !t.is_string()) {
                map.remove("ServiceToken");
            }
        }
        let request: CloudFormationCustomResourceRequest = serde_json::from_value(event)
            .map_err(|e| StrataError::InvalidEvent(format!("not a CloudFormation custom-resource request: {e}")))?;
        // The three request types share these fields; Update and Delete name the resource, Update its old state.
        macro_rules! read {
            ($r:expr, $kind:expr, $physical:expr, $old:expr) => {
                Self {
                    request_type: $kind,
                    physical_resource_id: $physical,
                    old_properties: $old,
                    response_url: $r.response_url,
                    stack_id: $r.stack_id,
                    request_id: $r.request_id,
                    logical_resource_id: $r.logical_resource_id,
                    properties: $r.resource_properties,
                }
            };
        }
        let named = |id: String| Some(id).filter(|id| !id.is_empty());
        Ok(match request {
            CloudFormationCustomResourceRequest::Create(r) => read!(r, RequestType::Create, None, None),
            CloudFormationCustomResourceRequest::Update(r) => {
                let old = Some(r.old_resource_properties).filter(|p| !p.is_null());
                read!(r, RequestType::Update, named(r.physical_resource_id), old)
            }
            CloudFormationCustomResourceRequest::Delete(r) => {
                read!(r, RequestType::Delete, named(r.physical_resource_id), None)
            }
            _ => return Err(StrataError::InvalidEvent("an unknown RequestType".into())),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomResourceResponse {
    pub success: bool,
    pub reason: String,
    pub physical_resource_id: String,
    pub data: Value,
}

impl CustomResourceResponse {
    /// The JSON body CloudFormation expects, cut to fit 4 KiB. Data values given as JSON arrays are lists:
    /// answered comma-separated, and shortened first (the last shard goes from every list at once), so that the
    /// scalars (`RegionalDnsName`) survive any number of shards; then the reason is cut; the data go last.
    pub fn body(&self, request: &CustomResourceRequest) -> String {
        let mut reason = self.reason.clone();
        let mut data = self.data.as_object().cloned().unwrap_or_default();
        let mut trimmed = 0usize;
        loop {
            let mut answer = CloudFormationCustomResourceResponse::default();
            answer.status = match self.success {
                true => CloudFormationCustomResourceResponseStatus::Success,
                false => CloudFormationCustomResourceResponseStatus::Failed,
            };
            answer.reason = Some(reason.clone());
            answer.physical_resource_id = self.physical_resource_id.clone();
            answer.stack_id = request.stack_id.clone();
            answer.request_id = request.request_id.clone();
            answer.logical_resource_id = request.logical_resource_id.clone();
            answer.data = rendered(&data);
            let body = serde_json::to_string(&answer).expect("an answer serializes");
            if body.len() <= MAX_RESPONSE_BYTES {
                if trimmed > 0 {
                    tracing::warn!(trimmed, "the answer exceeded CloudFormation's 4,096 bytes: lists were shortened");
                }
                return body;
            }
            if drop_last_list_item(&mut data) {
                trimmed += 1;
            } else if reason.len() > 3 {
                let keep = reason.len().saturating_sub(body.len() - MAX_RESPONSE_BYTES + 3);
                reason = format!("{}...", truncate(&reason, keep));
            } else {
                data.clear();
                reason.clear();
            }
        }
    }
}

/// Data as CloudFormation takes it: every value a string, lists joined with commas.
fn rendered(data: &Map<String, Value>) -> HashMap<String, String> {
    let text = |value: &Value| value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    data.iter()
        .map(|(key, value)| {
            let rendered = match value {
                Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
                other => text(other),
            };
            (key.clone(), rendered)
        })
        .collect()
}

/// Removes the last shard from every list that has the most items, so that the lists stay index-aligned (a
/// `!Select` at one index names the same shard in each); `false` when no list has an item left.
fn drop_last_list_item(data: &mut Map<String, Value>) -> bool {
    let most = data.values().filter_map(Value::as_array).map(Vec::len).max().unwrap_or(0);
    if most == 0 {
        return false;
    }
    for items in data.values_mut().filter_map(Value::as_array_mut).filter(|items| items.len() == most) {
        items.pop();
    }
    true
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Where CloudFormation puts its pre-signed answer URLs: its own bucket of the region (region without dashes).
pub fn response_bucket(region: &str) -> String {
    format!("cloudformation-custom-resource-response-{}", region.replace('-', ""))
}

/// The DNS suffix of the partition a region belongs to.
fn partition_suffix(region: &str) -> &'static str {
    match region {
        r if r.starts_with("cn-") => "amazonaws.com.cn",
        r if r.starts_with("us-isob-") => "sc2s.sgov.gov",
        r if r.starts_with("us-iso-") => "c2s.ic.gov",
        r if r.starts_with("eusc-") => "amazonaws.eu",
        _ => "amazonaws.com",
    }
}

/// The S3 endpoints of the region's partition that may carry the region's bucket.
fn s3_endpoints(region: &str) -> Vec<String> {
    let suffix = partition_suffix(region);
    let mut hosts = vec![
        format!("s3.{region}.{suffix}"),
        format!("s3-{region}.{suffix}"),
        format!("s3.dualstack.{region}.{suffix}"),
    ];
    if suffix == "amazonaws.com" {
        hosts.push("s3.amazonaws.com".into());
    }
    if region == "us-east-1" {
        hosts.push("s3-external-1.amazonaws.com".into());
    }
    hosts
}

/// Only a pre-signed https URL of CloudFormation's own response bucket of this region, on an S3 endpoint of
/// its partition (virtual-hosted or path style), is answered; with `AWS_ENDPOINT_URL` set (an emulator), a
/// URL on that endpoint's host and port too. So a forged request cannot make the function PUT anywhere else.
pub fn validate_response_url(url: &str, region: &str, endpoint: Option<&str>) -> Result<()> {
    let refuse = |why: String| Err(StrataError::InvalidEvent(format!("ResponseURL refused: {why}")));
    let uri: hyper::Uri = url.parse().map_err(|_| StrataError::InvalidEvent("ResponseURL is not a URL".into()))?;
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let endpoint = endpoint.and_then(|e| e.parse::<hyper::Uri>().ok());
    if endpoint
        .is_some_and(|e| e.host().is_some_and(|h| h.eq_ignore_ascii_case(&host)) && e.port_u16() == uri.port_u16())
    {
        return Ok(());
    }
    let shown = truncate(&host, 120);
    if uri.scheme_str() != Some("https") || uri.port_u16().is_some_and(|p| p != 443) {
        return refuse(format!("https://{shown} on port 443 expected"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return refuse("a URL with user information".into());
    }
    let bucket = response_bucket(region);
    let endpoints = s3_endpoints(region);
    let virtual_hosted = host.strip_prefix(&format!("{bucket}.")).is_some_and(|e| endpoints.iter().any(|x| x == e));
    let path_style = endpoints.contains(&host) && uri.path().starts_with(&format!("/{bucket}/"));
    if !virtual_hosted && !path_style {
        return refuse(format!(
            "not CloudFormation's response bucket {bucket} on an S3 endpoint of {region} ({shown})"
        ));
    }
    let signed = uri.query().is_some_and(|q| {
        q.split('&').any(|pair| matches!(pair.split('=').next(), Some("X-Amz-Signature" | "Signature")))
    });
    if !signed {
        return refuse("not a pre-signed URL".into());
    }
    Ok(())
}

/// How many times the answer is PUT before giving up.
const PUT_ATTEMPTS: u32 = 3;

/// PUTs the response body to the pre-signed URL within `window` (the time left before the Lambda deadline):
/// each attempt gets an equal share of what is left, and transient failures are retried, because an
/// unanswered CloudFormation request hangs the stack for an hour.
pub async fn send_response(url: &str, body: String, window: Duration) -> Result<()> {
    let deadline = Instant::now() + window;
    let mut pause = Duration::from_millis(200);
    for attempt in 1..=PUT_ATTEMPTS {
        let share = deadline.saturating_duration_since(Instant::now()) / (PUT_ATTEMPTS - attempt + 1);
        let result = match tokio::time::timeout(share, put_once(url, body.clone())).await {
            Ok(result) => result,
            Err(_) => Err(StrataError::Aws {
                code: None,
                service: "s3",
                operation: "PUT ResponseURL",
                message: format!("no answer within {share:?}"),
            }),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(err) if attempt == PUT_ATTEMPTS => return Err(err),
            Err(err) => tracing::warn!(error = %err, attempt, "answering CloudFormation failed; retrying"),
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()) / 4)).await;
        pause *= 4;
    }
    unreachable!("the loop returns")
}

/// One PUT (no Content-Type: the signature covers none).
async fn put_once(url: &str, body: String) -> Result<()> {
    let connector =
        hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
    let request = hyper::Request::put(url)
        .header("content-type", "")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| StrataError::InvalidEvent(format!("ResponseURL: {e}")))?;
    let response = client.request(request).await.map_err(|e| StrataError::Aws {
        code: None,
        service: "s3",
        operation: "PUT ResponseURL",
        message: e.to_string(),
    })?;
    let status = response.status();
    if !status.is_success() {
        let text = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        return Err(StrataError::Aws {
            code: None,
            service: "s3",
            operation: "PUT ResponseURL",
            message: format!("{status}: {}", String::from_utf8_lossy(&text)),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;

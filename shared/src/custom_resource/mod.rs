//! The CloudFormation custom-resource protocol: the request read as raw JSON (so a request with malformed
//! properties still gets its FAILED answer), the response body, and the PUT to the pre-signed ResponseURL.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::error::{Result, StrataError};

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
    /// The fields an answer needs; anything missing here means the request cannot be answered at all.
    pub fn from_json(event: &Value) -> Result<Self> {
        let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
        let missing =
            |key: &str| StrataError::InvalidEvent(format!("not a CloudFormation custom-resource request: no {key}"));
        let request_type = match text("RequestType").as_deref() {
            Some("Create") => RequestType::Create,
            Some("Update") => RequestType::Update,
            Some("Delete") => RequestType::Delete,
            Some(other) => return Err(StrataError::InvalidEvent(format!("unknown RequestType {other:?}"))),
            None => return Err(missing("RequestType")),
        };
        Ok(Self {
            request_type,
            response_url: text("ResponseURL").ok_or_else(|| missing("ResponseURL"))?,
            stack_id: text("StackId").ok_or_else(|| missing("StackId"))?,
            request_id: text("RequestId").ok_or_else(|| missing("RequestId"))?,
            logical_resource_id: text("LogicalResourceId").ok_or_else(|| missing("LogicalResourceId"))?,
            physical_resource_id: text("PhysicalResourceId"),
            properties: event.get("ResourceProperties").cloned().unwrap_or(Value::Null),
            old_properties: event.get("OldResourceProperties").cloned(),
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
            let body = json!({
                "Status": if self.success { "SUCCESS" } else { "FAILED" },
                "Reason": reason,
                "PhysicalResourceId": self.physical_resource_id,
                "StackId": request.stack_id,
                "RequestId": request.request_id,
                "LogicalResourceId": request.logical_resource_id,
                "NoEcho": false,
                "Data": rendered(&data),
            })
            .to_string();
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
fn rendered(data: &Map<String, Value>) -> Value {
    let values = data.iter().map(|(key, value)| {
        let text = match value {
            Value::Array(items) => {
                let items: Vec<String> =
                    items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect();
                Value::String(items.join(","))
            }
            other => other.clone(),
        };
        (key.clone(), text)
    });
    Value::Object(values.collect())
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
        service: "s3",
        operation: "PUT ResponseURL",
        message: e.to_string(),
    })?;
    let status = response.status();
    if !status.is_success() {
        let text = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        return Err(StrataError::Aws {
            service: "s3",
            operation: "PUT ResponseURL",
            message: format!("{status}: {}", String::from_utf8_lossy(&text)),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;

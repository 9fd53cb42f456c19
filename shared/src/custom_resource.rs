//! The CloudFormation custom-resource protocol: the request read as raw JSON (so a request with malformed
//! properties still gets its FAILED answer), the response body, and the PUT to the pre-signed ResponseURL.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

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
    /// The JSON body CloudFormation expects, cut to fit 4 KiB (data first, then the reason).
    pub fn body(&self, request: &CustomResourceRequest) -> String {
        let mut reason = self.reason.clone();
        let mut data = self.data.clone();
        loop {
            let body = json!({
                "Status": if self.success { "SUCCESS" } else { "FAILED" },
                "Reason": reason,
                "PhysicalResourceId": self.physical_resource_id,
                "StackId": request.stack_id,
                "RequestId": request.request_id,
                "LogicalResourceId": request.logical_resource_id,
                "NoEcho": false,
                "Data": data,
            })
            .to_string();
            if body.len() <= MAX_RESPONSE_BYTES {
                return body;
            }
            if !data.as_object().is_none_or(|d| d.is_empty()) {
                data = json!({});
            } else {
                let keep = reason.len().saturating_sub(body.len() - MAX_RESPONSE_BYTES + 3);
                reason = format!("{}...", truncate(&reason, keep));
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Only an https S3 pre-signed URL is answered (and, with `AWS_ENDPOINT_URL` set, a URL on that endpoint's
/// host and port), so a forged request cannot make the function PUT anywhere else.
pub fn validate_response_url(url: &str, endpoint: Option<&str>) -> Result<()> {
    let refuse = |why: &str| Err(StrataError::InvalidEvent(format!("ResponseURL refused: {why}")));
    let uri: hyper::Uri = url.parse().map_err(|_| StrataError::InvalidEvent("ResponseURL is not a URL".into()))?;
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let endpoint = endpoint.and_then(|e| e.parse::<hyper::Uri>().ok());
    if endpoint
        .is_some_and(|e| e.host().is_some_and(|h| h.eq_ignore_ascii_case(&host)) && e.port_u16() == uri.port_u16())
    {
        return Ok(());
    }
    if uri.scheme_str() != Some("https") {
        return refuse("not https");
    }
    let s3_host =
        host.ends_with(".amazonaws.com") && host.split('.').any(|label| label == "s3" || label.starts_with("s3-"));
    let s3_host = s3_host || host.ends_with(".amazonaws.com.cn") && host.contains("s3");
    if !s3_host {
        return refuse(&format!("{host} is not an S3 endpoint"));
    }
    if !uri.query().is_some_and(|q| q.contains("Signature") || q.contains("X-Amz-Signature")) {
        return refuse("not a pre-signed URL");
    }
    Ok(())
}

/// PUTs the response body to the pre-signed URL, retrying transient failures (3 attempts): an unanswered
/// CloudFormation request would hang the stack for an hour.
pub async fn send_response(url: &str, body: String) -> Result<()> {
    let mut delay = std::time::Duration::from_millis(200);
    for attempt in 1..=3 {
        match put_once(url, body.clone()).await {
            Ok(()) => return Ok(()),
            Err(err) if attempt == 3 => return Err(err),
            Err(err) => tracing::warn!(error = %err, attempt, "answering CloudFormation failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay *= 4;
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
mod tests {
    use super::*;

    #[test]
    fn response_urls_must_be_presigned_s3_or_the_configured_endpoint() {
        let s3 = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A?X-Amz-Signature=abc";
        assert!(validate_response_url(s3, None).is_ok());
        let regional = "https://cfn-responses.s3.eu-west-1.amazonaws.com/x?AWSAccessKeyId=A&Signature=s";
        assert!(validate_response_url(regional, None).is_ok());
        assert!(validate_response_url("http://cfn.s3.amazonaws.com/x?Signature=s", None).is_err(), "plain http");
        assert!(validate_response_url("https://evil.example.com/x?Signature=s", None).is_err(), "not S3");
        assert!(validate_response_url("https://bucket.s3.amazonaws.com/x", None).is_err(), "not pre-signed");
        let local = "http://127.0.0.1:5000/bucket/key?X-Amz-Signature=s";
        assert!(validate_response_url(local, Some("http://127.0.0.1:5000")).is_ok());
        assert!(validate_response_url("http://127.0.0.1:6000/b/k", Some("http://127.0.0.1:5000")).is_err());
    }

    #[test]
    fn response_body_always_fits_4_kib() {
        let request = CustomResourceRequest::from_json(&json!({
            "RequestType": "Create", "ResponseURL": "u", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l"
        }))
        .unwrap();
        let response = CustomResourceResponse {
            success: false,
            reason: "é".repeat(5000),
            physical_resource_id: "strata:web:us-east-1".into(),
            data: json!({"Arns": "x".repeat(5000)}),
        };
        let body = response.body(&request);
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["Status"], "FAILED");
        assert_eq!(parsed["PhysicalResourceId"], "strata:web:us-east-1");
    }
}

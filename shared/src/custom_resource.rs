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
mod tests {
    use super::*;

    const SIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0123abcd";

    #[test]
    fn response_urls_of_cloudformation_s_bucket_in_every_form_it_uses_are_accepted() {
        // Shapes seen in real requests (public fixtures): virtual-hosted on the global, the legacy dash and the
        // dotted regional endpoint, SigV2 and SigV4; and path style.
        for (region, url) in [
            ("us-east-1", format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/s/1%7CWebFleet%7C7b?{SIGNED}")),
            ("eu-west-1", "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/arn%3A?AWSAccessKeyId=AKIA&Expires=1&Signature=abc%3D".to_owned()),
            ("us-east-1", format!("https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/k?{SIGNED}")),
            ("ap-northeast-1", format!("https://s3.ap-northeast-1.amazonaws.com/cloudformation-custom-resource-response-apnortheast1/k?{SIGNED}")),
            ("cn-north-1", format!("https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k?{SIGNED}")),
            ("us-gov-west-1", format!("https://cloudformation-custom-resource-response-usgovwest1.s3-us-gov-west-1.amazonaws.com/k?{SIGNED}")),
        ] {
            assert!(validate_response_url(&url, region, None).is_ok(), "{url}: {:?}", validate_response_url(&url, region, None));
        }
    }

    #[test]
    fn any_other_response_url_is_refused() {
        for (why, url) in [
            (
                "another bucket on S3",
                format!("https://cr-response-bucket.s3.us-east-1.amazonaws.com/cr-response-key?{SIGNED}"),
            ),
            (
                "another region's bucket",
                format!(
                    "https://cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com/k?{SIGNED}"
                ),
            ),
            (
                "the bucket on another region's endpoint",
                format!(
                    "https://cloudformation-custom-resource-response-useast1.s3.us-west-2.amazonaws.com/k?{SIGNED}"
                ),
            ),
            (
                "another partition's endpoint",
                format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.cn/k?{SIGNED}"),
            ),
            (
                "a look-alike host",
                format!(
                    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/k?{SIGNED}"
                ),
            ),
            (
                "path style, another bucket",
                format!(
                    "https://s3.amazonaws.com/my-bucket/cloudformation-custom-resource-response-useast1/k?{SIGNED}"
                ),
            ),
            (
                "plain http",
                format!("http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?{SIGNED}"),
            ),
            (
                "another port",
                format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/k?{SIGNED}"),
            ),
            (
                "user information",
                format!("https://x@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?{SIGNED}"),
            ),
            (
                "not pre-signed",
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signaturex=1"
                    .to_owned(),
            ),
            ("not S3", format!("https://evil.example.com/k?{SIGNED}")),
        ] {
            assert!(validate_response_url(&url, "us-east-1", None).is_err(), "{why}: {url}");
        }
    }

    #[test]
    fn with_an_emulator_only_its_own_host_and_port_are_accepted_besides_cloudformation_s_bucket() {
        let emulator = Some("http://127.0.0.1:5000");
        assert!(
            validate_response_url("http://127.0.0.1:5000/bucket/key?X-Amz-Signature=s", "us-east-1", emulator).is_ok()
        );
        assert!(validate_response_url("http://127.0.0.1:6000/b/k", "us-east-1", emulator).is_err());
        assert!(validate_response_url(&format!("https://evil.example.com/k?{SIGNED}"), "us-east-1", emulator).is_err());
    }

    fn request() -> CustomResourceRequest {
        CustomResourceRequest::from_json(&json!({
            "RequestType": "Create", "ResponseURL": "u", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l"
        }))
        .unwrap()
    }

    #[test]
    fn response_body_always_fits_4_kib() {
        let response = CustomResourceResponse {
            success: false,
            reason: "é".repeat(5000),
            physical_resource_id: "strata:web:us-east-1".into(),
            data: json!({"Arns": "x".repeat(5000)}),
        };
        let body = response.body(&request());
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["Status"], "FAILED");
        assert_eq!(parsed["PhysicalResourceId"], "strata:web:us-east-1");
    }

    #[test]
    fn a_5_kb_answer_shortens_its_lists_and_keeps_regional_dns_name() {
        let arn = |k: usize| {
            format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-s{k}/50dc6c495c0c9188")
        };
        let dns = |k: usize| format!("web-s{k}-1234567890.us-east-1.elb.amazonaws.com");
        let tg = |k: usize| {
            format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-s{k}-tg/73e2d6bc24d8a067")
        };
        let shards = 0..22;
        let response = CustomResourceResponse {
            success: true,
            reason: String::new(),
            physical_resource_id: "strata:web:us-east-1".into(),
            data: json!({
                "RegionalDnsName": "us-east-1.api.example.com",
                "LoadBalancerArns": shards.clone().map(arn).collect::<Vec<_>>(),
                "LoadBalancerDnsNames": shards.clone().map(dns).collect::<Vec<_>>(),
                "TargetGroupArns": shards.clone().map(tg).collect::<Vec<_>>(),
            }),
        };
        let untrimmed = rendered(response.data.as_object().unwrap()).to_string();
        assert!(untrimmed.len() > 5000, "the test's answer is over 5 KB: {}", untrimmed.len());

        let body = response.body(&request());
        assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
        let data = &serde_json::from_str::<Value>(&body).unwrap()["Data"];
        assert_eq!(data["RegionalDnsName"], "us-east-1.api.example.com");
        let lbs: Vec<&str> = data["LoadBalancerArns"].as_str().unwrap().split(',').collect();
        assert!(lbs.len() >= 5, "lists are shortened, not dropped: {lbs:?}");
        assert_eq!(lbs, (0..lbs.len()).map(arn).collect::<Vec<_>>(), "the first shards are kept, in order");
        assert!(data["TargetGroupArns"].as_str().unwrap().starts_with(&tg(0)));
    }

    #[test]
    fn lists_are_answered_comma_separated() {
        let response = CustomResourceResponse {
            success: true,
            reason: String::new(),
            physical_resource_id: "p".into(),
            data: json!({"RegionalDnsName": "r", "LoadBalancerArns": ["a", "b"], "TargetGroupArns": []}),
        };
        let data = serde_json::from_str::<Value>(&response.body(&request())).unwrap()["Data"].clone();
        assert_eq!(data, json!({"RegionalDnsName": "r", "LoadBalancerArns": "a,b", "TargetGroupArns": ""}));
    }

    #[tokio::test]
    async fn an_answer_put_that_hangs_gives_up_within_its_window() {
        // A server that accepts the connection and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/bucket/key", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for connection in listener.incoming() {
                held.push(connection);
            }
        });
        let started = std::time::Instant::now();
        let result = send_response(&url, "{}".into(), Duration::from_millis(600)).await;
        let took = started.elapsed();
        let err = result.expect_err("a PUT that never gets an answer fails");
        assert!(err.to_string().contains("no answer within"), "{err}");
        assert!(took < Duration::from_millis(1500), "gave up after {took:?}, the window was 600 ms");
    }
}

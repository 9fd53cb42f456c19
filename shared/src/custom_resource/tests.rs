use serde_json::json;

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
            format!("https://cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com/k?{SIGNED}"),
        ),
        (
            "the bucket on another region's endpoint",
            format!("https://cloudformation-custom-resource-response-useast1.s3.us-west-2.amazonaws.com/k?{SIGNED}"),
        ),
        (
            "another partition's endpoint",
            format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.cn/k?{SIGNED}"),
        ),
        (
            "a look-alike host",
            format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/k?{SIGNED}"),
        ),
        (
            "path style, another bucket",
            format!("https://s3.amazonaws.com/my-bucket/cloudformation-custom-resource-response-useast1/k?{SIGNED}"),
        ),
        ("plain http", format!("http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?{SIGNED}")),
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
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signaturex=1".to_owned(),
        ),
        ("not S3", format!("https://evil.example.com/k?{SIGNED}")),
    ] {
        assert!(validate_response_url(&url, "us-east-1", None).is_err(), "{why}: {url}");
    }
}

#[test]
fn with_an_emulator_only_its_own_host_and_port_are_accepted_besides_cloudformation_s_bucket() {
    let emulator = Some("http://127.0.0.1:5000");
    assert!(validate_response_url("http://127.0.0.1:5000/bucket/key?X-Amz-Signature=s", "us-east-1", emulator).is_ok());
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
    let untrimmed = serde_json::to_string(&rendered(response.data.as_object().unwrap())).unwrap();
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

#[test]
fn a_request_is_answerable_with_only_what_an_answer_needs() {
    let delete = CustomResourceRequest::from_json(&json!({
        "RequestType": "Delete", "ResponseURL": "u", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l",
        "ServiceToken": 42
    }))
    .unwrap();
    assert_eq!(
        (delete.request_type, delete.physical_resource_id, delete.properties),
        (RequestType::Delete, None, Value::Null)
    );
    let update = CustomResourceRequest::from_json(&json!({
        "RequestType": "Update", "ResponseURL": "u", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l",
        "PhysicalResourceId": "strata:web:us-east-1", "ResourceProperties": {"FleetName": 1}
    }))
    .unwrap();
    assert_eq!(update.physical_resource_id.as_deref(), Some("strata:web:us-east-1"));
    assert_eq!(update.old_properties, None);
    assert!(
        CustomResourceRequest::from_json(&json!({"RequestType": "Create", "StackId": "s"})).is_err(),
        "no ResponseURL"
    );
}

//! Custom-resource requests from `events/provisioner/*.json`, pointed at a test's fixtures and emulator, and the
//! answer CloudFormation gets back, read with the type the provisioner writes it with.

use std::fmt;

pub use aws_lambda_events::cloudformation::CloudFormationCustomResourceResponse;
/// SUCCESS or FAILED.
pub use aws_lambda_events::cloudformation::CloudFormationCustomResourceResponseStatus as CfnStatus;
use serde_json::Value;

use crate::{Emulator, Fixture, event};

pub struct CfnRequest {
    pub event: Value,
    key: String,
}

impl CfnRequest {
    /// `events/provisioner/<name>.json` with the fixture's ids and an emulator-signed ResponseURL.
    pub fn new(emulator: &Emulator, fixture: &Fixture, name: &str) -> Self {
        let mut event = event(&format!("provisioner/{name}.json"));
        let key = format!("{name}-{}", event["RequestId"].as_str().unwrap_or("r"));
        event["ResponseURL"] = Value::String(emulator.presigned_put("cfn-responses", &key));
        for props in ["ResourceProperties", "OldResourceProperties"] {
            let Some(p) = event.get_mut(props).and_then(Value::as_object_mut) else { continue };
            p.insert("VpcId".into(), fixture.vpc_id.clone().into());
            p.insert("SubnetIds".into(), fixture.subnet_ids.clone().into());
            p.insert("SecurityGroupIds".into(), vec![fixture.security_group_id.clone()].into());
            p.insert("CertificateArn".into(), fixture.certificate_arn.clone().into());
            p.insert("HostedZoneId".into(), fixture.hosted_zone_id.clone().into());
        }
        if let Some(id) = event.get("PhysicalResourceId").and_then(Value::as_str) {
            event["PhysicalResourceId"] = Value::String(id.replace("us-east-1", &fixture.region));
        }
        Self { event, key }
    }

    pub fn properties(&mut self) -> &mut Value {
        &mut self.event["ResourceProperties"]
    }

    /// What the function PUT to the ResponseURL (CloudFormation's view), typed.
    pub fn answer(&self, emulator: &Emulator) -> CfnAnswer {
        CfnAnswer::from_body(self.raw_answer(emulator))
    }

    /// The exact body the function PUT to the ResponseURL.
    pub fn raw_answer(&self, emulator: &Emulator) -> String {
        emulator.object("cfn-responses", &self.key).expect("the provisioner must answer CloudFormation")
    }
}

/// A body CloudFormation received: `aws_lambda_events`' `CloudFormationCustomResourceResponse`, the type the
/// provisioner writes it with, and the exact text. `Display` shows the text (for assertion messages).
#[derive(Clone, Debug, PartialEq)]
pub struct CfnAnswer {
    raw: String,
    response: CloudFormationCustomResourceResponse,
}

impl CfnAnswer {
    /// Reads a body strictly: it must be a JSON object that is exactly a `CloudFormationCustomResourceResponse`
    /// (every field present, of its type, and no other field: written back, it gives the same JSON). Panics
    /// naming what is wrong and showing the body otherwise.
    pub fn from_body(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let json: Value = serde_json::from_str(&raw)
            .unwrap_or_else(|e| panic!("the answer to CloudFormation is not JSON ({e}): {raw}"));
        let response: CloudFormationCustomResourceResponse = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("the answer to CloudFormation is not a custom-resource response ({e}): {raw}"));
        let written = serde_json::to_value(&response).expect("a response serializes");
        assert_eq!(written, json, "the answer to CloudFormation has fields a custom-resource response does not: {raw}");
        Self { raw, response }
    }

    /// The body as it was PUT, byte for byte.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn response(&self) -> &CloudFormationCustomResourceResponse {
        &self.response
    }

    pub fn status(&self) -> CfnStatus {
        self.response.status.clone()
    }

    pub fn succeeded(&self) -> bool {
        self.response.status == CfnStatus::Success
    }

    /// The `Reason` (the provisioner always gives one, empty on success).
    #[track_caller]
    pub fn reason(&self) -> &str {
        self.response.reason.as_deref().unwrap_or_else(|| panic!("no Reason in the answer: {}", self.raw))
    }

    pub fn physical_resource_id(&self) -> &str {
        &self.response.physical_resource_id
    }

    /// The `Data` value named `key` (CloudFormation's `!GetAtt`); panics when the answer has none.
    #[track_caller]
    pub fn data(&self, key: &str) -> &str {
        self.response.data.get(key).unwrap_or_else(|| panic!("no Data {key} in the answer: {}", self.raw))
    }

    /// A list-valued `Data` value (answered comma-separated), as its items.
    #[track_caller]
    pub fn data_list(&self, key: &str) -> Vec<&str> {
        self.data(key).split(',').filter(|item| !item.is_empty()).collect()
    }
}

impl fmt::Display for CfnAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Runs the real provisioner binary on `events/provisioner/<name>.json`, with `customize` applied to its
/// properties, and returns CloudFormation's view of the answer.
pub fn provision(emulator: &Emulator, fixture: &Fixture, name: &str, customize: impl FnOnce(&mut Value)) -> CfnAnswer {
    let mut request = CfnRequest::new(emulator, fixture, name);
    customize(request.properties());
    let run = crate::runtime::run_function(
        "provisioner",
        &emulator.env(&fixture.region),
        std::slice::from_ref(&request.event),
    );
    run.outcomes[0].response();
    request.answer(emulator)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"Status":"FAILED","Reason":"FleetName: too long","PhysicalResourceId":"strata:web:us-east-1","StackId":"arn:aws:cloudformation:us-east-1:123456789012:stack/strata-web/1","RequestId":"r","LogicalResourceId":"WebFleet","NoEcho":false,"Data":{"RegionalDnsName":"us-east-1.api.example.com","LoadBalancerArns":"a,b"}}"#;

    #[test]
    fn a_response_body_reads_typed_and_keeps_its_exact_text() {
        let answer = CfnAnswer::from_body(BODY);
        assert_eq!(answer.status(), CfnStatus::Failed);
        assert!(!answer.succeeded());
        assert_eq!(answer.reason(), "FleetName: too long");
        assert_eq!(answer.physical_resource_id(), "strata:web:us-east-1");
        assert_eq!(answer.data("RegionalDnsName"), "us-east-1.api.example.com");
        assert_eq!(answer.data_list("LoadBalancerArns"), ["a", "b"]);
        assert_eq!(answer.raw(), BODY);
        assert_eq!(answer.to_string(), BODY);
    }

    fn refused(body: &str) -> String {
        let body = body.to_owned();
        let panic = std::panic::catch_unwind(move || CfnAnswer::from_body(body)).expect_err("refused");
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_body_that_is_not_exactly_a_response_is_refused_with_the_body_in_the_message() {
        let unknown_status = BODY.replace("\"FAILED\"", "\"DONE\"");
        let extra_field = BODY.replace("\"NoEcho\":false", "\"NoEcho\":false,\"Extra\":1");
        let missing_field = BODY.replace(",\"NoEcho\":false", "");
        let list_data = BODY.replace("\"a,b\"", "[\"a\",\"b\"]");
        for (case, body, says) in [
            ("not JSON", "SUCCESS", "not JSON"),
            ("unknown status", unknown_status.as_str(), "not a custom-resource response"),
            ("missing NoEcho", missing_field.as_str(), "not a custom-resource response"),
            ("a list in Data", list_data.as_str(), "not a custom-resource response"),
            ("an extra field", extra_field.as_str(), "fields a custom-resource response does not"),
        ] {
            let message = refused(body);
            assert!(message.contains(says) && message.contains(body), "{case}: {message}");
        }
    }

    #[test]
    #[should_panic(expected = "no Data Missing in the answer")]
    fn a_missing_data_value_fails_naming_it() {
        CfnAnswer::from_body(BODY).data("Missing");
    }
}

//! Custom-resource requests from `events/provisioner/*.json`, pointed at a test's fixtures and emulator.

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

    /// What the function PUT to the ResponseURL (CloudFormation's view).
    pub fn answer(&self, emulator: &Emulator) -> Value {
        let body = emulator.object("cfn-responses", &self.key).expect("the provisioner must answer CloudFormation");
        serde_json::from_str(&body).expect("a JSON response body")
    }
}

/// Runs the real provisioner binary on `events/provisioner/<name>.json`, with `customize` applied to its
/// properties, and returns CloudFormation's view of the answer.
pub fn provision(emulator: &Emulator, fixture: &Fixture, name: &str, customize: impl FnOnce(&mut Value)) -> Value {
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

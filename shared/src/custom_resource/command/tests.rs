use serde_json::json;

use super::*;
use crate::spec::tests::valid_properties;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner";

fn request(request_type: &str, physical_resource_id: Option<&str>, properties: Value) -> CustomResourceRequest {
    let mut event = json!({
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        "RequestId": "r-1",
        "LogicalResourceId": "Fleet",
        "ResourceType": "Custom::StrataFleet",
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_resource_id {
        event["PhysicalResourceId"] = json!(id);
    }
    CustomResourceRequest::from_json(&event).unwrap()
}

fn converge_of(command: FleetCommand) -> (bool, bool, String) {
    match command {
        FleetCommand::Converge { may_claim, roll_back_on_failure, physical_resource_id, .. } => {
            (may_claim, roll_back_on_failure, physical_resource_id)
        }
        other => panic!("not a converge: {other:?}"),
    }
}

#[test]
fn a_create_converges_names_its_fleet_and_rolls_back_but_never_claims() {
    let command = command_of(&request("Create", None, valid_properties()), "us-east-1", FUNCTION);
    assert_eq!(converge_of(command), (false, true, "strata:web:us-east-1".to_owned()));
}

#[test]
fn only_an_update_of_the_fleet_its_id_names_may_claim_it() {
    let same = request("Update", Some("strata:web:us-east-1"), valid_properties());
    assert_eq!(converge_of(command_of(&same, "us-east-1", FUNCTION)), (true, false, "strata:web:us-east-1".into()));
    let renamed = request("Update", Some("strata:old:us-east-1"), valid_properties());
    assert!(!converge_of(command_of(&renamed, "us-east-1", FUNCTION)).0);
    let other_region = request("Update", Some("strata:web:eu-west-1"), valid_properties());
    assert!(!converge_of(command_of(&other_region, "us-east-1", FUNCTION)).0);
}

#[test]
fn bad_properties_are_answered_failed_with_an_id_that_names_no_fleet() {
    let mut props = valid_properties();
    props["Limits"] = json!({"MaxShards": "250"});
    let FleetCommand::Answer(answer) = command_of(&request("Create", None, props.clone()), "us-east-1", FUNCTION)
    else {
        panic!("bad properties make no AWS call");
    };
    assert!(!answer.success && answer.reason.contains("Limits.MaxShards"), "{answer:?}");
    assert_eq!(answer.physical_resource_id, "strata-failed:us-east-1:r-1");
    let update = request("Update", Some("strata:web:us-east-1"), props);
    let FleetCommand::Answer(answer) = command_of(&update, "us-east-1", FUNCTION) else { panic!() };
    assert_eq!(answer.physical_resource_id, "strata:web:us-east-1", "an Update keeps the id it was sent");
}

#[test]
fn another_accounts_create_is_refused_and_its_delete_succeeds_untouched() {
    let theirs = "arn:aws:lambda:us-east-1:999999999999:function:strata-provisioner";
    let FleetCommand::Answer(create) = command_of(&request("Create", None, valid_properties()), "us-east-1", theirs)
    else {
        panic!()
    };
    assert!(!create.success && create.reason.contains("account 123456789012"), "{create:?}");
    let delete = request("Delete", Some("strata:web:us-east-1"), valid_properties());
    let FleetCommand::Answer(delete) = command_of(&delete, "us-east-1", theirs) else { panic!() };
    assert!(delete.success && delete.reason.starts_with("nothing to delete"), "{delete:?}");
}

#[test]
fn a_delete_finds_its_zone_in_properties_that_no_longer_parse() {
    let mut props = valid_properties();
    props["Limits"] = json!({"MaxShards": "250"});
    let command = command_of(&request("Delete", Some("strata:web:us-east-1"), props), "us-east-1", FUNCTION);
    let FleetCommand::Delete { fleet, dns, asgs, .. } = command else { panic!("{command:?}") };
    assert_eq!(fleet.as_str(), "web");
    let spec = FleetSpec::from_properties(&valid_properties()).unwrap();
    assert_eq!(dns, Some(DnsLocation { hosted_zone_id: spec.hosted_zone_id, domain: spec.domain }));
    assert_eq!(asgs, None, "the ASGs come from the fleet's own tags then");
    let never = request("Delete", Some("strata-failed:us-east-1:r-0"), valid_properties());
    let FleetCommand::Answer(answer) = command_of(&never, "us-east-1", FUNCTION) else { panic!() };
    assert!(answer.success && answer.physical_resource_id == "strata-failed:us-east-1:r-0");
}

#[test]
fn a_create_cut_short_answers_its_fleets_id_only_once_it_took_the_name() {
    let create = request("Create", None, valid_properties());
    assert_eq!(timeout_physical_id(&create, "us-east-1", true), "strata:web:us-east-1");
    assert_eq!(timeout_physical_id(&create, "us-east-1", false), "strata-failed:us-east-1:r-1");
}

#[test]
fn the_runtime_answer_reads_back_as_it_was_written() {
    let report = ProvisionerReport::from(&done("strata:web:us-east-1", ""));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json, json!({"Status": "SUCCESS", "PhysicalResourceId": "strata:web:us-east-1", "Reason": ""}));
    assert_eq!(serde_json::from_value::<ProvisionerReport>(json).unwrap(), report);
}

//! The answers CloudFormation must always get, from the real provisioner binary: a request it must refuse
//! (another account's stack, names AWS would refuse, a ResponseURL that is not CloudFormation's) makes no AWS
//! call; the rollback Delete of a Create that failed on its properties succeeds; a deleted hosted zone does
//! not make a fleet undeletable; a large fleet's answer keeps `RegionalDnsName`.

use serde_json::{Value, json};

use strata_tests::custom_resource::{CfnAnswer, CfnRequest, CfnStatus};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::state::load_balancer_arns;
use strata_tests::{Emulator, Fixture};

const REGION: &str = "us-east-1";

fn seed(emulator: &Emulator) -> Fixture {
    emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]))
}

fn run(emulator: &Emulator, request: &CfnRequest) -> Outcome {
    run_function("provisioner", &emulator.env(REGION), std::slice::from_ref(&request.event)).outcomes.remove(0)
}

/// Runs the request and returns CloudFormation's view of the answer.
fn answer(emulator: &Emulator, request: &CfnRequest) -> CfnAnswer {
    run(emulator, request).response();
    request.answer(emulator)
}

/// The AWS calls served since `before`, the answer's PUT to the ResponseURL excluded.
fn aws_calls_since(emulator: &Emulator, before: usize) -> Vec<String> {
    emulator.calls()[before..].iter().filter(|c| !c.starts_with("s3:")).cloned().collect()
}

#[tokio::test]
async fn a_stack_of_another_account_is_refused_and_its_delete_touches_nothing_with_no_aws_call() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let fleet = load_balancer_arns(&aws).await;

    let before = emulator.calls().len();
    for name in ["create", "update", "delete"] {
        let mut request = CfnRequest::new(&emulator, &fixture, name);
        request.event["StackId"] = json!("arn:aws:cloudformation:us-east-1:999999999999:stack/strata-web/5b1c3d40");
        let answer = answer(&emulator, &request);
        // Its Delete (a rollback's too) succeeds: that account never created anything here.
        let expected = if name == "delete" { CfnStatus::Success } else { CfnStatus::Failed };
        assert_eq!(answer.status(), expected, "{name}: {answer}");
        assert!(answer.reason().contains("account 999999999999"), "{answer}");
    }
    assert_eq!(aws_calls_since(&emulator, before), Vec::<String>::new(), "no AWS call for another account");
    assert_eq!(load_balancer_arns(&aws).await, fleet, "the fleet is whole");
}

#[tokio::test]
async fn names_aws_would_refuse_are_refused_before_any_aws_call() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let before = emulator.calls().len();
    let mut long_asg = CfnRequest::new(&emulator, &fixture, "create");
    long_asg.properties()["AutoScalingGroupNames"] = json!(["web-a", "a".repeat(256)]);
    let mut huge_fleet = CfnRequest::new(&emulator, &fixture, "create");
    huge_fleet.properties()["FleetName"] = json!("w".repeat(1 << 20));
    for (request, field) in [(&long_asg, "AutoScalingGroupNames[1]"), (&huge_fleet, "FleetName")] {
        let answer = answer(&emulator, request);
        assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
        assert!(answer.reason().contains(field), "{answer}");
    }
    assert_eq!(aws_calls_since(&emulator, before), Vec::<String>::new());
}

#[test]
fn a_response_url_that_is_not_cloudformation_s_is_refused_and_nothing_is_called_or_put() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let mut request = CfnRequest::new(&emulator, &fixture, "create");
    // Another bucket on S3, pre-signed (the shape of aws-lambda-rust-runtime's fixture).
    request.event["ResponseURL"] =
        json!("https://cr-response-bucket.s3.us-east-1.amazonaws.com/cr-response-key?X-Amz-Signature=abc");
    let before = emulator.calls().len();
    let Outcome::Error { error_type, error_message } = run(&emulator, &request) else {
        panic!("a request that cannot be answered fails the invocation");
    };
    assert_eq!(error_type, "InvalidEvent");
    assert!(error_message.contains("cloudformation-custom-resource-response-useast1"), "{error_message}");
    assert!(emulator.calls()[before..].is_empty(), "no AWS call, nothing PUT: {:?}", &emulator.calls()[before..]);
}

#[tokio::test]
async fn the_rollback_delete_of_a_create_that_failed_on_its_properties_succeeds_and_touches_nothing() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    // Another stack's fleet of the same name exists: the rollback must not find it.
    let created = answer(&emulator, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let fleet = load_balancer_arns(&aws).await;

    // (case, property, its bad value: none for a missing one)
    for (case, key, bad) in [
        ("HostedZoneId missing", "HostedZoneId", None),
        ("Domain missing", "Domain", None),
        ("Domain invalid", "Domain", Some(json!("not a domain"))),
    ] {
        let break_properties = |props: &mut Value| match &bad {
            Some(value) => props[key] = value.clone(),
            None => drop(props.as_object_mut().unwrap().remove(key)),
        };
        let before = emulator.calls().len();
        let mut create = CfnRequest::new(&emulator, &fixture, "create");
        break_properties(create.properties());
        let failed = answer(&emulator, &create);
        assert_eq!(failed.status(), CfnStatus::Failed, "{case}: {failed}");
        let physical_id = failed.physical_resource_id();
        assert!(!physical_id.starts_with("strata:web:"), "{case}: a failed Create names no fleet: {physical_id}");

        let mut delete = CfnRequest::new(&emulator, &fixture, "delete");
        delete.event["PhysicalResourceId"] = json!(physical_id);
        break_properties(delete.properties());
        let rollback = answer(&emulator, &delete);
        assert_eq!(rollback.status(), CfnStatus::Success, "{case}: {rollback}");
        assert_eq!(rollback.physical_resource_id(), physical_id, "{case}: {rollback}");
        assert_eq!(aws_calls_since(&emulator, before), Vec::<String>::new(), "{case}: nothing was made or touched");
    }
    assert_eq!(load_balancer_arns(&aws).await, fleet);
}

#[tokio::test]
async fn a_delete_without_zone_properties_finds_the_zone_on_the_fleet_and_removes_it() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let mut delete = CfnRequest::new(&emulator, &fixture, "delete");
    delete.properties().as_object_mut().unwrap().remove("HostedZoneId");
    let answer = answer(&emulator, &delete);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert!(load_balancer_arns(&aws).await.is_empty());
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await.unwrap();
    assert!(records.resource_record_sets().iter().all(|r| r.set_identifier().is_none()), "the records are gone too");
}

#[tokio::test]
async fn a_deleted_hosted_zone_does_not_make_the_fleet_undeletable() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    // Someone empties and deletes the zone (Route 53 deletes only a zone with nothing but its NS and SOA).
    let zone = &fixture.hosted_zone_id;
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.unwrap();
    let changes: Vec<_> = records
        .resource_record_sets()
        .iter()
        .filter(|r| !matches!(r.r#type().as_str(), "NS" | "SOA"))
        .map(|r| {
            aws_sdk_route53::types::Change::builder()
                .action(aws_sdk_route53::types::ChangeAction::Delete)
                .resource_record_set(r.clone())
                .build()
                .unwrap()
        })
        .collect();
    let batch = aws_sdk_route53::types::ChangeBatch::builder().set_changes(Some(changes)).build().unwrap();
    aws.route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send().await.unwrap();
    aws.route53.delete_hosted_zone().id(zone).send().await.unwrap();

    let delete = CfnRequest::new(&emulator, &fixture, "delete");
    let run = run_function("provisioner", &emulator.env(REGION), std::slice::from_ref(&delete.event));
    let answer = delete.answer(&emulator);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert!(run.logs.contains("NoSuchHostedZone"), "the reason is logged: {}", run.logs);
    assert!(load_balancer_arns(&aws).await.is_empty(), "the rest of the fleet is deleted");
    assert!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().is_empty());
    assert!(aws.route53.list_health_checks().send().await.unwrap().health_checks().is_empty());
    assert!(aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().is_empty());
}

#[tokio::test]
async fn a_fleet_whose_answer_exceeds_4_kib_still_answers_its_regional_dns_name() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let mut create = CfnRequest::new(&emulator, &fixture, "create");
    create.properties()["Limits"]["MinShards"] = json!("20");
    create.properties()["Limits"]["MaxShards"] = json!("20");
    let answer = answer(&emulator, &create);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let lbs = aws.elbv2.describe_load_balancers().send().await.unwrap();
    let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
    let all: Vec<&str> = lbs.load_balancers().iter().filter_map(|l| l.load_balancer_arn()).collect();
    assert_eq!(all.len(), 20);
    let lists: usize = lbs
        .load_balancers()
        .iter()
        .map(|l| l.load_balancer_arn().unwrap().len() + l.dns_name().unwrap().len() + 2)
        .sum::<usize>()
        + tgs.target_groups().iter().map(|t| t.target_group_arn().unwrap().len() + 1).sum::<usize>();
    assert!(lists > 4096, "the untrimmed lists alone would be {lists} bytes, over the limit");

    assert!(answer.raw().len() <= 4096, "the answer fits CloudFormation's 4,096 bytes: {}", answer.raw().len());
    assert_eq!(answer.data("RegionalDnsName"), "us-east-1.api.example.com", "{answer}");
    let answered = answer.data_list("LoadBalancerArns");
    assert!(!answered.is_empty() && answered.len() < all.len(), "shortened: {} of {}", answered.len(), all.len());
    assert!(answered.iter().all(|arn| all.contains(arn)), "only real ARNs: {answered:?}");
    assert!(answer.data("TargetGroupArns").contains("web-s0-tg"), "the first shards are kept: {answer}");
}

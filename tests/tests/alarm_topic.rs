//! The template's optional AlarmTopicArn, on the product side: with `STRATA_ALARM_TOPIC_ARN` set (as the
//! template sets it for the provisioner and the alb-scaler), every alarm Strata writes has the topic as its one
//! action, not the alb-scaler; and the alb-scaler, reached through the topic (an SNS-wrapped alarm), scales and
//! writes its new shard's alarms with the topic too. Without it, the alarms invoke the alb-scaler.

use std::collections::BTreeMap;

use serde_json::json;
use strata_core::aws::AwsClients;
use strata_tests::custom_resource::{CfnRequest, CfnStatus};
use strata_tests::runtime::run_function;
use strata_tests::state::load_balancer_names;
use strata_tests::{Emulator, event};

const REGION: &str = "us-east-1";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:strata-alarms";
const SCALER: &str = "arn:aws:lambda:us-east-1:123456789012:function:strata-alb-scaler";

/// The environment the template gives both functions: the scaler's ARN, and the topic ("" when not set).
fn env(emulator: &Emulator, topic: &str) -> Vec<(String, String)> {
    let mut env = emulator.env(REGION);
    env.push(("STRATA_SCALER_ARN".into(), SCALER.into()));
    env.push(("STRATA_ALARM_TOPIC_ARN".into(), topic.into()));
    env
}

async fn alarm_actions(aws: &AwsClients) -> BTreeMap<String, Vec<String>> {
    let alarms = aws.cloudwatch.describe_alarms().send().await.expect("DescribeAlarms");
    alarms
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name().unwrap_or_default().to_owned(), a.alarm_actions().to_vec()))
        .collect()
}

fn create(emulator: &Emulator, topic: &str) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    // The stack is deployed with that topic: its roles may name it as the alarms' action.
    emulator.configure_iam(json!({"parameters": {"AlarmTopicArn": topic}}));
    let request = CfnRequest::new(emulator, &fixture, "create");
    run_function("provisioner", &env(emulator, topic), std::slice::from_ref(&request.event)).outcomes[0].response();
    let created = request.answer(emulator);
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_alarm_topic_every_alarm_notifies_the_topic_only() {
    let emulator = Emulator::start();
    create(&emulator, TOPIC);
    let aws = emulator.clients(REGION).await;
    let after_create = alarm_actions(&aws).await;
    assert!(after_create.len() >= 2, "the fleet's alarms: {after_create:?}");
    assert!(after_create.values().all(|a| a == &[TOPIC]), "the topic, not the scaler: {after_create:?}");

    // The transition arrives through the topic, as the subscription delivers it.
    let outcome = run_function("alb-scaler", &env(&emulator, TOPIC), &[event("alb-scaler/alarm-sns.json")]);
    outcome.outcomes[0].response();
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"], "the SNS-wrapped alarm added shard 1");
    let after_scale = alarm_actions(&aws).await;
    assert!(after_scale.contains_key("strata-web-s1-requests-high"), "{after_scale:?}");
    assert!(after_scale.values().all(|a| a == &[TOPIC]), "the scaler's alarms notify the topic: {after_scale:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_alarm_topic_the_alarms_invoke_the_scaler() {
    let emulator = Emulator::start();
    create(&emulator, "");
    let actions = alarm_actions(&emulator.clients(REGION).await).await;
    assert!(!actions.is_empty() && actions.values().all(|a| a == &[SCALER]), "{actions:?}");
}

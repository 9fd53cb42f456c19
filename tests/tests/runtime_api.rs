//! A real function binary runs under the Lambda Runtime API, reads state from the emulator, and answers;
//! a failing handler reaches the Runtime API's error endpoint with a useful type and message.

use strata_core::plan::weights::WeightChange;
use strata_core::rebalance::RebalanceReport;
use strata_tests::fixtures::{elb_tag, hand_made_shard};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::{Emulator, event, s};

const REGION: &str = "us-east-1";

#[tokio::test]
async fn function_binary_answers_an_event_from_the_state_it_reads_in_the_emulator() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, serde_json::json!([]));
    let aws = emulator.clients(REGION).await;
    hand_made_shard(&aws, &fixture, "web", 0, "api.example.com").await;
    let (draining_lb, _, _) = hand_made_shard(&aws, &fixture, "web", 1, "api.example.com").await;
    aws.elbv2.add_tags().resource_arns(&draining_lb).tags(elb_tag("strata:state", "draining")).send().await.unwrap();

    let run = run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);

    let report: RebalanceReport = run.outcomes[0].first_report();
    assert_eq!(report.fleet.as_str(), "web", "the fleet was discovered by its tags: {report:?}");
    // The draining shard (a tag) goes to 0 at once; the serving one ramps toward full weight by one step (32).
    let expected =
        [WeightChange { index: s(0), from: Some(100), to: 132 }, WeightChange { index: s(1), from: Some(100), to: 0 }];
    assert_eq!(report.changes, expected);
    let log_line = run.logs.lines().find(|l| l.contains("weight change")).expect("a log line for the change");
    let log: serde_json::Value = serde_json::from_str(log_line).expect("JSON logs");
    assert!(log.to_string().contains("requestId"), "the log line carries the Lambda request id: {log}");
    assert_eq!(log["fields"]["fleet"], "web");
}

#[test]
fn handler_error_reaches_the_runtime_error_endpoint_with_type_and_message() {
    let emulator = Emulator::start();
    let run = run_function("dns-rebalancer", &emulator.env(REGION), &[event("malformed/not-an-event.json")]);
    let Outcome::Error { error_type, error_message } = &run.outcomes[0] else {
        panic!("a malformed event must fail, got {:?}", run.outcomes[0]);
    };
    assert_eq!(error_type, "InvalidEvent");
    assert!(error_message.contains("not an EventBridge event"), "{error_message}");
    assert!(emulator.calls().is_empty(), "a malformed event makes no AWS call at all: {:?}", emulator.calls());
}

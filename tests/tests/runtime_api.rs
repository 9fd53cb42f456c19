//! A real function binary runs under the Lambda Runtime API, reads state from the emulator, and answers;
//! a failing handler reaches the Runtime API's error endpoint with a useful type and message.

use strata_tests::runtime::{Outcome, run_function};
use strata_tests::{Emulator, event, fixtures::hand_made_shard};

const REGION: &str = "us-east-1";

#[tokio::test]
async fn function_binary_answers_a_scheduled_event_with_the_fleet_it_observed() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, serde_json::json!([]));
    let aws = emulator.clients(REGION).await;
    let (lb_arn, _, tg_arn) = hand_made_shard(&aws, &fixture, "web", 0, "api.example.com").await;

    let run = run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);

    let answer = run.outcomes[0].response();
    let fleets = answer["fleets"].as_array().expect("fleets");
    assert_eq!(fleets.len(), 1);
    assert_eq!(fleets[0]["fleet"], "web");
    let shard = &fleets[0]["shards"][0];
    assert_eq!(shard["load_balancer"]["arn"], lb_arn.as_str());
    assert_eq!(shard["target_group"]["arn"], tg_arn.as_str());
    assert_eq!(fleets[0]["records"][0]["set_identifier"], "strata:web:us-east-1:s0");
    let log_line = run.logs.lines().find(|l| l.contains("observed fleet")).expect("a log line for the fleet");
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

//! The emulator starts on loopback, isolates tests from each other, and stops when dropped.

use std::net::TcpStream;

use strata_tests::Emulator;

#[tokio::test]
async fn emulator_starts_on_loopback_and_serves_the_sdk() {
    let emulator = Emulator::start();
    assert!(emulator.endpoint.starts_with("http://127.0.0.1:"));
    let fixture =
        emulator.seed("us-east-1", serde_json::json!([{"name": "web-a", "tags": {"strata:fleet": "web"}, "size": 2}]));
    assert_eq!(fixture.subnet_ids.len(), 3, "three subnets in three AZs");
    let clients = emulator.clients("us-east-1").await;
    let asgs = clients.autoscaling.describe_auto_scaling_groups().send().await.unwrap();
    assert_eq!(asgs.auto_scaling_groups().len(), 1);
    assert_eq!(asgs.auto_scaling_groups()[0].instances().len(), 2);
}

#[tokio::test]
async fn emulators_are_isolated_from_each_other() {
    let first = Emulator::start();
    let second = Emulator::start();
    first.seed("us-east-1", serde_json::json!([{"name": "only-in-first"}]));
    let seen_by_second =
        second.clients("us-east-1").await.autoscaling.describe_auto_scaling_groups().send().await.unwrap();
    assert!(seen_by_second.auto_scaling_groups().is_empty(), "a test must never see another's resources");
    assert!(second.calls().iter().all(|c| !c.contains("CreateAutoScalingGroup")));
}

#[test]
fn emulator_stops_when_dropped() {
    let emulator = Emulator::start();
    let address = emulator.endpoint.trim_start_matches("http://").to_owned();
    assert!(TcpStream::connect(&address).is_ok());
    drop(emulator);
    assert!(TcpStream::connect(&address).is_err(), "the port must be closed once the emulator is dropped");
}

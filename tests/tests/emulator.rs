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

#[tokio::test]
async fn emulator_is_faithful_to_aws_create_idempotency() {
    use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let creates = (0..5)
        .map(|_| aws.elbv2.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone())).send());
    let arns: std::collections::BTreeSet<String> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|r| r.expect("create").load_balancers()[0].load_balancer_arn().unwrap().to_owned())
        .collect();
    assert_eq!(arns.len(), 1, "five concurrent creates of one name give one ALB, as on AWS");
    assert_eq!(aws.elbv2.describe_load_balancers().send().await.unwrap().load_balancers().len(), 1);

    let tg = || {
        aws.elbv2
            .create_target_group()
            .name("web-s1-tg")
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&fixture.vpc_id)
            .send()
    };
    let first = tg().await.expect("create TG");
    let second = tg().await.expect("a second create of the same TG returns it, as on AWS");
    assert_eq!(first.target_groups()[0].target_group_arn(), second.target_groups()[0].target_group_arn());

    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::Https)
        .fully_qualified_domain_name("a.example.com")
        .build()
        .unwrap();
    let check =
        || aws.route53.create_health_check().caller_reference("ref-1").health_check_config(config.clone()).send();
    let one = check().await.unwrap();
    let two = check().await.unwrap();
    assert_eq!(one.health_check().unwrap().id(), two.health_check().unwrap().id());
    assert_eq!(aws.route53.list_health_checks().send().await.unwrap().health_checks().len(), 1);
}

//! The emulator starts on loopback, isolates tests from each other, and stops when dropped.

use std::net::TcpStream;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
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

/// AWS's error code of an SDK error (`ValidationError`, `DuplicateLoadBalancerName`, ...).
fn code(err: &impl ProvideErrorMetadata) -> String {
    err.code().unwrap_or("<none>").to_owned()
}

fn message(err: &impl ProvideErrorMetadata) -> String {
    err.message().unwrap_or("").to_owned()
}

#[tokio::test]
async fn emulator_answers_alb_and_target_group_attributes_as_aws_and_refuses_21_in_one_call() {
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerAttribute, ProtocolEnum};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let lb = aws.elbv2.create_load_balancer().name("web-s0").set_subnets(Some(fixture.subnet_ids.clone())).send();
    let arn = lb.await.unwrap().load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let attrs = aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(&arn).send().await.unwrap();
    let attrs = attrs.attributes().to_vec();
    let value = |k: &str| attrs.iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert!(attrs.len() > 20, "AWS answers more than 20 keys for an ALB: {}", attrs.len());
    assert_eq!(value("load_balancing.cross_zone.enabled").as_deref(), Some("true"), "an ALB is always cross-zone");
    assert_eq!(value("idle_timeout.timeout_seconds").as_deref(), Some("60"));
    assert_eq!(value("routing.http.desync_mitigation_mode").as_deref(), Some("defensive"));
    assert_eq!(value("client_keep_alive.seconds").as_deref(), Some("3600"));

    // What a clone that copies every key sends: one call with all of them.
    let err = aws
        .elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .set_attributes(Some(attrs[..21].to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    let text = message(&err);
    assert!(text.starts_with("1 validation error detected: Value '["), "{text}");
    assert!(
        text.ends_with(
            "at 'attributes' failed to satisfy constraint: Member must have length less than or equal to 20"
        ),
        "{text}"
    );
    let twenty =
        aws.elbv2.modify_load_balancer_attributes().load_balancer_arn(&arn).set_attributes(Some(attrs[..20].to_vec()));
    twenty.send().await.expect("20 attributes are within AWS's limit");
    let unknown = LoadBalancerAttribute::builder().key("no_such.key").value("1").build();
    let err = aws.elbv2.modify_load_balancer_attributes().load_balancer_arn(&arn).attributes(unknown).send().await;
    assert_eq!(code(&err.unwrap_err()), "ValidationError");

    let tg = aws.elbv2.create_target_group().name("web-s0-tg").protocol(ProtocolEnum::Http).port(80);
    let tg = tg.vpc_id(&fixture.vpc_id).send().await.unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap();
    let tg_attrs = aws.elbv2.describe_target_group_attributes().target_group_arn(tg_arn).send().await.unwrap();
    let keys: Vec<&str> = tg_attrs.attributes().iter().filter_map(|a| a.key()).collect();
    for key in [
        "stickiness.app_cookie.duration_seconds",
        "load_balancing.algorithm.anomaly_mitigation",
        "slow_start.duration_seconds",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(!keys.contains(&"waf.fail_open.enabled"), "a load balancer key, not a target group's");
}

#[tokio::test]
async fn emulator_refuses_a_create_of_an_existing_name_with_other_settings() {
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, ProtocolEnum};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let lb = || aws.elbv2.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone()));
    let first = lb().send().await.unwrap();
    let again = lb().send().await.expect("same name, same settings: the existing ALB");
    assert_eq!(first.load_balancers()[0].load_balancer_arn(), again.load_balancers()[0].load_balancer_arn());
    let err = lb().scheme(LoadBalancerSchemeEnum::Internal).send().await.unwrap_err();
    assert_eq!(code(&err), "DuplicateLoadBalancerName");
    let err = lb().set_subnets(Some(fixture.subnet_ids[..2].to_vec())).send().await.unwrap_err();
    assert_eq!(code(&err), "DuplicateLoadBalancerName", "other subnets are other settings");

    let tg = |port| {
        aws.elbv2
            .create_target_group()
            .name("web-s1-tg")
            .protocol(ProtocolEnum::Http)
            .port(port)
            .vpc_id(&fixture.vpc_id)
    };
    tg(80).send().await.unwrap();
    tg(80).send().await.expect("same settings: the existing target group");
    assert_eq!(code(&tg(8080).send().await.unwrap_err()), "DuplicateTargetGroupName");
    let err = tg(80).health_check_path("/other").send().await.unwrap_err();
    assert_eq!(code(&err), "DuplicateTargetGroupName");
    assert_eq!(aws.elbv2.describe_load_balancers().send().await.unwrap().load_balancers().len(), 1);
    assert_eq!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().len(), 1);
}

#[tokio::test]
async fn emulator_refuses_the_caller_reference_of_a_deleted_or_different_health_check() {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};

    let emulator = Emulator::start();
    emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let config = |path: &str| {
        HealthCheckConfig::builder()
            .r#type(HealthCheckType::Https)
            .fully_qualified_domain_name("a.example.com")
            .resource_path(path)
            .build()
            .unwrap()
    };
    let check =
        |path: &str| aws.route53.create_health_check().caller_reference("web-s1-abc").health_check_config(config(path));
    let made = check("/health").send().await.unwrap();
    let err = check("/other").send().await.unwrap_err();
    assert_eq!(code(&err), "HealthCheckAlreadyExists", "same CallerReference, other settings");
    let id = made.health_check().unwrap().id().to_owned();
    aws.route53.delete_health_check().health_check_id(&id).send().await.unwrap();
    let err = check("/health").send().await.unwrap_err();
    assert_eq!(code(&err), "HealthCheckAlreadyExists", "the CallerReference of a deleted health check");
    assert!(aws.route53.list_health_checks().send().await.unwrap().health_checks().is_empty());
}

#[tokio::test]
async fn emulator_validates_every_service_against_its_api_model() {
    use aws_sdk_cloudwatch::types::ComparisonOperator;
    use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([{"name": "web-a", "size": 1}]));
    let aws = emulator.clients("us-east-1").await;

    // Route 53 (REST XML): a weight above 255 is InvalidInput.
    let record = ResourceRecordSet::builder()
        .name("w.example.com")
        .r#type(RrType::A)
        .set_identifier("x")
        .weight(300)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value("192.0.2.1").build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder().action(ChangeAction::Upsert).resource_record_set(record).build().unwrap();
    let err = aws
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(&fixture.hosted_zone_id)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidInput");
    assert!(
        message(&err).ends_with(
            "at 'changeBatch.changes.1.member.resourceRecordSet.weight' failed to satisfy constraint: Member must have value less than or equal to 255"
        ),
        "{}",
        message(&err)
    );

    // CloudWatch (rpc-v2-cbor): an alarm name over 255 characters, zero evaluation periods.
    let err = aws
        .cloudwatch
        .put_metric_alarm()
        .alarm_name("a".repeat(256))
        .evaluation_periods(0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .threshold(1.0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    assert!(message(&err).starts_with("2 validation errors detected: "), "{}", message(&err));

    // Auto Scaling (awsQuery): a name over 255 characters.
    let err = aws.autoscaling.describe_auto_scaling_groups().auto_scaling_group_names("g".repeat(256)).send().await;
    assert_eq!(code(&err.unwrap_err()), "ValidationError");

    // ELBv2 (awsQuery): an interval over 300 s; the health check timeout (5 s by default) must be below it.
    let tg = || {
        aws.elbv2.create_target_group().name("web-s0-tg").protocol(ProtocolEnum::Http).port(80).vpc_id(&fixture.vpc_id)
    };
    let err = tg().health_check_interval_seconds(301).send().await.unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    assert!(message(&err).contains("at 'healthCheckIntervalSeconds'"), "{}", message(&err));
    let err = tg().health_check_interval_seconds(5).send().await.unwrap_err();
    assert_eq!(code(&err), "ValidationError", "interval 5 with the default timeout 5");
    tg().health_check_interval_seconds(5).health_check_timeout_seconds(4).send().await.expect("timeout below interval");
    // Nothing was made by the refused calls.
    assert!(aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().is_empty());
    assert_eq!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().len(), 1);
}

/// AWS answers DeleteTargetGroup with ResourceInUse for a while after the TG's ALB is deleted; moto does not.
#[tokio::test]
async fn delete_target_group_is_resource_in_use_inside_the_window_after_its_alb_is_deleted() {
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    emulator.set_target_group_in_use_seconds(3600.0);
    let lb = aws.elbv2.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone())).send();
    let lb_arn = lb.await.unwrap().load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tg = aws.elbv2.create_target_group().name("web-s1-tg").protocol(ProtocolEnum::Http).port(80);
    let tg_arn =
        tg.vpc_id(&fixture.vpc_id).send().await.unwrap().target_groups()[0].target_group_arn().unwrap().to_owned();
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&tg_arn).build();
    let listener = aws.elbv2.create_listener().load_balancer_arn(&lb_arn).protocol(ProtocolEnum::Http).port(80);
    listener.default_actions(forward).send().await.unwrap();
    aws.elbv2.delete_load_balancer().load_balancer_arn(&lb_arn).send().await.unwrap();

    let refused = aws.elbv2.delete_target_group().target_group_arn(&tg_arn).send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_resource_in_use_exception(), "{refused:?}");
    assert!(refused.to_string().contains("is currently in use by a listener or a rule"), "{refused}");
    assert_eq!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().len(), 1, "nothing deleted");

    emulator.set_target_group_in_use_seconds(0.0); // the window is over
    aws.elbv2.delete_target_group().target_group_arn(&tg_arn).send().await.expect("deleted after the window");
    assert!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().is_empty());
}

/// Route 53 change batches are conditional on AWS (moto accepts both): a CREATE of a record that exists and a
/// DELETE of one that is gone fail the whole batch with InvalidChangeBatch; a DELETE removes only its own record.
#[tokio::test]
async fn route53_refuses_a_create_of_an_existing_record_and_a_delete_of_a_missing_one() {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let record = |rtype: RrType, value: &str| {
        ResourceRecordSet::builder()
            .name("us-east-1.api.example.com")
            .r#type(rtype)
            .set_identifier("strata:web:us-east-1:s0")
            .weight(10)
            .ttl(60)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap()
    };
    let change = |action: ChangeAction, set: ResourceRecordSet| {
        let change = Change::builder().action(action).resource_record_set(set).build().unwrap();
        aws.route53
            .change_resource_record_sets()
            .hosted_zone_id(&fixture.hosted_zone_id)
            .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
            .send()
    };
    let count = || async {
        let sets = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await;
        sets.unwrap().resource_record_sets().iter().filter(|r| r.set_identifier().is_some()).count()
    };
    change(ChangeAction::Create, record(RrType::A, "192.0.2.1")).await.expect("first create");
    change(ChangeAction::Create, record(RrType::Aaaa, "2001:db8::1")).await.expect("same SetIdentifier, other type");
    let again = change(ChangeAction::Create, record(RrType::A, "192.0.2.1")).await.unwrap_err();
    let again = again.into_service_error();
    assert_eq!(again.meta().code(), Some("InvalidChangeBatch"), "{again:?}");
    assert!(again.meta().message().unwrap_or_default().contains("but it already exists"), "{again:?}");

    change(ChangeAction::Delete, record(RrType::A, "192.0.2.1")).await.expect("delete");
    assert_eq!(count().await, 1, "the AAAA record with the same SetIdentifier stays");
    let gone = change(ChangeAction::Delete, record(RrType::A, "192.0.2.1")).await.unwrap_err().into_service_error();
    assert_eq!(gone.meta().code(), Some("InvalidChangeBatch"), "{gone:?}");
    assert!(gone.meta().message().unwrap_or_default().contains("but it was not found"), "{gone:?}");
    assert_eq!(count().await, 1);
}

/// A lost answer: the write is applied, then the connection is reset (or a 500 comes back), on every mutating
/// call; a retry then meets its own write. The fault draw depends only on (seed, operation, resource, attempt).
#[tokio::test]
async fn a_lost_answer_applies_the_write_and_fails_the_call() {
    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    emulator.set_faults_kinds(1.0, 7, &["lost-500"]);
    let read = aws.elbv2.describe_load_balancers().send().await;
    assert!(read.is_ok(), "a read never loses its answer: {read:?}");
    // The SDK client of the tests retries; one attempt shows the lost answer itself.
    let config = aws_sdk_elasticloadbalancingv2::config::Builder::from(&emulator.sdk_config("us-east-1").await)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let once = aws_sdk_elasticloadbalancingv2::Client::from_conf(config);
    let lost = once.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone())).send().await;
    assert_eq!(lost.unwrap_err().raw_response().map(|r| r.status().as_u16()), Some(500));
    emulator.pause_faults(0.0);
    let lbs = aws.elbv2.describe_load_balancers().send().await.unwrap();
    assert_eq!(lbs.load_balancers().len(), 1, "the write was applied before its answer was lost");
    let faults = emulator.faults();
    assert_eq!(faults["lost_answers"], 1, "{faults}");
    assert!(faults["log"][0].as_str().unwrap().starts_with("lost-500 CreateLoadBalancer Name=web-s1"), "{faults}");
}

/// CreateListener is idempotent on AWS (a retry after a lost answer gets the same listener) and refuses another
/// listener on a port in use; moto makes a second listener on the same port.
#[tokio::test]
async fn create_listener_is_idempotent_and_refuses_a_second_listener_on_a_port() {
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, RedirectActionConfig};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    let aws = emulator.clients("us-east-1").await;
    let lb = aws.elbv2.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone())).send();
    let lb_arn = lb.await.unwrap().load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let redirect = |port: &str| {
        let config = RedirectActionConfig::builder().protocol("HTTPS").port(port).status_code("HTTP_301".into());
        Action::builder().r#type(ActionTypeEnum::Redirect).redirect_config(config.build()).build()
    };
    let create = |action: Action| {
        aws.elbv2
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(action)
            .send()
    };
    let first = create(redirect("443")).await.unwrap().listeners()[0].listener_arn().unwrap().to_owned();
    let again = create(redirect("443")).await.unwrap().listeners()[0].listener_arn().unwrap().to_owned();
    assert_eq!(first, again, "the same settings give the same listener");
    let other = create(redirect("8443")).await.unwrap_err().into_service_error();
    assert!(other.is_duplicate_listener_exception(), "{other:?}");
    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    assert_eq!(listeners.listeners().len(), 1);
}

#[tokio::test]
async fn emulator_refuses_a_missing_dependent_action_as_aws_does() {
    use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, Tag};

    let emulator = Emulator::start();
    let fixture = emulator.seed("us-east-1", serde_json::json!([]));
    // A role that may create listeners, and tag ALBs and TGs on create, but not listeners (the template of
    // issue 14, item 1).
    let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
    emulator.configure_iam(serde_json::json!({"principals": [{
        "access_key_id": "ASIATESTNOLISTENERTAGS",
        "name": "strict-test",
        "role_name": "no-listener-tags",
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "elasticloadbalancing:CreateListener", "Resource": format!("{arn}:loadbalancer/app/*")},
            {"Effect": "Allow", "Action": "elasticloadbalancing:AddTags",
             "Resource": [format!("{arn}:loadbalancer/app/*"), format!("{arn}:targetgroup/*")],
             "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateLoadBalancer", "CreateTargetGroup"]}}},
            {"Effect": "Deny", "Action": "elasticloadbalancing:CreateListener", "Resource": "*",
             "Condition": {"StringEquals": {"elasticloadbalancing:ListenerProtocol": "HTTPS"}}}
        ]}
    }]}));
    let admin = emulator.clients("us-east-1").await.elbv2;
    let lb = admin.create_load_balancer().name("web-s1").set_subnets(Some(fixture.subnet_ids.clone())).send().await;
    let lb_arn = lb.unwrap().load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tg =
        admin.create_target_group().name("web-s1-tg").protocol(ProtocolEnum::Http).port(80).vpc_id(&fixture.vpc_id);
    let tg_arn = tg.send().await.unwrap().target_groups()[0].target_group_arn().unwrap().to_owned();

    let role = emulator.clients_as("us-east-1", "ASIATESTNOLISTENERTAGS").await.elbv2;
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&tg_arn).build();
    let listener = |port: i32, protocol: ProtocolEnum| {
        role.create_listener().load_balancer_arn(&lb_arn).protocol(protocol).port(port).default_actions(forward.clone())
    };
    let tag = Tag::builder().key("strata:managed-by").value("strata").build();
    let refused = listener(80, ProtocolEnum::Http).tags(tag).send().await.expect_err("AddTags is not granted");
    let status = refused.raw_response().map(|r| r.status().as_u16());
    assert_eq!((refused.code(), status), (Some("AccessDenied"), Some(403)), "{refused:?}");
    assert_eq!(
        refused.message(),
        Some(
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/no-listener-tags/strict-test is not authorized to perform: \
                 elasticloadbalancing:AddTags on resource: {}/0000000000000000 because no identity-based policy \
                 allows the elasticloadbalancing:AddTags action",
                lb_arn.replace(":loadbalancer/", ":listener/")
            )
            .as_str()
        )
    );
    let listeners = admin.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    assert!(listeners.listeners().is_empty(), "a refused create changes nothing");

    listener(80, ProtocolEnum::Http).send().await.expect("without tags, CreateListener alone is authorized");
    let denied = listener(443, ProtocolEnum::Https).send().await.expect_err("an explicit deny");
    assert!(
        denied.message().unwrap_or("").ends_with("with an explicit deny in an identity-based policy"),
        "{denied:?}"
    );
    let unrestricted = admin.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    assert_eq!(unrestricted.listeners().len(), 1, "the tests' own credentials stay unrestricted");
}

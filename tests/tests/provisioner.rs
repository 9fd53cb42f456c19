//! The provisioner, run as its real binary under the Runtime API with `events/provisioner/*.json`, builds,
//! updates and removes a region's fleet, and always answers CloudFormation.

use std::time::Duration;
use strata_core::custom_resource::command::{AnswerStatus, ProvisionerReport};

use aws_sdk_route53::types::RrType;
use serde_json::json;

use strata_tests::custom_resource::{CfnAnswer, CfnRequest, CfnStatus};
use strata_tests::fixtures::{foreign_load_balancer, upsert, weighted_alias};
use strata_tests::runtime::{release_binary, run_binary, run_function};
use strata_tests::state::{attached, load_balancer_arns, mutating};
use strata_tests::{Emulator, Fixture};

const REGION: &str = "us-east-1";

fn seed(emulator: &Emulator, region: &str) -> Fixture {
    emulator.seed(
        region,
        json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}, {"name": "other-team", "size": 1}]),
    )
}

fn provision(emulator: &Emulator, region: &str, request: &CfnRequest) -> CfnAnswer {
    let run = run_function("provisioner", &emulator.env(region), std::slice::from_ref(&request.event));
    run.outcomes[0].response();
    request.answer(emulator)
}

#[tokio::test]
async fn create_builds_every_resource_with_the_spec_attributes_and_answers_success() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let request = CfnRequest::new(&emulator, &fixture, "create");
    let answer = provision(&emulator, REGION, &request);

    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(answer.physical_resource_id(), "strata:web:us-east-1", "{answer}");
    assert_eq!(answer.data("RegionalDnsName"), "us-east-1.api.example.com", "{answer}");

    // ALB shard 0: all subnets, the security group, tags, cross-zone on, invalid headers dropped.
    let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    let lb = &lb.load_balancers()[0];
    let lb_arn = lb.load_balancer_arn().unwrap();
    assert_eq!(answer.data("LoadBalancerArns"), lb_arn, "{answer}");
    assert_eq!(lb.scheme().unwrap().as_str(), "internet-facing");
    assert_eq!(lb.availability_zones().len(), 3);
    assert_eq!(lb.security_groups(), std::slice::from_ref(&fixture.security_group_id));
    let tags = aws.elbv2.describe_tags().resource_arns(lb_arn).send().await.unwrap();
    let tags: Vec<(String, String)> = tags.tag_descriptions()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    for expected in [
        ("strata:fleet", "web"),
        ("strata:shard", "0"),
        ("strata:managed-by", "strata"),
        ("strata:policy:mode", "mirror"),
    ] {
        assert!(tags.contains(&(expected.0.into(), expected.1.into())), "{expected:?} missing from {tags:?}");
    }
    let attrs = aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(lb_arn).send().await.unwrap();
    let attr =
        |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(attr("load_balancing.cross_zone.enabled").as_deref(), Some("true"));
    assert_eq!(attr("routing.http.drop_invalid_header_fields.enabled").as_deref(), Some("true"));

    // Target group: HTTP:80, instance, /health, deregistration delay 300 s, stickiness off.
    let tg = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg = &tg.target_groups()[0];
    let tg_arn = tg.target_group_arn().unwrap();
    assert_eq!(
        (tg.port(), tg.protocol().unwrap().as_str(), tg.target_type().unwrap().as_str()),
        (Some(80), "HTTP", "instance")
    );
    assert_eq!(tg.health_check_path(), Some("/health"));
    let tg_attrs = aws.elbv2.describe_target_group_attributes().target_group_arn(tg_arn).send().await.unwrap();
    let tg_attr =
        |k: &str| tg_attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(tg_attr("deregistration_delay.timeout_seconds").as_deref(), Some("300"));
    assert_eq!(tg_attr("stickiness.enabled").as_deref(), Some("false"));

    // Listeners: 80 → 301 HTTPS; 443 with the certificate and TLS 1.3 policy → the TG.
    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(lb_arn).send().await.unwrap();
    let http = listeners.listeners().iter().find(|l| l.port() == Some(80)).expect("HTTP listener");
    let redirect = http.default_actions()[0].redirect_config().expect("a redirect");
    assert_eq!(
        (redirect.protocol(), redirect.port(), redirect.status_code().unwrap().as_str()),
        (Some("HTTPS"), Some("443"), "HTTP_301")
    );
    let https = listeners.listeners().iter().find(|l| l.port() == Some(443)).expect("HTTPS listener");
    assert_eq!(https.protocol().unwrap().as_str(), "HTTPS");
    assert_eq!(https.certificates()[0].certificate_arn(), Some(fixture.certificate_arn.as_str()));
    assert_eq!(https.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
    assert_eq!(https.default_actions()[0].target_group_arn(), Some(tg_arn));

    // The named ASGs are attached; an ASG outside the fleet is not.
    assert_eq!(attached(&aws, "web-a").await, [tg_arn.to_owned()]);
    assert_eq!(attached(&aws, "web-b").await, [tg_arn.to_owned()]);
    assert!(attached(&aws, "other-team").await.is_empty());

    // Route 53: HTTPS /health check on the ALB, weighted record for s0, the region's latency record.
    let checks = aws.route53.list_health_checks().send().await.unwrap();
    let check = &checks.health_checks()[0];
    let config = check.health_check_config().unwrap();
    assert_eq!(
        (config.r#type().as_str(), config.resource_path(), config.port()),
        ("HTTPS", Some("/health"), Some(443))
    );
    assert_eq!(config.fully_qualified_domain_name(), lb.dns_name());
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await.unwrap();
    let weighted =
        records.resource_record_sets().iter().find(|r| r.set_identifier() == Some("strata:web:us-east-1:s0")).unwrap();
    assert_eq!(weighted.name().trim_end_matches('.'), "us-east-1.api.example.com");
    assert_eq!(weighted.r#type(), &RrType::A);
    assert_eq!(weighted.weight(), Some(255), "the first shard starts at full weight");
    assert_eq!(weighted.health_check_id(), Some(check.id()));
    assert_eq!(weighted.alias_target().unwrap().dns_name().trim_end_matches('.'), lb.dns_name().unwrap());
    let latency =
        records.resource_record_sets().iter().find(|r| r.set_identifier() == Some("strata:web:us-east-1")).unwrap();
    assert_eq!(latency.name().trim_end_matches('.'), "api.example.com");
    assert_eq!(latency.region().unwrap().as_str(), "us-east-1");
    assert_eq!(latency.alias_target().unwrap().dns_name().trim_end_matches('.'), "us-east-1.api.example.com");

    // Alarms: s0's RPS alarm at 80 % of 50,000 RPS per minute, and the fleet's low-load alarm.
    let alarms = aws.cloudwatch.describe_alarms().alarm_name_prefix("strata-web-").send().await.unwrap();
    let mut names: Vec<_> = alarms.metric_alarms().iter().filter_map(|a| a.alarm_name()).collect();
    names.sort();
    assert_eq!(names, ["strata-web-requests-low", "strata-web-s0-requests-high", "strata-web-targets-full"]);
    let high = alarms.metric_alarms().iter().find(|a| a.alarm_name() == Some("strata-web-s0-requests-high")).unwrap();
    assert_eq!(high.threshold(), Some(50_000.0 * 60.0 * 0.8));
}

#[tokio::test]
async fn create_replayed_with_the_same_request_changes_nothing() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let request = CfnRequest::new(&emulator, &fixture, "create");
    let first = provision(&emulator, REGION, &request);
    assert_eq!(first.status(), CfnStatus::Success, "{first}");
    let before = load_balancer_arns(&aws).await;
    let calls_before = emulator.calls().len();
    let answer = provision(&emulator, REGION, &request);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(load_balancer_arns(&aws).await, before, "a retried Create finds, not duplicates");
    let changes = mutating(&emulator.calls()[calls_before..]);
    assert!(changes.is_empty(), "re-running after success is a no-op: {changes:?}");
    assert_eq!(aws.route53.list_health_checks().send().await.unwrap().health_checks().len(), 1);
}

#[tokio::test]
async fn an_update_with_unchanged_properties_makes_no_mutating_call_at_three_shards() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let mut create = CfnRequest::new(&emulator, &fixture, "create");
    create.properties()["Limits"] = json!({"MinShards": "3", "MaxShards": "5"});
    let created = provision(&emulator, REGION, &create);
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    assert_eq!(load_balancer_arns(&aws).await.len(), 3);

    // What CloudFormation sends when a stack update leaves the resource's properties as they were.
    let mut update = CfnRequest::new(&emulator, &fixture, "update");
    update.event["ResourceProperties"] = create.event["ResourceProperties"].clone();
    update.event["OldResourceProperties"] = create.event["ResourceProperties"].clone();
    let calls_before = emulator.calls().len();
    let answer = provision(&emulator, REGION, &update);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let changes = mutating(&emulator.calls()[calls_before..]);
    assert!(changes.is_empty(), "an Update that changes nothing writes nothing: {changes:?}");
}

#[tokio::test]
async fn update_of_mutable_fields_changes_them_in_place() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let created = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let before = load_balancer_arns(&aws).await;

    let answer = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "update"));
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(load_balancer_arns(&aws).await, before, "updated in place, not replaced");
    let tg = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!(tg.health_check_path(), Some("/ready"));
    let attrs = aws
        .elbv2
        .describe_target_group_attributes()
        .target_group_arn(tg.target_group_arn().unwrap())
        .send()
        .await
        .unwrap();
    let attr =
        |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(attr("deregistration_delay.timeout_seconds").as_deref(), Some("30"));
    assert_eq!(attr("stickiness.enabled").as_deref(), Some("true"));
    assert_eq!(attr("stickiness.lb_cookie.duration_seconds").as_deref(), Some("600"));
}

#[tokio::test]
async fn update_of_a_field_aws_cannot_change_in_place_is_refused_and_changes_nothing() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let created = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let before = load_balancer_arns(&aws).await;
    let mut update = CfnRequest::new(&emulator, &fixture, "update");
    update.properties()["Scheme"] = json!("internal");
    let answer = provision(&emulator, REGION, &update);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    let reason = answer.reason();
    assert!(reason.contains("Scheme") && reason.contains("new FleetName"), "{reason}");
    assert_eq!(load_balancer_arns(&aws).await, before);
    let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    assert_eq!(lb.load_balancers()[0].scheme().unwrap().as_str(), "internet-facing");
}

#[tokio::test]
async fn delete_after_create_leaves_nothing_of_strata_and_every_foreign_resource() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let created = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let foreign_lb = foreign_load_balancer(&aws, &fixture, "web-s5").await;
    let foreign = weighted_alias("us-east-1.api.example.com", "blue", "blue.example.net", "Z2P70J7EXAMPLE", 10);
    upsert(&aws, &fixture.hosted_zone_id, foreign).await;

    let answer = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "delete"));
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(load_balancer_arns(&aws).await, [foreign_lb], "only the foreign ALB remains");
    assert!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().is_empty());
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await.unwrap();
    let ids: Vec<_> = records.resource_record_sets().iter().filter_map(|r| r.set_identifier()).collect();
    assert_eq!(ids, ["blue"], "only the foreign weighted record remains");
    assert!(aws.route53.list_health_checks().send().await.unwrap().health_checks().is_empty());
    assert!(aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().is_empty());
    assert!(attached(&aws, "web-a").await.is_empty());
}

#[tokio::test]
async fn delete_of_a_never_created_fleet_answers_success() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let answer = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "delete"));
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(answer.physical_resource_id(), "strata:web:us-east-1", "{answer}");
}

#[tokio::test]
async fn a_bad_spec_answers_failed_naming_each_field_and_creates_nothing() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let mut request = CfnRequest::new(&emulator, &fixture, "create");
    request.properties()["DeregistrationDelaySeconds"] = json!("soon");
    request.properties()["ShardingMode"] = json!("striped");
    let before = emulator.calls().len();
    let answer = provision(&emulator, REGION, &request);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    let reason = answer.reason();
    assert!(reason.contains("DeregistrationDelaySeconds") && reason.contains("ShardingMode"), "{reason}");
    let calls: Vec<String> = emulator.calls()[before..].iter().filter(|c| !c.starts_with("s3:")).cloned().collect();
    assert!(calls.is_empty(), "a bad spec makes no AWS call: {calls:?}");
}

#[tokio::test]
async fn a_fault_in_the_middle_of_create_answers_failed_and_leaves_nothing_behind() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let mut request = CfnRequest::new(&emulator, &fixture, "create");
    // The ALB and TG are made before the HTTPS listener, which then fails on the unknown certificate.
    request.properties()["CertificateArn"] = json!("arn:aws:acm:us-east-1:123456789012:certificate/does-not-exist");
    let answer = provision(&emulator, REGION, &request);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    assert!(
        emulator.calls().iter().any(|c| c == "elasticloadbalancing:CreateLoadBalancer"),
        "the fault came mid-create"
    );
    assert!(load_balancer_arns(&aws).await.is_empty(), "rolled back: no ALB left");
    assert!(aws.elbv2.describe_target_groups().send().await.unwrap().target_groups().is_empty());
    assert!(attached(&aws, "web-a").await.is_empty());
}

#[tokio::test]
async fn a_deadline_too_short_to_finish_still_gets_a_failed_answer() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let request = CfnRequest::new(&emulator, &fixture, "create");
    let mut env = emulator.env(REGION);
    // The harness gives a 60 s deadline; answering 59.9 s early leaves no time for the work.
    env.push(("STRATA_ANSWER_MARGIN_MS".into(), "59900".into()));
    let run = run_function("provisioner", &env, std::slice::from_ref(&request.event));
    run.outcomes[0].response();
    let answer = request.answer(&emulator);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    assert!(answer.reason().contains("timed out"), "{answer}");
}

#[test]
fn a_panic_in_the_handler_of_the_release_binary_still_answers_failed() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let request = CfnRequest::new(&emulator, &fixture, "create");
    let mut env = emulator.env(REGION);
    env.push(("STRATA_TEST_PANIC".into(), "1".into()));
    let binary = release_binary("provisioner");
    let before = emulator.calls().len();
    let run = run_binary(&binary, "provisioner", &env, std::slice::from_ref(&request.event), Duration::from_secs(60));
    let answer = request.answer(&emulator);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    let reason = answer.reason();
    assert!(reason.contains("panic") && reason.contains("STRATA_TEST_PANIC"), "{reason}");
    let report: ProvisionerReport = serde_json::from_value(run.outcomes[0].response().clone()).unwrap();
    assert_eq!(report.status, AnswerStatus::Failed, "the invocation ends normally after answering");
    let calls: Vec<String> = emulator.calls()[before..].iter().filter(|c| !c.starts_with("s3:")).cloned().collect();
    assert!(calls.is_empty(), "the panic came before any AWS call: {calls:?}");
}

#[tokio::test]
async fn two_regions_keep_their_own_latency_records_and_weighted_sets() {
    let emulator = Emulator::start();
    let east = seed(&emulator, "us-east-1");
    let west = seed(&emulator, "eu-west-1");
    let created = provision(&emulator, "us-east-1", &CfnRequest::new(&emulator, &east, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let mut west_create = CfnRequest::new(&emulator, &west, "create");
    west_create.properties()["HostedZoneId"] = json!(east.hosted_zone_id.clone());
    let west_created = provision(&emulator, "eu-west-1", &west_create);
    assert_eq!(west_created.status(), CfnStatus::Success, "{west_created}");

    let aws = emulator.clients("us-east-1").await;
    let ids = |records: aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput| {
        let mut ids: Vec<String> =
            records.resource_record_sets().iter().filter_map(|r| r.set_identifier().map(str::to_owned)).collect();
        ids.sort();
        ids
    };
    let all = ids(aws.route53.list_resource_record_sets().hosted_zone_id(&east.hosted_zone_id).send().await.unwrap());
    assert_eq!(
        all,
        ["strata:web:eu-west-1", "strata:web:eu-west-1:s0", "strata:web:us-east-1", "strata:web:us-east-1:s0"]
    );

    let mut west_delete = CfnRequest::new(&emulator, &west, "delete");
    west_delete.properties()["HostedZoneId"] = json!(east.hosted_zone_id.clone());
    let west_deleted = provision(&emulator, "eu-west-1", &west_delete);
    assert_eq!(west_deleted.status(), CfnStatus::Success, "{west_deleted}");
    let left = ids(aws.route53.list_resource_record_sets().hosted_zone_id(&east.hosted_zone_id).send().await.unwrap());
    assert_eq!(left, ["strata:web:us-east-1", "strata:web:us-east-1:s0"], "the other region is intact");
    assert_eq!(load_balancer_arns(&aws).await.len(), 1, "us-east-1's shard remains");
}

#[tokio::test]
async fn a_field_aws_cannot_change_in_place_is_replaced_through_a_new_fleet_name() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let created = provision(&emulator, REGION, &CfnRequest::new(&emulator, &fixture, "create"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");

    // The documented way: the Update names a new fleet with the new Scheme; CloudFormation sees a new
    // PhysicalResourceId and then sends Delete for the old one.
    let mut update = CfnRequest::new(&emulator, &fixture, "update");
    update.properties()["FleetName"] = json!("web2");
    update.properties()["Scheme"] = json!("internal");
    let answer = provision(&emulator, REGION, &update);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    assert_eq!(answer.physical_resource_id(), "strata:web2:us-east-1", "{answer}");
    let new = aws.elbv2.describe_load_balancers().names("web2-s0").send().await.unwrap();
    assert_eq!(
        new.load_balancers()[0].scheme().unwrap().as_str(),
        "internal",
        "the new shard serves with the new scheme"
    );

    let delete_old = CfnRequest::new(&emulator, &fixture, "delete");
    let old_deleted = provision(&emulator, REGION, &delete_old);
    assert_eq!(old_deleted.status(), CfnStatus::Success, "{old_deleted}");
    let names: Vec<String> = aws
        .elbv2
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["web2-s0"], "the old fleet is gone, the new one serves");
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await.unwrap();
    let mut ids: Vec<_> = records.resource_record_sets().iter().filter_map(|r| r.set_identifier()).collect();
    ids.sort();
    assert_eq!(ids, ["strata:web2:us-east-1", "strata:web2:us-east-1:s0"]);
    assert!(attached(&aws, "web-a").await.iter().all(|tg| tg.contains("web2-s0-tg")));
}

#[tokio::test]
async fn a_create_against_a_missing_hosted_zone_answers_a_readable_reason() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let mut request = CfnRequest::new(&emulator, &fixture, "create");
    request.properties()["HostedZoneId"] = json!("Z0123456789ABC");
    // The stack was deployed for that zone (its roles name it), and the zone has since been deleted.
    emulator.configure_iam(json!({"parameters": {"HostedZoneId": "Z0123456789ABC"}}));
    let before = emulator.calls().len();
    let answer = provision(&emulator, REGION, &request);
    assert_eq!(answer.status(), CfnStatus::Failed, "{answer}");
    let reason = answer.reason();
    // What an operator reads in the console: the zone, AWS's code, the call; no Debug dump of the SDK error.
    assert!(reason.contains("NoSuchHostedZone") && reason.contains("Z0123456789ABC"), "{reason}");
    let made: Vec<String> = emulator.calls()[before..].iter().filter(|c| c.contains(":Create")).cloned().collect();
    assert!(made.is_empty(), "a missing zone is found before anything is built: {made:?}");
    assert!(reason.contains("(route53 "), "the service and the call: {reason}");
    for noise in ["ServiceError", "ErrorMetadata", "SdkBody", "raw: Response", "extensions", "{ "] {
        assert!(!reason.contains(noise), "Debug noise {noise:?} in the reason: {reason}");
    }
    assert!(reason.len() < 600, "a reason for the console, not a dump ({} bytes): {reason}", reason.len());
}

#[tokio::test]
async fn a_dualstack_shard_has_a_and_aaaa_aliases_to_the_albs_own_dns_name() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let mut request = CfnRequest::new(&emulator, &fixture, "create");
    request.properties()["IpAddressType"] = json!("dualstack");
    let answer = provision(&emulator, REGION, &request);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");

    let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    let lb = &lb.load_balancers()[0];
    assert_eq!(lb.ip_address_type().unwrap().as_str(), "dualstack");
    let dns_name = lb.dns_name().unwrap().trim_end_matches('.').to_ascii_lowercase();
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&fixture.hosted_zone_id).send().await.unwrap();
    let shard_aliases: Vec<(RrType, String, String)> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.set_identifier() == Some("strata:web:us-east-1:s0"))
        .map(|r| {
            let alias = r.alias_target().expect("an alias record");
            (
                r.r#type().clone(),
                alias.dns_name().trim_end_matches('.').to_ascii_lowercase(),
                alias.hosted_zone_id().to_owned(),
            )
        })
        .collect();
    let types: Vec<&RrType> = shard_aliases.iter().map(|(t, _, _)| t).collect();
    assert!(
        types.contains(&&RrType::A) && types.contains(&&RrType::Aaaa),
        "A and AAAA for dualstack: {shard_aliases:?}"
    );
    for (_, alias_dns, zone) in &shard_aliases {
        // Route 53 prescribes the `dualstack.` prefix only for Classic Load Balancers: an ALB alias is its own
        // DNSName as DescribeLoadBalancers gives it.
        assert_eq!(alias_dns, &dns_name, "{shard_aliases:?}");
        assert!(!alias_dns.starts_with("dualstack."));
        assert_eq!(zone, lb.canonical_hosted_zone_id().unwrap());
    }
}

/// Issue 14, item 4: the HTTP health check timeout (AWS's default 5 s) must be below the interval, so an interval
/// of 5 s needs a timeout set with it, on Create and on Update (ModifyTargetGroup).
#[tokio::test]
async fn a_five_second_health_check_interval_gets_a_timeout_aws_accepts_on_create_and_update() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator, REGION);
    let aws = emulator.clients(REGION).await;
    let mut create = CfnRequest::new(&emulator, &fixture, "create");
    create.properties()["HealthCheckIntervalSeconds"] = json!("5");
    let answer = provision(&emulator, REGION, &create);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let tg = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!((tg.health_check_interval_seconds(), tg.health_check_timeout_seconds()), (Some(5), Some(4)));

    let mut update = CfnRequest::new(&emulator, &fixture, "update");
    update.properties()["HealthCheckIntervalSeconds"] = json!(30);
    update.event["OldResourceProperties"]["HealthCheckIntervalSeconds"] = json!("5");
    let updated = provision(&emulator, REGION, &update);
    assert_eq!(updated.status(), CfnStatus::Success, "{updated}");
    let mut back = CfnRequest::new(&emulator, &fixture, "update");
    back.properties()["HealthCheckIntervalSeconds"] = json!(5);
    back.event["OldResourceProperties"]["HealthCheckIntervalSeconds"] = json!(30);
    let answer = provision(&emulator, REGION, &back);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let tg = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!((tg.health_check_interval_seconds(), tg.health_check_timeout_seconds()), (Some(5), Some(4)));
}

//! The alb-scaler, run as its real binary on `events/alb-scaler/*.json`, adds a complete shard when one nears
//! its limits, drains and removes one when load falls, and converges when alarms arrive many times at once.

use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::plan::scale::{ScaleNote, ScalePlan, ScaleStep};
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::state::{alarm_names, attached, load_balancer_names, weights};
use strata_tests::{Emulator, Fixture, event, s};

const REGION: &str = "us-east-1";

async fn one_shard_fleet(emulator: &Emulator, customize: impl FnOnce(&mut Value)) -> (Fixture, AwsClients) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let answer = provision(emulator, &fixture, "create", customize);
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    (fixture, emulator.clients(REGION).await)
}

fn scaler(emulator: &Emulator, extra_env: &[(&str, &str)], events: &[Value]) -> Vec<Outcome> {
    let mut env = emulator.env(REGION);
    env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    run_function("alb-scaler", &env, events).outcomes
}

/// The plan the scaler answered for the fleet.
fn plan(outcome: &Outcome) -> ScalePlan {
    outcome.first_report::<ScaleReport>().plan
}

/// Asserts shard 1 is a complete clone of shard 0, wired into DNS with a small starting weight.
async fn assert_shard_1_complete(aws: &AwsClients, fixture: &Fixture) {
    let lbs = aws.elbv2.describe_load_balancers().names("web-s0").names("web-s1").send().await.unwrap();
    let [s0, s1] = lbs.load_balancers() else { panic!("two ALBs expected") };
    assert_eq!(s1.scheme(), s0.scheme());
    assert_eq!(s1.security_groups(), s0.security_groups());
    let zones = |lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer| {
        let mut z: Vec<String> =
            lb.availability_zones().iter().filter_map(|a| a.subnet_id().map(str::to_owned)).collect();
        z.sort();
        z
    };
    assert_eq!(zones(s1), zones(s0), "the same subnets");
    let s1_arn = s1.load_balancer_arn().unwrap();
    let attrs = aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(s1_arn).send().await.unwrap();
    let cross_zone = attrs.attributes().iter().find(|a| a.key() == Some("load_balancing.cross_zone.enabled")).unwrap();
    assert_eq!(cross_zone.value(), Some("true"));

    let tgs = aws.elbv2.describe_target_groups().names("web-s1-tg").send().await.unwrap();
    let tg1 = &tgs.target_groups()[0];
    let tg1_arn = tg1.target_group_arn().unwrap().to_owned();
    assert_eq!((tg1.port(), tg1.health_check_path()), (Some(80), Some("/health")));
    let tg_attrs = aws.elbv2.describe_target_group_attributes().target_group_arn(&tg1_arn).send().await.unwrap();
    let delay = tg_attrs.attributes().iter().find(|a| a.key() == Some("deregistration_delay.timeout_seconds")).unwrap();
    assert_eq!(delay.value(), Some("300"), "TG attributes cloned");

    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(s1_arn).send().await.unwrap();
    let https = listeners.listeners().iter().find(|l| l.port() == Some(443)).expect("HTTPS listener");
    assert_eq!(https.certificates()[0].certificate_arn(), Some(fixture.certificate_arn.as_str()));
    assert_eq!(https.default_actions()[0].target_group_arn(), Some(tg1_arn.as_str()));
    assert!(listeners.listeners().iter().any(|l| l.port() == Some(80)), "HTTP redirect listener");

    assert!(attached(aws, "web-a").await.contains(&tg1_arn), "mirror mode: the fleet's ASGs on the new shard");
    assert!(attached(aws, "web-b").await.contains(&tg1_arn));
    let checks = aws.route53.list_health_checks().send().await.unwrap();
    assert_eq!(checks.health_checks().len(), 2, "one health check per shard");
    assert!(alarm_names(aws).await.contains(&"strata-web-s1-requests-high".to_owned()));
    let weights = weights(aws, &fixture.hosted_zone_id).await;
    assert!(weights.contains(&("strata:web:us-east-1:s1".into(), 8)), "a small starting weight: {weights:?}");
    assert!(weights.contains(&("strata:web:us-east-1:s0".into(), 255)), "{weights:?}");
}

#[tokio::test]
async fn an_alarm_on_shard_0_in_each_shape_ends_with_shard_1_complete() {
    for shape in ["alarm-action", "alarm-eventbridge", "alarm-sns"] {
        let emulator = Emulator::start();
        let (fixture, aws) = one_shard_fleet(&emulator, |_| {}).await;
        let outcomes = scaler(&emulator, &[], &[event(&format!("alb-scaler/{shape}.json"))]);
        assert_eq!(plan(&outcomes[0]).steps, [ScaleStep::Create { index: s(1), from: s(0) }], "{shape}");
        assert_shard_1_complete(&aws, &fixture).await;
    }
}

/// Issue 14, item 3: DescribeLoadBalancerAttributes answers more than 20 keys for an ALB (the strict emulator
/// answers AWS's full set) and AWS takes at most 20 per ModifyLoadBalancerAttributes: a clone that copied all of
/// them in one call left shard 1 without listeners. Now it sends only what differs from a new ALB's defaults.
#[tokio::test]
async fn scale_out_clones_an_alb_with_more_than_20_attributes_and_tuned_values() {
    use aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute;

    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |_| {}).await;
    let s0 = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    let s0_arn = s0.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tuned = [
        ("idle_timeout.timeout_seconds", "120"),
        ("routing.http.xff_header_processing.mode", "preserve"),
        ("deletion_protection.enabled", "true"),
        // Issue 17: a new shard logs where the others do.
        ("access_logs.s3.enabled", "true"),
        ("access_logs.s3.bucket", "web-alb-logs"),
        ("access_logs.s3.prefix", "access"),
        ("connection_logs.s3.enabled", "true"),
        ("connection_logs.s3.bucket", "web-alb-logs"),
        ("connection_logs.s3.prefix", "connections"),
    ];
    let attrs = tuned.iter().map(|(k, v)| LoadBalancerAttribute::builder().key(*k).value(*v).build());
    let tune =
        aws.elbv2.modify_load_balancer_attributes().load_balancer_arn(&s0_arn).set_attributes(Some(attrs.collect()));
    tune.send().await.unwrap();
    let all = aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(&s0_arn).send().await.unwrap();
    assert!(all.attributes().len() > 20, "AWS's full attribute set: {}", all.attributes().len());

    let outcomes = scaler(&emulator, &[], &[event("alb-scaler/alarm-action.json")]);
    outcomes[0].response();
    assert_shard_1_complete(&aws, &fixture).await;
    let s1 = aws.elbv2.describe_load_balancers().names("web-s1").send().await.unwrap();
    let s1_arn = s1.load_balancers()[0].load_balancer_arn().unwrap();
    let attrs = aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(s1_arn).send().await.unwrap();
    let value =
        |k: &str| attrs.attributes().iter().find(|a| a.key() == Some(k)).and_then(|a| a.value()).map(str::to_owned);
    assert_eq!(value("idle_timeout.timeout_seconds").as_deref(), Some("120"), "tuned values are cloned");
    assert_eq!(value("routing.http.xff_header_processing.mode").as_deref(), Some("preserve"));
    assert_eq!(value("routing.http.drop_invalid_header_fields.enabled").as_deref(), Some("true"));
    for (key, tuned) in tuned.iter().filter(|(k, _)| k.starts_with("access_logs") || k.starts_with("connection_logs")) {
        assert_eq!(value(key).as_deref(), Some(*tuned), "{key}: access and connection logs are cloned");
    }
    assert_eq!(
        value("deletion_protection.enabled").as_deref(),
        Some("false"),
        "not cloned: scale-in must be able to remove the shard"
    );
    let modify_calls = emulator.calls().iter().filter(|c| c.ends_with(":ModifyLoadBalancerAttributes")).count();
    assert_eq!(modify_calls, 1 + 1 + 1, "provisioner's shard 0, the test's tuning, the clone: one call each");
}

#[tokio::test]
async fn five_concurrent_identical_alarms_make_exactly_one_shard_and_a_replay_changes_nothing() {
    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |_| {}).await;
    std::thread::scope(|scope| {
        let runs: Vec<_> =
            (0..5).map(|_| scope.spawn(|| scaler(&emulator, &[], &[event("alb-scaler/alarm-action.json")]))).collect();
        for run in runs {
            run.join().unwrap()[0].response();
        }
    });
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);
    assert_shard_1_complete(&aws, &fixture).await;

    let before = emulator.calls().len();
    let outcomes = scaler(&emulator, &[], &[event("alb-scaler/alarm-sns.json")]);
    assert_eq!(plan(&outcomes[0]).steps, Vec::<ScaleStep>::new());
    let mutations: Vec<String> = emulator.calls()[before..]
        .iter()
        .filter(|c| !c.contains(":Describe") && !c.contains(":List") && !c.contains(":Get") && !c.contains("GET "))
        .cloned()
        .collect();
    assert!(mutations.is_empty(), "a replay after success changes nothing: {mutations:?}");
}

#[tokio::test]
async fn a_shard_half_built_by_a_crash_is_finished_not_duplicated() {
    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |_| {}).await;
    // The crash: shard 1's TG and ALB exist (tagged as the scaler tags them), nothing else.
    let policy_tags = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    let s0_arn = policy_tags.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tags = aws.elbv2.describe_tags().resource_arns(&s0_arn).send().await.unwrap();
    let mut s1_tags: Vec<_> = tags.tag_descriptions()[0].tags().to_vec();
    s1_tags.retain(|t| t.key() != Some("strata:shard"));
    s1_tags.push(strata_tests::fixtures::elb_tag("strata:shard", "1"));
    aws.elbv2
        .create_load_balancer()
        .name("web-s1")
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::InternetFacing)
        .set_subnets(Some(fixture.subnet_ids.clone()))
        .security_groups(&fixture.security_group_id)
        .set_tags(Some(s1_tags))
        .send()
        .await
        .unwrap();

    let outcomes = scaler(&emulator, &[], &[event("alb-scaler/alarm-action.json")]);
    assert_eq!(plan(&outcomes[0]).steps, [ScaleStep::Finish { index: s(1), from: s(0) }]);
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"], "finished, not duplicated");
    assert_shard_1_complete(&aws, &fixture).await;
}

#[tokio::test]
async fn scale_in_drains_then_removes_after_the_wait_and_never_the_last_shard() {
    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |p| p["DeregistrationDelaySeconds"] = json!("0")).await;
    scaler(&emulator, &[], &[event("alb-scaler/alarm-action.json")])[0].response();
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);

    let drained = scaler(&emulator, &[], &[event("alb-scaler/alarm-low.json"), event("alb-scaler/schedule.json")]);
    assert_eq!(plan(&drained[0]).steps, [ScaleStep::Drain { index: s(1) }]);
    let weights_now = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(weights_now.contains(&("strata:web:us-east-1:s1".into(), 0)), "weight 0 first: {weights_now:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"], "not removed before TTL + deregistration delay");
    let s1 = aws.elbv2.describe_load_balancers().names("web-s1").send().await.unwrap();
    let s1_arn = s1.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tags = aws.elbv2.describe_tags().resource_arns(&s1_arn).send().await.unwrap();
    let state = tags.tag_descriptions()[0].tags().iter().find(|t| t.key() == Some("strata:state")).unwrap();
    assert_eq!(state.value(), Some("draining"));

    // With the alias TTL set to 0 (and the fleet's deregistration delay 0), the wait is over at once.
    let removed = scaler(&emulator, &[("STRATA_ALIAS_TTL_SECONDS", "0")], &[event("alb-scaler/schedule.json")]);
    assert_eq!(plan(&removed[0]).steps, [ScaleStep::Remove { index: s(1) }]);
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
    assert_eq!(weights(&aws, &fixture.hosted_zone_id).await, [("strata:web:us-east-1:s0".to_owned(), 255)]);
    assert!(!alarm_names(&aws).await.contains(&"strata-web-s1-requests-high".to_owned()));
    assert_eq!(aws.route53.list_health_checks().send().await.unwrap().health_checks().len(), 1);
    let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
    assert_eq!(tgs.target_groups().len(), 1);
    assert_eq!(attached(&aws, "web-a").await.len(), 1);

    let last = scaler(&emulator, &[], &[event("alb-scaler/alarm-low.json")]);
    assert_eq!(plan(&last[0]).steps, Vec::<ScaleStep>::new());
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"], "the last serving shard is never removed");
}

/// Issue 20 / issue 14 item 5: AWS answers DeleteTargetGroup with ResourceInUse for a while after the ALB's
/// deletion. The removal leaves the TG behind; the next pass must remove it, never rebuild the shard around it.
#[tokio::test]
async fn a_target_group_left_by_resource_in_use_is_removed_by_the_next_pass_never_rebuilt() {
    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |p| p["DeregistrationDelaySeconds"] = json!("0")).await;
    scaler(&emulator, &[], &[event("alb-scaler/alarm-action.json")])[0].response();
    scaler(&emulator, &[], &[event("alb-scaler/alarm-low.json")])[0].response();
    emulator.set_target_group_in_use_seconds(3600.0);
    let ttl_0 = [("STRATA_ALIAS_TTL_SECONDS", "0")];

    // The removal deletes everything down to the ALB; the TG stays in use past the scaler's bounded wait.
    let cut_short = scaler(&emulator, &ttl_0, &[event("alb-scaler/schedule.json")]);
    assert!(matches!(cut_short[0], Outcome::Response(_)), "a remnant is left for the next pass: {cut_short:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
    let remnant = aws.elbv2.describe_target_groups().names("web-s1-tg").send().await.unwrap();
    let remnant_arn = remnant.target_groups()[0].target_group_arn().unwrap().to_owned();
    let tags = aws.elbv2.describe_tags().resource_arns(&remnant_arn).send().await.unwrap();
    let state = tags.tag_descriptions()[0].tags().iter().find(|t| t.key() == Some("strata:state"));
    assert_eq!(state.and_then(|t| t.value()), Some("draining"), "the remnant is still known as draining");

    // The next pass (AWS has let the TG go by then): the remnant is removed, nothing is rebuilt.
    emulator.set_target_group_in_use_seconds(0.0);
    let next = scaler(&emulator, &ttl_0, &[event("alb-scaler/schedule.json")]);
    assert_eq!(plan(&next[0]).steps, [ScaleStep::Remove { index: s(1) }]);
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"], "never rebuilt");
    let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
    let names: Vec<_> = tgs.target_groups().iter().filter_map(|t| t.target_group_name()).collect();
    assert_eq!(names, ["web-s0-tg"]);
    assert_eq!(weights(&aws, &fixture.hosted_zone_id).await, [("strata:web:us-east-1:s0".to_owned(), 255)]);
    assert_eq!(aws.route53.list_health_checks().send().await.unwrap().health_checks().len(), 1);
    assert_eq!(alarm_names(&aws).await.iter().filter(|a| a.contains("-s1-")).count(), 0);
    assert_eq!(attached(&aws, "web-a").await.len(), 1);
}

#[tokio::test]
async fn max_shards_reached_adds_nothing_and_says_so() {
    let emulator = Emulator::start();
    let (_, aws) = one_shard_fleet(&emulator, |p| p["Limits"]["MaxShards"] = json!("1")).await;
    let mut env = emulator.env(REGION);
    env.push(("STRATA_LOG".into(), "info".into()));
    let run = run_function("alb-scaler", &env, &[event("alb-scaler/alarm-eventbridge.json")]);
    let notes = plan(&run.outcomes[0]).notes;
    assert!(matches!(notes[..], [ScaleNote::MaxShards { max: 1 }, ..]), "{notes:?}");
    assert!(notes[0].to_string().contains("MaxShards (1) reached"), "{}", notes[0]);
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
    assert!(run.logs.contains("\"ShardLimitReached\":1.0"), "an EMF metric line: {}", run.logs);
    assert!(run.logs.contains("scale-out refused"));
}

/// Issue 17, part 3: the quota is read with DescribeAccountLimits, not assumed to be 50, and only application
/// load balancers count against it (another team's NLB does not).
#[tokio::test]
async fn the_alb_quota_read_from_aws_stops_scale_out_and_only_albs_count() {
    let emulator = Emulator::start();
    let (fixture, aws) = one_shard_fleet(&emulator, |_| {}).await;
    emulator.set_limits(json!({"application-load-balancers": 1}));
    let mut env = emulator.env(REGION);
    env.push(("STRATA_LOG".into(), "info".into()));
    let before = emulator.calls().len();
    let run = run_function("alb-scaler", &env, &[event("alb-scaler/alarm-eventbridge.json")]);
    let notes = plan(&run.outcomes[0]).notes;
    assert_eq!(notes, [ScaleNote::RegionQuota { load_balancers: 1, quota: 1 }], "{notes:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
    assert!(run.logs.contains("\"ShardLimitReached\":1.0") && run.logs.contains("scale-out refused"), "{}", run.logs);
    let writes = strata_tests::state::mutating(&emulator.calls()[before..]);
    assert!(writes.is_empty(), "refused before any call that writes: {writes:?}");

    // Another team's network load balancer: not an ALB, so it leaves room under a quota of 2.
    let nlb = aws.elbv2.create_load_balancer().name("other-team-nlb").r#type("network".into());
    nlb.set_subnets(Some(fixture.subnet_ids.clone())).send().await.expect("an NLB");
    emulator.set_limits(json!({"application-load-balancers": 2}));
    let run = run_function("alb-scaler", &env, &[event("alb-scaler/alarm-eventbridge.json")]);
    assert!(matches!(plan(&run.outcomes[0]).steps[..], [ScaleStep::Create { .. }]), "{:?}", run.outcomes[0]);
    assert_eq!(load_balancer_names(&aws).await, ["other-team-nlb", "web-s0", "web-s1"]);
}

#[tokio::test]
async fn ok_and_insufficient_data_transitions_foreign_alarms_and_malformed_payloads_change_nothing() {
    let emulator = Emulator::start();
    let (_, _aws) = one_shard_fleet(&emulator, |_| {}).await;
    let before = emulator.calls().len();
    let events = [
        event("alb-scaler/alarm-ok.json"),
        event("alb-scaler/alarm-insufficient-data.json"),
        event("alb-scaler/alarm-foreign.json"),
        event("alb-scaler/alarm-other-account.json"),
        json!({"alarmData": {"alarmName": 42}}),
        event("malformed/not-an-event.json"),
    ];
    let outcomes = scaler(&emulator, &[], &events);
    for outcome in &outcomes[..4] {
        assert!(outcome.answer::<ScaleReport>().ignored().is_some(), "{outcome:?}");
    }
    for outcome in &outcomes[4..] {
        assert!(matches!(outcome, Outcome::Error { error_type, .. } if error_type == "InvalidEvent"), "{outcome:?}");
    }
    assert_eq!(emulator.calls().len(), before, "no AWS call at all: {:?}", &emulator.calls()[before..]);
}

#[test]
fn another_account_s_schedule_and_alarm_names_aws_would_refuse_make_no_aws_call() {
    let emulator = Emulator::start();
    let mut foreign = event("alb-scaler/schedule.json");
    foreign["account"] = json!("999999999999");
    let mut long_action = event("alb-scaler/alarm-action.json");
    long_action["alarmData"]["alarmName"] = json!(format!("strata-web-s0-requests-high{}", "a".repeat(230)));
    let mut long_eventbridge = event("alb-scaler/alarm-eventbridge.json");
    long_eventbridge["detail"]["alarmName"] = json!("a".repeat(1 << 20));
    let outcomes = scaler(&emulator, &[], &[foreign, long_action, long_eventbridge]);
    let ignored = outcomes[0].answer::<ScaleReport>();
    assert!(ignored.ignored().unwrap().contains("account 999999999999"), "{ignored:?}");
    for outcome in &outcomes[1..] {
        assert!(matches!(outcome, Outcome::Error { error_type, .. } if error_type == "InvalidEvent"), "{outcome:?}");
    }
    assert!(emulator.calls().is_empty(), "{:?}", emulator.calls());
}

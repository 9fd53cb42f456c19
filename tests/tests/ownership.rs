//! Ownership in a shared account: one fleet name in a region belongs to one custom resource, and Strata never
//! changes what another fleet, another stack, or another team owns — whatever the names look like.

use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::plan::scale::{ScaleNote, ScalePlan, ScaleStep};
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnAnswer, CfnRequest, CfnStatus};
use strata_tests::fixtures::{elb_tag, foreign_load_balancer};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::state::{FleetSnapshot, fleet_snapshot, load_balancer_names, mutating, weights};
use strata_tests::{Emulator, Fixture, event, s};

const REGION: &str = "us-east-1";
const OTHER_STACK: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/strata-other/0c0ffee0-0000-4000-8000-000000000000";

fn seed(emulator: &Emulator) -> Fixture {
    emulator
        .seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}, {"name": "v2-a", "size": 1}]))
}

/// A request from `events/provisioner/<name>.json` for `fleet` (its own domain and ASGs when not `web`).
fn request(emulator: &Emulator, fixture: &Fixture, name: &str, fleet: &str) -> CfnRequest {
    let mut request = CfnRequest::new(emulator, fixture, name);
    if fleet != "web" {
        let props = request.properties();
        props["FleetName"] = json!(fleet);
        props["Domain"] = json!(format!("{fleet}.example.com"));
        props["AutoScalingGroupNames"] = json!(["v2-a"]);
        if let Some(id) = request.event.get("PhysicalResourceId").and_then(Value::as_str) {
            request.event["PhysicalResourceId"] = json!(id.replace(":web:", &format!(":{fleet}:")));
        }
    }
    request
}

fn answer(emulator: &Emulator, request: &CfnRequest) -> CfnAnswer {
    let run = run_function("provisioner", &emulator.env(REGION), std::slice::from_ref(&request.event));
    run.outcomes[0].response();
    request.answer(emulator)
}

async fn snapshot(aws: &AwsClients, fixture: &Fixture, fleet: &str) -> FleetSnapshot {
    fleet_snapshot(aws, &fixture.hosted_zone_id, fleet, &["web-a", "web-b", "v2-a"]).await
}

fn scaler(emulator: &Emulator, events: &[Value]) -> Vec<Outcome> {
    run_function("alb-scaler", &emulator.env(REGION), events).outcomes
}

/// The plan the scaler answered for the fleet.
fn plan(outcome: &Outcome) -> ScalePlan {
    outcome.first_report::<ScaleReport>().plan
}

#[tokio::test]
async fn deleting_a_fleet_leaves_a_fleet_whose_name_starts_the_same_whole() {
    for (deleted, kept) in [("web", "web-v2"), ("web-v2", "web")] {
        let emulator = Emulator::start();
        let fixture = seed(&emulator);
        let aws = emulator.clients(REGION).await;
        for fleet in ["web", "web-v2"] {
            let created = answer(&emulator, &request(&emulator, &fixture, "create", fleet));
            assert_eq!(created.status(), CfnStatus::Success, "{fleet}: {created}");
        }
        let before = snapshot(&aws, &fixture, kept).await;
        assert_eq!(before.alarms.len(), 3, "{kept} has its high, low and targets-full alarms: {before:?}");
        assert_eq!(before.health_checks.len(), 1);
        assert_eq!(before.records.len(), 2, "weighted and latency records: {before:?}");
        assert!(!before.attachments.is_empty() && !before.listeners.is_empty());

        let deleted_answer = answer(&emulator, &request(&emulator, &fixture, "delete", deleted));
        assert_eq!(deleted_answer.status(), CfnStatus::Success, "{deleted_answer}");
        assert!(snapshot(&aws, &fixture, deleted).await.is_empty(), "{deleted} is gone");
        assert_eq!(snapshot(&aws, &fixture, kept).await, before, "deleting {deleted} left {kept} whole");
    }
}

#[tokio::test]
async fn another_stack_cannot_take_a_fleet_name_and_its_rollback_leaves_the_fleet_whole() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &request(&emulator, &fixture, "create", "web"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let before = snapshot(&aws, &fixture, "web").await;

    let mut second = request(&emulator, &fixture, "create", "web");
    second.event["StackId"] = json!(OTHER_STACK);
    let calls_before = emulator.calls().len();
    let refused = answer(&emulator, &second);
    assert_eq!(refused.status(), CfnStatus::Failed, "{refused}");
    let reason = refused.reason();
    assert!(reason.contains("stack/strata-web/") && reason.contains("WebFleet"), "names the owner: {reason}");
    let changes = mutating(&emulator.calls()[calls_before..]);
    assert!(changes.is_empty(), "the refused Create changes nothing: {changes:?}");

    // CloudFormation rolls the second stack back with a Delete of whatever PhysicalResourceId it was given,
    // and a Delete from that stack that names the fleet must not take it either.
    let mut rollback = request(&emulator, &fixture, "delete", "web");
    rollback.event["StackId"] = json!(OTHER_STACK);
    rollback.event["PhysicalResourceId"] = json!(refused.physical_resource_id());
    let rolled_back = answer(&emulator, &rollback);
    assert_eq!(rolled_back.status(), CfnStatus::Success, "{rolled_back}");
    let mut named = request(&emulator, &fixture, "delete", "web");
    named.event["StackId"] = json!(OTHER_STACK);
    let named_deleted = answer(&emulator, &named);
    assert_eq!(named_deleted.status(), CfnStatus::Success, "{named_deleted}");
    assert_eq!(snapshot(&aws, &fixture, "web").await, before, "the first stack's fleet is whole");

    let mut update = request(&emulator, &fixture, "update", "web");
    update.properties()["DeregistrationDelaySeconds"] = json!("30");
    let updated = answer(&emulator, &update);
    assert_eq!(updated.status(), CfnStatus::Success, "the owner's own Update still works: {updated}");
    let tg = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let arn = tg.target_groups()[0].target_group_arn().unwrap();
    let attrs = aws.elbv2.describe_target_group_attributes().target_group_arn(arn).send().await.unwrap();
    let delay = attrs.attributes().iter().find(|a| a.key() == Some("deregistration_delay.timeout_seconds"));
    assert_eq!(delay.and_then(|a| a.value()), Some("30"));
}

#[tokio::test]
async fn a_fleet_made_before_owners_is_claimed_by_its_own_update_and_refused_to_others() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &request(&emulator, &fixture, "create", "web"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    // As an older Strata left it: no owner tags anywhere.
    let snapshot_before = snapshot(&aws, &fixture, "web").await;
    for (arn, _) in snapshot_before.load_balancers.iter().chain(&snapshot_before.target_groups) {
        let keys = ["strata:owner-stack", "strata:owner-resource"];
        aws.elbv2
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(keys.map(str::to_owned).to_vec()))
            .send()
            .await
            .unwrap();
    }

    let alarms = aws.cloudwatch.describe_alarms().send().await.unwrap();
    for arn in alarms.metric_alarms().iter().filter_map(|a| a.alarm_arn()) {
        let keys = ["strata:owner-stack", "strata:owner-resource"];
        aws.cloudwatch
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.map(str::to_owned).to_vec()))
            .send()
            .await
            .unwrap();
    }

    let mut other = request(&emulator, &fixture, "create", "web");
    other.event["StackId"] = json!(OTHER_STACK);
    let refused = answer(&emulator, &other);
    assert_eq!(refused.status(), CfnStatus::Failed, "an unclaimed fleet is not another stack's to take: {refused}");
    assert!(refused.reason().contains("without an owner"), "{refused}");

    let updated = answer(&emulator, &request(&emulator, &fixture, "update", "web"));
    assert_eq!(updated.status(), CfnStatus::Success, "{updated}");
    let claimed = snapshot(&aws, &fixture, "web").await;
    for (arn, tags) in claimed.load_balancers.iter().chain(&claimed.target_groups) {
        assert!(tags.contains(&("strata:owner-resource".into(), "WebFleet".into())), "{arn} claimed: {tags:?}");
    }
    let alarm_arns: Vec<String> = aws
        .cloudwatch
        .describe_alarms()
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_arn().map(str::to_owned))
        .collect();
    for arn in alarm_arns {
        let tags = aws.cloudwatch.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
        assert!(tags.tags().iter().any(|t| t.key() == Some("strata:owner-resource")), "{arn}: {tags:?}");
    }
}

#[tokio::test]
async fn resources_named_like_a_shard_are_never_touched_and_scale_out_goes_around_them() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &request(&emulator, &fixture, "create", "web"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let foreign_lb = foreign_load_balancer(&aws, &fixture, "web-s2").await;
    // Another team's target group with shard 1's name.
    let foreign_tg = aws
        .elbv2
        .create_target_group()
        .name("web-s1-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&fixture.vpc_id)
        .tags(elb_tag("team", "payments"))
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let describe = |arn: String| {
        let aws = &aws;
        async move {
            let tags = aws.elbv2.describe_tags().resource_arns(&arn).send().await.unwrap();
            format!("{:?}", tags.tag_descriptions())
        }
    };
    let (lb_before, tg_before) = (describe(foreign_lb.clone()).await, describe(foreign_tg.clone()).await);

    let outcomes = scaler(&emulator, &[event("alb-scaler/alarm-action.json")]);
    let steps = plan(&outcomes[0]).steps;
    assert_eq!(steps, [ScaleStep::Create { index: s(3), from: s(0) }], "indexes 1 and 2 are taken");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s2", "web-s3"]);
    let weights = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(weights.contains(&("strata:web:us-east-1:s3".into(), 8)), "the new shard is in rotation: {weights:?}");
    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(&foreign_lb).send().await.unwrap();
    assert!(listeners.listeners().is_empty(), "no listener added to the foreign ALB");
    assert_eq!(describe(foreign_lb).await, lb_before, "the foreign ALB is untouched");
    assert_eq!(describe(foreign_tg.clone()).await, tg_before, "the foreign target group is untouched");
    let attached = strata_tests::state::attached(&aws, "web-a").await;
    assert!(!attached.contains(&foreign_tg), "no ASG attached to the foreign target group");
}

#[tokio::test]
async fn with_every_shard_but_one_unhealthy_a_low_load_alarm_drains_nothing() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &request(&emulator, &fixture, "create", "web"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    scaler(&emulator, &[event("alb-scaler/alarm-action.json")])[0].response();
    // Shard 0 loses every target; the rebalancer moves its weight to shard 1, the only healthy one.
    let tg0 = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg0 = tg0.target_groups()[0].target_group_arn().unwrap().to_owned();
    let health = aws.elbv2.describe_target_health().target_group_arn(&tg0).send().await.unwrap();
    let targets: Vec<_> = health.target_health_descriptions().iter().filter_map(|d| d.target().cloned()).collect();
    aws.elbv2.deregister_targets().target_group_arn(&tg0).set_targets(Some(targets)).send().await.unwrap();
    run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]).outcomes[0]
        .response();
    let zone = &fixture.hosted_zone_id;
    let ramped = [("strata:web:us-east-1:s0".to_owned(), 0), ("strata:web:us-east-1:s1".to_owned(), 40)];
    assert_eq!(weights(&aws, zone).await, ramped, "shard 0 at 0, shard 1 ramping from 8 by 32");

    let outcomes = scaler(&emulator, &[event("alb-scaler/alarm-low.json")]);
    let plan = plan(&outcomes[0]);
    assert!(plan.steps.is_empty(), "the only shard with healthy targets is never drained: {plan:?}");
    let why = plan.notes.iter().find(|n| matches!(n, ScaleNote::NotDrained { .. }));
    assert!(why.is_some_and(|n| n.to_string().contains("no shard drained")), "and it says why: {plan:?}");
    assert_eq!(weights(&aws, zone).await, ramped, "nothing drained");
    run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]).outcomes[0]
        .response();
    assert!(weights(&aws, zone).await.iter().any(|(_, w)| *w > 0), "no pass writes all-zero weights");
}

#[tokio::test]
async fn an_update_removes_policy_tags_the_spec_no_longer_has() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let mut create = request(&emulator, &fixture, "create", "web");
    create.properties()["AutoScalingGroupTag"] = json!({"Key": "team", "Value": "web"});
    create.properties()["ScalerFunctionArn"] = json!("arn:aws:lambda:us-east-1:123456789012:function:scaler");
    let created = answer(&emulator, &create);
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let policy_keys = |snapshot: &FleetSnapshot| -> Vec<String> {
        snapshot.load_balancers[0]
            .1
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| k.starts_with("strata:policy:"))
            .collect()
    };
    let before = policy_keys(&snapshot(&aws, &fixture, "web").await);
    assert!(
        before.contains(&"strata:policy:asg-tag-key".to_owned())
            && before.contains(&"strata:policy:scaler-arn".to_owned())
    );

    let updated = answer(&emulator, &request(&emulator, &fixture, "update", "web"));
    assert_eq!(updated.status(), CfnStatus::Success, "{updated}");
    let after = policy_keys(&snapshot(&aws, &fixture, "web").await);
    for stale in ["strata:policy:asg-tag-key", "strata:policy:asg-tag-value", "strata:policy:scaler-arn"] {
        assert!(!after.contains(&stale.to_owned()), "{stale} removed: {after:?}");
    }
    assert!(after.contains(&"strata:policy:asg-names.0".to_owned()));
}

#[tokio::test]
async fn a_fleet_being_deleted_is_left_alone_by_the_other_functions() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let created = answer(&emulator, &request(&emulator, &fixture, "create", "web"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    let arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    aws.elbv2
        .add_tags()
        .resource_arns(&arn)
        .tags(elb_tag("strata:deleting", "2026-12-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    let before = emulator.calls().len();
    scaler(&emulator, &[event("alb-scaler/alarm-action.json")])[0].response();
    run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]).outcomes[0]
        .response();
    run_function("asg-registrar", &emulator.env(REGION), &[event("asg-registrar/schedule.json")]).outcomes[0]
        .response();
    let changes = mutating(&emulator.calls()[before..]);
    assert!(changes.is_empty(), "nothing is written behind a Delete: {changes:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
}

#[tokio::test]
async fn a_scheduled_pass_with_one_broken_fleet_still_serves_the_others_and_names_the_broken_one() {
    let emulator = Emulator::start();
    let fixture = seed(&emulator);
    let aws = emulator.clients(REGION).await;
    let mut web = request(&emulator, &fixture, "create", "web");
    web.properties()["Limits"]["MinShards"] = json!("2");
    web.properties()["DeregistrationDelaySeconds"] = json!("0");
    let web_created = answer(&emulator, &web);
    assert_eq!(web_created.status(), CfnStatus::Success, "{web_created}");
    let shop_created = answer(&emulator, &request(&emulator, &fixture, "create", "shop"));
    assert_eq!(shop_created.status(), CfnStatus::Success, "{shop_created}");
    // `shop` is broken: its policy names a hosted zone that does not exist.
    let shop = aws.elbv2.describe_load_balancers().names("shop-s0").send().await.unwrap();
    let shop_arn = shop.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    aws.elbv2
        .add_tags()
        .resource_arns(&shop_arn)
        .tags(elb_tag("strata:policy:hosted-zone-id", "Z0000000000000NOPE"))
        .send()
        .await
        .unwrap();
    // `web` has work for both passes: shard 2 drained with its wait over, shard 0 half its targets gone.
    scaler(&emulator, &[event("alb-scaler/alarm-action.json")])[0].response();
    scaler(&emulator, &[event("alb-scaler/alarm-low.json")])[0].response();
    let tg0 = aws.elbv2.describe_target_groups().names("web-s0-tg").send().await.unwrap();
    let tg0 = tg0.target_groups()[0].target_group_arn().unwrap().to_owned();
    let health = aws.elbv2.describe_target_health().target_group_arn(&tg0).send().await.unwrap();
    let half: Vec<_> = health.target_health_descriptions().iter().filter_map(|d| d.target().cloned()).take(1).collect();
    aws.elbv2.deregister_targets().target_group_arn(&tg0).set_targets(Some(half)).send().await.unwrap();

    let mut env = emulator.env(REGION);
    env.push(("STRATA_ALIAS_TTL_SECONDS".into(), "0".into()));
    let tidy = run_function("alb-scaler", &env, &[event("alb-scaler/schedule.json")]);
    let Outcome::Error { error_type, error_message } = &tidy.outcomes[0] else { panic!("{:?}", tidy.outcomes) };
    assert_eq!(error_type, "FleetsFailed");
    assert!(error_message.contains("shop:") && !error_message.contains("web:"), "{error_message}");
    assert_eq!(load_balancer_names(&aws).await, ["shop-s0", "web-s0", "web-s1"], "web's drained shard was removed");
    assert!(tidy.logs.contains("\"FleetFailed\":1.0"), "counted: {}", tidy.logs);

    let rebalance = run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
    assert!(matches!(&rebalance.outcomes[0], Outcome::Error { error_message, .. } if error_message.contains("shop:")));
    let web_weights: Vec<_> = weights(&aws, &fixture.hosted_zone_id)
        .await
        .into_iter()
        .filter(|(id, _)| id.starts_with("strata:web:"))
        .collect();
    assert_eq!(
        web_weights,
        [("strata:web:us-east-1:s0".to_owned(), 170), ("strata:web:us-east-1:s1".to_owned(), 255)],
        "web was rebalanced: shard 0 has two of shard 1's three healthy targets"
    );
}

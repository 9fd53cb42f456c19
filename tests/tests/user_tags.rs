//! Issue 17, part 2: the `Tags` property's tags reach every resource Strata makes (ALBs, target groups,
//! listeners, alarms, health checks), on a Create and on the shards the alb-scaler adds later; too many tags are
//! refused before any AWS call.

use aws_sdk_route53::types::TagResourceType;
use serde_json::json;
use strata_core::aws::AwsClients;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::run_function;
use strata_tests::state::mutating;
use strata_tests::{Emulator, event};

const REGION: &str = "us-east-1";

fn user_tags() -> serde_json::Value {
    json!([{"Key": "cost-center", "Value": "4711"}, {"Key": "team name", "Value": "web@platform"}])
}

/// Whether `tags` holds both user tags.
fn has_user_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let tags: Vec<(&str, &str)> = tags.into_iter().collect();
    tags.contains(&("cost-center", "4711")) && tags.contains(&("team name", "web@platform"))
}

/// Every ALB, target group and listener of shard `k`, its high alarm and its health check carry the user tags.
async fn assert_shard_tagged(aws: &AwsClients, k: u8) {
    let lb = aws.elbv2.describe_load_balancers().names(format!("web-s{k}")).send().await.unwrap();
    let lb_arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tg = aws.elbv2.describe_target_groups().names(format!("web-s{k}-tg")).send().await.unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap();
    let mut arns = vec![lb_arn, tg_arn];
    arns.extend(listeners.listeners().iter().filter_map(|l| l.listener_arn().map(str::to_owned)));
    assert_eq!(arns.len(), 4, "ALB, TG and two listeners");
    let described = aws.elbv2.describe_tags().set_resource_arns(Some(arns)).send().await.unwrap();
    for description in described.tag_descriptions() {
        let tags = description.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)));
        assert!(has_user_tags(tags), "{description:?}");
    }

    let alarm = format!("strata-web-s{k}-requests-high");
    let alarms = aws.cloudwatch.describe_alarms().alarm_names(&alarm).send().await.unwrap();
    let alarm_arn = alarms.metric_alarms()[0].alarm_arn().unwrap();
    let tags = aws.cloudwatch.list_tags_for_resource().resource_arn(alarm_arn).send().await.unwrap();
    assert!(has_user_tags(tags.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))), "{alarm}: {tags:?}");

    let checks = aws.route53.list_health_checks().send().await.unwrap();
    let reference = format!("strata-web-s{k}-");
    let check = checks.health_checks().iter().find(|c| c.caller_reference().starts_with(&reference)).expect("a check");
    let tags = aws
        .route53
        .list_tags_for_resource()
        .resource_type(TagResourceType::Healthcheck)
        .resource_id(check.id())
        .send()
        .await
        .unwrap();
    let set = tags.resource_tag_set().expect("tags");
    assert!(has_user_tags(set.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))), "{set:?}");
    assert!(set.tags().len() <= 10, "within Route 53's 10 tags per health check: {set:?}");
}

#[tokio::test]
async fn the_tags_property_reaches_every_resource_of_a_create_and_of_a_scale_out() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let created = provision(&emulator, &fixture, "create", |p| p["Tags"] = user_tags());
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let aws = emulator.clients(REGION).await;
    assert_shard_tagged(&aws, 0).await;

    let out = run_function("alb-scaler", &emulator.env(REGION), &[event("alb-scaler/alarm-action.json")]);
    out.outcomes[0].first_report::<ScaleReport>();
    assert_shard_tagged(&aws, 1).await;
}

#[tokio::test]
async fn too_many_tags_are_refused_before_any_aws_call() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}]));
    let before = emulator.calls().len();
    let six: Vec<_> = (0..6).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect();
    let refused = provision(&emulator, &fixture, "create", |p| p["Tags"] = json!(six));
    assert_eq!(refused.status(), CfnStatus::Failed, "{refused}");
    assert!(refused.reason().contains("Tags"), "{refused}");
    let writes: Vec<String> =
        mutating(&emulator.calls()[before..]).into_iter().filter(|c| !c.starts_with("s3:")).collect();
    assert!(writes.is_empty(), "nothing made: {writes:?}");
}

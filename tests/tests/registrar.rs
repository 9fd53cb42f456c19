//! The asg-registrar, run as its real binary on `events/asg-registrar/*.json`, keeps the fleet's ASGs on the
//! right target groups in both sharding modes, and never touches what Strata does not own.

use aws_sdk_autoscaling::types::Tag;
use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::register::{AttachmentChangeView, RegistrarReport};
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::state::attached;
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";

/// A two-shard fleet selecting ASGs by the tag `strata:fleet=web` (plus web-a by name).
async fn fleet(emulator: &Emulator, mode: &str) -> (Fixture, AwsClients) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "other-team", "size": 1}]));
    let answer = provision(emulator, &fixture, "create", |p| {
        p["AutoScalingGroupNames"] = json!(["web-a"]);
        p["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
        p["ShardingMode"] = json!(mode);
        p["Limits"]["MinShards"] = json!("2");
        p["Limits"]["TargetsPerShard"] = json!("4");
    });
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    (fixture, emulator.clients(REGION).await)
}

fn new_tagged_asg(emulator: &Emulator, name: &str, size: u32) {
    emulator.seed(REGION, json!([{"name": name, "size": size, "tags": {"strata:fleet": "web"}}]));
}

async fn fleet_tgs(aws: &AwsClients) -> Vec<String> {
    let out = aws.elbv2.describe_target_groups().names("web-s0-tg").names("web-s1-tg").send().await.unwrap();
    let mut arns: Vec<String> =
        out.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_owned)).collect();
    arns.sort();
    arns
}

fn register(emulator: &Emulator, events: &[Value]) -> Vec<Outcome> {
    run_function("asg-registrar", &emulator.env(REGION), events).outcomes
}

/// The registrar's report on the fleet.
fn report(outcome: &Outcome) -> RegistrarReport {
    outcome.first_report()
}

#[tokio::test]
async fn mirror_mode_attaches_a_new_fleet_asg_to_every_shard_and_a_replay_changes_nothing() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "mirror").await;
    new_tagged_asg(&emulator, "web-c", 2);
    let outcomes =
        register(&emulator, &[event("asg-registrar/create-asg.json"), event("asg-registrar/create-asg.json")]);
    assert_eq!(attached(&aws, "web-c").await, fleet_tgs(&aws).await);
    let first = report(&outcomes[0]).changes;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(report(&outcomes[1]).changes, [], "the same event twice is one change");
    assert!(attached(&aws, "other-team").await.is_empty(), "an ASG outside the fleet is never touched");
}

#[tokio::test]
async fn partition_mode_puts_a_new_asg_on_exactly_one_shard_with_headroom() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "partition").await;
    let web_a = attached(&aws, "web-a").await;
    assert_eq!(web_a.len(), 1, "partition: one shard per ASG");
    new_tagged_asg(&emulator, "web-c", 2);
    register(&emulator, &[event("asg-registrar/instance-launch.json")]);
    let web_c = attached(&aws, "web-c").await;
    assert_eq!(web_c.len(), 1);
    assert_ne!(web_c, web_a, "placed on the shard with the most headroom");
}

#[tokio::test]
async fn partition_mode_reports_no_target_room_when_every_shard_is_full() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "partition").await;
    new_tagged_asg(&emulator, "web-c", 2);
    new_tagged_asg(&emulator, "web-d", 3);
    let outcomes = register(&emulator, &[event("asg-registrar/schedule.json")]);
    let report = report(&outcomes[0]);
    assert_eq!(report.no_target_room, ["web-d"], "{report:?}");
    assert!(attached(&aws, "web-d").await.is_empty());
}

#[tokio::test]
async fn an_asg_that_loses_the_fleet_tag_is_detached_from_fleet_tgs_only() {
    let emulator = Emulator::start();
    let (fixture, aws) = fleet(&emulator, "mirror").await;
    new_tagged_asg(&emulator, "web-c", 1);
    register(&emulator, &[event("asg-registrar/create-asg.json")]);
    let foreign = aws
        .elbv2
        .create_target_group()
        .name("payments-tg")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&fixture.vpc_id)
        .send()
        .await
        .unwrap();
    let foreign_arn = foreign.target_groups()[0].target_group_arn().unwrap().to_owned();
    aws.autoscaling
        .attach_load_balancer_target_groups()
        .auto_scaling_group_name("web-c")
        .target_group_arns(&foreign_arn)
        .send()
        .await
        .unwrap();
    let tag = Tag::builder()
        .resource_id("web-c")
        .resource_type("auto-scaling-group")
        .key("strata:fleet")
        .value("web")
        .build();
    aws.autoscaling.delete_tags().tags(tag).send().await.unwrap();

    let outcomes = register(&emulator, &[event("asg-registrar/tag-change.json")]);
    assert_eq!(attached(&aws, "web-c").await, vec![foreign_arn], "only Strata's TGs are detached");
    assert_eq!(report(&outcomes[0]).changes[0].asg, "web-c");
}

#[tokio::test]
async fn a_deleted_asg_event_changes_nothing_else() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "mirror").await;
    let before = attached(&aws, "web-a").await;
    let outcomes = register(&emulator, &[event("asg-registrar/delete-asg.json")]);
    assert_eq!(report(&outcomes[0]).changes, []);
    assert_eq!(attached(&aws, "web-a").await, before);
}

#[tokio::test]
async fn scheduled_reconcile_repairs_an_attachment_removed_out_of_band_and_reports_it() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "mirror").await;
    let tgs = fleet_tgs(&aws).await;
    aws.autoscaling
        .detach_load_balancer_target_groups()
        .auto_scaling_group_name("web-a")
        .target_group_arns(&tgs[1])
        .send()
        .await
        .unwrap();
    let outcomes = register(&emulator, &[event("asg-registrar/schedule.json")]);
    assert_eq!(attached(&aws, "web-a").await, tgs, "drift repaired");
    let repaired = AttachmentChangeView { asg: "web-a".into(), attached: vec![tgs[1].clone()], detached: vec![] };
    assert_eq!(report(&outcomes[0]).changes, [repaired]);
}

#[tokio::test]
async fn events_of_another_region_or_malformed_make_no_mutating_call() {
    let emulator = Emulator::start();
    let mut other_region = event("asg-registrar/create-asg.json");
    other_region["region"] = json!("eu-west-1");
    let outcomes = register(&emulator, &[other_region, json!({"detail-type": 7})]);
    let ignored = outcomes[0].answer::<RegistrarReport>();
    assert!(ignored.ignored().unwrap().contains("region"), "{ignored:?}");
    assert!(matches!(&outcomes[1], Outcome::Error { error_type, .. } if error_type == "InvalidEvent"));
    assert!(emulator.calls().is_empty(), "{:?}", emulator.calls());
}

#[tokio::test]
async fn another_account_s_events_and_asg_names_aws_would_refuse_make_no_aws_call() {
    let emulator = Emulator::start();
    let (_, aws) = fleet(&emulator, "mirror").await;
    new_tagged_asg(&emulator, "web-c", 2);
    let foreign = |name: &str| {
        let mut e = event(name);
        e["account"] = json!("999999999999");
        e
    };
    let mut long_name = event("asg-registrar/create-asg.json");
    long_name["detail"]["requestParameters"]["autoScalingGroupName"] = json!("a".repeat(256));
    let mut huge_name = event("asg-registrar/instance-launch.json");
    huge_name["detail"]["AutoScalingGroupName"] = json!("a".repeat(1 << 20));
    let before = emulator.calls().len();
    let outcomes = register(
        &emulator,
        &[foreign("asg-registrar/tag-change.json"), foreign("asg-registrar/create-asg.json"), long_name, huge_name],
    );
    for outcome in &outcomes[..2] {
        let ignored = outcome.answer::<RegistrarReport>().ignored().unwrap_or_default().to_owned();
        assert!(ignored.contains("account 999999999999"), "{outcome:?}");
    }
    for outcome in &outcomes[2..] {
        assert!(
            matches!(outcome, Outcome::Error { error_type, error_message } if error_type == "InvalidEvent" && error_message.contains("255")),
            "{outcome:?}"
        );
    }
    assert_eq!(emulator.calls()[before..], [] as [String; 0], "no AWS call at all");
    assert!(attached(&aws, "web-c").await.is_empty(), "another account's tag change attached nothing");
}

//! The dns-rebalancer, run as its real binary on `events/dns-rebalancer/*.json`, moves Route 53 weight to
//! where the healthy capacity is, and touches only its own fleet's records.

use serde_json::json;
use strata_core::aws::AwsClients;
use strata_core::rebalance::RebalanceReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::fixtures::{upsert, weighted_alias};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::state::weights;
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";

/// A partitioned fleet of two shards: web-a's 4 instances on one, web-b's 4 on the other.
async fn two_shard_fleet(emulator: &Emulator) -> (Fixture, AwsClients) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 4}, {"name": "web-b", "size": 4}]));
    let answer = provision(emulator, &fixture, "create", |p| {
        p["ShardingMode"] = json!("partition");
        p["Limits"]["MinShards"] = json!("2");
    });
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    (fixture.clone(), emulator.clients(REGION).await)
}

/// Which shard holds an ASG's targets (partition mode).
async fn shard_of(aws: &AwsClients, asg: &str) -> String {
    let attached =
        aws.autoscaling.describe_load_balancer_target_groups().auto_scaling_group_name(asg).send().await.unwrap();
    let tg = attached.load_balancer_target_groups()[0].load_balancer_target_group_arn().unwrap();
    let name = tg.split(":targetgroup/").nth(1).unwrap().split('/').next().unwrap();
    name.trim_start_matches("web-").trim_end_matches("-tg").to_owned()
}

#[tokio::test]
async fn a_shard_losing_half_its_healthy_targets_gets_half_the_weight_after_one_invocation() {
    let emulator = Emulator::start();
    let (fixture, aws) = two_shard_fleet(&emulator).await;
    let weak = shard_of(&aws, "web-b").await;
    let strong = shard_of(&aws, "web-a").await;
    assert_ne!(weak, strong, "partition mode puts each ASG on its own shard");
    emulator.stop_instances(REGION, "web-b", 2);
    // A foreign weighted record under the same name must keep its weight.
    upsert(
        &aws,
        &fixture.hosted_zone_id,
        weighted_alias("us-east-1.api.example.com", "blue", "blue.example.net", "Z2P70J7EXAMPLE", 77),
    )
    .await;

    let run = run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
    let report: RebalanceReport = run.outcomes[0].first_report();
    assert_eq!(report.fleet.as_str(), "web");

    let weights = weights(&aws, &fixture.hosted_zone_id).await;
    let weight_of = |shard: &str| weights.iter().find(|(id, _)| id.ends_with(&format!(":{shard}"))).unwrap().1;
    assert_eq!(weight_of(&strong), 255);
    assert_eq!(weight_of(&weak), 128, "half the healthy targets, half the weight: {weights:?}");
    assert!(weights.contains(&("blue".to_owned(), 77)), "a foreign record is untouched: {weights:?}");
    assert!(run.logs.contains("\"Weight.s"), "EMF weight metrics are emitted");

    // A second pass over an unchanged fleet writes nothing.
    let before = emulator.calls().len();
    run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
    assert!(
        !emulator.calls()[before..].iter().any(|c| c.contains("ChangeResourceRecordSets")),
        "steady state writes nothing"
    );
}

#[tokio::test]
async fn dry_run_plans_the_change_and_writes_nothing() {
    let emulator = Emulator::start();
    let (fixture, aws) = two_shard_fleet(&emulator).await;
    emulator.stop_instances(REGION, "web-b", 2);
    let before = weights(&aws, &fixture.hosted_zone_id).await;
    let mut env = emulator.env(REGION);
    env.push(("STRATA_DRY_RUN".into(), "true".into()));
    let run = run_function("dns-rebalancer", &env, &[event("dns-rebalancer/schedule.json")]);
    let report: RebalanceReport = run.outcomes[0].first_report();
    assert_eq!(report.changes.len(), 1, "{report:?}");
    assert_eq!(weights(&aws, &fixture.hosted_zone_id).await, before);
}

#[tokio::test]
async fn alarm_of_another_system_is_ignored_and_a_malformed_event_is_refused_without_aws_calls() {
    let emulator = Emulator::start();
    let env = emulator.env(REGION);
    let run = run_function(
        "dns-rebalancer",
        &env,
        &[event("alb-scaler/alarm-foreign.json"), event("malformed/not-an-event.json")],
    );
    let ignored = run.outcomes[0].answer::<RebalanceReport>();
    assert!(ignored.ignored().unwrap().contains("not Strata's"), "{ignored:?}");
    assert!(matches!(&run.outcomes[1], Outcome::Error { error_type, .. } if error_type == "InvalidEvent"));
    assert!(emulator.calls().is_empty(), "{:?}", emulator.calls());
}

#[test]
fn another_account_s_schedule_and_names_aws_would_refuse_make_no_aws_call() {
    let emulator = Emulator::start();
    let mut foreign = event("dns-rebalancer/schedule.json");
    foreign["account"] = json!("999999999999");
    let mut foreign_alarm = event("alb-scaler/alarm-eventbridge.json");
    foreign_alarm["account"] = json!("999999999999");
    let mut long_alarm = event("alb-scaler/alarm-eventbridge.json");
    long_alarm["detail"]["alarmName"] = json!(format!("strata-web-{}", "a".repeat(250)));
    let huge_fleet = json!({"fleet": "w".repeat(1 << 20)});
    let run = run_function("dns-rebalancer", &emulator.env(REGION), &[foreign, foreign_alarm, long_alarm, huge_fleet]);
    for outcome in &run.outcomes[..2] {
        let ignored = outcome.answer::<RebalanceReport>().ignored().unwrap_or_default().to_owned();
        assert!(ignored.contains("account 999999999999"), "{outcome:?}");
    }
    for outcome in &run.outcomes[2..] {
        assert!(matches!(outcome, Outcome::Error { error_type, .. } if error_type == "InvalidEvent"), "{outcome:?}");
    }
    assert!(run.outcomes.iter().all(|o| format!("{o:?}").len() < 2000), "a huge name is not echoed back");
    assert!(emulator.calls().is_empty(), "{:?}", emulator.calls());
}

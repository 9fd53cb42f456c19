//! Issue 17, part 4: a paused fleet (the `Paused` property, or `strata pause`) is observed and reported on by
//! the alb-scaler, dns-rebalancer and asg-registrar, and changed by none of them: high and low alarms,
//! schedules and ASG events alike. `strata pause` outlives a stack Update; only `strata resume` lifts it.

use std::process::Command;

use serde_json::{Value, json};
use strata_cli::pause::PauseReport;
use strata_cli::report::RegionReport;
use strata_core::aws::AwsClients;
use strata_core::model::Pause;
use strata_core::plan::scale::{ScaleNote, ScaleStep};
use strata_core::plan::weights::WeightReason;
use strata_core::rebalance::RebalanceReport;
use strata_core::register::RegistrarReport;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{Outcome, binary, run_function};
use strata_tests::state::{attached, fleet_snapshot, load_balancer_names, mutating, weights};
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";

fn run(emulator: &Emulator, function: &str, events: &[Value]) -> Vec<Outcome> {
    run_function(function, &emulator.env(REGION), events).outcomes
}

fn strata(emulator: &Emulator, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary("strata")).args(args).envs(emulator.env(REGION)).output().expect("run strata");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn provisioned(emulator: &Emulator, fixture: &Fixture, request: &str, paused: &str) {
    let answer = provision(emulator, fixture, request, |p| {
        p["DeregistrationDelaySeconds"] = json!("0");
        p["Paused"] = json!(paused);
    });
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
}

async fn detach_all(aws: &AwsClients, asg: &str) {
    let target_groups = attached(aws, asg).await;
    let detach = aws.autoscaling.detach_load_balancer_target_groups().auto_scaling_group_name(asg);
    detach.set_target_group_arns(Some(target_groups)).send().await.expect("DetachLoadBalancerTargetGroups");
}

/// Every event of the three functions, each answered as paused by `by`, and no AWS call that writes.
async fn assert_every_function_only_observes(emulator: &Emulator, fixture: &Fixture, aws: &AwsClients, by: &Pause) {
    let snapshot = || fleet_snapshot(aws, &fixture.hosted_zone_id, "web", &["web-a", "web-b"]);
    let before_state = snapshot().await;
    let before_calls = emulator.calls().len();
    let scaler_events = ["alarm-action", "alarm-eventbridge", "alarm-sns", "alarm-low", "schedule"];
    for name in scaler_events {
        let outcome = &run(emulator, "alb-scaler", &[event(&format!("alb-scaler/{name}.json"))])[0];
        let report = outcome.first_report::<ScaleReport>();
        assert_eq!(report.paused.as_ref(), Some(by), "{name}: {report:?}");
        assert_eq!((report.plan.steps, report.plan.notes), (vec![], vec![ScaleNote::Paused]), "{name}");
    }
    let rebalanced = run(emulator, "dns-rebalancer", &[event("dns-rebalancer/schedule.json")]);
    let report = rebalanced[0].first_report::<RebalanceReport>();
    assert_eq!((report.paused.as_ref(), report.reason, report.records_written), (Some(by), WeightReason::Paused, 0));
    for name in ["schedule", "create-asg", "instance-launch", "tag-change"] {
        let outcome = &run(emulator, "asg-registrar", &[event(&format!("asg-registrar/{name}.json"))])[0];
        if outcome.answer::<RegistrarReport>().ignored().is_some() {
            continue;
        }
        for report in outcome.answer::<RegistrarReport>().fleets() {
            assert_eq!(report.paused.as_ref(), Some(by), "{name}: {report:?}");
            assert!(report.changes.is_empty(), "{name}: {report:?}");
        }
    }
    let writes = mutating(&emulator.calls()[before_calls..]);
    assert!(writes.is_empty(), "a paused fleet is only read: {writes:?}");
    assert_eq!(snapshot().await, before_state);
}

#[tokio::test]
async fn the_paused_property_stops_every_function_and_an_update_lifts_it() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    provisioned(&emulator, &fixture, "create", "true");
    let aws = emulator.clients(REGION).await;
    // Drift the registrar would repair: web-b detached by hand.
    detach_all(&aws, "web-b").await;

    assert_every_function_only_observes(&emulator, &fixture, &aws, &Pause::Property).await;
    assert_eq!(load_balancer_names(&aws).await, ["web-s0"]);
    assert!(attached(&aws, "web-b").await.is_empty(), "the drift stays while paused");

    provisioned(&emulator, &fixture, "update", "false");
    let scaled = run(&emulator, "alb-scaler", &[event("alb-scaler/alarm-action.json")]);
    let report = scaled[0].first_report::<ScaleReport>();
    assert_eq!(report.paused, None);
    assert!(matches!(report.plan.steps[..], [ScaleStep::Create { .. }]), "{report:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"], "the same alarm now adds a shard");
    detach_all(&aws, "web-b").await;
    run(&emulator, "asg-registrar", &[event("asg-registrar/schedule.json")])[0].answer::<RegistrarReport>();
    assert_eq!(attached(&aws, "web-b").await.len(), 2, "the registrar repairs again");
}

#[tokio::test]
async fn strata_pause_outlives_an_update_and_only_resume_lifts_it() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    provisioned(&emulator, &fixture, "create", "false");
    let aws = emulator.clients(REGION).await;
    run(&emulator, "alb-scaler", &[event("alb-scaler/alarm-action.json")])[0].first_report::<ScaleReport>();
    let ramp_start = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(ramp_start.contains(&("strata:web:us-east-1:s1".into(), 8)), "{ramp_start:?}");

    let (ok, stdout, stderr) = strata(&emulator, &["pause", "--fleet", "web", "--output", "json"]);
    assert!(ok, "{stderr}");
    let reports: Vec<PauseReport> = serde_json::from_str(&stdout).expect("JSON for scripts");
    assert_eq!(reports[0].load_balancers_changed, ["web-s0", "web-s1"]);
    let Some(Pause::Command { since }) = reports[0].paused.clone() else { panic!("{reports:?}") };
    let by = Pause::Command { since };
    let (ok, again, _) = strata(&emulator, &["pause", "--fleet", "web", "--output", "json"]);
    let again: Vec<PauseReport> = serde_json::from_str(&again).unwrap();
    assert!(ok && again[0].load_balancers_changed.is_empty() && again[0].paused.as_ref() == Some(&by), "idempotent");

    assert_every_function_only_observes(&emulator, &fixture, &aws, &by).await;
    provisioned(&emulator, &fixture, "update", "false");
    assert_every_function_only_observes(&emulator, &fixture, &aws, &by).await;
    let (_, status, _) = strata(&emulator, &["status", "--fleet", "web", "--output", "json"]);
    let status: Vec<RegionReport> = serde_json::from_str(&status).unwrap();
    assert_eq!(status[0].paused.as_ref(), Some(&by), "strata status says who paused it");
    let (_, table, _) = strata(&emulator, &["status", "--fleet", "web"]);
    assert!(table.contains("paused by `strata pause` since"), "{table}");

    let (ok, stdout, stderr) = strata(&emulator, &["resume", "--fleet", "web"]);
    assert!(ok && stdout.contains("not paused (2 ALB(s) changed)"), "{stdout}{stderr}");
    let rebalanced = run(&emulator, "dns-rebalancer", &[event("dns-rebalancer/schedule.json")]);
    assert!(rebalanced[0].first_report::<RebalanceReport>().records_written > 0, "normal work again");
    let ramped = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(ramped.contains(&("strata:web:us-east-1:s1".into(), 40)), "the ramp goes on: {ramped:?}");

    let (ok, _, stderr) = strata(&emulator, &["pause", "--fleet", "nope"]);
    assert!(!ok && stderr.contains("fleet nope has no ALB in us-east-1: nothing to pause"), "{stderr}");
}

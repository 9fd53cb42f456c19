//! The `strata` operator CLI against the emulator: status and plan, as a table and as JSON, read-only.

use std::process::Command;

use serde_json::json;
use strata_cli::report::RegionReport;
use strata_core::plan::weights::WeightChange;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{binary, run_function};
use strata_tests::{Emulator, event, s};

const REGION: &str = "us-east-1";

fn strata(emulator: &Emulator, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary("strata")).args(args).envs(emulator.env(REGION)).output().expect("run strata");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn two_shard_fleet(emulator: &Emulator) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let created = provision(emulator, &fixture, "create", |_| {});
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    run_function("alb-scaler", &emulator.env(REGION), &[event("alb-scaler/alarm-action.json")]).outcomes[0]
        .first_report::<ScaleReport>();
}

#[test]
fn status_shows_every_shard_as_json_and_as_a_table() {
    let emulator = Emulator::start();
    two_shard_fleet(&emulator);
    let (ok, stdout, stderr) = strata(&emulator, &["status", "--fleet", "web", "--region", REGION, "--output", "json"]);
    assert!(ok, "{stderr}");
    let reports: Vec<RegionReport> = serde_json::from_str(&stdout).expect("JSON for scripts");
    let shards = &reports[0].shards;
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0].shard, "s0");
    assert_eq!(shards[0].load_balancer, "web-s0");
    assert_eq!((shards[0].healthy_targets, shards[0].total_targets), (3, 3));
    assert_eq!(shards[0].weight, Some(255));
    assert_eq!(shards[1].weight, Some(8));
    assert_eq!(shards[1].state, "serving");

    let (ok, table, _) = strata(&emulator, &["status", "--fleet", "web"]);
    assert!(ok);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("REGION") && lines[0].contains("WEIGHT") && lines[0].contains("STATE"), "{table}");
    assert!(lines[1].contains("web-s0") && lines[1].contains("3/3") && lines[1].contains("255"), "{table}");
}

#[test]
fn plan_shows_what_would_change_and_changes_nothing() {
    let emulator = Emulator::start();
    two_shard_fleet(&emulator);
    let before = emulator.calls().len();
    let (ok, stdout, stderr) = strata(&emulator, &["plan", "--fleet", "web", "--output", "json"]);
    assert!(ok, "{stderr}");
    let reports: Vec<RegionReport> = serde_json::from_str(&stdout).expect("JSON for scripts");
    let weight_plan = reports[0].weight_plan.as_ref().expect("a weight plan");
    assert_eq!(weight_plan.changes, [WeightChange { index: s(1), from: Some(8), to: 40 }], "the ramp's next step");
    let (why, tidy) = &reports[0].scale_plans.as_ref().expect("scale plans")[0];
    assert_eq!(why, "schedule (tidy)");
    assert!(tidy.steps.is_empty(), "{tidy:?}");
    let calls = &emulator.calls()[before..];
    let mutating: Vec<_> = calls
        .iter()
        .filter(|c| !c.contains(":Describe") && !c.contains(":List") && !c.contains(":Get") && !c.contains("GET "))
        .collect();
    assert!(mutating.is_empty(), "plan is read-only: {mutating:?}");
    let (_, table, _) = strata(&emulator, &["plan", "--fleet", "web"]);
    assert!(table.contains("rebalancer: s1 weight 8 -> 40"), "{table}");
}

#[test]
fn help_explains_every_flag_and_bad_input_is_a_clear_error() {
    let emulator = Emulator::start();
    let (ok, help, _) = strata(&emulator, &["--help"]);
    assert!(ok && help.contains("status") && help.contains("plan"));
    for command in ["status", "plan"] {
        let (_, help, _) = strata(&emulator, &[command, "--help"]);
        assert!(help.contains("--fleet") && help.contains("FleetName"), "{help}");
        assert!(help.contains("--region") && help.contains("repeat for several"), "{help}");
        assert!(help.contains("--output") && help.contains("json"), "{help}");
    }
    let (ok, _, stderr) = strata(&emulator, &["status", "--fleet", "Not_A_Fleet"]);
    assert!(!ok && stderr.contains("FleetName") && stderr.contains("a-z"), "{stderr}");
    assert!(emulator.calls().is_empty());
}

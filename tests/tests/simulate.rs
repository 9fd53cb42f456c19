//! `strata simulate`, the binary: traffic from `events/traffic/`, the example fleet, a chart, and clear errors.
//! The expected minutes are worked by hand from the alarm, ALB, DNS and drain models (docs/operations.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use strata_tests::runtime::binary;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn simulate(args: &[&str], chart: &Path) -> (bool, String, String) {
    let out = Command::new(binary("strata"))
        .arg("simulate")
        .args(args)
        .arg("--chart")
        .arg(chart)
        .output()
        .expect("run strata simulate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-simulate-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_request_count_export_is_replayed_and_every_step_lands_on_its_worked_minute() {
    let dir = scratch("export");
    let chart = dir.join("chart.svg");
    let traffic = repo("events/traffic/request-count-spike.csv");
    let spec = repo("infra/examples/fleet-us-east-1.yaml");
    let (ok, stdout, stderr) = simulate(
        &["--traffic", traffic.to_str().unwrap(), "--spec", spec.to_str().unwrap(), "--output", "json"],
        &chart,
    );
    assert!(ok, "{stderr}");
    let sim: Value = serde_json::from_str(&stdout).unwrap();
    let summary = &sim["summary"];
    // 25,000 RPS for 30 minutes, 45,000 for 60 (alarm level: 80 % of 50,000 = 40,000), then 10,000.
    // Breaches at minutes 30, 31, 32: ALARM and shard 1 at 32, active 4 minutes later (36), ramped from 36 by 32
    // a pass; clients see its first weight (32 of 287) one TTL after it was written, at 38: shard 0 then takes
    // 45,000 × 255/287 = 39,983 < 40,000.
    let crossing = &summary["crossings"][0];
    let minutes: Vec<&Value> =
        ["minute", "alarm_minute", "shard_created_minute", "shard_active_minute", "relief_minute"]
            .iter()
            .map(|k| &crossing[*k])
            .collect();
    assert_eq!(minutes, [30, 32, 32, 36, 38]);
    // From minute 90, 10,000 RPS is below the low level for 2 shards (1 × 50,000 × 30 % = 15,000): 15 minutes
    // later (minute 104) shard 1 is drained at the end of that minute, and removed once TTL 60 s + deregistration
    // delay 300 s have passed: at the end of minute 110.
    let event_minute =
        |kind: &str| sim["events"].as_array().unwrap().iter().find(|e| e["event"] == kind).map(|e| e["minute"].clone());
    assert_eq!(event_minute("low_alarm"), Some(104.into()));
    assert_eq!(event_minute("drain_started"), Some(104.into()));
    assert_eq!(event_minute("shard_removed"), Some(110.into()));
    assert_eq!((summary["peak_shards"].as_u64(), summary["final_shards"].as_u64()), (Some(2), Some(1)));
    assert_eq!(summary["minutes_over_limit"], 0);
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("\nshard limit\n") && svg.contains("\ns1\n"), "{}", &svg[..200]);
}

#[test]
fn with_no_input_the_built_in_day_is_summarised_and_charted() {
    let dir = scratch("day");
    let chart = dir.join("day.svg");
    let (ok, stdout, stderr) = simulate(&[], &chart);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("1440 minutes simulated"), "{stdout}");
    assert!(stdout.contains("ALARM LEVEL CROSSED") && stdout.contains(&format!("chart: {}", chart.display())));
    assert!(std::fs::metadata(&chart).unwrap().len() > 1000);
}

#[test]
fn a_malformed_csv_or_spec_is_refused_by_line_or_field() {
    let dir = scratch("bad");
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "Timestamp,RequestCount\n2026-11-25 17:00:00,60\n2026-11-25 17:01:00,lots\n").unwrap();
    let (ok, stdout, stderr) = simulate(&["--traffic", csv.to_str().unwrap()], &dir.join("c.svg"));
    assert!(!ok && stdout.is_empty());
    assert!(stderr.contains("bad.csv: line 3: \"lots\" is not a request rate"), "{stderr}");

    let spec = dir.join("fleet.yaml");
    std::fs::write(&spec, "FleetName: web\nDomain: api.example.com\nLimits:\n  MinShards: 9\n  MaxShards: 2\n")
        .unwrap();
    let (ok, _, stderr) = simulate(&["--spec", spec.to_str().unwrap()], &dir.join("c.svg"));
    assert!(!ok);
    assert!(stderr.contains("fleet.yaml") && stderr.contains("Limits.MinShards"), "{stderr}");
    assert!(!dir.join("c.svg").exists(), "no chart for a refused run");
}

/// The chart the README shows is the one the simulator draws today (`STRATA_BLESS=1` redraws it).
#[test]
fn the_readme_chart_is_the_simulators_own() {
    let committed = repo("docs/simulation.svg");
    let dir = scratch("readme");
    let fresh = dir.join("simulation.svg");
    let spec = repo("infra/examples/fleet-us-east-1.yaml");
    let (ok, _, stderr) = simulate(&["--spec", spec.to_str().unwrap()], &fresh);
    assert!(ok, "{stderr}");
    let drawn = std::fs::read_to_string(&fresh).unwrap();
    if std::env::var_os("STRATA_BLESS").is_some() {
        std::fs::write(&committed, &drawn).unwrap();
    }
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    assert!(readme.contains("](docs/simulation.svg)") && readme.contains("--chart docs/simulation.svg"));
    assert!(
        std::fs::read_to_string(&committed).unwrap() == drawn,
        "docs/simulation.svg is stale: STRATA_BLESS=1 redraws it"
    );
}

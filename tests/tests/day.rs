//! A compressed day end to end: the traffic through the real binaries on the emulator (tests/src/day.rs) ends
//! with the fleet `strata simulate`'s engine predicts for the same traffic and fleet, minute by minute.

use serde_json::Value;
use strata_core::names::FleetName;
use strata_core::policy::FleetPolicy;
use strata_core::simulate::traffic::{Traffic, TrafficPoint};
use strata_core::simulate::{Minute, simulate};
use strata_core::spec::FleetSpec;
use strata_tests::Emulator;
use strata_tests::census::census;
use strata_tests::custom_resource::provision;
use strata_tests::day::{fleet_properties, run_day, settings};

const REGION: &str = "us-east-1";

fn series(parts: &[(usize, f64)]) -> Traffic {
    let points = parts
        .iter()
        .flat_map(|&(n, rps)| std::iter::repeat_n(TrafficPoint { requests_per_second: rps, healthy_targets: None }, n))
        .collect();
    Traffic { start: 1_767_225_600, points }
}

fn shape(minutes: &[Minute]) -> Vec<(u32, usize, Vec<u8>)> {
    minutes.iter().map(|m| (m.minute, m.shards.len(), m.shards.iter().map(|s| s.weight).collect())).collect()
}

#[tokio::test]
async fn a_compressed_day_ends_where_the_simulator_said_it_would() {
    let emulator = Emulator::start();
    let fixture =
        emulator.seed(REGION, serde_json::json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let mut properties = Value::Null;
    let answer = provision(&emulator, &fixture, "create", |p| {
        fleet_properties(p);
        properties = p.clone();
    });
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    // 1,000 RPS a shard, alarm at 800: 500 RPS, then 2,000 (three shards' worth), then 200 (below the low level).
    let traffic = series(&[(4, 500.0), (16, 2_000.0), (20, 200.0)]);
    let policy = FleetPolicy::from_spec(&FleetSpec::from_properties(&properties).unwrap());
    let predicted = simulate(&FleetName::parse("web").unwrap(), &policy, &traffic, &settings());
    let ran = run_day(&emulator, &fixture, "web", &traffic).await;

    assert!(predicted.summary.peak_shards >= 3, "the traffic needs shards: {:?}", predicted.summary);
    assert!(predicted.summary.shards_removed >= 1, "and load falls: {:?}", predicted.summary);
    let (want, got) = (shape(&predicted.minutes), shape(&ran));
    assert_eq!(got.len(), want.len());
    for (w, g) in want.iter().zip(&got) {
        println!("minute {:>2}: predicted {} shards {:?}, ran {} shards {:?}", w.0, w.1, w.2, g.1, g.2);
    }
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w, "minute {}: (minute, shards, weights) ran vs predicted", w.0);
    }
    // No leak: every resource belongs to a shard the fleet still has, and none is doubled.
    let aws = emulator.clients(REGION).await;
    let held = census(&aws, &fixture.hosted_zone_id, &["web-a", "web-b"]).await;
    let kept: Vec<String> = ran.last().unwrap().shards.iter().map(|s| s.index.to_string()).collect();
    for (key, count) in &held {
        let shard = key.split(' ').next().unwrap();
        assert!(shard == "-" || kept.iter().any(|k| k == shard), "{key} belongs to a removed shard: {held:?}");
        assert_eq!(*count, 1, "{key} is doubled: {held:?}");
    }
}

//! A compressed day end to end: the traffic through the real binaries on the emulator (tests/src/day.rs, which
//! reads the world with plain SDK calls, not Strata's `observe`) ends where `strata simulate`'s engine predicts,
//! minute by minute, and at the minutes worked out by hand below.

use std::collections::BTreeSet;

use serde_json::Value;
use strata_core::names::{FleetName, ShardIndex};
use strata_core::policy::FleetPolicy;
use strata_core::simulate::simulate;
use strata_core::simulate::traffic::{Traffic, TrafficPoint};
use strata_core::spec::FleetSpec;
use strata_tests::Emulator;
use strata_tests::census::census;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::day::{DayMinute, fleet_properties, run_day, settings, shape_of_day, shape_of_simulation};

const REGION: &str = "us-east-1";

fn series(parts: &[(usize, f64)]) -> Traffic {
    let points = parts
        .iter()
        .flat_map(|&(n, rps)| std::iter::repeat_n(TrafficPoint { requests_per_second: rps, healthy_targets: None }, n))
        .collect();
    Traffic { start: 1_767_225_600, points }
}

fn shards_at(ran: &[DayMinute], minute: usize) -> Vec<(u8, Option<i64>)> {
    ran[minute].shards.iter().map(|s| (s.index.get(), s.weight)).collect()
}

#[tokio::test]
async fn a_compressed_day_ends_where_the_simulator_and_the_hand_worked_minutes_say() {
    let emulator = Emulator::start();
    let fixture =
        emulator.seed(REGION, serde_json::json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let mut properties = Value::Null;
    let answer = provision(&emulator, &fixture, "create", |p| {
        fleet_properties(p);
        properties = p.clone();
    });
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    // 1,000 RPS a shard, alarm at 800: 500 RPS for 4 minutes, 2,000 for 16, then 200 for 20.
    let traffic = series(&[(4, 500.0), (16, 2_000.0), (20, 200.0)]);
    let ran = run_day(&emulator, &fixture, "web", &traffic).await;

    // By hand. Minutes 4, 5, 6 breach s0's alarm (2,000 > 800): ALARM at 6, s1 is made and, its targets healthy
    // at once on the emulator, ramped in the same minute from 8 to 40, then by 32 a minute to 255 at 13.
    assert_eq!(shards_at(&ran, 5), [(0, Some(255))]);
    assert_eq!(shards_at(&ran, 6), [(0, Some(255)), (1, Some(40))]);
    assert_eq!(shards_at(&ran, 12), [(0, Some(255)), (1, Some(232))]);
    // Clients follow the weights of the minute before: s1 takes 2,000 × 40/295 = 271 at minute 7, then 440, 579,
    // 696, 794 (168/423, still below 800) at 11, then 879 (200/455) at 12, 953 at 13, 1,000 at 14: its third
    // breaching minute, so s2 is made at 14.
    let s1_load: Vec<f64> = (7..=14).map(|m| ran[m].shards[1].requests_per_second.round()).collect();
    assert_eq!(s1_load, [271.0, 440.0, 579.0, 696.0, 794.0, 879.0, 953.0, 1000.0]);
    assert_eq!(shards_at(&ran, 13).len(), 2);
    assert_eq!(shards_at(&ran, 14), [(0, Some(255)), (1, Some(255)), (2, Some(40))]);
    // From minute 20, 200 RPS is below the low level of 3 shards (2 × 1,000 × 30 % = 600): 15 breaching minutes
    // (20..=34) put the low alarm in ALARM at 34; with no wait, the last shard (s2) is drained and removed then.
    assert_eq!(ran[33].shards.len(), 3);
    assert_eq!(shards_at(&ran, 34), [(0, Some(255)), (1, Some(255))]);
    assert_eq!(shards_at(&ran, 39), [(0, Some(255)), (1, Some(255))]);

    // Minute by minute, what the simulator predicted: the same shards, drain state and weights.
    let policy = FleetPolicy::from_spec(&FleetSpec::from_properties(&properties).unwrap());
    let predicted = simulate(&FleetName::parse("web").unwrap(), &policy, &traffic, &settings());
    let (want, got) = (shape_of_simulation(&predicted), shape_of_day(&ran));
    assert_eq!(got.len(), want.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w, "minute {}: ran vs predicted", w.0);
    }

    // No leak and nothing missing: every kept shard has the whole set of resources, once; nothing else is left.
    let aws = emulator.clients(REGION).await;
    let held = census(&aws, &fixture.hosted_zone_id, &["web-a", "web-b"]).await;
    let kept: BTreeSet<String> = ran.last().unwrap().shards.iter().map(|s| s.index.to_string()).collect();
    let kinds = |shard: &str| -> BTreeSet<String> {
        let of_shard = held.keys().filter_map(|k| k.strip_prefix(&format!("{shard} ")));
        of_shard.map(|kind| kind.split(" weight=").next().unwrap().to_owned()).collect()
    };
    let whole: BTreeSet<String> = [
        "alb",
        "tg",
        "listener:80",
        "listener:443",
        "record A",
        "health check",
        "alarm",
        "attached web-a",
        "attached web-b",
    ]
    .iter()
    .map(|k| (*k).to_owned())
    .collect();
    for shard in &kept {
        assert_eq!(kinds(shard), whole, "{shard}: {held:?}");
    }
    for (key, count) in &held {
        let shard = key.split(' ').next().unwrap();
        assert!(shard == "-" || kept.contains(shard), "{key} belongs to a removed shard: {held:?}");
        assert_eq!(*count, 1, "{key} is doubled: {held:?}");
    }
    assert!(ShardIndex::new(2).is_some_and(|s2| !kept.contains(&s2.to_string())));
}

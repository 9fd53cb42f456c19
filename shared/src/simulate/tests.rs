//! Hand-worked runs: each expected minute below is derived in the comments from the alarm, schedule, ALB and
//! DNS models, not read off a run.

use super::traffic::{Traffic, TrafficPoint};
use super::*;
use crate::spec::{FleetSpec, tests::valid_properties};

/// 1,000 RPS per shard, alarm at 80 % (800 RPS), scale-in at 30 %, 1..4 shards, ramp 32 a pass from 8,
/// deregistration delay 60 s.
fn policy() -> FleetPolicy {
    let mut props = valid_properties();
    props["Limits"] = serde_json::json!({
        "RequestsPerSecondPerShard": 1000, "MinShards": 1, "MaxShards": 4, "ScaleOutPercent": 80, "ScaleInPercent": 30
    });
    props["DeregistrationDelaySeconds"] = serde_json::json!(60);
    FleetPolicy::from_spec(&FleetSpec::from_properties(&props).unwrap())
}

fn series(parts: &[(usize, f64)]) -> Traffic {
    let points = parts
        .iter()
        .flat_map(|&(minutes, rps)| {
            std::iter::repeat_n(TrafficPoint { requests_per_second: rps, healthy_targets: None }, minutes)
        })
        .collect();
    Traffic { start: 1_767_225_600, points }
}

/// New ALBs active 3 minutes after they are made (the default assumes 4).
fn run(traffic: &Traffic) -> Simulation {
    let settings = SimSettings { alb_active_minutes: 3, ..SimSettings::default() };
    simulate(&FleetName::parse("web").unwrap(), &policy(), traffic, &settings)
}

fn at(sim: &Simulation, minute: usize, shard: u8) -> (f64, u8) {
    let s = sim.minutes[minute].shards.iter().find(|s| s.index.get() == shard).unwrap();
    (s.requests_per_second, s.weight)
}

fn minute_of(sim: &Simulation, wanted: &Event) -> Option<u32> {
    sim.events.iter().find(|e| &e.event == wanted).map(|e| e.minute)
}

fn shard(i: u8) -> ShardIndex {
    ShardIndex::new(i).unwrap()
}

#[test]
fn a_spike_above_the_alarm_is_relieved_by_one_new_shard_seven_minutes_after_it_began() {
    // 500 RPS for 10 minutes, then 900 (above the 800 alarm level, below the 1,000 limit).
    let sim = run(&series(&[(10, 500.0), (60, 900.0)]));
    // Minutes 10, 11, 12 breach: the third breaching period puts the high alarm in ALARM at minute 12,
    // and the scaler makes shard 1 in the same minute; its ALB is active 3 minutes later.
    assert_eq!(minute_of(&sim, &Event::HighAlarm { shard: shard(0) }), Some(12));
    assert_eq!(minute_of(&sim, &Event::ShardCreated { shard: shard(1) }), Some(12));
    assert_eq!(minute_of(&sim, &Event::ShardActive { shard: shard(1) }), Some(15));
    // It starts at InitialWeight 8, but has no healthy target yet: the rebalancer takes it to 0 the same minute,
    // then ramps it by 32 a pass from minute 15 (when it is active) to 255 at minute 22.
    assert_eq!(at(&sim, 12, 1).1, 0);
    assert_eq!(at(&sim, 14, 1).1, 0);
    assert_eq!((15..=22).map(|m| at(&sim, m, 1).1).collect::<Vec<_>>(), [32, 64, 96, 128, 160, 192, 224, 255]);
    // Clients follow a weight one TTL (a minute) after the minute it was written in: the first traffic
    // reaches shard 1 at minute 17, with 32 of 287: 900 × 32/287 = 100.35 RPS, leaving 799.65 on shard 0.
    assert_eq!(at(&sim, 16, 0).0, 900.0);
    assert!((at(&sim, 17, 1).0 - 900.0 * 32.0 / 287.0).abs() < 1e-9);
    assert!((at(&sim, 17, 0).0 - 900.0 * 255.0 / 287.0).abs() < 1e-9);
    // At the end both shards take half.
    assert_eq!(at(&sim, 69, 0), (450.0, 255));
    assert_eq!(at(&sim, 69, 1), (450.0, 255));

    let summary = &sim.summary;
    assert_eq!(summary.crossings.len(), 1);
    let crossing = &summary.crossings[0];
    assert_eq!(
        (crossing.minute, crossing.alarm_minute, crossing.shard_created_minute, crossing.shard_active_minute),
        (10, Some(12), Some(12), Some(15))
    );
    assert_eq!((crossing.relief_minute, crossing.minutes_to_relief), (Some(17), Some(7)));
    assert_eq!((summary.peak_shards, summary.final_shards, summary.shards_created), (2, 2, 1));
    // 12 minutes of one shard, 58 of two.
    assert!((summary.shard_hours - 128.0 / 60.0).abs() < 1e-9);
    // The new record, its zeroing, and 8 ramp steps.
    assert_eq!(summary.weight_changes, 10);
    assert_eq!((summary.minutes_over_limit, summary.minutes_unserved), (0, 0));
    assert_eq!((summary.shard_count_reversals, summary.weight_reversals), (0, 0));
    assert!((summary.shards[0].peak_utilisation - 0.9).abs() < 1e-9);
}

#[test]
fn when_load_falls_the_low_alarm_drains_a_shard_and_it_is_removed_after_the_wait() {
    // The spike as above, then 100 RPS from minute 50: below the low level for 2 shards
    // (1 shard × 1,000 × 30 % = 300 RPS).
    let sim = run(&series(&[(10, 500.0), (40, 900.0), (40, 100.0)]));
    // 15 breaching minutes, 50..=64: ALARM at minute 64; the last shard with weight (shard 1) is drained.
    assert_eq!(minute_of(&sim, &Event::LowAlarm), Some(64));
    assert_eq!(minute_of(&sim, &Event::DrainStarted { shard: shard(1) }), Some(64));
    // Clients still hold weight 255 for shard 1 in minute 65 (written by minute 63), none from minute 66.
    assert_eq!(at(&sim, 65, 1).0, 50.0);
    assert_eq!(at(&sim, 66, 0).0, 100.0);
    // The wait is TTL 60 s + deregistration delay 60 s: the scaler's pass at minute 66 removes it.
    assert_eq!(minute_of(&sim, &Event::ShardRemoved { shard: shard(1) }), Some(66));
    assert_eq!(sim.summary.final_shards, 1);
    assert_eq!(sim.summary.final_weights, [(shard(0), 255)]);
    assert_eq!(sim.summary.shard_count_reversals, 1);
    assert_eq!(sim.summary.minutes_unserved, 0);
}

#[test]
fn max_shards_holds_and_the_scaler_says_why() {
    let sim = run(&series(&[(5, 100.0), (120, 5_000.0)]));
    assert_eq!(sim.summary.peak_shards, 4);
    let refused =
        sim.events.iter().any(|e| matches!(&e.event, Event::ScalerNote { note } if note.contains("MaxShards")));
    assert!(refused, "{:?}", sim.events);
    assert!(sim.summary.minutes_over_limit > 0);
}

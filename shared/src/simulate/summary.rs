//! What a simulated run comes to: how hot the shards ran, how long an overload lasted, what it cost.

use serde::Serialize;

use crate::names::ShardIndex;

use super::{Event, Minute, TimedEvent};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardSummary {
    pub index: ShardIndex,
    /// The highest requests per second over the shard's limit (1.0 = at the limit).
    pub peak_utilisation: f64,
    pub minutes_over_limit: u32,
}

/// The fleet's busiest shard went above its alarm level: what followed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crossing {
    pub minute: u32,
    /// The first high alarm at or after the crossing.
    pub alarm_minute: Option<u32>,
    /// The first shard made at or after the crossing, and the minute it became active.
    pub shard_created_minute: Option<u32>,
    pub shard_active_minute: Option<u32>,
    /// The first minute every shard is back at or below its alarm level (`None`: not within the run).
    pub relief_minute: Option<u32>,
    pub minutes_to_relief: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub minutes: u32,
    pub peak_offered_rps: f64,
    pub peak_shards: usize,
    pub final_shards: usize,
    /// Each shard's weight at the end.
    pub final_weights: Vec<(ShardIndex, u8)>,
    /// Shards (any state) times hours: what the ALBs' hourly charge is paid on.
    pub shard_hours: f64,
    pub shards_created: usize,
    pub shards_removed: usize,
    /// Minutes in which some shard ran above its RPS limit, and in which some load reached no shard.
    pub minutes_over_limit: u32,
    pub minutes_unserved: u32,
    /// Record weights written, one per shard and change.
    pub weight_changes: usize,
    /// Reversals: the shard count going up after going down (or down after up), and a shard's weight doing so.
    pub shard_count_reversals: usize,
    pub weight_reversals: usize,
    pub shards: Vec<ShardSummary>,
    pub crossings: Vec<Crossing>,
}

pub fn summarize(minutes: &[Minute], events: &[TimedEvent], limit_rps: f64, alarm_rps: f64) -> Summary {
    let busiest = |m: &Minute| m.shards.iter().map(|s| s.requests_per_second).fold(0.0, f64::max);
    let first = |from: u32, pick: &dyn Fn(&Event) -> bool| {
        events.iter().find(|e| e.minute >= from && pick(&e.event)).map(|e| e.minute)
    };
    let mut crossings = Vec::new();
    for pair in minutes.windows(2) {
        if busiest(&pair[0]) <= alarm_rps && busiest(&pair[1]) > alarm_rps {
            let minute = pair[1].minute;
            let relief_minute = minutes.iter().find(|m| m.minute > minute && busiest(m) <= alarm_rps).map(|m| m.minute);
            let created = events
                .iter()
                .find(|e| e.minute >= minute && matches!(e.event, Event::ShardCreated { .. }))
                .filter(|e| relief_minute.is_none_or(|r| e.minute <= r));
            let active = created.and_then(|c| match c.event {
                Event::ShardCreated { shard } => {
                    first(c.minute, &|e| matches!(e, Event::ShardActive { shard: s } if *s == shard))
                }
                _ => None,
            });
            crossings.push(Crossing {
                minute,
                alarm_minute: first(minute, &|e| matches!(e, Event::HighAlarm { .. })),
                shard_created_minute: created.map(|c| c.minute),
                shard_active_minute: active,
                relief_minute,
                minutes_to_relief: relief_minute.map(|r| r - minute),
            });
        }
    }
    let counts: Vec<usize> = minutes.iter().map(|m| m.shards.len()).collect();
    let mut indexes: Vec<ShardIndex> = minutes.iter().flat_map(|m| m.shards.iter().map(|s| s.index)).collect();
    indexes.sort();
    indexes.dedup();
    let shards = indexes
        .iter()
        .map(|&index| {
            let loads = minutes.iter().flat_map(|m| m.shards.iter().filter(move |s| s.index == index));
            let rps: Vec<f64> = loads.map(|s| s.requests_per_second).collect();
            ShardSummary {
                index,
                peak_utilisation: rps.iter().copied().fold(0.0, f64::max) / limit_rps,
                minutes_over_limit: rps.iter().filter(|r| **r > limit_rps).count() as u32,
            }
        })
        .collect();
    let weight_reversals = indexes
        .iter()
        .map(|&index| {
            let weights: Vec<u8> =
                minutes.iter().filter_map(|m| m.shards.iter().find(|s| s.index == index)).map(|s| s.weight).collect();
            reversals(&weights)
        })
        .sum();
    let count_events = |pick: &dyn Fn(&Event) -> bool| events.iter().filter(|e| pick(&e.event)).count();
    Summary {
        minutes: minutes.len() as u32,
        peak_offered_rps: minutes.iter().map(|m| m.offered_rps).fold(0.0, f64::max),
        peak_shards: counts.iter().copied().max().unwrap_or(0),
        final_shards: counts.last().copied().unwrap_or(0),
        final_weights: minutes
            .last()
            .map(|m| m.shards.iter().map(|s| (s.index, s.weight)).collect())
            .unwrap_or_default(),
        shard_hours: counts.iter().sum::<usize>() as f64 / 60.0,
        shards_created: count_events(&|e| matches!(e, Event::ShardCreated { .. })),
        shards_removed: count_events(&|e| matches!(e, Event::ShardRemoved { .. })),
        minutes_over_limit: minutes.iter().filter(|m| busiest(m) > limit_rps).count() as u32,
        minutes_unserved: minutes.iter().filter(|m| m.unserved_rps > 0.0).count() as u32,
        weight_changes: events
            .iter()
            .map(|e| match &e.event {
                Event::WeightsChanged { changes } => changes.len(),
                Event::DrainStarted { .. } | Event::ShardCreated { .. } => 1,
                _ => 0,
            })
            .sum(),
        shard_count_reversals: reversals(&counts),
        weight_reversals,
        shards,
        crossings,
    }
}

/// How often a series turns: up after down, or down after up (flat stretches do not count).
fn reversals<T: PartialOrd + Copy>(series: &[T]) -> usize {
    let mut last_direction = None;
    let mut turns = 0;
    for pair in series.windows(2) {
        let direction = if pair[1] > pair[0] {
            Some(true)
        } else if pair[1] < pair[0] {
            Some(false)
        } else {
            None
        };
        if let Some(d) = direction {
            if last_direction.is_some_and(|l| l != d) {
                turns += 1;
            }
            last_direction = Some(d);
        }
    }
    turns
}

//! Simulation benchmark of the rebalancer's planner: one region over 100 periods, shards gaining and losing
//! healthy targets and a new shard ramping in. Reports, after each pass, the busiest shard's utilisation over
//! the mean (1.00 = traffic exactly follows healthy capacity) and the record changes made.
//! Run: `cargo bench -p strata-core --bench rebalance_sim` (numbers go to docs/benchmarks.md).

use strata_core::names::ShardIndex;
use strata_core::plan::protection::Protection;
use strata_core::plan::weights::{ShardCapacity, apply_plan, plan_weights};
use strata_core::spec::Rebalancing;

/// Healthy targets per shard at `period`: a scripted day of a region.
fn healthy(period: usize, shard: usize) -> u32 {
    match shard {
        // s0 loses half its targets for a while.
        0 if (30..45).contains(&period) => 20,
        0 => 40,
        // s1's ASG breathes: +5 targets every other 10 periods.
        1 if (period / 10) % 2 == 1 => 45,
        1 => 40,
        // s2 shrinks for good at 60.
        2 if period < 60 => 30,
        2 => 10,
        // s3 is new: its record appears at 20.
        3 if period >= 20 => 40,
        _ => 0,
    }
}

/// Traffic share over capacity share, max over mean, across shards with capacity.
fn utilisation(shards: &[ShardCapacity]) -> f64 {
    let weight_total: f64 = shards.iter().map(|s| f64::from(s.current.unwrap_or(0))).sum();
    let capacity_total: f64 = shards.iter().map(|s| f64::from(s.healthy_targets)).sum();
    let ratios: Vec<f64> = shards
        .iter()
        .filter(|s| s.healthy_targets > 0)
        .map(|s| (f64::from(s.current.unwrap_or(0)) / weight_total) / (f64::from(s.healthy_targets) / capacity_total))
        .collect();
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    ratios.iter().copied().fold(0.0, f64::max) / mean
}

fn main() {
    let params = Rebalancing { max_step: 32, hysteresis_percent: 5, initial_weight: 8 };
    let mut shards: Vec<ShardCapacity> = (0..3)
        .map(|i| ShardCapacity {
            index: ShardIndex::new(i).unwrap(),
            current: Some(255),
            healthy_targets: 0,
            draining: false,
            protection: Protection::Matches,
        })
        .collect();
    let mut record_changes = 0;
    let mut oscillations = 0;
    let mut was_ramping = false;
    let mut steady_worst: f64 = 0.0;
    let mut steady_periods = 0;
    println!("period  healthy(s0..s3)      weights(s0..s3)       max/mean  changes");
    for period in 0..100 {
        if period == 20 {
            shards.push(ShardCapacity {
                index: ShardIndex::new(3).unwrap(),
                current: Some(params.initial_weight),
                healthy_targets: 0,
                draining: false,
                protection: Protection::Matches,
            });
        }
        for (i, s) in shards.iter_mut().enumerate() {
            s.healthy_targets = healthy(period, i);
        }
        let plan = plan_weights(&shards, &params);
        let capacity_steady = period > 0 && (0..shards.len()).all(|i| healthy(period, i) == healthy(period - 1, i));
        // Oscillation: a weight change while nothing changed and no ramp was under way.
        if capacity_steady && !was_ramping {
            oscillations += plan.changes.len();
        }
        record_changes += plan.changes.len();
        shards = apply_plan(&shards, &plan);
        let u = utilisation(&shards);
        // Steady state: capacities unchanged since the previous period, and this pass finished no ramp.
        let ramping = plan.changes.iter().any(|c| c.to > c.from.unwrap_or(0));
        was_ramping = ramping;
        if !ramping && capacity_steady {
            steady_worst = steady_worst.max(u);
            steady_periods += 1;
        }
        if period % 5 == 0 || !plan.changes.is_empty() {
            let h: Vec<String> = shards.iter().map(|s| s.healthy_targets.to_string()).collect();
            let w: Vec<String> = shards.iter().map(|s| s.current.unwrap_or(0).to_string()).collect();
            println!("{period:>6}  {:<19}  {:<20}  {u:>8.3}  {}", h.join(","), w.join(","), plan.changes.len());
        }
    }
    println!("record changes over 100 periods: {record_changes}");
    println!(
        "worst max/mean utilisation over {steady_periods} steady-state periods: {steady_worst:.3} (target <= 1.05)"
    );
    println!("weight changes while capacity was steady and no ramp was under way (oscillation): {oscillations}");
}

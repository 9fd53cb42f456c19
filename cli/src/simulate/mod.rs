//! `strata simulate`: what Strata would do with a day of traffic, from its own planners (no AWS, no emulator).

mod spec_file;

use std::fmt::Write as _;
use std::path::PathBuf;

use strata_core::plan::scale::format_rfc3339;
use strata_core::policy::FleetPolicy;
use strata_core::simulate::traffic::{built_in_day, parse_csv};
use strata_core::simulate::{SimSettings, Simulation, chart, simulate};

use crate::Output;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Traffic as CSV, `timestamp,value[,healthy_targets]` per row (a CloudWatch RequestCount export, or requests
    /// per second; see docs/operations.md). Default: a built-in day with a 4x spike at 18:00.
    #[arg(long)]
    traffic: Option<PathBuf>,
    /// The fleet: its Custom::StrataFleet properties (YAML or JSON), or a template holding one.
    /// Default: infra/examples/fleet-us-east-1.yaml.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Where to write the chart (SVG).
    #[arg(long, default_value = "strata-simulation.svg")]
    chart: PathBuf,
    /// Minutes a new ALB takes to become active and pass health checks.
    #[arg(long, default_value_t = SimSettings::default().alb_active_minutes)]
    alb_active_minutes: u32,
    /// Healthy targets behind each shard, where the traffic CSV gives none.
    #[arg(long, default_value_t = 10)]
    healthy_targets: u32,
}

pub fn run(args: &SimulateArgs) -> Result<String, String> {
    let spec = match &args.spec {
        Some(path) => spec_file::load(&path.display().to_string(), &read(path)?)?,
        None => spec_file::load("infra/examples/fleet-us-east-1.yaml", spec_file::EXAMPLE_FLEET)?,
    };
    let policy = FleetPolicy::from_spec(&spec);
    let traffic = match &args.traffic {
        Some(path) => parse_csv(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        // Peaks at 60 % of MinShards' capacity, so the 4x spike needs new shards.
        None => built_in_day(
            f64::from(policy.limits.requests_per_second_per_shard) * f64::from(policy.limits.min_shards.max(1)) * 0.6,
        ),
    };
    let settings = SimSettings {
        alb_active_minutes: args.alb_active_minutes,
        healthy_targets: args.healthy_targets,
        ..SimSettings::default()
    };
    let sim = simulate(&spec.fleet, &policy, &traffic, &settings);
    let title = format!("Strata simulation: fleet {}", spec.fleet);
    chart::write_svg(&sim, &title, &args.chart)?;
    Ok(match args.output {
        Output::Json => serde_json::to_string_pretty(&sim).expect("a simulation serializes") + "\n",
        Output::Table => render(&sim, &policy, &args.chart.display().to_string()),
    })
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `HH:MM` (UTC) of a simulated minute.
fn clock(sim: &Simulation, minute: u32) -> String {
    let time = format_rfc3339(sim.start + i64::from(minute) * 60);
    time.get(11..16).unwrap_or(&time).to_owned()
}

fn render(sim: &Simulation, policy: &FleetPolicy, chart: &str) -> String {
    let s = &sim.summary;
    let l = &policy.limits;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} minutes simulated, offered load up to {:.0} RPS; {}..{} shards of {} RPS (alarm at {:.0} RPS)",
        s.minutes, s.peak_offered_rps, l.min_shards, l.max_shards, l.requests_per_second_per_shard, sim.alarm_rps
    );
    let _ = writeln!(
        out,
        "shards: peak {}, at the end {}; {} made, {} removed; {:.1} shard-hours",
        s.peak_shards, s.final_shards, s.shards_created, s.shards_removed, s.shard_hours
    );
    let _ = writeln!(
        out,
        "minutes with a shard above its limit: {}; minutes with load no shard took: {}",
        s.minutes_over_limit, s.minutes_unserved
    );
    let _ = writeln!(
        out,
        "weights written: {}; reversals: shard count {}, weights {}",
        s.weight_changes, s.shard_count_reversals, s.weight_reversals
    );
    let time = |m: Option<u32>| m.map(|m| clock(sim, m)).unwrap_or_else(|| "-".into());
    if !s.crossings.is_empty() {
        let _ = writeln!(out, "\nALARM LEVEL CROSSED  ALARM  NEW SHARD  ACTIVE  RELIEF  MINUTES TO RELIEF");
        for c in &s.crossings {
            let _ = writeln!(
                out,
                "{:<20} {:<6} {:<10} {:<7} {:<7} {}",
                clock(sim, c.minute),
                time(c.alarm_minute),
                time(c.shard_created_minute),
                time(c.shard_active_minute),
                time(c.relief_minute),
                c.minutes_to_relief.map_or_else(|| "not relieved".into(), |m| m.to_string())
            );
        }
    }
    let _ = writeln!(out, "\nSHARD  PEAK UTILISATION  MINUTES OVER LIMIT");
    for shard in &s.shards {
        let _ = writeln!(
            out,
            "{:<6} {:<17} {}",
            shard.index.to_string(),
            format!("{:.0} %", shard.peak_utilisation * 100.0),
            shard.minutes_over_limit
        );
    }
    let _ = writeln!(out, "\nchart: {chart}");
    out
}

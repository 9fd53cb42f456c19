//! `strata simulate`'s engine on the built-in day (1,440 one-minute points, a 4x spike) against the example
//! fleet's limits: how long a day takes to replay. Median of 21 runs after 3 warm-ups.
//! Run: `cargo bench -p strata-core --bench simulate_day` (the number goes to docs/benchmarks.md).

use std::time::Instant;

use strata_core::names::FleetName;
use strata_core::policy::FleetPolicy;
use strata_core::simulate::traffic::built_in_day;
use strata_core::simulate::{SimSettings, simulate};
use strata_core::spec::FleetSpec;

fn main() {
    let properties = serde_json::json!({
        "FleetName": "web", "Domain": "api.example.com", "HostedZoneId": "Z0123456789ABC", "VpcId": "vpc-1",
        "SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"],
        "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc", "AutoScalingGroupNames": ["web-a"],
        "Limits": {"RequestsPerSecondPerShard": 50000, "MinShards": 1, "MaxShards": 8}
    });
    let spec = FleetSpec::from_properties(&properties).expect("a valid spec");
    let policy = FleetPolicy::from_spec(&spec);
    let fleet = FleetName::parse("web").expect("a fleet name");
    let day = built_in_day(30_000.0);
    let settings = SimSettings::default();
    let mut times = Vec::new();
    let mut last = None;
    for run in 0..24 {
        let start = Instant::now();
        let sim = simulate(&fleet, &policy, &day, &settings);
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if run >= 3 {
            times.push(elapsed);
        }
        last = Some(sim);
    }
    times.sort_by(f64::total_cmp);
    let sim = last.expect("ran");
    println!(
        "simulate: {} one-minute points, {} shards at peak, {} events: median {:.1} ms (min {:.1}, max {:.1}) per day",
        day.points.len(),
        sim.summary.peak_shards,
        sim.events.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}

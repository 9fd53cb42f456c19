//! `make bench`: cold start, memory, sizes, AWS calls per invocation and the scale-out critical path, measured
//! against the emulator with the release binaries. Prints Markdown tables (docs/benchmarks.md holds a run).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use strata_tests::custom_resource::{CfnRequest, CfnStatus, provision};
use strata_tests::emulator::python;
use strata_tests::runtime::{Run, run_binary, run_command};
use strata_tests::{Emulator, Fixture, event, target_dir, workspace_root};

const REGION: &str = "us-east-1";
const FUNCTIONS: [&str; 4] = ["provisioner", "asg-registrar", "alb-scaler", "dns-rebalancer"];
const RUNS: usize = 20;

fn release(name: &str) -> PathBuf {
    let dir = std::env::var_os("STRATA_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| target_dir().join("release"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release --workspace --bins` (make bench does)",
        path.display()
    );
    path
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An invocation each function can answer without changing the fleet (a read-mostly pass).
fn idle_event(function: &str, emulator: &Emulator, fixture: &Fixture) -> Value {
    match function {
        "provisioner" => CfnRequest::new(emulator, fixture, "update").event,
        "asg-registrar" => event("asg-registrar/schedule.json"),
        "alb-scaler" => event("alb-scaler/schedule.json"),
        _ => json!({"fleet": "web"}),
    }
}

struct ColdStart {
    first_poll_ms: f64,
    first_answer_ms: f64,
    peak_rss_mb: f64,
}

fn cold_starts(runs: impl Fn() -> Run) -> ColdStart {
    let samples: Vec<Run> = (0..RUNS).map(|_| runs()).collect();
    ColdStart {
        first_poll_ms: median(samples.iter().map(|r| ms(r.time_to_first_poll)).collect()),
        first_answer_ms: median(samples.iter().map(|r| ms(r.time_to_first_answer)).collect()),
        peak_rss_mb: samples.iter().filter_map(|r| r.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0,
    }
}

fn cold_start_table(emulator: &Emulator, fixture: &Fixture) {
    println!("## Cold start (median of {RUNS}, release binaries, emulator on loopback)\n");
    println!(
        "| function | exec -> first /next (ms) | exec -> first answer (ms) | peak RSS (MB) | binary (MB) | zip (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let env = emulator.env(REGION);
    let mut rust_rebalancer = None;
    for function in FUNCTIONS {
        let path = release(function);
        let result = cold_starts(|| {
            let run =
                run_binary(&path, function, &env, &[idle_event(function, emulator, fixture)], Duration::from_secs(60));
            run.outcomes[0].response();
            run
        });
        let binary_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        let zip_mb = zip_size(&path, function);
        println!(
            "| {function} | {:.1} | {:.1} | {:.1} | {binary_mb:.1} | {zip_mb:.1} |",
            result.first_poll_ms, result.first_answer_ms, result.peak_rss_mb
        );
        if function == "dns-rebalancer" {
            rust_rebalancer = Some(result);
        }
    }
    let peer = workspace_root().join("tests/bench/python_peer.py");
    let python = cold_starts(|| {
        let mut command = Command::new(python());
        command.arg(&peer);
        let run = run_command(command, "python-peer", &env, &[json!({"fleet": "web"})], Duration::from_secs(60));
        run.outcomes[0].response();
        run
    });
    println!(
        "| python 3 + boto3 peer (same pass) | {:.1} | {:.1} | {:.1} | - | - |",
        python.first_poll_ms, python.first_answer_ms, python.peak_rss_mb
    );
    let rust = rust_rebalancer.expect("measured");
    println!(
        "\nRatio python / rust (dns-rebalancer): exec -> first /next {:.1}x, exec -> first answer {:.1}x, peak RSS {:.1}x\n",
        python.first_poll_ms / rust.first_poll_ms,
        python.first_answer_ms / rust.first_answer_ms,
        python.peak_rss_mb / rust.peak_rss_mb
    );
}

/// One pass of the dns-rebalancer and one of the Python peer on the same two-shard fleet whose s1 weight is set
/// to 100 before each (so that both plan and write): their calls side by side, and the weights each left.
/// The comparison is fair only if they do the same work; it panics if they leave different weights.
fn like_for_like() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let answer =
        provision(&emulator, &fixture, "create", |p| p["Limits"] = json!({"MinShards": "2", "MaxShards": "4"}));
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let env = emulator.env(REGION);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let aws = runtime.block_on(emulator.clients(REGION));
    let zone = fixture.hosted_zone_id.clone();
    let set_s1 = |weight: i64| {
        runtime.block_on(async {
            let records = aws.route53.list_resource_record_sets().hosted_zone_id(&zone).send().await.expect("records");
            for record in records.resource_record_sets() {
                if record.set_identifier().is_some_and(|id| id.ends_with(":s1")) {
                    let mut changed = record.clone();
                    changed.weight = Some(weight);
                    strata_tests::fixtures::upsert(&aws, &zone, changed).await;
                }
            }
        })
    };
    let weights = || runtime.block_on(strata_tests::state::weights(&aws, &zone));
    let count = |run: &dyn Fn()| {
        set_s1(100);
        let before = emulator.calls().len();
        run();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for call in emulator.calls()[before..].iter().filter(|c| !c.starts_with("s3:")) {
            *counts.entry(without_ids(call)).or_insert(0) += 1;
        }
        (counts, weights())
    };
    let payload = json!({"fleet": "web"});
    let (rust, rust_weights) = count(&|| {
        let path = release("dns-rebalancer");
        let run = run_binary(&path, "dns-rebalancer", &env, std::slice::from_ref(&payload), Duration::from_secs(60));
        run.outcomes[0].response();
    });
    let peer = workspace_root().join("tests/bench/python_peer.py");
    let (python, python_weights) = count(&|| {
        let mut command = Command::new(python());
        command.arg(&peer);
        let run = run_command(command, "python-peer", &env, std::slice::from_ref(&payload), Duration::from_secs(60));
        run.outcomes[0].response();
    });
    assert_eq!(rust_weights, python_weights, "the peer must leave the weights the rebalancer leaves");
    println!(
        "## Like for like: one dns-rebalancer pass and one Python peer pass, s1's weight set to 100 before each\n"
    );
    println!("| call | dns-rebalancer | python peer |\n|---|---:|---:|");
    let mut calls: Vec<&String> = rust.keys().chain(python.keys()).collect();
    calls.sort();
    calls.dedup();
    for call in calls {
        let n = |m: &BTreeMap<String, usize>| m.get(call).copied().unwrap_or(0);
        println!("| {call} | {} | {} |", n(&rust), n(&python));
    }
    println!("\nweights left, both: {rust_weights:?}\n");
}

/// The deployable zip: <target>/lambda/<name>/bootstrap.zip from `make package` (arm64) when present, else the
/// release binary zipped here as `bootstrap` (x86_64), which is what the number then stands for.
fn zip_size(binary: &PathBuf, function: &str) -> f64 {
    let packaged = target_dir().join("lambda").join(function).join("bootstrap.zip");
    if let Ok(meta) = std::fs::metadata(&packaged) {
        return meta.len() as f64 / 1e6;
    }
    let dir = std::env::temp_dir().join(format!("strata-bench-zip-{function}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::copy(binary, dir.join("bootstrap"));
    let zip = dir.join("bootstrap.zip");
    let status = Command::new(python())
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED); z.write(sys.argv[2], 'bootstrap'); z.close()"])
        .arg(&zip)
        .arg(dir.join("bootstrap"))
        .status();
    if status.is_ok() { std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0) as f64 / 1e6 } else { 0.0 }
}

/// Calls per (service, operation) made by one invocation.
fn calls_of(emulator: &Emulator, function: &str, payload: Value) -> BTreeMap<String, usize> {
    let before = emulator.calls().len();
    let run = run_binary(&release(function), function, &emulator.env(REGION), &[payload], Duration::from_secs(300));
    run.outcomes[0].response();
    let mut counts = BTreeMap::new();
    for call in emulator.calls()[before..].iter().filter(|c| !c.starts_with("s3:")) {
        *counts.entry(without_ids(call)).or_insert(0) += 1;
    }
    counts
}

/// A Route 53 call with its hosted zone or health check id as `{id}`, so that runs compare row by row.
fn without_ids(call: &str) -> String {
    for marker in ["/hostedzone/", "/healthcheck/"] {
        if let Some((head, tail)) = call.split_once(marker) {
            let rest = tail.find('/').map_or("", |i| &tail[i..]);
            return format!("{head}{marker}{{id}}{}", rest.trim_end_matches('/'));
        }
    }
    call.to_owned()
}

fn call_count_table() {
    println!("## AWS calls per invocation (200 ASGs of which 20 in the fleet, mirror mode)\n");
    let sizes = [1usize, 10, 40];
    let mut table: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (column, shards) in sizes.iter().enumerate() {
        let emulator = Emulator::start();
        let asgs: Vec<Value> = (0..200)
            .map(|i| {
                let tags = if i < 20 { json!({"strata:fleet": "web"}) } else { json!({"team": "other"}) };
                json!({"name": format!("asg-{i:03}"), "size": 0, "tags": tags})
            })
            .collect();
        let fixture = emulator.seed(REGION, json!(asgs));
        let mut properties = Value::Null;
        let answer = provision(&emulator, &fixture, "create", |p| {
            p.as_object_mut().unwrap().remove("AutoScalingGroupNames");
            p["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
            p["Limits"]["MinShards"] = json!(shards.to_string());
            p["Limits"]["MaxShards"] = json!("45");
            properties = p.clone();
        });
        assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
        // A stack update that leaves the fleet's properties as they were.
        let mut unchanged = CfnRequest::new(&emulator, &fixture, "update").event;
        unchanged["ResourceProperties"] = properties.clone();
        unchanged["OldResourceProperties"] = properties;
        let invocations = [
            ("provisioner (Update, no change)", "provisioner", unchanged),
            ("asg-registrar (scheduled reconcile)", "asg-registrar", event("asg-registrar/schedule.json")),
            ("alb-scaler (scheduled tidy)", "alb-scaler", event("alb-scaler/schedule.json")),
            ("dns-rebalancer (schedule)", "dns-rebalancer", event("dns-rebalancer/schedule.json")),
        ];
        for (label, function, payload) in invocations {
            let counts = calls_of(&emulator, function, payload);
            let total: usize = counts.values().sum();
            // `~` sorts after every call name: the total is each invocation's last row.
            table.entry((label.to_owned(), "~total".to_owned())).or_insert_with(|| vec![0; sizes.len()])[column] =
                total;
            for (call, n) in counts {
                table.entry((label.to_owned(), call)).or_insert_with(|| vec![0; sizes.len()])[column] = n;
            }
        }
    }
    println!("| invocation | call | 1 shard | 10 shards | 40 shards |");
    println!("|---|---|---:|---:|---:|");
    for ((label, call), counts) in &table {
        let cells: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        println!("| {label} | {} | {} |", call.trim_start_matches('~'), cells.join(" | "));
    }
    println!();
}

/// Sequential round trips: calls grouped into waves, a new wave starting when a call starts after every call
/// of the current wave has been answered.
fn waves(calls: &[(String, f64, f64)]) -> Vec<Vec<String>> {
    let mut sorted = calls.to_vec();
    sorted.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut wave_end = f64::MIN;
    for (name, start, end) in sorted {
        if start > wave_end || out.is_empty() {
            out.push(Vec::new());
        }
        wave_end = wave_end.max(end);
        out.last_mut().unwrap().push(name);
    }
    out
}

/// The calls of one scale-out of a fleet created with `customize`, every emulator answer delayed by 0.3 s so
/// that calls made side by side overlap visibly and the waves are the sequential round trips (the emulator
/// otherwise answers in about a millisecond).
fn timed_scale_out(
    customize: impl FnOnce(&mut serde_json::Value),
    setup: impl FnOnce(&Emulator),
) -> Vec<(String, f64, f64)> {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let created = provision(&emulator, &fixture, "create", customize);
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    setup(&emulator);
    emulator.set_faults_kinds(1.0, 1, &["slow"]);
    let before = emulator.calls_timed().len();
    let run = run_binary(
        &release("alb-scaler"),
        "alb-scaler",
        &emulator.env(REGION),
        &[event("alb-scaler/alarm-action.json")],
        Duration::from_secs(120),
    );
    run.outcomes[0].response();
    emulator.set_faults(0.0, 0);
    emulator.calls_timed()[before..].to_vec()
}

fn critical_path() {
    println!("## Scale-out critical path (alarm -> the new shard's weighted record)\n");
    let calls = timed_scale_out(|_| {}, |_| {});
    let record_write =
        calls.iter().rposition(|c| c.0.contains("POST") && c.0.contains("rrset")).expect("a record change");
    let waves = waves(&calls[..=record_write]);
    println!(
        "{} AWS calls in {} waves of overlapping calls until the weighted record exists:\n",
        record_write + 1,
        waves.len()
    );
    for (i, wave) in waves.iter().enumerate() {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for n in wave {
            *names.entry(n.as_str()).or_insert(0) += 1;
        }
        let list: Vec<String> =
            names.iter().map(|(n, c)| if *c > 1 { format!("{n} x{c}") } else { (*n).to_owned() }).collect();
        println!("{}. {}", i + 1, list.join(", "));
    }
    println!();
    let protected = timed_scale_out(|_| {}, protect_first_shard);
    let record_write =
        protected.iter().rposition(|c| c.0.contains("POST") && c.0.contains("rrset")).expect("a record change");
    println!(
        "With a web ACL on shard 0 to copy (AWS WAF): {} AWS calls in {} waves until the weighted record exists.\n",
        record_write + 1,
        self::waves(&protected[..=record_write]).len()
    );
}

/// A team's web ACL on shard 0, as it would associate it by hand.
fn protect_first_shard(emulator: &Emulator) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let aws = emulator.clients(REGION).await;
        let web_acl = strata_tests::waf::create_web_acl(&aws, "team-acl").await;
        let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.expect("web-s0");
        strata_tests::waf::associate(&aws, &web_acl, lb.load_balancers()[0].load_balancer_arn().expect("ARN")).await;
    });
}

/// Issue 17: with `Limits.ScaleOutReservedCapacityUnits`, how soon the hot shard's reservation is requested
/// after the alarm's delivery, beside the time to the new shard's weighted record (the same waves as above).
fn reservation_path() {
    println!("## Relief in one call: the capacity reservation on the scale-out path\n");
    let calls = timed_scale_out(
        |p| p["Limits"] = json!({"ScaleOutReservedCapacityUnits": "500"}),
        |emulator| {
            emulator.set_capacity(json!({"reserved_lcu_quota": 5000}));
        },
    );
    let reserve = calls.iter().position(|c| c.0.ends_with(":ModifyCapacityReservation")).expect("a reservation");
    let record = calls.iter().rposition(|c| c.0.contains("POST") && c.0.contains("rrset")).expect("a record change");
    println!(
        "| | AWS calls | sequential waves (0.3 s each) |\n|---|---|---|\n| alarm -> reservation requested | {} | {} |\n| alarm -> new shard's weighted record | {} | {} |\n",
        reserve + 1,
        waves(&calls[..=reserve]).len(),
        record + 1,
        waves(&calls[..=record]).len()
    );
    println!(
        "After the record: ALB provisioning (minutes on AWS), then the rebalancer's ramp; the reservation itself takes \
         minutes to hours to be provisioned by AWS.\n"
    );
}

/// `strata-bench [critical-path | reservation | calls | peer | day]`: every table, or one alone (STRATA_BIN_DIR may point at a debug build
/// for those: waves and call counts do not depend on the profile).
fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("critical-path") => return critical_path(),
        Some("reservation") => return reservation_path(),
        Some("calls") => return call_count_table(),
        Some("day") => return day(),
        Some("peer") => return like_for_like(),
        _ => {}
    }
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let created = provision(&emulator, &fixture, "create", |_| {});
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    cold_start_table(&emulator, &fixture);
    drop(emulator);
    call_count_table();
    critical_path();
    reservation_path();
    like_for_like();
    day();
}

/// The built-in day's 16:00-20:00 (the spike and the fall after it), scaled to a fleet of 1,000 RPS shards,
/// through the real binaries on the emulator (tests/src/day.rs) and through the simulator: both summaries, whether
/// they agree minute by minute, and both charts.
fn day() {
    use strata_core::simulate::traffic::{Traffic, built_in_day};
    println!("## A compressed day: the binaries on the emulator against the simulator\n");
    let whole = built_in_day(600.0);
    let traffic = Traffic { start: whole.start + 16 * 3600, points: whole.points[16 * 60..20 * 60].to_vec() };
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let mut properties = Value::Null;
    let answer = provision(&emulator, &fixture, "create", |p| {
        strata_tests::day::fleet_properties(p);
        properties = p.clone();
    });
    assert_eq!(answer.status(), CfnStatus::Success, "{answer}");
    let spec = strata_core::spec::FleetSpec::from_properties(&properties).expect("the day's fleet");
    let policy = strata_core::policy::FleetPolicy::from_spec(&spec);
    let predicted = strata_core::simulate::simulate(&spec.fleet, &policy, &traffic, &strata_tests::day::settings());
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let ran = runtime.block_on(strata_tests::day::run_day(&emulator, &fixture, "web", &traffic));
    let elapsed = started.elapsed().as_secs_f64();
    let (want, got) = (strata_tests::day::shape_of_simulation(&predicted), strata_tests::day::shape_of_day(&ran));
    let differing = want.iter().zip(&got).filter(|(a, b)| a != b).count() + want.len().abs_diff(got.len());
    let ran = strata_tests::day::as_simulation(&ran, &policy, traffic.start);
    let dir = target_dir().join("strata-bench");
    let _ = std::fs::create_dir_all(&dir);
    for (name, sim) in [("day-simulated.svg", &predicted), ("day-emulated.svg", &ran)] {
        strata_core::simulate::chart::write_svg(sim, &format!("fleet web, 16:00-20:00, {name}"), &dir.join(name))
            .expect("a chart");
    }
    let line = |sim: &strata_core::simulate::Simulation| {
        let s = &sim.summary;
        format!(
            "peak {} shards, {} at the end, {} minutes over the limit, {:.1} shard-hours, final weights {:?}",
            s.peak_shards,
            s.final_shards,
            s.minutes_over_limit,
            s.shard_hours,
            s.final_weights.iter().map(|(_, w)| w).collect::<Vec<_>>()
        )
    };
    println!("    {} simulated minutes in {elapsed:.0} s on the emulator", traffic.points.len());
    println!("    simulator: {}", line(&predicted));
    println!("    emulator:  {}", line(&ran));
    println!("    minutes whose shard count or weights differ: {differing}");
    println!("    charts: {}\n", dir.display());
}

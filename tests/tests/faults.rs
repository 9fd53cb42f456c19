//! Fault injection: the whole life of a fleet (provision, register, scale out, rebalance, scale in, delete)
//! with 20 % of AWS calls failing (throttling, 500, 503, connection resets, slow answers, and lost answers: a
//! write applied whose answer never arrives), for many seeds. Each run must converge, by the retries Lambda and
//! CloudFormation would make, to the AWS state of the fault-free run, compared by kind and count of resources
//! per shard (ids differ between runs): nothing leaked, nothing duplicated, the foreign resources untouched.
//!
//! `STRATA_FAULT_SEEDS=N` runs seeds 1..=N (default 4); `STRATA_FAULT_SEED=11` runs seed 11 alone (each fault is
//! drawn from seed, operation, resource and attempt, so a seed replays alone); `STRATA_FAULT_PARALLEL` runs
//! that many seeds at a time (default 4). `make soak` runs 50.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_tests::census::{Census, census, differences};
use strata_tests::custom_resource::CfnRequest;
use strata_tests::fixtures::{foreign_load_balancer, upsert, weighted_alias};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";
const FAULT_RATE: f64 = 0.2;
/// Lambda retries an asynchronous invocation twice; an operator re-deploys a failed stack. Bounded here.
const MAX_ATTEMPTS: usize = 12;
const STAGES: [&str; 3] = ["after scale-out", "after scale-in", "after delete"];

struct Run {
    emulator: Emulator,
    fixture: Fixture,
    aws: AwsClients,
    reinvocations: usize,
}

impl Run {
    async fn start(rate: f64, seed: u64) -> Self {
        let emulator = Emulator::start();
        let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "batch", "size": 1}]));
        let aws = emulator.clients(REGION).await;
        foreign_load_balancer(&aws, &fixture, "web-s9").await;
        upsert(
            &aws,
            &fixture.hosted_zone_id,
            weighted_alias("us-east-1.api.example.com", "legacy", "legacy.example.net", "Z2P70J7EXAMPLE", 10),
        )
        .await;
        emulator.set_faults(rate, seed);
        Run { emulator, fixture, aws, reinvocations: 0 }
    }

    /// Invokes until the function succeeds, as Lambda's retries would.
    fn invoke(&mut self, function: &str, extra_env: &[(&str, &str)], payload: &Value) -> Value {
        let mut env = self.emulator.env(REGION);
        env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        for _ in 0..MAX_ATTEMPTS {
            match &run_function(function, &env, std::slice::from_ref(payload)).outcomes[0] {
                Outcome::Response(value) => return value.clone(),
                Outcome::Error { .. } => self.reinvocations += 1,
            }
        }
        panic!("{function} did not succeed in {MAX_ATTEMPTS} attempts");
    }

    /// A custom-resource request until CloudFormation hears SUCCESS (a FAILED Create rolled back; re-deploying).
    fn cloudformation(&mut self, name: &str) {
        let mut request = CfnRequest::new(&self.emulator, &self.fixture, name);
        request.properties()["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
        request.properties()["AutoScalingGroupNames"] = json!(["web-a"]);
        request.properties()["DeregistrationDelaySeconds"] = json!("0");
        for _ in 0..MAX_ATTEMPTS {
            self.invoke("provisioner", &[], &request.event);
            if request.answer(&self.emulator).succeeded() {
                return;
            }
            self.reinvocations += 1;
        }
        panic!("{name} never answered SUCCESS");
    }

    /// The census of the region, taken with faults paused.
    async fn census(&self, rate: f64) -> Census {
        self.emulator.pause_faults(0.0);
        let counted = census(&self.aws, &self.fixture.hosted_zone_id, &["web-a", "web-c", "batch"]).await;
        self.emulator.pause_faults(rate);
        counted
    }
}

struct SeedRun {
    states: Vec<Census>,
    reinvocations: usize,
    faults: Value,
}

/// The scenario; the census after scale-out + rebalance, after scale-in, and after Delete.
async fn scenario(rate: f64, seed: u64) -> SeedRun {
    let mut run = Run::start(rate, seed).await;
    run.cloudformation("create");
    run.emulator.pause_faults(0.0);
    run.emulator.seed(REGION, json!([{"name": "web-c", "size": 1, "tags": {"strata:fleet": "web"}}]));
    run.emulator.pause_faults(rate);
    run.invoke("asg-registrar", &[], &event("asg-registrar/create-asg.json"));
    run.invoke("alb-scaler", &[], &event("alb-scaler/alarm-action.json"));
    for _ in 0..9 {
        run.invoke("dns-rebalancer", &[], &json!({"fleet": "web"}));
    }
    let mut states = vec![run.census(rate).await];
    run.invoke("alb-scaler", &[], &event("alb-scaler/alarm-low.json"));
    // The scheduled tidy runs every few minutes: a TG left in use after its ALB's deletion goes on the next one.
    for _ in 0..2 {
        run.invoke("alb-scaler", &[("STRATA_ALIAS_TTL_SECONDS", "0")], &event("alb-scaler/schedule.json"));
    }
    states.push(run.census(rate).await);
    run.cloudformation("delete");
    states.push(run.census(rate).await);
    let authorizations = run.emulator.authorizations();
    let refused: Vec<_> = authorizations.iter().filter(|a| !a.allowed).collect();
    assert!(refused.is_empty(), "seed {seed}: the template's roles refused {refused:?}");
    let roles: BTreeSet<&str> = authorizations.iter().map(|a| a.function.as_str()).collect();
    assert_eq!(roles.len(), 4, "seed {seed}: every function ran under its own role: {roles:?}");
    SeedRun { states, reinvocations: run.reinvocations, faults: run.emulator.faults() }
}

fn scenario_blocking(rate: f64, seed: u64) -> SeedRun {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(scenario(rate, seed))
}

fn rerun(seed: u64) -> String {
    format!("rerun alone: STRATA_FAULT_SEED={seed} cargo test -p strata-tests --test faults -- --nocapture every_seed")
}

/// Every way one seed's run differs from the fault-free one (empty: converged).
fn judge(seed: u64, outcome: &SeedRun, reference: &[Census]) -> Vec<String> {
    let mut problems = Vec::new();
    for (stage, (got, want)) in STAGES.iter().zip(outcome.states.iter().zip(reference)) {
        let differs = differences(got, want);
        if !differs.is_empty() {
            problems.push(format!("seed {seed} {stage}: {differs:?}"));
        }
    }
    problems
}

fn seeds_to_run() -> Vec<u64> {
    if let Some(seed) = std::env::var("STRATA_FAULT_SEED").ok().and_then(|v| v.parse().ok()) {
        return vec![seed];
    }
    let count: u64 = std::env::var("STRATA_FAULT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    (1..=count).collect()
}

/// Runs the seeds `parallel` at a time (runs wait on retries and backoff far more than they compute); a run
/// that panics (did not converge) is reported with its panic.
fn run_seeds(seeds: Vec<u64>, parallel: usize) -> Vec<(u64, Result<SeedRun, String>)> {
    let queue = Arc::new(Mutex::new(seeds.into_iter().collect::<VecDeque<u64>>()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..parallel.max(1))
        .map(|_| {
            let (queue, results) = (queue.clone(), results.clone());
            std::thread::spawn(move || {
                loop {
                    // Taken on its own line: a guard in a `while let` condition would hold the lock for the whole run.
                    let next = queue.lock().unwrap().pop_front();
                    let Some(seed) = next else { break };
                    let started = std::time::Instant::now();
                    let run = std::thread::spawn(move || scenario_blocking(FAULT_RATE, seed)).join();
                    eprintln!("seed {seed} ran in {:.0} s", started.elapsed().as_secs_f64());
                    let run = run.map_err(|panic| {
                        panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_default()
                    });
                    results.lock().unwrap().push((seed, run));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by_key(|(seed, _)| *seed);
    results
}

#[test]
fn every_seed_converges_to_the_fault_free_state_with_no_leak_or_duplicate() {
    let started = std::time::Instant::now();
    let seeds = seeds_to_run();
    let parallel: usize = std::env::var("STRATA_FAULT_PARALLEL").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let reference = std::thread::spawn(|| scenario_blocking(0.0, 0));
    let results = run_seeds(seeds.clone(), parallel);
    let reference = reference.join().expect("the fault-free run").states;
    assert!(reference[0].contains_key("s0 alb") && reference[0].contains_key("s1 alb"), "{:?}", reference[0]);
    assert!(!reference[1].contains_key("s1 alb") && !reference[1].contains_key("s1 tg"), "{:?}", reference[1]);
    assert!(reference[2].keys().all(|k| k.starts_with("s9 ") || k.contains("legacy")), "{:?}", reference[2]);
    for (stage, state) in STAGES.iter().zip(&reference) {
        let duplicates: Vec<_> = state.iter().filter(|(_, n)| **n > 1).collect();
        assert!(duplicates.is_empty(), "the fault-free run {stage}: {duplicates:?}");
    }

    let (mut injected_total, mut lost_total, mut reinvocations_total, mut failures) = (0, 0, 0, Vec::new());
    for (seed, result) in &results {
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(panic) => {
                failures.push(format!("seed {seed} did not converge: {panic}\n  {}", rerun(*seed)));
                continue;
            }
        };
        let injected: u64 = outcome.faults["injected"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
        let lost = outcome.faults["lost_answers"].as_u64().unwrap_or(0);
        println!(
            "seed {seed}: {injected} faults injected ({lost} lost answers) in {} calls, {} re-invocations",
            outcome.faults["calls"], outcome.reinvocations
        );
        let problems = judge(*seed, outcome, &reference);
        if !problems.is_empty() {
            let log = outcome.faults["log"].as_array().map(Vec::len).unwrap_or(0);
            failures.push(format!("{}\n  ({log} faults; {})", problems.join("\n"), rerun(*seed)));
        }
        injected_total += injected;
        lost_total += lost;
        reinvocations_total += outcome.reinvocations;
    }
    assert!(failures.is_empty(), "{} of {} seeds failed:\n{}", failures.len(), seeds.len(), failures.join("\n"));
    // A suite that injected nothing, lost no answer or never made a function fail would prove nothing.
    assert!(injected_total > 0 && lost_total > 0, "faults {injected_total}, lost answers {lost_total}");
    assert!(reinvocations_total > 0 || seeds.len() < 4, "no fault ever reached a function: {reinvocations_total}");
    println!(
        "fault injection: {n} seeds, {n} runs converged, 0 leaks, 0 duplicates ({injected_total} faults injected at {:.0} %, {lost_total} lost answers, {reinvocations_total} re-invocations) in {:.0} s",
        FAULT_RATE * 100.0,
        started.elapsed().as_secs_f64(),
        n = seeds.len()
    );
}

/// Issue 20's seed 11: a shard that scale-in removed came back, its TG left behind by the removal and then
/// "finished". The injector's draws changed since (per call, not one stream), so this replays the seed, not the
/// exact faults of that run; the deterministic test of the cause is scaler.rs's
/// `a_target_group_left_by_resource_in_use_is_removed_by_the_next_pass_never_rebuilt`.
#[test]
fn seed_11_of_issue_20_converges() {
    let reference = std::thread::spawn(|| scenario_blocking(0.0, 0));
    let outcome = scenario_blocking(FAULT_RATE, 11);
    let reference = reference.join().expect("the fault-free run").states;
    let problems = judge(11, &outcome, &reference);
    assert!(problems.is_empty(), "{}\n{}", problems.join("\n"), rerun(11));
    assert!(outcome.faults["injected"].as_object().unwrap().values().filter_map(Value::as_u64).sum::<u64>() > 0);
}

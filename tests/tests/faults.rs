//! Fault injection: the whole life of a fleet (provision, register, scale out, rebalance, scale in, delete)
//! with 20 % of AWS calls failing (throttling, 500, 503, connection resets, slow answers), for many seeds.
//! Each run must converge, by the retries Lambda and CloudFormation would make, to the AWS state of the
//! fault-free run: nothing leaked, nothing duplicated, the foreign resources untouched.
//! `STRATA_FAULT_SEEDS=N` runs N seeds (default 4).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_tests::custom_resource::CfnRequest;
use strata_tests::fixtures::{foreign_load_balancer, upsert, weighted_alias};
use strata_tests::runtime::{Outcome, run_function};
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";
const FAULT_RATE: f64 = 0.2;
/// Lambda retries an asynchronous invocation twice; an operator re-deploys a failed stack. Bounded here.
const MAX_ATTEMPTS: usize = 12;

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
            if request.answer(&self.emulator)["Status"] == "SUCCESS" {
                return;
            }
            self.reinvocations += 1;
        }
        panic!("{name} never answered SUCCESS");
    }

    /// Everything that identifies the AWS state, without ids that differ run to run. Taken with faults paused.
    async fn snapshot(&self, rate: f64) -> BTreeSet<String> {
        self.emulator.pause_faults(0.0);
        let aws = &self.aws;
        let mut state = BTreeSet::new();
        let lbs = aws.elbv2.describe_load_balancers().send().await.unwrap();
        for lb in lbs.load_balancers() {
            let name = lb.load_balancer_name().unwrap_or_default();
            state.insert(format!("alb {name}"));
            let listeners =
                aws.elbv2.describe_listeners().load_balancer_arn(lb.load_balancer_arn().unwrap()).send().await.unwrap();
            for l in listeners.listeners() {
                state.insert(format!("listener {name}:{}", l.port().unwrap_or_default()));
            }
        }
        let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
        let tg_name = |arn: &str| {
            tgs.target_groups()
                .iter()
                .find(|t| t.target_group_arn() == Some(arn))
                .and_then(|t| t.target_group_name())
                .unwrap_or("?")
                .to_owned()
        };
        for tg in tgs.target_groups() {
            state.insert(format!("tg {}", tg.target_group_name().unwrap_or_default()));
        }
        let records =
            aws.route53.list_resource_record_sets().hosted_zone_id(&self.fixture.hosted_zone_id).send().await.unwrap();
        for r in records.resource_record_sets().iter().filter(|r| r.set_identifier().is_some()) {
            state.insert(format!(
                "record {} {} weight={:?}",
                r.set_identifier().unwrap(),
                r.r#type().as_str(),
                r.weight()
            ));
        }
        state.insert(format!(
            "health checks {}",
            aws.route53.list_health_checks().send().await.unwrap().health_checks().len()
        ));
        for alarm in aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms() {
            state.insert(format!("alarm {}", alarm.alarm_name().unwrap_or_default()));
        }
        for asg in ["web-a", "web-c", "batch"] {
            let attached = aws
                .autoscaling
                .describe_load_balancer_target_groups()
                .auto_scaling_group_name(asg)
                .send()
                .await
                .unwrap();
            for t in attached.load_balancer_target_groups() {
                state.insert(format!("attached {asg} -> {}", tg_name(t.load_balancer_target_group_arn().unwrap())));
            }
        }
        self.emulator.pause_faults(rate);
        state
    }
}

/// The scenario; returns the state after scale-out + rebalance, after scale-in, and after Delete.
async fn scenario(rate: f64, seed: u64) -> (Vec<BTreeSet<String>>, usize, Value) {
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
    let mut states = vec![run.snapshot(rate).await];
    run.invoke("alb-scaler", &[], &event("alb-scaler/alarm-low.json"));
    run.invoke("alb-scaler", &[("STRATA_ALIAS_TTL_SECONDS", "0")], &event("alb-scaler/schedule.json"));
    states.push(run.snapshot(rate).await);
    run.cloudformation("delete");
    states.push(run.snapshot(rate).await);
    (states, run.reinvocations, run.emulator.faults())
}

/// One scenario on its own thread and runtime: runs wait on retries and backoff far more than they compute,
/// so the seeds run side by side.
fn scenario_on_thread(rate: f64, seed: u64) -> std::thread::JoinHandle<(Vec<BTreeSet<String>>, usize, Value)> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(scenario(rate, seed))
    })
}

#[test]
fn every_seed_converges_to_the_fault_free_state_with_no_leak_or_duplicate() {
    let seeds: u64 = std::env::var("STRATA_FAULT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let reference = scenario_on_thread(0.0, 0);
    let runs: Vec<_> = (1..=seeds).map(|seed| (seed, scenario_on_thread(FAULT_RATE, seed))).collect();
    let (reference, _, _) = reference.join().expect("the fault-free run");
    assert!(reference[0].contains("alb web-s1") && reference[0].contains("alb web-s0"), "{:?}", reference[0]);
    assert!(reference[2].iter().all(|s| !s.contains("strata:web") && !s.starts_with("alarm")), "{:?}", reference[2]);

    let mut injected_total = 0;
    let mut reinvocations_total = 0;
    for (seed, run) in runs {
        let (states, reinvocations, faults) = run.join().unwrap_or_else(|_| panic!("seed {seed} did not converge"));
        let injected: u64 = faults["injected"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
        println!(
            "seed {seed}: {injected} faults injected in {} calls, {reinvocations} re-invocations",
            faults["calls"]
        );
        for (stage, (got, want)) in
            ["after scale-out", "after scale-in", "after delete"].iter().zip(states.iter().zip(&reference))
        {
            let leaked: Vec<_> = got.difference(want).collect();
            let missing: Vec<_> = want.difference(got).collect();
            assert!(
                leaked.is_empty() && missing.is_empty(),
                "seed {seed} {stage}: extra {leaked:?}, missing {missing:?}"
            );
        }
        injected_total += injected;
        reinvocations_total += reinvocations;
    }
    println!(
        "fault injection: {seeds} seeds, {seeds} runs converged, 0 leaks, 0 duplicates ({injected_total} faults injected at {:.0} %, {reinvocations_total} re-invocations)",
        FAULT_RATE * 100.0
    );
}

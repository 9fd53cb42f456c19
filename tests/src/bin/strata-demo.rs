//! `make demo`: Strata doing its job on the embedded emulator, step by step, with the real function binaries
//! under the Lambda Runtime API. Exits non-zero if any step does not reach its expected state.

use std::process::{Command, ExitCode};
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use aws_smithy_types::DateTime;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_tests::custom_resource::{CfnAnswer, CfnRequest, CfnStatus};
use strata_tests::fixtures::{foreign_load_balancer, upsert, weighted_alias};
use strata_tests::runtime::{binary, run_function};
use strata_tests::{Emulator, Fixture, event};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

struct Demo {
    emulator: Emulator,
    fixtures: Vec<Fixture>,
    failures: Vec<String>,
}

impl Demo {
    fn step(&self, title: &str) {
        println!("\n\x1b[1m== {title}\x1b[0m");
    }

    fn expect(&mut self, ok: bool, what: &str) {
        println!("   {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            self.failures.push(what.to_owned());
        }
    }

    /// The fleet as an operator sees it: `strata status`, the CLI any operator can point at a real account.
    fn status(&self) {
        let mut cmd = Command::new(binary("strata"));
        cmd.args(["status", "--fleet", "web"]);
        for region in REGIONS {
            cmd.args(["--region", region]);
        }
        let out = cmd.envs(self.emulator.env(REGIONS[0])).output().expect("run strata status");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }

    fn invoke(&self, function: &str, region: &str, extra_env: &[(&str, &str)], payload: Value) -> Value {
        let mut env = self.emulator.env(region);
        env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let run = run_function(function, &env, &[payload]);
        let answer = run.outcomes[0].response().clone();
        println!("   {function} answered: {}", summarize(&answer));
        answer
    }

    fn cloudformation(&self, fixture: &Fixture, request: &str, customize: impl FnOnce(&mut Value)) -> CfnAnswer {
        let mut cfn = CfnRequest::new(&self.emulator, fixture, request);
        customize(cfn.properties());
        self.invoke("provisioner", &fixture.region, &[], cfn.event.clone());
        let answer = cfn.answer(&self.emulator);
        let reason = if answer.reason().is_empty() { String::new() } else { format!(": {}", answer.reason()) };
        println!("   CloudFormation received: {:?} {}{reason}", answer.status(), answer.physical_resource_id());
        answer
    }
}

fn summarize(answer: &Value) -> String {
    let text = answer.to_string();
    if text.len() > 220 { format!("{}...", &text[..220]) } else { text }
}

fn demo_spec(p: &mut Value) {
    p["AutoScalingGroupNames"] = json!(["web-a"]);
    p["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
    p["DeregistrationDelaySeconds"] = json!("5");
    p["Limits"] = json!({"RequestsPerSecondPerShard": "1000", "MaxShards": "4", "MinShards": "1"});
    p["Rebalancing"] = json!({"MaxStepWeight": "64"});
}

async fn lb_arn(aws: &AwsClients, name: &str) -> Option<String> {
    let found = aws.elbv2.describe_load_balancers().names(name).send().await.ok()?;
    found.load_balancers().first().and_then(|l| l.load_balancer_arn()).map(str::to_owned)
}

async fn weights(aws: &AwsClients, zone: &str, region: &str) -> Vec<(String, i64)> {
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("records");
    let prefix = format!("strata:web:{region}:");
    let mut out: Vec<(String, i64)> = records
        .resource_record_sets()
        .iter()
        .filter_map(|r| Some((r.set_identifier()?.strip_prefix(&prefix)?.to_owned(), r.weight()?)))
        .collect();
    out.sort();
    out
}

/// What CloudWatch would do on its own: the metric, the alarm's new state, and the alarm action's payload.
async fn raise_alarm(aws: &AwsClients, alarm: &str, lb_arn: Option<&str>, requests_per_minute: f64) -> Value {
    if let Some(arn) = lb_arn {
        let dimension = arn.split_once(":loadbalancer/").map(|(_, d)| d).unwrap_or(arn);
        let datum = MetricDatum::builder()
            .metric_name("RequestCount")
            .dimensions(Dimension::builder().name("LoadBalancer").value(dimension).build())
            .timestamp(DateTime::from(std::time::SystemTime::now()))
            .value(requests_per_minute)
            .build();
        aws.cloudwatch
            .put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(datum)
            .send()
            .await
            .expect("put metric");
    }
    aws.cloudwatch
        .set_alarm_state()
        .alarm_name(alarm)
        .state_value(StateValue::Alarm)
        .state_reason("demo: threshold crossed")
        .send()
        .await
        .expect("set alarm state");
    let now = DateTime::from(std::time::SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap();
    let mut payload = event("alb-scaler/alarm-action.json");
    payload["alarmArn"] = json!(format!("arn:aws:cloudwatch:{}:123456789012:alarm:{alarm}", aws.region));
    payload["region"] = json!(aws.region);
    payload["alarmData"]["alarmName"] = json!(alarm);
    payload["alarmData"]["state"]["timestamp"] = json!(now.replace('Z', "+0000"));
    payload
}

#[tokio::main]
async fn main() -> ExitCode {
    println!("Strata demo: an embedded AWS emulator (moto) on 127.0.0.1, the real function binaries, no AWS account.");
    let emulator = Emulator::start();
    println!("emulator: {}", emulator.endpoint);
    let asgs = json!([{"name": "web-a", "size": 4}, {"name": "batch", "size": 1}]);
    let fixtures: Vec<Fixture> = REGIONS.iter().map(|r| emulator.seed(r, asgs.clone())).collect();
    let mut demo = Demo { emulator, fixtures, failures: Vec::new() };
    let east = demo.fixtures[0].clone();
    let aws = demo.emulator.clients(REGIONS[0]).await;
    let zone = east.hosted_zone_id.clone();
    let foreign_alb = foreign_load_balancer(&aws, &east, "legacy-api").await;
    upsert(
        &aws,
        &zone,
        weighted_alias("us-east-1.api.example.com", "legacy", "legacy.example.net", "Z2P70J7EXAMPLE", 10),
    )
    .await;
    println!(
        "starting point: 2 regions x (VPC, 3 subnets in 3 AZs, certificate, ASGs web-a and batch), zone example.com,"
    );
    println!("                a foreign ALB `legacy-api` and a foreign weighted record `legacy`.");

    demo.step("1. CloudFormation Create in each region -> shard 0, weighted and latency records, alarms");
    for fixture in demo.fixtures.clone() {
        let answer = demo.cloudformation(&fixture, "create", |p| {
            demo_spec(p);
            p["HostedZoneId"] = json!(zone.clone());
        });
        demo.expect(answer.status() == CfnStatus::Success, &format!("{} answered SUCCESS", fixture.region));
    }
    demo.status();
    let all = aws.route53.list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    let latency = all.resource_record_sets().iter().filter(|r| r.region().is_some()).count();
    demo.expect(latency == 2, "one latency record per region over the weighted records");

    demo.step("2. A new ASG tagged strata:fleet=web appears -> the asg-registrar attaches it");
    demo.emulator.seed(REGIONS[0], json!([{"name": "web-c", "size": 2, "tags": {"strata:fleet": "web"}}]));
    demo.invoke("asg-registrar", REGIONS[0], &[], event("asg-registrar/create-asg.json"));
    let attached =
        aws.autoscaling.describe_load_balancer_target_groups().auto_scaling_group_name("web-c").send().await.unwrap();
    demo.expect(attached.load_balancer_target_groups().len() == 1, "web-c is on shard 0's target group");
    demo.status();

    demo.step("3. Load on shard 0 crosses its limit -> alarm -> alb-scaler adds shard 1 -> dns-rebalancer ramps it");
    let s0 = lb_arn(&aws, "web-s0").await;
    let alarm = raise_alarm(&aws, "strata-web-s0-requests-high", s0.as_deref(), 1000.0 * 60.0 * 0.95).await;
    demo.invoke("alb-scaler", REGIONS[0], &[], alarm);
    demo.expect(lb_arn(&aws, "web-s1").await.is_some(), "shard 1 exists");
    demo.status();
    for pass in 1..=5 {
        demo.invoke("dns-rebalancer", REGIONS[0], &[], json!({"fleet": "web"}));
        println!("   pass {pass}: weights {:?}", weights(&aws, &zone, REGIONS[0]).await);
    }
    let w = weights(&aws, &zone, REGIONS[0]).await;
    demo.expect(w == [("s0".into(), 255), ("s1".into(), 255)], "shard 1 ramped to its full share");
    demo.status();

    demo.step("4. Shard 1 loses half its healthy targets -> the rebalancer moves weight away");
    let tg1 = aws.elbv2.describe_target_groups().names("web-s1-tg").send().await.unwrap();
    let tg1_arn = tg1.target_groups()[0].target_group_arn().unwrap().to_owned();
    let health = aws.elbv2.describe_target_health().target_group_arn(&tg1_arn).send().await.unwrap();
    let ids: Vec<String> =
        health.target_health_descriptions().iter().filter_map(|d| d.target()?.id().map(str::to_owned)).collect();
    let half: Vec<TargetDescription> =
        ids.iter().take(ids.len() / 2).map(|id| TargetDescription::builder().id(id).build()).collect();
    aws.elbv2.deregister_targets().target_group_arn(&tg1_arn).set_targets(Some(half)).send().await.unwrap();
    demo.invoke("dns-rebalancer", REGIONS[0], &[], json!({"fleet": "web"}));
    let w = weights(&aws, &zone, REGIONS[0]).await;
    demo.expect(w == [("s0".into(), 255), ("s1".into(), 128)], "shard 1 now gets half the weight of shard 0");
    demo.status();

    demo.step("5. Load falls -> alb-scaler drains shard 1, and removes it after the wait (5 s here)");
    let low = raise_alarm(&aws, "strata-web-requests-low", None, 0.0).await;
    demo.invoke("alb-scaler", REGIONS[0], &[], low);
    let w = weights(&aws, &zone, REGIONS[0]).await;
    demo.expect(w.contains(&("s1".into(), 0)), "shard 1 drains at weight 0");
    demo.status();
    tokio::time::sleep(Duration::from_secs(6)).await;
    demo.invoke("alb-scaler", REGIONS[0], &[("STRATA_ALIAS_TTL_SECONDS", "0")], event("alb-scaler/schedule.json"));
    demo.expect(lb_arn(&aws, "web-s1").await.is_none(), "shard 1 removed; shard 0 still serving");
    demo.status();

    demo.step("6. CloudFormation Delete in each region -> everything Strata made is gone, foreign resources remain");
    for fixture in demo.fixtures.clone() {
        let answer = demo.cloudformation(&fixture, "delete", |p| {
            demo_spec(p);
            p["HostedZoneId"] = json!(zone.clone());
        });
        demo.expect(answer.status() == CfnStatus::Success, &format!("{} answered SUCCESS", fixture.region));
    }
    demo.status();
    let left = aws.elbv2.describe_load_balancers().send().await.unwrap();
    let left: Vec<_> = left.load_balancers().iter().filter_map(|l| l.load_balancer_arn()).collect();
    demo.expect(left == [foreign_alb.as_str()], "only the foreign ALB remains in us-east-1");
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    let ids: Vec<_> = records.resource_record_sets().iter().filter_map(|r| r.set_identifier()).collect();
    demo.expect(ids == ["legacy"], "only the foreign weighted record remains");
    let authorizations = demo.emulator.authorizations();
    let refused = authorizations.iter().filter(|a| !a.allowed).count();
    let roles: std::collections::BTreeSet<&str> = authorizations.iter().map(|a| a.function.as_str()).collect();
    println!("   IAM: {} authorizations of {} functions' calls, {refused} refused", authorizations.len(), roles.len());
    demo.expect(refused == 0 && roles.len() == 4, "every function ran under its own template role, nothing refused");

    demo.step("7. The same fleet over a day of traffic -> `strata simulate` (Strata's planners, no AWS) and its chart");
    let dir = strata_tests::target_dir().join("strata-demo");
    std::fs::create_dir_all(&dir).expect("a folder for the demo's files");
    let mut fleet = event("provisioner/create.json")["ResourceProperties"].clone();
    demo_spec(&mut fleet);
    let (spec, chart) = (dir.join("fleet.json"), dir.join("simulation.svg"));
    std::fs::write(&spec, fleet.to_string()).expect("write the demo's fleet");
    let simulated = Command::new(binary("strata"))
        .args(["simulate", "--spec"])
        .arg(&spec)
        .arg("--chart")
        .arg(&chart)
        .output()
        .expect("run strata simulate");
    for line in String::from_utf8_lossy(&simulated.stdout).lines() {
        println!("   {line}");
    }
    eprint!("{}", String::from_utf8_lossy(&simulated.stderr));
    demo.expect(simulated.status.success() && chart.exists(), &format!("chart written: {}", chart.display()));

    println!();
    if demo.failures.is_empty() {
        println!("demo finished: every step reached its expected state.");
        ExitCode::SUCCESS
    } else {
        println!("demo FAILED at: {}", demo.failures.join("; "));
        ExitCode::FAILURE
    }
}

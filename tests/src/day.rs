//! A day of traffic through the real function binaries on the emulator, a simulated minute at a time: the world
//! around them is the simulator's (the same traffic split by the weights Route 53 holds, each alarm evaluated as
//! CloudWatch would on the thresholds the emulator holds, with `shared/src/simulate/alarm.rs`), and every decision
//! is the binaries' own: a transition into ALARM is delivered to the alb-scaler as CloudWatch's alarm action, then
//! the alb-scaler's and the dns-rebalancer's schedules run.
//!
//! Time is compressed by giving the fleet no waits (alias TTL 0 s for the scaler's drain wait, deregistration
//! delay 0 s), and the simulator the same settings, rather than by moving the functions' clock: the binaries run
//! as deployed, with no test hook for time, and a simulated minute takes as long as its invocations.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use aws_smithy_types::DateTime;
use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::names::ShardIndex;
use strata_core::policy::FleetPolicy;
use strata_core::simulate::alarm::{Comparison, SimAlarm};
use strata_core::simulate::traffic::Traffic;
use strata_core::simulate::{Minute, ShardMinute, ShardState, SimSettings, Simulation, summary};

use crate::runtime::run_function;
use crate::{Emulator, Fixture, event};

/// The simulator's settings that describe this world: ALBs active at once (the emulator's are), no DNS lag, and
/// no drain wait.
pub fn settings() -> SimSettings {
    SimSettings { alb_active_minutes: 0, alias_ttl_seconds: 0, ..SimSettings::default() }
}

/// The fleet's properties for a day: small limits so that a few thousand requests per second need shards, and no
/// waits (see the module's comment).
pub fn fleet_properties(properties: &mut Value) {
    properties["DeregistrationDelaySeconds"] = json!("0");
    properties["Limits"] = json!({"RequestsPerSecondPerShard": "1000", "MinShards": "1", "MaxShards": "4"});
}

/// The fleet as the world sees it, read with plain SDK calls (not Strata's own `observe`, which is under test).
struct Seen {
    /// Shard index → (ALB ARN, draining).
    shards: BTreeMap<ShardIndex, (String, bool)>,
    /// Shard index → its weighted A record's weight.
    weights: BTreeMap<ShardIndex, i64>,
    alarms: Vec<AlarmSeen>,
}

/// One of the fleet's alarms as CloudWatch holds it.
struct AlarmSeen {
    name: String,
    /// The LoadBalancer dimensions it reads: one for a shard's alarm, the summed ones for the low alarm.
    dimensions: Vec<String>,
    threshold: f64,
    periods: usize,
    comparison: Comparison,
}

async fn seen(aws: &AwsClients, zone: &str, fleet: &str) -> Seen {
    let lbs = aws.elbv2.describe_load_balancers().send().await.expect("DescribeLoadBalancers");
    let prefix = format!("{fleet}-s");
    let ours: Vec<(ShardIndex, String)> = lbs
        .load_balancers()
        .iter()
        .filter_map(|lb| {
            let index = lb.load_balancer_name()?.strip_prefix(&prefix)?.parse().ok().and_then(ShardIndex::new)?;
            Some((index, lb.load_balancer_arn()?.to_owned()))
        })
        .collect();
    let mut shards = BTreeMap::new();
    for chunk in ours.chunks(20) {
        let arns: Vec<String> = chunk.iter().map(|(_, arn)| arn.clone()).collect();
        let tags = aws.elbv2.describe_tags().set_resource_arns(Some(arns)).send().await.expect("DescribeTags");
        for (index, arn) in chunk {
            let draining = tags
                .tag_descriptions()
                .iter()
                .filter(|d| d.resource_arn() == Some(arn.as_str()))
                .flat_map(|d| d.tags())
                .any(|t| t.key() == Some("strata:state") && t.value() == Some("draining"));
            shards.insert(*index, (arn.clone(), draining));
        }
    }
    let records = aws.route53.list_resource_record_sets().hosted_zone_id(zone).send().await.expect("records");
    let weights = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.r#type().as_str() == "A")
        .filter_map(|r| {
            let shard = r.set_identifier()?.strip_prefix(&format!("strata:{fleet}:"))?.rsplit_once(":s")?.1;
            Some((ShardIndex::new(shard.parse().ok()?)?, r.weight()?))
        })
        .collect();
    let described = aws.cloudwatch.describe_alarms().alarm_name_prefix(format!("strata-{fleet}-")).send().await;
    let alarms = described.expect("DescribeAlarms").metric_alarms().iter().filter_map(alarm_seen).collect();
    Seen { shards, weights, alarms }
}

/// The alarm as CloudWatch would evaluate it; `None` for one that reads no ALB's RequestCount (targets full).
/// Anything this model does not evaluate (another statistic or period, missing data breaching) fails the run.
fn alarm_seen(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> Option<AlarmSeen> {
    let name = alarm.alarm_name().expect("a name").to_owned();
    let dimension = |dims: &[Dimension]| {
        dims.iter().find(|d| d.name() == Some("LoadBalancer")).and_then(|d| d.value()).map(str::to_owned)
    };
    let dimensions: Vec<String> = match alarm.metric_name() {
        Some("RequestCount") => {
            assert_eq!(alarm.namespace(), Some("AWS/ApplicationELB"), "{name}");
            assert_eq!(alarm.statistic().map(|s| s.as_str()), Some("Sum"), "{name}");
            assert_eq!(alarm.period(), Some(60), "{name}");
            dimension(alarm.dimensions()).into_iter().collect()
        }
        Some(_) => return None,
        None => alarm
            .metrics()
            .iter()
            .filter_map(|q| {
                let stat = q.metric_stat()?;
                let metric = stat.metric()?;
                assert_eq!(
                    (metric.metric_name(), stat.stat(), stat.period()),
                    (Some("RequestCount"), Some("Sum"), Some(60))
                );
                dimension(metric.dimensions())
            })
            .collect(),
    };
    if dimensions.is_empty() {
        return None;
    }
    assert_eq!(alarm.treat_missing_data(), Some("notBreaching"), "{name}: the model treats missing data so");
    let comparison = match alarm.comparison_operator().map(|c| c.as_str()) {
        Some("GreaterThanThreshold") => Comparison::Above,
        Some("LessThanThreshold") => Comparison::Below,
        other => panic!("{name}: comparison {other:?} is not modelled"),
    };
    let threshold = alarm.threshold().unwrap_or_else(|| panic!("{name} has no threshold"));
    let periods = alarm.evaluation_periods().unwrap_or_else(|| panic!("{name} has no evaluation periods")) as usize;
    Some(AlarmSeen { name, dimensions, threshold, periods, comparison })
}

fn dimension(lb_arn: &str) -> String {
    lb_arn.split_once(":loadbalancer/").map(|(_, d)| d.to_owned()).expect("an ALB ARN")
}

/// Splits `offered` by the weights over the shards, as the simulator does with no DNS lag and every ALB active.
fn route(fleet: &Seen, offered: f64) -> BTreeMap<ShardIndex, f64> {
    let mut chosen: Vec<(ShardIndex, f64)> =
        fleet.weights.iter().filter(|(_, w)| **w > 0).map(|(i, w)| (*i, *w as f64)).collect();
    if chosen.is_empty() {
        chosen = fleet.weights.keys().map(|i| (*i, 1.0)).collect();
    }
    let total: f64 = chosen.iter().map(|(_, w)| w).sum();
    chosen.into_iter().map(|(i, w)| (i, offered * w / total)).collect()
}

/// What CloudWatch would send the alb-scaler when `alarm` goes into ALARM.
fn alarm_action(region: &str, alarm: &str) -> Value {
    let now = DateTime::from(std::time::SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime);
    let now = now.expect("a time").replace('Z', "+0000");
    let mut payload = event("alb-scaler/alarm-action.json");
    payload["alarmArn"] = json!(format!("arn:aws:cloudwatch:{region}:123456789012:alarm:{alarm}"));
    payload["region"] = json!(region);
    payload["alarmData"]["alarmName"] = json!(alarm);
    payload["alarmData"]["state"]["timestamp"] = json!(now);
    payload
}

struct World<'a> {
    emulator: &'a Emulator,
    fixture: &'a Fixture,
    aws: AwsClients,
    /// Each alarm's model, by name and the dimensions it reads: a re-made alarm, or one that reads other shards,
    /// starts afresh as CloudWatch recomputes it.
    alarms: BTreeMap<(String, Vec<String>), SimAlarm>,
}

impl World<'_> {
    fn invoke(&self, function: &str, payload: Value) {
        let mut env = self.emulator.env(&self.fixture.region);
        env.push(("STRATA_ALIAS_TTL_SECONDS".into(), "0".into()));
        let run = run_function(function, &env, &[payload]);
        run.outcomes[0].response();
    }

    /// The minute's RequestCount per ALB dimension (none for an ALB without requests, as ALBs publish).
    fn counts(fleet: &Seen, load: &BTreeMap<ShardIndex, f64>) -> BTreeMap<String, f64> {
        fleet
            .shards
            .iter()
            .filter_map(|(index, (arn, _))| Some((dimension(arn), *load.get(index)?)))
            .filter(|(_, rps)| *rps > 0.0)
            .map(|(d, rps)| (d, rps * 60.0))
            .collect()
    }

    async fn publish(&self, counts: &BTreeMap<String, f64>) {
        let data: Vec<MetricDatum> = counts
            .iter()
            .map(|(d, count)| {
                MetricDatum::builder()
                    .metric_name("RequestCount")
                    .dimensions(Dimension::builder().name("LoadBalancer").value(d).build())
                    .timestamp(DateTime::from(std::time::SystemTime::now()))
                    .value(*count)
                    .build()
            })
            .collect();
        if !data.is_empty() {
            let put = self.aws.cloudwatch.put_metric_data().namespace("AWS/ApplicationELB").set_metric_data(Some(data));
            put.send().await.expect("PutMetricData");
        }
    }

    /// Feeds each alarm the minute's datapoint; returns the alarms that went into ALARM, shards' ones first.
    async fn evaluate(&mut self, fleet: &Seen, counts: &BTreeMap<String, f64>) -> Vec<String> {
        let mut fired = Vec::new();
        for alarm in &fleet.alarms {
            let summed: Vec<f64> = alarm.dimensions.iter().filter_map(|d| counts.get(d)).copied().collect();
            let datapoint = (!summed.is_empty()).then(|| summed.iter().sum());
            let key = (alarm.name.clone(), alarm.dimensions.clone());
            let model = self
                .alarms
                .entry(key)
                .or_insert_with(|| SimAlarm::new(alarm.periods, alarm.comparison, alarm.threshold));
            model.threshold = alarm.threshold;
            let was = model.in_alarm();
            if model.observe(datapoint) {
                fired.push((alarm.comparison == Comparison::Below, alarm.name.clone()));
            }
            if was != model.in_alarm() {
                let state = if model.in_alarm() { StateValue::Alarm } else { StateValue::Ok };
                let set = self.aws.cloudwatch.set_alarm_state().alarm_name(&alarm.name).state_value(state);
                set.state_reason("day: as CloudWatch would").send().await.expect("SetAlarmState");
            }
        }
        fired.sort();
        fired.into_iter().map(|(_, name)| name).collect()
    }
}

/// Runs `traffic` against the fleet the provisioner made; one `Minute` per point, as the simulator reports them
/// (a shard without a weighted record has weight `None`).
pub async fn run_day(emulator: &Emulator, fixture: &Fixture, fleet: &str, traffic: &Traffic) -> Vec<DayMinute> {
    let aws = emulator.clients(&fixture.region).await;
    let mut world = World { emulator, fixture, aws, alarms: BTreeMap::new() };
    let mut minutes = Vec::new();
    for (minute, point) in (0u32..).zip(&traffic.points) {
        let before = seen(&world.aws, &fixture.hosted_zone_id, fleet).await;
        let load = route(&before, point.requests_per_second);
        let counts = World::counts(&before, &load);
        world.publish(&counts).await;
        for alarm in world.evaluate(&before, &counts).await {
            world.invoke("alb-scaler", alarm_action(&fixture.region, &alarm));
        }
        world.invoke("alb-scaler", event("alb-scaler/schedule.json"));
        world.invoke("dns-rebalancer", event("dns-rebalancer/schedule.json"));
        let after = seen(&world.aws, &fixture.hosted_zone_id, fleet).await;
        let shards = after
            .shards
            .iter()
            .map(|(index, (_, draining))| DayShard {
                index: *index,
                draining: *draining,
                weight: after.weights.get(index).copied(),
                requests_per_second: load.get(index).copied().unwrap_or(0.0),
            })
            .collect();
        minutes.push(DayMinute { minute, offered_rps: point.requests_per_second, shards });
    }
    minutes
}

/// A minute of the day as the emulator held it at the minute's end.
#[derive(Debug, Clone, PartialEq)]
pub struct DayMinute {
    pub minute: u32,
    pub offered_rps: f64,
    pub shards: Vec<DayShard>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayShard {
    pub index: ShardIndex,
    pub draining: bool,
    pub weight: Option<i64>,
    pub requests_per_second: f64,
}

/// A minute as `(minute, [(shard, draining, weight)])`: how a run and a simulation compare.
pub type Shape = (u32, Vec<(ShardIndex, bool, Option<i64>)>);

pub fn shape_of_day(minutes: &[DayMinute]) -> Vec<Shape> {
    minutes.iter().map(|m| (m.minute, m.shards.iter().map(|s| (s.index, s.draining, s.weight)).collect())).collect()
}

pub fn shape_of_simulation(sim: &Simulation) -> Vec<Shape> {
    let shard = |s: &ShardMinute| (s.index, s.state == ShardState::Draining, Some(i64::from(s.weight)));
    sim.minutes.iter().map(|m| (m.minute, m.shards.iter().map(shard).collect())).collect()
}

/// What the emulator held, minute by minute, in the simulator's shape (for its summary and chart).
pub fn as_simulation(minutes: &[DayMinute], policy: &FleetPolicy, start: i64) -> Simulation {
    let limit_rps = f64::from(policy.limits.requests_per_second_per_shard);
    let alarm_rps = strata_core::plan::alarms::high_threshold(&policy.limits) / 60.0;
    let minutes: Vec<Minute> = minutes
        .iter()
        .map(|m| Minute {
            minute: m.minute,
            offered_rps: m.offered_rps,
            unserved_rps: 0.0,
            shards: m
                .shards
                .iter()
                .map(|s| ShardMinute {
                    index: s.index,
                    state: if s.draining { ShardState::Draining } else { ShardState::Serving },
                    weight: s.weight.and_then(|w| u8::try_from(w).ok()).unwrap_or(0),
                    requests_per_second: s.requests_per_second,
                })
                .collect(),
        })
        .collect();
    let summary = summary::summarize(&minutes, &[], limit_rps, alarm_rps);
    Simulation { settings: settings(), start, limit_rps, alarm_rps, minutes, events: Vec::new(), summary }
}

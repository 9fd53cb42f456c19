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
use strata_core::model::ObservedFleet;
use strata_core::names::{FleetAlarm, FleetName, ShardIndex};
use strata_core::observe::{Depth, FleetQuery, observe};
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

async fn fleet(aws: &AwsClients, name: &FleetName) -> ObservedFleet {
    let query = FleetQuery { fleet: name, dns: None, asgs: None, depth: Depth::default(), owner: None };
    observe(aws, query).await.expect("observe the fleet")
}

fn weights(fleet: &ObservedFleet) -> BTreeMap<ShardIndex, u8> {
    fleet.records.iter().filter_map(|r| Some((r.shard?, u8::try_from(r.weight?).ok()?))).collect()
}

fn dimension(lb_arn: &str) -> String {
    strata_core::alarms::load_balancer_dimension(lb_arn)
}

/// Splits `offered` by the weights over the shards, as the simulator does with no DNS lag and every ALB active.
fn route(fleet: &ObservedFleet, offered: f64) -> BTreeMap<ShardIndex, f64> {
    let weights = weights(fleet);
    let mut chosen: Vec<(ShardIndex, f64)> =
        weights.iter().filter(|(_, w)| **w > 0).map(|(i, w)| (*i, f64::from(*w))).collect();
    if chosen.is_empty() {
        chosen = weights.keys().map(|i| (*i, 1.0)).collect();
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
    name: FleetName,
    alarms: BTreeMap<String, SimAlarm>,
}

impl World<'_> {
    fn invoke(&self, function: &str, payload: Value) {
        let mut env = self.emulator.env(&self.fixture.region);
        env.push(("STRATA_ALIAS_TTL_SECONDS".into(), "0".into()));
        let run = run_function(function, &env, &[payload]);
        run.outcomes[0].response();
    }

    async fn publish(&self, fleet: &ObservedFleet, load: &BTreeMap<ShardIndex, f64>) {
        let data: Vec<MetricDatum> = fleet
            .shards
            .iter()
            .filter_map(|s| Some((s.load_balancer.as_ref()?, load.get(&s.index).copied().unwrap_or(0.0))))
            .filter(|(_, rps)| *rps > 0.0)
            .map(|(lb, rps)| {
                MetricDatum::builder()
                    .metric_name("RequestCount")
                    .dimensions(Dimension::builder().name("LoadBalancer").value(dimension(&lb.arn)).build())
                    .timestamp(DateTime::from(std::time::SystemTime::now()))
                    .value(rps * 60.0)
                    .build()
            })
            .collect();
        if !data.is_empty() {
            let put = self.aws.cloudwatch.put_metric_data().namespace("AWS/ApplicationELB").set_metric_data(Some(data));
            put.send().await.expect("PutMetricData");
        }
    }

    /// Feeds each alarm the minute's datapoint; returns the alarms that went into ALARM, high ones first.
    async fn evaluate(&mut self, fleet: &ObservedFleet, load: &BTreeMap<ShardIndex, f64>) -> Vec<String> {
        let by_dimension: BTreeMap<String, f64> = fleet
            .shards
            .iter()
            .filter_map(|s| Some((dimension(&s.load_balancer.as_ref()?.arn), load.get(&s.index).copied()?)))
            .filter(|(_, rps)| *rps > 0.0)
            .map(|(d, rps)| (d, rps * 60.0))
            .collect();
        let mut fired = Vec::new();
        for alarm in &fleet.alarms {
            let (datapoint, comparison) = match alarm.kind {
                FleetAlarm::RequestsHigh(_) => {
                    (alarm.load_balancer.as_ref().and_then(|d| by_dimension.get(d)).copied(), Comparison::Above)
                }
                FleetAlarm::RequestsLow => {
                    let summed: Vec<f64> =
                        alarm.summed_load_balancers.iter().filter_map(|d| by_dimension.get(d)).copied().collect();
                    ((!summed.is_empty()).then(|| summed.iter().sum()), Comparison::Below)
                }
                FleetAlarm::TargetsFull => continue,
            };
            let periods = alarm.evaluation_periods.unwrap_or(1) as usize;
            let threshold = alarm.threshold.unwrap_or(0.0);
            let model =
                self.alarms.entry(alarm.name.clone()).or_insert_with(|| SimAlarm::new(periods, comparison, threshold));
            model.threshold = threshold;
            let was = model.in_alarm();
            if model.observe(datapoint) {
                fired.push((matches!(alarm.kind, FleetAlarm::RequestsLow), alarm.name.clone()));
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

/// Runs `traffic` against the fleet the provisioner made; one `Minute` per point, as the simulator reports them.
pub async fn run_day(emulator: &Emulator, fixture: &Fixture, fleet_name: &str, traffic: &Traffic) -> Vec<Minute> {
    let aws = emulator.clients(&fixture.region).await;
    let name = FleetName::parse(fleet_name).expect("a fleet name");
    let mut world = World { emulator, fixture, aws, name, alarms: BTreeMap::new() };
    let mut minutes = Vec::new();
    for (minute, point) in (0u32..).zip(&traffic.points) {
        let before = fleet(&world.aws, &world.name).await;
        let load = route(&before, point.requests_per_second);
        world.publish(&before, &load).await;
        for alarm in world.evaluate(&before, &load).await {
            world.invoke("alb-scaler", alarm_action(&fixture.region, &alarm));
        }
        world.invoke("alb-scaler", event("alb-scaler/schedule.json"));
        world.invoke("dns-rebalancer", event("dns-rebalancer/schedule.json"));
        let after = fleet(&world.aws, &world.name).await;
        let weights = weights(&after);
        let shards = after
            .shards
            .iter()
            .map(|s| ShardMinute {
                index: s.index,
                state: if s.is_draining() { ShardState::Draining } else { ShardState::Serving },
                weight: weights.get(&s.index).copied().unwrap_or(0),
                requests_per_second: load.get(&s.index).copied().unwrap_or(0.0),
            })
            .collect();
        minutes.push(Minute { minute, offered_rps: point.requests_per_second, unserved_rps: 0.0, shards });
    }
    minutes
}

/// What the emulator held, minute by minute, in the simulator's shape (for its summary and chart).
pub fn as_simulation(minutes: Vec<Minute>, policy: &FleetPolicy, start: i64) -> Simulation {
    let limit_rps = f64::from(policy.limits.requests_per_second_per_shard);
    let alarm_rps = strata_core::alarms::high_threshold(&policy.limits) / 60.0;
    let summary = summary::summarize(&minutes, &[], limit_rps, alarm_rps);
    Simulation { settings: settings(), start, limit_rps, alarm_rps, minutes, events: Vec::new(), summary }
}

//! `strata simulate`: a traffic series replayed through the planners the functions run (`plan_scale`,
//! `plan_weights`, the weight guard, the alarm thresholds), no AWS and no emulator. What happens between decisions
//! is modelled: CloudWatch alarms (one-minute periods, actions on transitions only), the scaler's and the
//! rebalancer's schedules, the minutes a new ALB takes to become active, DNS caches (clients follow a weight
//! change one TTL later), and the drain wait. One step a minute.

pub mod alarm;
#[cfg(feature = "chart")]
pub mod chart;
pub mod fleet;
pub mod summary;
pub mod traffic;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::RegionAlbs;
use crate::names::{FleetName, ShardIndex, requests_low_alarm};
use crate::plan::alarms::{high_threshold, summed_low_threshold};
use crate::plan::guard;
use crate::plan::scale::{ScaleStep, ScaleTrigger, plan_scale};
use crate::plan::weights::{MAX_WEIGHT, WeightChange, plan_weights};
use crate::policy::FleetPolicy;
use crate::rebalance::capacities;

use alarm::{Comparison, SimAlarm};
use fleet::{LOW_ALARM_PERIODS, SimShard, observed};
pub use summary::Summary;
use traffic::Traffic;

/// What the simulation assumes about the world around the planners.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimSettings {
    /// Minutes from CreateLoadBalancer until the ALB is active and its targets pass health checks: AWS takes a
    /// few minutes to provision an ALB, then targets need HealthyThresholdCount passing checks (3 × 15 s here).
    pub alb_active_minutes: u32,
    /// The alias records' TTL: clients follow a weight change this much later.
    pub alias_ttl_seconds: u32,
    /// The rebalancer's and the scaler's schedules (infra/template.yaml: `rate(1 minute)` both).
    pub rebalance_every_minutes: u32,
    pub tidy_every_minutes: u32,
    /// Healthy targets behind each shard where the traffic does not say.
    pub healthy_targets: u32,
    /// Load balancers in the region that are not the fleet's (AWS's quota counts them too).
    pub other_load_balancers: usize,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            alb_active_minutes: 4,
            alias_ttl_seconds: 60,
            rebalance_every_minutes: 1,
            tidy_every_minutes: 1,
            healthy_targets: 10,
            other_load_balancers: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardState {
    /// Made, its ALB not yet active: Route 53 sends it nothing.
    Building,
    Serving,
    Draining,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardMinute {
    pub index: ShardIndex,
    pub state: ShardState,
    /// Its record's weight at the end of the minute.
    pub weight: u8,
    pub requests_per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Minute {
    pub minute: u32,
    pub offered_rps: f64,
    /// Requests no shard could take: every weighted shard was still building or gone.
    pub unserved_rps: f64,
    pub shards: Vec<ShardMinute>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    HighAlarm {
        shard: ShardIndex,
    },
    LowAlarm,
    ShardCreated {
        shard: ShardIndex,
    },
    ShardActive {
        shard: ShardIndex,
    },
    DrainStarted {
        shard: ShardIndex,
    },
    ShardRemoved {
        shard: ShardIndex,
    },
    WeightsChanged {
        changes: Vec<WeightChange>,
    },
    /// Why the scaler did nothing (more) on an alarm.
    ScalerNote {
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedEvent {
    pub minute: u32,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub settings: SimSettings,
    /// Epoch seconds of minute 0.
    pub start: i64,
    /// A shard's RPS limit, and the load at which its high alarm fires.
    pub limit_rps: f64,
    pub alarm_rps: f64,
    pub minutes: Vec<Minute>,
    pub events: Vec<TimedEvent>,
    pub summary: Summary,
}

/// Replays `traffic` against a fleet that starts as the provisioner leaves it: MinShards shards, active, at
/// full weight.
pub fn simulate(fleet: &FleetName, policy: &FleetPolicy, traffic: &Traffic, settings: &SimSettings) -> Simulation {
    let mut run = Run::new(fleet, policy, settings);
    for (minute, point) in (0u32..).zip(&traffic.points) {
        let targets = point.healthy_targets.unwrap_or(settings.healthy_targets);
        // A minute's datapoint is complete, and the functions act on it, at the end of that minute.
        run.step(minute, traffic.start + i64::from(minute + 1) * 60, point.requests_per_second, targets);
    }
    let limit_rps = f64::from(policy.limits.requests_per_second_per_shard);
    let alarm_rps = high_threshold(&policy.limits) / 60.0;
    let summary = summary::summarize(&run.minutes, &run.events, limit_rps, alarm_rps);
    Simulation {
        settings: settings.clone(),
        start: traffic.start,
        limit_rps,
        alarm_rps,
        minutes: run.minutes,
        events: run.events,
        summary,
    }
}

struct Run<'a> {
    fleet: &'a FleetName,
    policy: &'a FleetPolicy,
    settings: &'a SimSettings,
    shards: Vec<SimShard>,
    low_alarm: SimAlarm,
    /// The weights written by the end of each minute, for what DNS caches still answer.
    written: Vec<BTreeMap<ShardIndex, u8>>,
    minutes: Vec<Minute>,
    events: Vec<TimedEvent>,
}

impl<'a> Run<'a> {
    fn new(fleet: &'a FleetName, policy: &'a FleetPolicy, settings: &'a SimSettings) -> Self {
        let high = high_threshold(&policy.limits);
        let shards: Vec<SimShard> = (0..policy.limits.min_shards.max(1))
            .filter_map(ShardIndex::new)
            .map(|index| SimShard::new(index, 0, 0, MAX_WEIGHT, high))
            .collect();
        let low = summed_low_threshold(&policy.limits, shards.len());
        let initial = shards.iter().map(|s| (s.index, s.weight)).collect();
        Self {
            fleet,
            policy,
            settings,
            shards,
            low_alarm: SimAlarm::new(LOW_ALARM_PERIODS, Comparison::Below, low),
            written: vec![initial],
            minutes: Vec::new(),
            events: Vec::new(),
        }
    }

    fn event(&mut self, minute: u32, event: Event) {
        self.events.push(TimedEvent { minute, event });
    }

    fn step(&mut self, minute: u32, now: i64, offered: f64, targets: u32) {
        for shard in self.shards.iter().filter(|s| s.created > 0 && s.active_from == minute) {
            self.events.push(TimedEvent { minute, event: Event::ShardActive { shard: shard.index } });
        }
        let (load, unserved) = self.route(minute, offered, targets);
        let mut triggers = self.evaluate_alarms(minute, &load);
        if minute.is_multiple_of(self.settings.tidy_every_minutes.max(1)) {
            triggers.push((ScaleTrigger::Tidy, None));
        }
        for (trigger, id) in triggers {
            self.scale(minute, now, targets, trigger, id.as_deref());
        }
        if minute.is_multiple_of(self.settings.rebalance_every_minutes.max(1)) {
            self.rebalance(minute, targets);
        }
        self.written.push(self.shards.iter().map(|s| (s.index, s.weight)).collect());
        let shards = self
            .shards
            .iter()
            .map(|s| ShardMinute {
                index: s.index,
                state: match (s.draining_since, s.is_active(minute)) {
                    (Some(_), _) => ShardState::Draining,
                    (None, true) => ShardState::Serving,
                    (None, false) => ShardState::Building,
                },
                weight: s.weight,
                requests_per_second: load.get(&s.index).copied().unwrap_or(0.0),
            })
            .collect();
        self.minutes.push(Minute { minute, offered_rps: offered, unserved_rps: unserved, shards });
    }

    /// Splits the offered load by the weights clients' DNS caches still hold (written one TTL ago) over the
    /// shards Route 53 finds healthy (ALB active, healthy targets). As Route 53 does: when no healthy record has
    /// weight, the healthy zero-weight ones share the traffic evenly; when none is healthy, every record is
    /// answered as if healthy, and what goes to a shard not yet active is lost (counted as unserved).
    fn route(&self, minute: u32, offered: f64, targets: u32) -> (BTreeMap<ShardIndex, f64>, f64) {
        let lag = self.settings.alias_ttl_seconds.div_ceil(60) as usize;
        let cached = &self.written[self.written.len().saturating_sub(1 + lag)];
        let records: Vec<(ShardIndex, f64, bool)> = self
            .shards
            .iter()
            .filter_map(|s| Some((s.index, f64::from(*cached.get(&s.index)?), s.is_active(minute) && targets > 0)))
            .collect();
        let split = |chosen: Vec<(ShardIndex, f64, bool)>| {
            let total: f64 = chosen.iter().map(|(_, w, _)| w).sum();
            let shares: Vec<_> = chosen.into_iter().map(|(i, w, healthy)| (i, offered * w / total, healthy)).collect();
            let lost = shares.iter().filter(|(_, _, healthy)| !healthy).map(|(_, rps, _)| rps).sum();
            (shares.into_iter().filter(|(_, _, healthy)| *healthy).map(|(i, rps, _)| (i, rps)).collect(), lost)
        };
        let weighted: Vec<_> = records.iter().copied().filter(|(_, w, healthy)| *healthy && *w > 0.0).collect();
        if !weighted.is_empty() {
            return split(weighted);
        }
        let healthy: Vec<_> = records.iter().map(|(i, _, h)| (*i, 1.0, *h)).filter(|(_, _, h)| *h).collect();
        if !healthy.is_empty() {
            return split(healthy);
        }
        match records.iter().any(|(_, w, _)| *w > 0.0) {
            true => split(records.into_iter().filter(|(_, w, _)| *w > 0.0).collect()),
            false if records.is_empty() => (BTreeMap::new(), offered),
            false => split(records.into_iter().map(|(i, _, h)| (i, 1.0, h)).collect()),
        }
    }

    /// Feeds the minute's RequestCount to each alarm; the transitions into ALARM are the scaler's triggers.
    fn evaluate_alarms(
        &mut self,
        minute: u32,
        load: &BTreeMap<ShardIndex, f64>,
    ) -> Vec<(ScaleTrigger, Option<String>)> {
        let mut triggers = Vec::new();
        // An ALB publishes no RequestCount for a minute without requests: missing data.
        let count = |index: &ShardIndex| load.get(index).filter(|rps| **rps > 0.0).map(|rps| rps * 60.0);
        let mut fired = Vec::new();
        for shard in &mut self.shards {
            if shard.high_alarm.observe(count(&shard.index)) {
                fired.push(shard.index);
            }
        }
        for shard in fired {
            self.event(minute, Event::HighAlarm { shard });
            let name = crate::names::ShardNames::new(self.fleet, shard).requests_high_alarm;
            triggers.push((ScaleTrigger::Out, Some(format!("{name}@{minute}"))));
        }
        // The low alarm sums the first 10 serving shards (alarms.rs).
        let summed: Vec<f64> = self
            .shards
            .iter()
            .filter(|s| s.draining_since.is_none())
            .take(10)
            .filter_map(|s| count(&s.index))
            .collect();
        let datapoint = (!summed.is_empty()).then(|| summed.iter().sum());
        if self.low_alarm.observe(datapoint) {
            self.event(minute, Event::LowAlarm);
            triggers.push((ScaleTrigger::In, Some(format!("{}@{minute}", requests_low_alarm(self.fleet)))));
        }
        triggers
    }

    fn scale(&mut self, minute: u32, now: i64, targets: u32, trigger: ScaleTrigger, id: Option<&str>) {
        let seen = observed(self.fleet, &self.shards, minute, targets);
        let region = self.shards.len() + self.settings.other_load_balancers;
        let ttl = self.settings.alias_ttl_seconds;
        let albs = RegionAlbs { in_use: region, quota: usize::from(crate::spec::ALB_QUOTA_PER_REGION) };
        let plan = plan_scale(&seen, self.policy, trigger, id, now, ttl, albs);
        if trigger != ScaleTrigger::Tidy {
            for note in plan.notes {
                self.event(minute, Event::ScalerNote { note: note.to_string() });
            }
        }
        for step in plan.steps {
            match step {
                ScaleStep::Create { index, .. } => {
                    let high = high_threshold(&self.policy.limits);
                    let active_from = minute + self.settings.alb_active_minutes;
                    let mut shard =
                        SimShard::new(index, minute, active_from, self.policy.rebalancing.initial_weight, high);
                    shard.trigger = id.map(str::to_owned);
                    self.shards.push(shard);
                    self.shards.sort_by_key(|s| s.index);
                    self.event(minute, Event::ShardCreated { shard: index });
                }
                // Creates finish within the invocation here: nothing is ever left half-built.
                ScaleStep::Finish { .. } => {}
                ScaleStep::Drain { index } => {
                    if let Some(shard) = self.shards.iter_mut().find(|s| s.index == index) {
                        shard.weight = 0;
                        shard.draining_since = Some(now);
                        shard.drain_trigger = id.map(str::to_owned);
                    }
                    self.event(minute, Event::DrainStarted { shard: index });
                }
                ScaleStep::Remove { index } => {
                    self.shards.retain(|s| s.index != index);
                    self.event(minute, Event::ShardRemoved { shard: index });
                }
            }
        }
        // The scaler rewrites the low alarm for the shards there are now (PutMetricAlarm keeps its state).
        let serving = self.shards.iter().filter(|s| s.draining_since.is_none()).count();
        self.low_alarm.threshold = summed_low_threshold(&self.policy.limits, serving);
    }

    fn rebalance(&mut self, minute: u32, targets: u32) {
        let seen = observed(self.fleet, &self.shards, minute, targets);
        let plan = plan_weights(&capacities(&seen), &self.policy.rebalancing);
        let proposed: Vec<_> = plan.changes.iter().map(|c| (c.index, c.to)).collect();
        if plan.changes.is_empty() || guard::check(&guard::weights_after(&seen, &proposed)).is_err() {
            return;
        }
        for change in &plan.changes {
            if let Some(shard) = self.shards.iter_mut().find(|s| s.index == change.index) {
                shard.weight = change.to;
            }
        }
        self.event(minute, Event::WeightsChanged { changes: plan.changes });
    }
}

#[cfg(test)]
mod tests;

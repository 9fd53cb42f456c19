//! The simulated fleet: what AWS would hold, shard by shard, shown to the planners as the `ObservedFleet` that
//! `observe` would read, so that the simulator runs the very planners the functions run.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_elasticloadbalancingv2::types::{
    IpAddressType, LoadBalancerSchemeEnum, LoadBalancerStateEnum, ProtocolEnum, TargetTypeEnum,
};
use aws_sdk_route53::types::RrType;

use crate::model::{
    Listener, ListenerAction, LoadBalancer, ObservedFleet, OwnedRecord, Shard, TargetGroup, TargetHealthCount, WebAcl,
};
use crate::names::{
    FleetName, STATE_DRAINING, ShardIndex, TAG_DRAIN_TRIGGER, TAG_DRAINING_SINCE, TAG_STATE, TAG_TRIGGER,
};
use crate::plan::scale::format_rfc3339;

use super::alarm::{Comparison, SimAlarm};

/// The alarms' evaluation periods, as the scaler writes them (one-minute periods).
pub const HIGH_ALARM_PERIODS: usize = crate::plan::alarms::HIGH_EVALUATION_PERIODS as usize;
pub const LOW_ALARM_PERIODS: usize = crate::plan::alarms::LOW_EVALUATION_PERIODS as usize;

#[derive(Debug, Clone)]
pub struct SimShard {
    pub index: ShardIndex,
    /// The minute the scaler (or the provisioner) made it.
    pub created: u32,
    /// From this minute on its ALB is active and its targets pass health checks: Route 53 sends it traffic.
    pub active_from: u32,
    /// Its weighted record's weight, as written.
    pub weight: u8,
    /// Epoch seconds the drain started.
    pub draining_since: Option<i64>,
    pub trigger: Option<String>,
    pub drain_trigger: Option<String>,
    pub high_alarm: SimAlarm,
}

impl SimShard {
    pub fn new(index: ShardIndex, created: u32, active_from: u32, weight: u8, high_threshold: f64) -> Self {
        Self {
            index,
            created,
            active_from,
            weight,
            draining_since: None,
            trigger: None,
            drain_trigger: None,
            high_alarm: SimAlarm::new(HIGH_ALARM_PERIODS, Comparison::Above, high_threshold),
        }
    }

    pub fn is_active(&self, minute: u32) -> bool {
        minute >= self.active_from
    }
}

/// The fleet as `observe` would read it at `minute`: ALB, target group, both listeners, the weighted record,
/// and the healthy targets (none until the ALB is active). Fields no planner reads hold placeholders.
pub fn observed(fleet: &FleetName, shards: &[SimShard], minute: u32, healthy_targets: u32) -> ObservedFleet {
    let shards_seen = shards.iter().map(|s| seen(fleet, s, minute, healthy_targets)).collect();
    let records = shards
        .iter()
        .map(|s| OwnedRecord {
            name: String::new(),
            record_type: RrType::A,
            set_identifier: format!("strata:{fleet}:sim:{}", s.index),
            weight: Some(i64::from(s.weight)),
            region: None,
            alias: None,
            health_check_id: None,
            shard: Some(s.index),
        })
        .collect();
    ObservedFleet {
        fleet: fleet.clone(),
        region: "sim".into(),
        shards: shards_seen,
        duplicate_load_balancers: Vec::new(),
        duplicate_target_groups: Vec::new(),
        records,
        asgs: Vec::new(),
        alarms: Vec::new(),
        region_albs: shards.len(),
        alb_quota: None,
        owner: None,
        taken_indexes: BTreeSet::new(),
        other_owners: Vec::new(),
        deleting: false,
    }
}

fn seen(fleet: &FleetName, shard: &SimShard, minute: u32, healthy_targets: u32) -> Shard {
    let mut tags = BTreeMap::new();
    if let Some(since) = shard.draining_since {
        tags.insert(TAG_STATE.to_owned(), STATE_DRAINING.to_owned());
        tags.insert(TAG_DRAINING_SINCE.to_owned(), format_rfc3339(since));
    }
    if let Some(trigger) = &shard.trigger {
        tags.insert(TAG_TRIGGER.to_owned(), trigger.clone());
    }
    if let Some(trigger) = &shard.drain_trigger {
        tags.insert(TAG_DRAIN_TRIGGER.to_owned(), trigger.clone());
    }
    let name = format!("{fleet}-{}", shard.index);
    let load_balancer = LoadBalancer {
        arn: format!("sim:loadbalancer/app/{name}"),
        name: name.clone(),
        dns_name: String::new(),
        canonical_hosted_zone_id: String::new(),
        scheme: Some(LoadBalancerSchemeEnum::InternetFacing),
        ip_address_type: Some(IpAddressType::Ipv4),
        vpc_id: String::new(),
        subnet_ids: Vec::new(),
        security_group_ids: Vec::new(),
        created_epoch: 0,
        state: Some(if shard.is_active(minute) {
            LoadBalancerStateEnum::Active
        } else {
            LoadBalancerStateEnum::Provisioning
        }),
        tags: tags.clone(),
        attributes: BTreeMap::new(),
        web_acl: WebAcl::None,
    };
    let target_group = TargetGroup {
        arn: format!("sim:targetgroup/{name}-tg"),
        name: format!("{name}-tg"),
        target_type: Some(TargetTypeEnum::Instance),
        protocol: Some(ProtocolEnum::Http),
        port: 80,
        vpc_id: String::new(),
        health_check_path: "/health".into(),
        health_check_interval_seconds: 30,
        healthy_threshold: 5,
        unhealthy_threshold: 2,
        load_balancer_arns: vec![load_balancer.arn.clone()],
        tags,
        attributes: BTreeMap::new(),
    };
    let listener = |port: i32, protocol: ProtocolEnum| Listener {
        arn: format!("sim:listener/{name}/{port}"),
        port,
        protocol: Some(protocol),
        ssl_policy: None,
        certificate_arns: Vec::new(),
        default_action: Some(ListenerAction::Forward { target_group_arn: target_group.arn.clone() }),
    };
    let healthy = if shard.is_active(minute) { healthy_targets } else { 0 };
    Shard {
        index: shard.index,
        listeners: vec![listener(80, ProtocolEnum::Http), listener(443, ProtocolEnum::Https)],
        load_balancer: Some(load_balancer),
        target_group: Some(target_group),
        health: Some(TargetHealthCount { healthy, total: healthy_targets }),
        requests_per_second: None,
        configured: true,
    }
}

//! One shard as it should be (`ShardConfig`: from the spec, or cloned from a serving shard so that shards never
//! drift), and what must change on an existing shard's ALB, target group and HTTPS listener to match it. Pure:
//! `crate::shard` only carries these changes out.

use aws_sdk_elasticloadbalancingv2::types::{IpAddressType, LoadBalancerSchemeEnum, TargetTypeEnum};

use crate::attributes::{self, ALB_DEFAULTS, NOT_CLONED_LOAD_BALANCER_KEYS, TARGET_GROUP_DEFAULTS};
use crate::model::{Listener, LoadBalancer, Shard, Tags, TargetGroup};
use crate::names::{FleetName, Owner, ShardIndex, TAG_POLICY_PREFIX, lacks, ownership_marks};
use crate::policy::user_tags_of;
use crate::spec::FleetSpec;

/// Everything a shard is made of; from the spec (provisioner) or cloned from a serving shard (scaler).
#[derive(Debug, Clone, PartialEq)]
pub struct ShardConfig {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub scheme: LoadBalancerSchemeEnum,
    pub ip_address_type: IpAddressType,
    pub load_balancer_attributes: Tags,
    /// The default certificate first.
    pub certificate_arns: Vec<String>,
    pub ssl_policy: String,
    pub target_type: TargetTypeEnum,
    pub target_port: i32,
    pub health_check_path: String,
    pub health_check_interval_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub target_group_attributes: Tags,
    /// Tags for the ALB beyond ownership (full keys): the fleet policy, the trigger that made it.
    pub load_balancer_tags: Tags,
    /// The user's own tags (the `Tags` property), on the ALB, the target group and the listeners.
    pub user_tags: Tags,
    /// The custom resource the fleet belongs to (`None` only for a fleet made before owners were written).
    pub owner: Option<Owner>,
}

impl ShardConfig {
    pub fn from_spec(spec: &FleetSpec, policy_tags: Tags, owner: &Owner) -> Self {
        let load_balancer_attributes = [
            ("load_balancing.cross_zone.enabled", "true"),
            ("routing.http.drop_invalid_header_fields.enabled", "true"),
        ];
        let target_group_attributes = [
            ("deregistration_delay.timeout_seconds", spec.deregistration_delay_seconds.to_string()),
            ("stickiness.enabled", spec.stickiness.enabled.to_string()),
            ("stickiness.type", "lb_cookie".to_owned()),
            ("stickiness.lb_cookie.duration_seconds", spec.stickiness.duration_seconds.to_string()),
        ];
        Self {
            vpc_id: spec.vpc_id.clone(),
            subnet_ids: spec.subnet_ids.clone(),
            security_group_ids: spec.security_group_ids.clone(),
            scheme: spec.scheme.as_aws(),
            ip_address_type: spec.ip_address_type.as_aws(),
            load_balancer_attributes: load_balancer_attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            certificate_arns: vec![spec.certificate_arn.clone()],
            ssl_policy: spec.ssl_policy.clone(),
            target_type: spec.target_type.as_aws(),
            target_port: i32::from(spec.target_port),
            health_check_path: spec.health_check_path.clone(),
            health_check_interval_seconds: i32::from(spec.health_check_interval_seconds),
            healthy_threshold: i32::from(spec.healthy_threshold_count),
            unhealthy_threshold: i32::from(spec.unhealthy_threshold_count),
            target_group_attributes: target_group_attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            load_balancer_tags: policy_tags,
            user_tags: spec.user_tags(),
            owner: Some(owner.clone()),
        }
    }
}

impl ShardConfig {
    /// A new shard's configuration, read from a serving shard observed with `Depth::configuration`, so that
    /// shards never drift: subnets, security groups, scheme, IP type, ALB attributes, certificates (default and
    /// extra), TLS policy, target group settings and attributes (but not [`NOT_CLONED_LOAD_BALANCER_KEYS`]).
    pub fn cloned_from(shard: &Shard, load_balancer_tags: Tags, owner: Option<Owner>) -> Option<Self> {
        let lb = shard.load_balancer.as_ref()?;
        let tg = shard.target_group.as_ref()?;
        let https = shard.listeners.iter().find(|l| l.port == 443)?;
        Some(Self {
            vpc_id: tg.vpc_id.clone(),
            subnet_ids: lb.subnet_ids.clone(),
            security_group_ids: lb.security_group_ids.clone(),
            scheme: lb.scheme.clone()?,
            ip_address_type: lb.ip_address_type.clone()?,
            load_balancer_attributes: lb
                .attributes
                .iter()
                .filter(|(k, _)| !NOT_CLONED_LOAD_BALANCER_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            certificate_arns: https.certificate_arns.clone(),
            ssl_policy: https.ssl_policy.clone().unwrap_or_else(|| crate::spec::DEFAULT_SSL_POLICY.to_owned()),
            target_type: tg.target_type.clone()?,
            target_port: tg.port,
            health_check_path: tg.health_check_path.clone(),
            health_check_interval_seconds: tg.health_check_interval_seconds,
            healthy_threshold: tg.healthy_threshold,
            unhealthy_threshold: tg.unhealthy_threshold,
            target_group_attributes: tg.attributes.clone(),
            load_balancer_tags,
            user_tags: user_tags_of(&lb.tags),
            owner,
        })
    }
}

/// A shard's ALB and target group as they are after `ensure_shard_resources`: what later steps (listeners,
/// records, alarms) need, without reading them back.
#[derive(Debug, Clone)]
pub struct ShardResources {
    pub load_balancer: LoadBalancer,
    pub target_group: TargetGroup,
    /// The ALB was just made: it has no listener yet, and AWS's default attributes.
    pub fresh_load_balancer: bool,
    /// The target group was just made, with AWS's default attributes.
    pub fresh_target_group: bool,
}

impl ShardConfig {
    /// Below the interval, as ELBv2 requires ([`health_check_timeout`]).
    pub fn health_check_timeout_seconds(&self) -> i32 {
        health_check_timeout(self.health_check_interval_seconds)
    }
}

/// AWS's default HTTP health check timeout (5 s) unless the interval is that short: the timeout must be
/// smaller than the interval (ELBv2 CreateTargetGroup / ModifyTargetGroup), and the interval can be 5 s.
pub fn health_check_timeout(interval_seconds: i32) -> i32 {
    (interval_seconds - 1).clamp(2, 5)
}

/// What an existing target group needs to match its shard's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroupChanges {
    /// The marks, when any is missing or different.
    pub add_tags: Option<Tags>,
    /// ModifyTargetGroup with the configuration's health check.
    pub health_check: bool,
    pub attributes: Tags,
}

pub fn target_group_changes(tg: &TargetGroup, config: &ShardConfig, marks: &Tags) -> TargetGroupChanges {
    TargetGroupChanges {
        add_tags: lacks(&tg.tags, marks).then(|| marks.clone()),
        health_check: tg.health_check_path != config.health_check_path
            || tg.health_check_interval_seconds != config.health_check_interval_seconds
            || tg.healthy_threshold != config.healthy_threshold
            || tg.unhealthy_threshold != config.unhealthy_threshold,
        attributes: attributes::changes(&tg.attributes, &config.target_group_attributes),
    }
}

/// What an existing ALB needs to match its shard's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancerChanges {
    /// The marks and the policy tags, when any is missing or different.
    pub add_tags: Option<Tags>,
    /// Policy keys the spec no longer has (an ASG tag removed, a shorter ASG list): they must not be obeyed.
    pub remove_tag_keys: Vec<String>,
    pub attributes: Tags,
}

/// `desired`: the ALB's marks with `config.load_balancer_tags`.
pub fn load_balancer_changes(lb: &LoadBalancer, config: &ShardConfig, desired: &Tags) -> LoadBalancerChanges {
    LoadBalancerChanges {
        add_tags: lacks(&lb.tags, desired).then(|| desired.clone()),
        remove_tag_keys: lb
            .tags
            .keys()
            .filter(|k| k.starts_with(TAG_POLICY_PREFIX) && !config.load_balancer_tags.contains_key(*k))
            .cloned()
            .collect(),
        attributes: attributes::changes(&lb.attributes, &config.load_balancer_attributes),
    }
}

/// What ensuring one shard's ALB and target group does: make what is missing, change what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceStep<C> {
    Create,
    Change(C),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// The shard's ownership marks: what a resource found under its name must carry to be this shard's.
    pub marks: Tags,
    /// The marks and the user's tags: on the target group and the listeners.
    pub resource_tags: Tags,
    /// The marks, the user's tags and the fleet policy: on the ALB.
    pub load_balancer_tags: Tags,
    pub target_group: ResourceStep<TargetGroupChanges>,
    pub load_balancer: ResourceStep<LoadBalancerChanges>,
}

/// Shard `index` of `fleet` made to match `config`, from what `existing` (as observed) has.
pub fn shard_plan(fleet: &FleetName, index: ShardIndex, config: &ShardConfig, existing: Option<&Shard>) -> ShardPlan {
    let marks = ownership_marks(fleet, Some(index), config.owner.as_ref());
    let mut resource_tags = config.user_tags.clone();
    resource_tags.extend(marks.clone());
    let mut load_balancer_tags = resource_tags.clone();
    load_balancer_tags.extend(config.load_balancer_tags.clone());
    let target_group = match existing.and_then(|s| s.target_group.as_ref()) {
        Some(tg) => ResourceStep::Change(target_group_changes(tg, config, &resource_tags)),
        None => ResourceStep::Create,
    };
    let load_balancer = match existing.and_then(|s| s.load_balancer.as_ref()) {
        Some(lb) => ResourceStep::Change(load_balancer_changes(lb, config, &load_balancer_tags)),
        None => ResourceStep::Create,
    };
    ShardPlan { marks, resource_tags, load_balancer_tags, target_group, load_balancer }
}

/// What the HTTPS:443 listener needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpsStep {
    Create,
    /// Its policy, default certificate or default action differs from the configuration.
    Modify {
        arn: String,
    },
    Keep {
        arn: String,
    },
}

/// What completing a shard whose ALB and target group exist does: a new ALB's or TG's attributes brought from
/// AWS's defaults to the configuration, and the listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionPlan {
    pub load_balancer_attributes: Tags,
    pub target_group_attributes: Tags,
    /// HTTP:80 (a 301 to HTTPS) is missing.
    pub create_http: bool,
    pub https: HttpsStep,
    /// Extra certificates the HTTPS listener lacks (added once it exists).
    pub add_certificates: Vec<String>,
}

/// `listeners`: the ALB's listeners as they are (none for a new ALB).
pub fn completion_plan(made: &ShardResources, config: &ShardConfig, listeners: &[Listener]) -> CompletionPlan {
    let fresh = |is_fresh: bool, table, desired: &Tags| match is_fresh {
        true => attributes::changes(&attributes::defaults(table), desired),
        false => Tags::new(),
    };
    let tg_arn = &made.target_group.arn;
    let https = listeners.iter().find(|l| l.port == 443);
    let drifted = |l: &Listener| {
        l.ssl_policy.as_deref() != Some(config.ssl_policy.as_str())
            || l.certificate_arns.first() != config.certificate_arns.first()
            || !l.default_action.as_ref().is_some_and(|a| a.forwards_to(tg_arn))
    };
    let present = https
        .map(|l| l.certificate_arns.clone())
        .unwrap_or_else(|| config.certificate_arns[..1.min(config.certificate_arns.len())].to_vec());
    CompletionPlan {
        load_balancer_attributes: fresh(made.fresh_load_balancer, ALB_DEFAULTS, &config.load_balancer_attributes),
        target_group_attributes: fresh(made.fresh_target_group, TARGET_GROUP_DEFAULTS, &config.target_group_attributes),
        create_http: !listeners.iter().any(|l| l.port == 80),
        https: match https {
            None => HttpsStep::Create,
            Some(l) if drifted(l) => HttpsStep::Modify { arn: l.arn.clone() },
            Some(l) => HttpsStep::Keep { arn: l.arn.clone() },
        },
        add_certificates: config
            .certificate_arns
            .iter()
            .skip(1)
            .filter(|arn| !present.contains(arn))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests;

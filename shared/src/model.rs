//! The observed fleet: AWS as plain data, read fresh on every invocation (AWS is the only state store).

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue};
use aws_sdk_elasticloadbalancingv2::types::{
    IpAddressType, LoadBalancerSchemeEnum, LoadBalancerStateEnum, ProtocolEnum, TargetTypeEnum,
};
use aws_sdk_route53::types::RrType;
use serde::{Serialize, Serializer};

use crate::names::{
    FleetAlarm, FleetName, Owner, POLICY_PAUSED, STATE_DRAINING, ShardIndex, TAG_DRAINING_SINCE, TAG_PAUSED, TAG_STATE,
};

pub use crate::names::{FleetHealthCheck, Tags};

/// An SDK enum as AWS names its value (`internet-facing`), which is how reports show it.
fn aws_name<T: AsRef<str>, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
    value.as_ref().map(AsRef::as_ref).serialize(serializer)
}

fn aws_name_of<T: AsRef<str>, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_ref())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
    #[serde(serialize_with = "aws_name")]
    pub scheme: Option<LoadBalancerSchemeEnum>,
    #[serde(serialize_with = "aws_name")]
    pub ip_address_type: Option<IpAddressType>,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// Seconds since the epoch; orders duplicates (the oldest is kept).
    pub created_epoch: i64,
    #[serde(serialize_with = "aws_name")]
    pub state: Option<LoadBalancerStateEnum>,
    pub tags: Tags,
    /// Filled only when the observation asks for configuration (cloning, provisioning).
    pub attributes: Tags,
    /// Its AWS WAF web ACL, where the observation read it (GetWebACLForResource).
    pub web_acl: WebAcl,
}

/// A load balancer's AWS WAF association, as far as Strata knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebAcl {
    /// Not read, or the read failed.
    #[default]
    Unknown,
    /// No web ACL protects it.
    None,
    /// This web ACL (its ARN) protects it.
    Arn(String),
}

impl LoadBalancer {
    /// It answers on IPv6: its records include AAAA (`dualstack-without-public-ipv4` too, set by hand).
    pub fn is_dualstack(&self) -> bool {
        matches!(self.ip_address_type, Some(IpAddressType::Dualstack | IpAddressType::DualstackWithoutPublicIpv4))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    #[serde(serialize_with = "aws_name")]
    pub target_type: Option<TargetTypeEnum>,
    #[serde(serialize_with = "aws_name")]
    pub protocol: Option<ProtocolEnum>,
    pub port: i32,
    pub vpc_id: String,
    pub health_check_path: String,
    pub health_check_interval_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub load_balancer_arns: Vec<String>,
    pub tags: Tags,
    pub attributes: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listener {
    pub arn: String,
    pub port: i32,
    #[serde(serialize_with = "aws_name")]
    pub protocol: Option<ProtocolEnum>,
    pub ssl_policy: Option<String>,
    /// The default certificate first, then any extra ones.
    pub certificate_arns: Vec<String>,
    /// `None` when the listener has no default action AWS reported.
    pub default_action: Option<ListenerAction>,
}

/// A listener's default action, as far as Strata reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ListenerAction {
    /// To one target group (a weighted forward to several counts as its first).
    Forward { target_group_arn: String },
    /// `None` where AWS keeps the request's own value (`#{protocol}`, `#{port}`).
    Redirect { protocol: Option<String>, port: Option<String>, status_code: String },
    /// Any other type (fixed-response, authenticate-…), by name.
    Other(String),
}

impl ListenerAction {
    pub fn forwards_to(&self, target_group_arn: &str) -> bool {
        matches!(self, Self::Forward { target_group_arn: arn } if arn == target_group_arn)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TargetHealthCount {
    pub healthy: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shard {
    pub index: ShardIndex,
    pub load_balancer: Option<LoadBalancer>,
    pub target_group: Option<TargetGroup>,
    pub listeners: Vec<Listener>,
    pub health: Option<TargetHealthCount>,
    pub requests_per_second: Option<f64>,
    /// Its ALB and TG attributes and its listeners' extra certificates were read (what cloning it needs).
    pub configured: bool,
}

impl Shard {
    pub fn new(index: ShardIndex) -> Self {
        Self {
            index,
            load_balancer: None,
            target_group: None,
            listeners: Vec::new(),
            health: None,
            requests_per_second: None,
            configured: false,
        }
    }

    /// A tag of the ALB, or else of the TG: the draining mark is on both, so a TG left behind by a removal cut
    /// short (ResourceInUse after its ALB was deleted, a crash) is still known as draining, never rebuilt.
    fn tag(&self, key: &str) -> Option<&str> {
        let lb = self.load_balancer.as_ref().and_then(|lb| lb.tags.get(key));
        lb.or_else(|| self.target_group.as_ref().and_then(|tg| tg.tags.get(key))).map(String::as_str)
    }

    pub fn is_draining(&self) -> bool {
        let marked =
            |tags: Option<&Tags>| tags.and_then(|t| t.get(TAG_STATE)).map(String::as_str) == Some(STATE_DRAINING);
        marked(self.load_balancer.as_ref().map(|lb| &lb.tags)) || marked(self.target_group.as_ref().map(|tg| &tg.tags))
    }

    /// When the shard was marked draining (RFC 3339), if it is.
    pub fn draining_since(&self) -> Option<&str> {
        self.tag(TAG_DRAINING_SINCE).filter(|_| self.is_draining())
    }

    /// Both halves exist and the ALB is not being drained.
    pub fn is_serving(&self) -> bool {
        self.load_balancer.is_some() && self.target_group.is_some() && !self.is_draining()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

/// A Route 53 record owned by a fleet (its SetIdentifier starts with `strata:<fleet>:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnedRecord {
    pub name: String,
    #[serde(serialize_with = "aws_name_of")]
    pub record_type: RrType,
    pub set_identifier: String,
    pub weight: Option<i64>,
    pub region: Option<String>,
    pub alias: Option<AliasTarget>,
    pub health_check_id: Option<String>,
    /// The shard a weighted record points at.
    pub shard: Option<ShardIndex>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoScalingGroup {
    pub name: String,
    pub target_group_arns: Vec<String>,
    pub instance_count: u32,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub name: String,
    /// Which of the fleet's alarms this is (parsed from its exact name).
    pub kind: FleetAlarm,
    pub alarm_arn: String,
    #[serde(serialize_with = "aws_name")]
    pub state: Option<StateValue>,
    pub threshold: Option<f64>,
    pub alarm_actions: Vec<String>,
    /// The `LoadBalancer` dimension of a single-metric alarm (`app/<name>/<id>`).
    pub load_balancer: Option<String>,
    /// The `LoadBalancer` dimensions a metric-math alarm sums, in query order (the low-load alarm).
    pub summed_load_balancers: Vec<String>,
    pub evaluation_periods: Option<i32>,
    #[serde(serialize_with = "aws_name")]
    pub comparison_operator: Option<ComparisonOperator>,
    pub treat_missing_data: Option<String>,
}

impl Alarm {
    /// In the ALARM state.
    pub fn is_firing(&self) -> bool {
        self.state == Some(StateValue::Alarm)
    }
}

/// Where a fleet's records live; read from the shards' policy tags when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsLocation {
    pub hosted_zone_id: String,
    pub domain: String,
}

/// Why a fleet's scaler, rebalancer and registrar only observe and report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Pause {
    /// `strata pause` (the `strata:paused` tag): lifted only by `strata resume`, never by a stack Update.
    Command { since: String },
    /// The custom resource's `Paused` property: lifted by an Update that sets it false.
    Property,
}

impl std::fmt::Display for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Command { since } => write!(f, "paused by `strata pause` since {since}"),
            Self::Property => f.write_str("paused by the Paused property"),
        }
    }
}

/// The region's application load balancers: how many there are (every team's) and how many AWS allows
/// (DescribeAccountLimits `application-load-balancers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionAlbs {
    pub in_use: usize,
    pub quota: usize,
}

/// One fleet in one region, as AWS has it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedFleet {
    pub fleet: FleetName,
    pub region: String,
    /// Ordered by index; a shard appears once even if AWS holds duplicates (the oldest ALB/TG is kept).
    pub shards: Vec<Shard>,
    /// Newer copies of a shard's ALB or TG made by racing creates, to be removed.
    pub duplicate_load_balancers: Vec<LoadBalancer>,
    pub duplicate_target_groups: Vec<TargetGroup>,
    /// Records of this fleet in the hosted zone: this region's weighted set and every region's latency record.
    pub records: Vec<OwnedRecord>,
    pub asgs: Vec<AutoScalingGroup>,
    pub alarms: Vec<Alarm>,
    /// Every application load balancer in the region, Strata's or not (NLBs and GWLBs have quotas of their own).
    pub region_albs: usize,
    /// The region's quota of application load balancers, when the observation read it (`Depth::quota`).
    pub alb_quota: Option<usize>,
    /// The custom resource the fleet belongs to, where its resources say (`None`: made before owners were written).
    pub owner: Option<Owner>,
    /// Shard indexes whose ALB or target group name is held by something Strata may not touch (another owner's
    /// resource, or one named like a shard without Strata's tags): a new shard never takes them.
    pub taken_indexes: BTreeSet<ShardIndex>,
    /// Other custom resources whose marks were found on resources named like this fleet's shards (left out).
    pub other_owners: Vec<Owner>,
    /// The fleet's Delete has started (its ALBs or target groups carry `strata:deleting`).
    pub deleting: bool,
}

impl ObservedFleet {
    pub fn shard(&self, index: ShardIndex) -> Option<&Shard> {
        self.shards.iter().find(|s| s.index == index)
    }

    pub fn weighted_record(&self, index: ShardIndex) -> Option<&OwnedRecord> {
        self.records.iter().find(|r| r.shard == Some(index))
    }

    pub fn is_empty(&self) -> bool {
        self.shards.is_empty() && self.records.is_empty() && self.alarms.is_empty()
    }

    /// Whether some ALB or target group of the fleet carries no owner (made before owners were written).
    pub fn has_unclaimed(&self) -> bool {
        let tag_sets = self.shards.iter().flat_map(|s| {
            s.load_balancer.as_ref().map(|lb| &lb.tags).into_iter().chain(s.target_group.as_ref().map(|tg| &tg.tags))
        });
        tag_sets.into_iter().any(|tags| Owner::from_tags(|k| tags.get(k).map(String::as_str)).is_none())
    }

    /// Whether a new shard may take this index: no shard of the fleet has it and nothing foreign holds its names.
    pub fn index_is_free(&self, index: ShardIndex) -> bool {
        self.shard(index).is_none() && !self.taken_indexes.contains(&index)
    }

    /// Fleet policy written by the provisioner on each ALB (`strata:policy:<key>`), from the lowest serving shard
    /// that has it (a draining shard is not updated by the provisioner), else the lowest shard that has it.
    /// The region's ALBs against its quota: the one read, else AWS's default.
    pub fn region_capacity(&self) -> RegionAlbs {
        let quota = self.alb_quota.unwrap_or(usize::from(crate::spec::ALB_QUOTA_PER_REGION));
        RegionAlbs { in_use: self.region_albs, quota }
    }

    /// Whether the fleet is paused, and by which switch (`strata pause` first: it outlives an Update).
    pub fn pause(&self) -> Option<Pause> {
        let albs = self.shards.iter().filter_map(|s| s.load_balancer.as_ref());
        if let Some(since) = albs.filter_map(|lb| lb.tags.get(TAG_PAUSED)).min() {
            return Some(Pause::Command { since: since.clone() });
        }
        (self.policy_tags().get(POLICY_PAUSED).map(String::as_str) == Some("true")).then_some(Pause::Property)
    }

    pub fn policy_tags(&self) -> Tags {
        let prefix = crate::names::TAG_POLICY_PREFIX;
        let (serving, rest): (Vec<&Shard>, Vec<&Shard>) = self.shards.iter().partition(|s| s.is_serving());
        serving
            .into_iter()
            .chain(rest)
            .filter_map(|s| s.load_balancer.as_ref())
            .map(|lb| {
                lb.tags
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
                    .collect::<Tags>()
            })
            .find(|tags| !tags.is_empty())
            .unwrap_or_default()
    }
}

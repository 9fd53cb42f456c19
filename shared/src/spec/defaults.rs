//! The spec's nested objects and fixed sets of values, with the defaults a property left out gets.

use aws_sdk_elasticloadbalancingv2::types as elbv2;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::serde_as;

use super::{ALB_QUOTA_PER_REGION, DEFAULT_SSL_POLICY, MAX_SHARDS, cfn};

pub fn default_ssl_policy() -> String {
    DEFAULT_SSL_POLICY.to_owned()
}

pub fn target_port() -> u16 {
    80
}

pub fn health_check_path() -> String {
    "/health".to_owned()
}

pub fn health_check_interval() -> u16 {
    15
}

pub fn threshold() -> u8 {
    3
}

pub fn deregistration_delay() -> u32 {
    300
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    #[default]
    InternetFacing,
    Internal,
}

impl Scheme {
    pub fn as_aws(self) -> elbv2::LoadBalancerSchemeEnum {
        match self {
            Self::InternetFacing => elbv2::LoadBalancerSchemeEnum::InternetFacing,
            Self::Internal => elbv2::LoadBalancerSchemeEnum::Internal,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpAddressType {
    #[default]
    Ipv4,
    Dualstack,
}

impl IpAddressType {
    pub fn as_aws(self) -> elbv2::IpAddressType {
        match self {
            Self::Ipv4 => elbv2::IpAddressType::Ipv4,
            Self::Dualstack => elbv2::IpAddressType::Dualstack,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// The only type Auto Scaling attaches (AttachLoadBalancerTargetGroups): `ip` and `lambda` are refused.
    #[default]
    Instance,
}

impl TargetType {
    pub fn as_aws(self) -> elbv2::TargetTypeEnum {
        match self {
            Self::Instance => elbv2::TargetTypeEnum::Instance,
        }
    }
}

/// Says why `ip` and `lambda` are refused, which serde's "unknown variant" would not.
impl<'de> Deserialize<'de> for TargetType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match String::deserialize(deserializer)?.trim() {
            "instance" => Ok(Self::Instance),
            other => Err(serde::de::Error::custom(format!(
                "{:?} is refused: must be \"instance\", the only target type Auto Scaling attaches",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TargetProtocol {
    #[default]
    #[serde(rename = "HTTP")]
    Http,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardingMode {
    /// Every fleet ASG on every shard: RPS is what a shard runs out of.
    #[default]
    Mirror,
    /// Each ASG on exactly one shard: targets per ALB is what a shard runs out of.
    Partition,
}

impl ShardingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mirror => "mirror",
            Self::Partition => "partition",
        }
    }
}

#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields, default)]
pub struct Stickiness {
    /// Load-balancer-cookie (`lb_cookie`) stickiness on every shard's target group.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(skip)]
    pub enabled: bool,
    /// How long the stickiness cookie holds a client to one target.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 604_800))]
    pub duration_seconds: u32,
}

impl Default for Stickiness {
    fn default() -> Self {
        Self { enabled: false, duration_seconds: 86_400 }
    }
}

/// ASGs that carry this tag belong to the fleet.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TagSelector {
    /// Tag key an ASG must carry to belong to the fleet.
    #[serde_as(as = "cfn::Text")]
    #[garde(length(chars, max = 128))]
    pub key: String,
    /// Value that tag must have.
    #[serde_as(as = "cfn::Text")]
    #[garde(length(chars, max = 256))]
    pub value: String,
}

/// One of the user's own tags (cost allocation, tag policies), put on every resource Strata makes.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserTag {
    /// 1-128 characters of letters, digits, spaces and `_ . : / = + - @`; not `aws:…` nor `strata:…`.
    #[serde_as(as = "cfn::Text")]
    #[garde(length(chars, min = 1, max = 128), custom(super::checks::tag_text))]
    #[schemars(extend("x-rule" = "letters, digits, spaces and `_ . : / = + - @`"))]
    pub key: String,
    /// At most 256 characters of the same set.
    #[serde_as(as = "cfn::Text")]
    #[serde(default)]
    #[garde(length(chars, max = 256), custom(super::checks::tag_text))]
    #[schemars(extend("x-rule" = "letters, digits, spaces and `_ . : / = + - @`"))]
    pub value: String,
}

#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields, default)]
pub struct Limits {
    /// The load one shard (ALB) is sized for, in requests per second; the scaling alarms derive from it.
    ///
    /// A shard's `strata-<fleet>-s<k>-requests-high` alarm fires when the ALB's `RequestCount` stays above
    /// `RequestsPerSecondPerShard × 60 × ScaleOutPercent / 100` requests a minute for 3 minutes; the fleet's
    /// `strata-<fleet>-requests-low` alarm compares the fleet's requests a minute, for 15 minutes, with
    /// `(shards − 1) × RequestsPerSecondPerShard × 60 × ScaleInPercent / 100`.
    #[serde(rename = "RequestsPerSecondPerShard")]
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 10_000_000))]
    pub requests_per_second_per_shard: u32,
    /// Most targets one shard's target group may hold (partition mode places ASGs by it).
    ///
    /// Used in `partition` mode: an ASG goes on the serving shard with the fewest targets that still has room for
    /// all of its instances; when none has, the asg-registrar reports `NoTargetRoom` and the
    /// `strata-<fleet>-targets-full` alarm asks the alb-scaler for a shard. AWS allows 1,000 targets per ALB.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 1000))]
    pub targets_per_shard: u32,
    /// Most serving shards in the region.
    ///
    /// The alb-scaler adds no shard beyond it, nor beyond the region's quota of application load balancers, which
    /// it reads with DescribeAccountLimits (50 unless raised; every team's ALBs count). Lowering it removes no
    /// shard: scale-in does that, one drained shard at a time.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = MAX_SHARDS))]
    pub max_shards: u8,
    /// Fewest serving shards; the provisioner builds this many.
    ///
    /// The provisioner builds shards `s0` … `s<MinShards−1>`; scale-in never drains below it (nor below 1).
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = ALB_QUOTA_PER_REGION))]
    #[schemars(extend("x-rule" = "at most `MaxShards`"))]
    pub min_shards: u8,
    /// Share of `RequestsPerSecondPerShard` at which a shard's requests-high alarm fires.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 10, max = 100))]
    pub scale_out_percent: u8,
    /// Share of `RequestsPerSecondPerShard` below which the fleet, with one shard fewer, would still be: the
    /// requests-low alarm fires.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 90))]
    #[schemars(extend("x-rule" = "below `ScaleOutPercent`"))]
    pub scale_in_percent: u8,
    /// LCUs to reserve on the hot shard while a new one is built (off when left out). Reserved LCUs are billed.
    ///
    /// On a requests-high alarm that adds a shard, the alb-scaler first raises the hot shard's LCU capacity
    /// reservation to this (ModifyCapacityReservation: one call, before the shard is built), and gives it back
    /// once the new shard carries the weight the rebalancer plans for it, within AWS's daily decreases. A refused
    /// reservation (the Region's reserved-LCU quota is 0 until raised) is logged and counted, and never delays
    /// the shard. See docs/operations.md for the cost.
    #[serde_as(as = "Option<cfn::Scalar>")]
    #[serde(default)]
    #[garde(inner(range(min = 1, max = 15_000)))]
    #[schemars(range(min = 1, max = 15_000))]
    pub scale_out_reserved_capacity_units: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second_per_shard: 50_000,
            targets_per_shard: 1000,
            max_shards: 8,
            min_shards: 1,
            scale_out_percent: 80,
            scale_in_percent: 30,
            scale_out_reserved_capacity_units: None,
        }
    }
}

/// How the rebalancer moves weights.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields, default)]
pub struct Rebalancing {
    /// Largest increase of one shard's Route 53 weight in one rebalancer pass (decreases apply at once).
    #[serde(rename = "MaxStepWeight")]
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 255), rename("MaxStepWeight"))]
    pub max_step: u8,
    /// Hysteresis: no weight changes while the weights are within this many percent of what healthy capacity
    /// calls for.
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 0, max = 50))]
    pub hysteresis_percent: u8,
    /// Weight a shard added to a serving fleet starts at (the rebalancer then ramps it).
    #[serde_as(as = "cfn::Scalar")]
    #[garde(range(min = 1, max = 255))]
    pub initial_weight: u8,
}

impl Default for Rebalancing {
    fn default() -> Self {
        Self { max_step: 32, hysteresis_percent: 5, initial_weight: 8 }
    }
}

//! The fleet spec: the `Custom::StrataFleet` properties (DESIGN.md §7), parsed and validated once at the
//! boundary. A bad spec is one error that names every bad field.

mod reader;
pub mod schema;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{FieldError, FieldErrors, StrataError};
use crate::names::FleetName;
pub use reader::PropertyReader;

pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// AWS's quota of load balancers per region, which bounds `MaxShards`.
pub const ALB_QUOTA_PER_REGION: u8 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scheme {
    InternetFacing,
    Internal,
}

impl Scheme {
    pub fn as_aws(self) -> &'static str {
        match self {
            Self::InternetFacing => "internet-facing",
            Self::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IpAddressType {
    Ipv4,
    Dualstack,
}

impl IpAddressType {
    pub fn as_aws(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Dualstack => "dualstack",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TargetType {
    /// The only type Auto Scaling attaches (AttachLoadBalancerTargetGroups): `ip` and `lambda` are refused.
    Instance,
}

impl TargetType {
    pub fn as_aws(self) -> &'static str {
        match self {
            Self::Instance => "instance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ShardingMode {
    /// Every fleet ASG on every shard: RPS is what a shard runs out of.
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    pub path: String,
    pub interval_seconds: u16,
    pub healthy_threshold: u8,
    pub unhealthy_threshold: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stickiness {
    pub enabled: bool,
    pub duration_seconds: u32,
}

/// Which ASGs belong to the fleet: the union of the named ones and those carrying the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsgSelector {
    pub names: Vec<String>,
    pub tag: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub requests_per_second_per_shard: u32,
    pub targets_per_shard: u32,
    pub max_shards: u8,
    pub min_shards: u8,
    /// A shard's RPS alarm fires at this share of its RPS limit.
    pub scale_out_percent: u8,
    /// The fleet's low-load alarm fires when the fleet would fit in one shard fewer at this share.
    pub scale_in_percent: u8,
}

/// How the rebalancer moves weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rebalancing {
    /// Largest change of one shard's weight in one pass (a new shard ramps by this).
    pub max_step: u8,
    /// No change while every shard's weight is within this many percent of its ideal share.
    pub hysteresis_percent: u8,
    /// The weight a new shard starts at.
    pub initial_weight: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetSpec {
    pub fleet: FleetName,
    pub domain: String,
    pub hosted_zone_id: String,
    pub region: Option<String>,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub scheme: Scheme,
    pub ip_address_type: IpAddressType,
    pub certificate_arn: String,
    pub ssl_policy: String,
    pub target_type: TargetType,
    pub target_port: u16,
    pub health_check: HealthCheck,
    pub deregistration_delay_seconds: u32,
    pub stickiness: Stickiness,
    pub asgs: AsgSelector,
    pub sharding_mode: ShardingMode,
    pub limits: Limits,
    pub rebalancing: Rebalancing,
    pub scaler_function_arn: Option<String>,
}

impl FleetSpec {
    /// Parses CloudFormation `ResourceProperties` (scalars as strings or as JSON values).
    pub fn from_properties(props: &Value) -> Result<Self, StrataError> {
        let Value::Object(map) = props else {
            let errors = vec![FieldError::new("ResourceProperties", "must be an object")];
            return Err(StrataError::InvalidSpec(FieldErrors(errors)));
        };
        let mut errors = Vec::new();
        let spec = read_spec(map, &mut errors);
        match spec {
            Some(spec) if errors.is_empty() => Ok(spec),
            _ => Err(StrataError::InvalidSpec(FieldErrors(errors))),
        }
    }

    /// Changes that AWS cannot make to an existing ALB or target group in place.
    pub fn replacement_fields(&self, other: &FleetSpec) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.scheme != other.scheme {
            fields.push("Scheme");
        }
        if self.vpc_id != other.vpc_id {
            fields.push("VpcId");
        }
        if self.target_type != other.target_type {
            fields.push("TargetType");
        }
        if self.target_port != other.target_port {
            fields.push("TargetPort");
        }
        if self.fleet != other.fleet {
            fields.push("FleetName");
        }
        fields
    }
}

fn read_spec(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<FleetSpec> {
    let mut r = PropertyReader::new(map, "", errors);
    // CloudFormation's own properties of every custom resource: accepted, not read.
    r.ignore("ServiceToken");
    r.ignore("ServiceTimeout");
    let fleet = r.required_string("FleetName").and_then(|raw| match FleetName::parse(&raw) {
        Ok(name) => Some(name),
        Err(e) => {
            r.fail("FleetName", e.problem);
            None
        }
    });
    let domain = r.required_string("Domain").map(|d| d.trim_end_matches('.').to_ascii_lowercase());
    if let Some(d) = domain.as_ref().filter(|d| !is_domain_name(d)) {
        r.fail("Domain", format!("{d:?} is not a DNS name such as api.example.com"));
    }
    let hosted_zone_id = r.required_string("HostedZoneId").map(|z| z.trim_start_matches("/hostedzone/").to_owned());
    let region = r.optional_string("Region");
    let vpc_id = r.required_id("VpcId", "vpc-");
    let subnet_ids = r.string_list("SubnetIds", "subnet-");
    if subnet_ids.len() < 2 {
        r.fail("SubnetIds", "an ALB needs subnets in at least two Availability Zones");
    }
    let security_group_ids = r.string_list("SecurityGroupIds", "sg-");
    let scheme = r.choice(
        "Scheme",
        Scheme::InternetFacing,
        &[("internet-facing", Scheme::InternetFacing), ("internal", Scheme::Internal)],
    );
    let ip_address_type = r.choice(
        "IpAddressType",
        IpAddressType::Ipv4,
        &[("ipv4", IpAddressType::Ipv4), ("dualstack", IpAddressType::Dualstack)],
    );
    let certificate_arn = r.required_string("CertificateArn");
    if let Some(arn) = certificate_arn.as_ref().filter(|a| !a.starts_with("arn:") || !a.contains(":certificate/")) {
        r.fail("CertificateArn", format!("{arn:?} is not an ACM certificate ARN"));
    }
    let ssl_policy = r.optional_string("SslPolicy").unwrap_or_else(|| DEFAULT_SSL_POLICY.to_owned());
    if let Some(other) = r.optional_string("TargetType").filter(|t| t != "instance") {
        r.fail(
            "TargetType",
            format!("{other:?} is refused: must be \"instance\", the only target type Auto Scaling attaches"),
        );
    }
    let target_type = TargetType::Instance;
    let target_port = r.number("TargetPort", 80u16, 1..=65535);
    // Only HTTP is supported behind the ALB; the property exists so templates can say so explicitly.
    r.choice("TargetProtocol", (), &[("HTTP", ())]);
    let health_check = read_health_check(&mut r);
    let deregistration_delay_seconds = r.number("DeregistrationDelaySeconds", 300u32, 0..=3600);
    let stickiness = r.object("Stickiness", |s| Stickiness {
        enabled: s.boolean("Enabled", false),
        duration_seconds: s.number("DurationSeconds", 86_400u32, 1..=604_800),
    });
    let asgs = read_asg_selector(&mut r);
    let sharding_mode = r.choice(
        "ShardingMode",
        ShardingMode::Mirror,
        &[("mirror", ShardingMode::Mirror), ("partition", ShardingMode::Partition)],
    );
    let limits = r.object("Limits", read_limits);
    let rebalancing = r.object("Rebalancing", |b| Rebalancing {
        max_step: b.number("MaxStepWeight", 32u8, 1..=255),
        hysteresis_percent: b.number("HysteresisPercent", 5u8, 0..=50),
        initial_weight: b.number("InitialWeight", 8u8, 1..=255),
    });
    let scaler_function_arn = r.optional_string("ScalerFunctionArn");
    if let Some(arn) = scaler_function_arn.as_ref().filter(|a| !a.starts_with("arn:") || !a.contains(":function:")) {
        r.fail("ScalerFunctionArn", format!("{arn:?} is not a Lambda function ARN"));
    }
    r.finish();
    Some(FleetSpec {
        fleet: fleet?,
        domain: domain?,
        hosted_zone_id: hosted_zone_id?,
        region,
        vpc_id: vpc_id?,
        subnet_ids,
        security_group_ids,
        scheme,
        ip_address_type,
        certificate_arn: certificate_arn?,
        ssl_policy,
        target_type,
        target_port,
        health_check,
        deregistration_delay_seconds,
        stickiness,
        asgs,
        sharding_mode,
        limits,
        rebalancing,
        scaler_function_arn,
    })
}

fn read_health_check(r: &mut PropertyReader<'_>) -> HealthCheck {
    let path = r.optional_string("HealthCheckPath").unwrap_or_else(|| "/health".to_owned());
    if !path.starts_with('/') || path.len() > 1024 {
        r.fail("HealthCheckPath", format!("{path:?} must be a path starting with '/'"));
    }
    HealthCheck {
        path,
        interval_seconds: r.number("HealthCheckIntervalSeconds", 15u16, 5..=300),
        healthy_threshold: r.number("HealthyThresholdCount", 3u8, 2..=10),
        unhealthy_threshold: r.number("UnhealthyThresholdCount", 3u8, 2..=10),
    }
}

/// The longest ASG name AWS accepts.
const ASG_NAME_MAX_CHARS: usize = 255;

fn read_asg_selector(r: &mut PropertyReader<'_>) -> AsgSelector {
    let names = r.string_list("AutoScalingGroupNames", "");
    for (i, name) in names.iter().enumerate() {
        let chars = name.chars().count();
        if chars > ASG_NAME_MAX_CHARS {
            r.fail(&format!("AutoScalingGroupNames[{i}]"), format!("{chars} characters; AWS allows at most 255"));
        }
    }
    let tag = r.object("AutoScalingGroupTag", |t| {
        let key = t.optional_string("Key");
        let value = t.optional_string("Value");
        for (field, text, max) in [("Key", &key, 128), ("Value", &value, 256)] {
            let chars = text.as_deref().map_or(0, |v| v.chars().count());
            if chars > max {
                t.fail(
                    field,
                    format!("{chars} characters; AWS allows at most {max} in a tag {}", field.to_lowercase()),
                );
            }
        }
        match (key, value) {
            (Some(k), Some(v)) => Some((k, v)),
            (None, None) => None,
            _ => {
                t.fail("Key", "Key and Value go together");
                None
            }
        }
    });
    if names.is_empty() && tag.is_none() {
        r.fail("AutoScalingGroupNames", "name the fleet's ASGs here and/or select them with AutoScalingGroupTag");
    }
    AsgSelector { names, tag }
}

fn read_limits(l: &mut PropertyReader<'_>) -> Limits {
    let limits = Limits {
        requests_per_second_per_shard: l.number("RequestsPerSecondPerShard", 50_000u32, 1..=10_000_000),
        targets_per_shard: l.number("TargetsPerShard", 1000u32, 1..=1000),
        max_shards: l.number("MaxShards", 8u8, 1..=ALB_QUOTA_PER_REGION),
        min_shards: l.number("MinShards", 1u8, 1..=ALB_QUOTA_PER_REGION),
        scale_out_percent: l.number("ScaleOutPercent", 80u8, 10..=100),
        scale_in_percent: l.number("ScaleInPercent", 30u8, 1..=90),
    };
    if limits.min_shards > limits.max_shards {
        l.fail("MinShards", format!("{} is above MaxShards {}", limits.min_shards, limits.max_shards));
    }
    if limits.scale_in_percent >= limits.scale_out_percent {
        l.fail("ScaleInPercent", "must be below ScaleOutPercent, or the fleet would flap");
    }
    limits
}

fn is_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 200
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
pub(crate) mod tests;

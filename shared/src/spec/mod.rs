//! The fleet spec: the `Custom::StrataFleet` properties (DESIGN.md §7), written once. This one serde type is
//! what the provisioner parses (`parse.rs`: every bad field named in one error), what the JSON Schema
//! (`docs/strata-fleet.schema.json`) and the property reference of `docs/configuration.md` are generated from
//! (`schema.rs`, `reference.rs`), and where each property's Update behaviour is declared (`x-on-update`).
//!
//! A doc comment's first line is the property's summary; the paragraphs after it are the reference's details.

mod cfn;
mod checks;
mod parse;
pub mod reference;
pub mod schema;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::serde_as;

use crate::names::FleetName;

pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// AWS's default quota of application load balancers per region: it bounds `MinShards` (a Create builds that
/// many before any quota is read). The quota itself is read with DescribeAccountLimits before a scale-out.
pub const ALB_QUOTA_PER_REGION: u8 = 50;
/// Most user tags: Route 53 allows 10 tags per health check, and Strata's own marks on one take 5.
pub const MAX_USER_TAGS: usize = 5;
/// Most shards of a fleet in a region (`MaxShards`): what a raised ALB quota may allow, within Route 53's 100
/// weighted records per name and type (shard names `s0` … `s99`).
pub const MAX_SHARDS: u8 = 100;

/// The properties of a `Custom::StrataFleet` CloudFormation resource, as Strata's provisioner accepts them.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schemars(
    title = "Custom::StrataFleet properties",
    extend("anyOf" = [
        {"required": ["AutoScalingGroupNames"], "properties": {"AutoScalingGroupNames": {"minItems": 1}}},
        {"required": ["AutoScalingGroupTag"]},
    ]),
)]
#[garde(allow_unvalidated)]
pub struct FleetSpec {
    /// The provisioner's ARN, where CloudFormation sends the request.
    ///
    /// CloudFormation's own (the provisioner function's ARN); accepted and ignored.
    #[serde(default, skip_serializing)]
    #[schemars(extend("x-on-update" = "none"))]
    pub service_token: Option<Value>,
    /// CloudFormation's wait for the provisioner's answer.
    ///
    /// CloudFormation's own: how long CloudFormation waits for the answer (seconds); accepted and ignored.
    #[serde(default, skip_serializing)]
    #[schemars(extend("x-on-update" = "none"))]
    pub service_timeout: Option<Value>,
    /// The fleet's name, unique in the account and region.
    ///
    /// Every name derives from it: ALB `<fleet>-s<k>`, target group `<fleet>-s<k>-tg`, alarms `strata-<fleet>-…`,
    /// record SetIdentifiers `strata:<fleet>:…`, the `strata:fleet` tag and the PhysicalResourceId
    /// `strata:<fleet>:<region>`. Changing it builds a new fleet beside the old one; CloudFormation then sends
    /// Delete for the old PhysicalResourceId, which removes the old fleet. This is the way to change a property
    /// that is refused on Update.
    #[serde(rename = "FleetName")]
    #[schemars(extend("x-on-update" = "new-fleet"))]
    pub fleet: FleetName,
    /// The name clients resolve.
    ///
    /// The region's latency record is `<Domain>` (SetIdentifier `strata:<fleet>:<region>`), an alias of
    /// `<region>.<Domain>`, which holds the weighted records of the shards (SetIdentifier
    /// `strata:<fleet>:<region>:s<k>`). A final `.` is dropped and the name is lowercased. An Update writes the
    /// records under the new name; the records under the old name are left in the zone (delete them by hand).
    #[serde_as(as = "cfn::Text")]
    #[garde(custom(checks::domain))]
    #[schemars(regex(pattern = checks::DOMAIN_PATTERN), extend("x-rule" = "a DNS name of at least two labels, at most 200 characters"))]
    pub domain: String,
    /// The Route 53 hosted zone of `Domain`.
    ///
    /// Holds the latency and the weighted records; `/hostedzone/Z…` is accepted. An Update writes the records in
    /// the new zone and leaves the old zone's records.
    #[serde_as(as = "cfn::Text")]
    pub hosted_zone_id: String,
    /// A guard: the region this fleet's stack is meant for.
    ///
    /// When given, a provisioner running in another region answers FAILED instead of building there: one stack
    /// (or StackSet instance) per region, each provisioning its own region.
    #[serde_as(as = "Option<cfn::Text>")]
    #[serde(default)]
    #[schemars(extend("x-on-update" = "none"))]
    pub region: Option<String>,
    /// The VPC of the ALBs and target groups.
    ///
    /// The target groups are created in it, and `SubnetIds` must belong to it.
    #[serde_as(as = "cfn::Text")]
    #[garde(pattern(r"^vpc-."))]
    #[schemars(extend("x-on-update" = "refused"))]
    pub vpc_id: String,
    /// Subnets, one per Availability Zone the fleet uses.
    ///
    /// Every shard's ALB is in all of them (an ALB needs two Availability Zones or more); cross-zone load
    /// balancing is on. A list, or one comma-separated string; no id twice. Existing ALBs keep their subnets on
    /// Update, and shards the alb-scaler adds copy a serving shard's subnets.
    #[serde_as(as = "cfn::List")]
    #[garde(length(min = 2), inner(pattern(r"^subnet-.")))]
    #[schemars(extend("x-on-update" = "new-shards-only"))]
    pub subnet_ids: Vec<String>,
    /// Security groups of every shard's ALB.
    ///
    /// None given: the VPC's default security group. A list, or one comma-separated string; no id twice.
    /// Existing ALBs keep theirs on Update, and shards the alb-scaler adds copy a serving shard's.
    #[serde_as(as = "cfn::List")]
    #[serde(default)]
    #[garde(inner(pattern(r"^sg-.")))]
    #[schemars(extend("x-on-update" = "new-shards-only"))]
    pub security_group_ids: Vec<String>,
    /// Whether the ALBs are reachable from the internet.
    ///
    /// `internet-facing` shards also get a Route 53 HTTPS health check on their weighted records; `internal` ones
    /// rely on the alias records' EvaluateTargetHealth alone (Route 53's checkers cannot reach an internal ALB).
    #[serde(default)]
    #[schemars(extend("x-on-update" = "refused"))]
    pub scheme: Scheme,
    /// IPv4 only, or IPv4 and IPv6.
    ///
    /// `dualstack` ALBs get AAAA records beside the A records (weighted and latency). Existing ALBs keep their IP
    /// address type on Update.
    #[serde(default)]
    #[schemars(extend("x-on-update" = "new-shards-only"))]
    pub ip_address_type: IpAddressType,
    /// The ACM certificate of the HTTPS listener.
    ///
    /// The HTTPS:443 listener's default certificate; HTTP:80 answers 301 to HTTPS. An Update replaces the default
    /// certificate on every shard. Extra certificates added to a listener by hand are kept and copied to new
    /// shards.
    #[serde_as(as = "cfn::Text")]
    #[garde(pattern(r"^arn:(.*:)?certificate/."))]
    #[schemars(extend("x-rule" = "an ACM certificate ARN (`arn:…:certificate/…`)"))]
    pub certificate_arn: String,
    /// The HTTPS listener's security policy.
    #[serde_as(as = "cfn::Text")]
    #[serde(default = "defaults::default_ssl_policy")]
    pub ssl_policy: String,
    /// How targets register in the target groups.
    ///
    /// `instance` is the only type: Auto Scaling attaches only instance target groups.
    #[serde(default)]
    #[schemars(extend("x-on-update" = "refused"))]
    pub target_type: TargetType,
    /// The port the ALB sends requests to on the targets (HTTP).
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default = "defaults::target_port")]
    #[garde(range(min = 1, max = 65535))]
    #[schemars(extend("x-on-update" = "refused"))]
    pub target_port: u16,
    /// The protocol to the targets.
    ///
    /// Only HTTP is supported between the ALB and the targets; the property lets a template say so.
    #[serde(default)]
    #[schemars(extend("x-on-update" = "none"))]
    pub target_protocol: TargetProtocol,
    /// The path targets answer health checks on.
    ///
    /// The target groups check it over HTTP and expect 200. Internet-facing shards also get a Route 53 HTTPS
    /// health check of this path on port 443 (every 30 s, 3 failures), made when the shard is made: an Update
    /// changes the target groups' path, not the path of existing Route 53 health checks.
    #[serde_as(as = "cfn::Text")]
    #[serde(default = "defaults::health_check_path")]
    #[garde(pattern(r"^/"), length(max = 1024))]
    #[schemars(extend("x-rule" = "starts with `/`, at most 1,024 characters"))]
    pub health_check_path: String,
    /// Seconds between the target group's health checks of a target.
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default = "defaults::health_check_interval")]
    #[garde(range(min = 5, max = 300))]
    pub health_check_interval_seconds: u16,
    /// Consecutive successes before a target is healthy.
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default = "defaults::threshold")]
    #[garde(range(min = 2, max = 10))]
    pub healthy_threshold_count: u8,
    /// Consecutive failures before a target is unhealthy.
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default = "defaults::threshold")]
    #[garde(range(min = 2, max = 10))]
    pub unhealthy_threshold_count: u8,
    /// Seconds a deregistering target keeps serving its in-flight requests.
    ///
    /// Also part of the drain wait: a shard being removed waits `STRATA_ALIAS_TTL_SECONDS` (60) + this after its
    /// weight went to 0 before it is deleted.
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default = "defaults::deregistration_delay")]
    #[garde(range(min = 0, max = 3600))]
    pub deregistration_delay_seconds: u32,
    /// Target group stickiness.
    #[serde(default)]
    #[garde(dive)]
    pub stickiness: Stickiness,
    /// ASGs of the fleet, by name.
    ///
    /// The fleet's ASGs are the union of these and those `AutoScalingGroupTag` selects; give at least one of the
    /// two. A list, or one comma-separated string; no name twice. ASGs that leave the selection are detached from
    /// the fleet's target groups by the asg-registrar (on an event naming them, or its scheduled reconcile).
    #[serde_as(as = "cfn::List")]
    #[serde(default)]
    #[garde(inner(length(chars, max = 255)))]
    pub auto_scaling_group_names: Vec<String>,
    /// ASGs of the fleet, by tag.
    ///
    /// Every ASG in the region with this tag belongs to the fleet (an ASG created later too: the asg-registrar
    /// attaches it on its CloudTrail or tag-change event).
    #[serde(default)]
    #[garde(dive)]
    pub auto_scaling_group_tag: Option<TagSelector>,
    /// How the fleet's ASGs are spread over the shards.
    ///
    /// `mirror`: every fleet ASG on every shard, so requests per second are what a shard runs out of.
    /// `partition`: each ASG on exactly one shard, placed by target headroom (`Limits.TargetsPerShard`), for
    /// fleets beyond 1,000 targets. An Update re-plans the attachments.
    #[serde(default)]
    pub sharding_mode: ShardingMode,
    /// What a shard holds and how many shards there may be.
    #[serde(default)]
    #[garde(dive)]
    pub limits: Limits,
    /// How the dns-rebalancer moves Route 53 weights.
    #[serde(default)]
    #[garde(dive)]
    pub rebalancing: Rebalancing,
    /// The alb-scaler the fleet's alarms invoke.
    ///
    /// Overrides the provisioner's `STRATA_SCALER_ARN` (and `STRATA_ALARM_TOPIC_ARN`), and is kept in the fleet's
    /// policy tags so that the alb-scaler writes the same alarm actions when it rewrites the alarms.
    #[serde_as(as = "Option<cfn::Text>")]
    #[serde(default)]
    #[garde(pattern(r"^arn:(.*:)?function:."))]
    #[schemars(extend("x-rule" = "a Lambda function ARN (`arn:…:function:…`)"))]
    pub scaler_function_arn: Option<String>,
    /// Stops the fleet's automation: the alb-scaler, dns-rebalancer and asg-registrar observe and report only.
    ///
    /// For an incident or a change window: no shard is added, drained or removed, no weight changes, no ASG is
    /// attached or detached (Route 53 health checks and EvaluateTargetHealth still steer traffic away from
    /// unhealthy shards). Create, Update and Delete still act. `strata pause` does the same from the command line
    /// and outlives Updates: see docs/operations.md.
    #[serde_as(as = "cfn::Scalar")]
    #[serde(default)]
    pub paused: bool,
    /// Your own tags on every resource Strata makes: ALBs, target groups, listeners, alarms, health checks.
    ///
    /// A list of `{Key, Value}`, as CloudFormation writes tags; at most 5, because Route 53 allows 10 tags per
    /// health check and Strata's own marks take 5. Keys are unique, and neither `aws:…` (AWS's) nor `strata:…`
    /// (Strata's own). The shards the alb-scaler adds, and their alarms and health checks, carry them too. An Update
    /// adds new and changed tags to existing ALBs and target groups (in place); existing listeners, alarms and
    /// health checks keep the tags they were made with, and a tag taken out of the list stays where it is
    /// (remove it by hand). Route 53's 10 tags leave no room for a `Name` tag on health checks with 5 of yours.
    #[serde(default)]
    #[garde(length(max = MAX_USER_TAGS), dive)]
    pub tags: Vec<UserTag>,
}

mod defaults;
pub use defaults::{
    IpAddressType, Limits, Rebalancing, Scheme, ShardingMode, Stickiness, TagSelector, TargetProtocol, TargetType,
    UserTag,
};

/// Which ASGs belong to the fleet: the union of the named ones and those carrying the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsgSelector {
    pub names: Vec<String>,
    pub tag: Option<(String, String)>,
}

impl FleetSpec {
    /// The user's tags, by key.
    pub fn user_tags(&self) -> crate::names::Tags {
        self.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
    }

    /// The fleet's ASG selector.
    pub fn asgs(&self) -> AsgSelector {
        AsgSelector {
            names: self.auto_scaling_group_names.clone(),
            tag: self.auto_scaling_group_tag.as_ref().map(|t| (t.key.clone(), t.value.clone())),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

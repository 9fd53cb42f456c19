//! Deterministic names and ownership marks: every name Strata gives in AWS comes from here, so a retried
//! create finds (not duplicates) what an earlier attempt made, and ownership is checked in one place.

use std::fmt;

use crate::error::FieldError;

mod ownership;
pub use ownership::{
    FleetHealthCheck, Owner, Tags, foreign, health_check_is_owned, lacks, may_act_on, ownership_marks,
};

/// Tag keys on every resource Strata creates (DESIGN.md §2).
pub const TAG_FLEET: &str = "strata:fleet";
pub const TAG_SHARD: &str = "strata:shard";
pub const TAG_MANAGED_BY: &str = "strata:managed-by";
pub const MANAGED_BY: &str = "strata";
pub const TAG_STATE: &str = "strata:state";
pub const STATE_DRAINING: &str = "draining";
pub const TAG_DRAINING_SINCE: &str = "strata:draining-since";
/// The alarm transition a shard was made for (`<alarm>@<state time>`): duplicate deliveries find it.
pub const TAG_TRIGGER: &str = "strata:trigger";
/// The alarm transition that drained a shard: duplicate deliveries of a low-load alarm drain one shard only.
pub const TAG_DRAIN_TRIGGER: &str = "strata:drain-trigger";
/// Fleet policy lives on every shard's ALB as `strata:policy:<key>` tags.
pub const TAG_POLICY_PREFIX: &str = "strata:policy:";
/// The policy key (after the prefix) of the `Paused` property.
pub const POLICY_PAUSED: &str = "paused";
/// The custom resource that owns the fleet: its stack's id and its logical id, as two tags (together they can
/// exceed the 256 characters of one tag value).
pub const TAG_OWNER_STACK: &str = "strata:owner-stack";
pub const TAG_OWNER_RESOURCE: &str = "strata:owner-resource";
/// Set (to an RFC 3339 time) on a fleet's ALBs and target groups when its Delete starts: the other functions
/// leave such a fleet alone, so that no pass in flight writes records or alarms back behind the teardown.
pub const TAG_DELETING: &str = "strata:deleting";
/// Set (to an RFC 3339 time) on a fleet's ALBs by `strata pause`, removed only by `strata resume`: not a policy
/// tag, so an Update of the stack leaves it.
pub const TAG_PAUSED: &str = "strata:paused";
/// Set (to the LCUs reserved) on a hot shard's ALB by the scaler's capacity reservation, removed by its reset.
pub const TAG_RESERVED_LCU: &str = "strata:reserved-lcu";

/// Upper bound of ELBv2 names (ALB and target group).
const ELB_NAME_MAX: usize = 32;
/// An ALB name must not begin with `internal-` (CreateLoadBalancer, Name).
const ALB_RESERVED_PREFIX: &str = "internal-";

/// A fleet's name: 1-20 characters of `[a-z0-9-]`, not starting or ending with `-`, so that every
/// derived name (`<fleet>-s<k>-tg`) stays a valid ELBv2 name of at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct FleetName(String);

impl FleetName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok_chars = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if raw.is_empty() || raw.len() > 20 || !ok_chars || raw.starts_with('-') || raw.ends_with('-') {
            // Quoted only when short: a name from an event may be of any size.
            let shown = if raw.len() <= 64 { format!("{raw:?}") } else { format!("a name of {} bytes", raw.len()) };
            return Err(FieldError::new(
                "FleetName",
                format!("{shown} must be 1-20 characters of a-z, 0-9 and '-', not starting or ending with '-'"),
            ));
        }
        if raw.starts_with(ALB_RESERVED_PREFIX) {
            return Err(FieldError::new(
                "FleetName",
                format!(
                    "{raw:?} must not start with {ALB_RESERVED_PREFIX:?}: AWS refuses ALB names (<fleet>-s<k>) that do"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FleetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for FleetName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(raw.trim()).map_err(|e| serde::de::Error::custom(e.problem))
    }
}

impl schemars::JsonSchema for FleetName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FleetName".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(?!internal-)[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$",
            "x-rule": "1-20 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`, not starting with \
                       `internal-` (AWS refuses ALB names that do)",
        })
    }
}

/// A shard's position in its fleet: `s0`, `s1`, ... (at most 50 ALBs per region). Read back from a report
/// through `new`, so that an index out of range is refused there too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8")]
pub struct ShardIndex(u8);

impl TryFrom<u8> for ShardIndex {
    type Error = String;

    fn try_from(index: u8) -> Result<Self, Self::Error> {
        Self::new(index).ok_or_else(|| format!("shard index {index} is over {}", Self::MAX))
    }
}

impl ShardIndex {
    /// `MaxShards` at most 100: the shard names `s0` … `s99`.
    pub const MAX: u8 = 99;

    pub fn new(index: u8) -> Option<Self> {
        (index <= Self::MAX).then_some(Self(index))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.trim_start_matches('s').parse().ok().and_then(Self::new)
    }
}

impl fmt::Display for ShardIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// Every name a shard's resources carry.
pub struct ShardNames {
    pub load_balancer: String,
    pub target_group: String,
    pub requests_high_alarm: String,
}

impl ShardNames {
    pub fn new(fleet: &FleetName, shard: ShardIndex) -> Self {
        let load_balancer = format!("{fleet}-{shard}");
        let target_group = format!("{fleet}-{shard}-tg");
        debug_assert!(target_group.len() <= ELB_NAME_MAX);
        Self { load_balancer, target_group, requests_high_alarm: format!("strata-{fleet}-{shard}-requests-high") }
    }
}

/// The fleet-wide low-load alarm of one region (scale in).
pub fn requests_low_alarm(fleet: &FleetName) -> String {
    format!("strata-{fleet}-requests-low")
}

/// The fleet's "no target room" alarm of one region (scale out in partition mode).
pub fn targets_full_alarm(fleet: &FleetName) -> String {
    format!("strata-{fleet}-targets-full")
}

/// Prefix of every alarm of a fleet, for one DescribeAlarms walk: a search only; what is found is then parsed
/// with `parse_alarm_name` (the prefix of `web` also finds the alarms of `web-v2`).
pub fn alarm_prefix(fleet: &FleetName) -> String {
    format!("strata-{fleet}-")
}

/// The alarms Strata makes for a fleet in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FleetAlarm {
    RequestsHigh(ShardIndex),
    RequestsLow,
    TargetsFull,
}

/// Which of `fleet`'s alarms `name` is, exactly; `None` for any other alarm (another fleet's included).
pub fn parse_alarm_name(fleet: &FleetName, name: &str) -> Option<FleetAlarm> {
    if name == requests_low_alarm(fleet) {
        return Some(FleetAlarm::RequestsLow);
    }
    if name == targets_full_alarm(fleet) {
        return Some(FleetAlarm::TargetsFull);
    }
    let shard = name.strip_prefix(&alarm_prefix(fleet))?.strip_suffix("-requests-high")?;
    parse_shard_token(shard).map(FleetAlarm::RequestsHigh)
}

/// `s<k>` exactly (no sign, no leading zero, no other characters).
fn parse_shard_token(token: &str) -> Option<ShardIndex> {
    let digits = token.strip_prefix('s')?;
    let canonical =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    digits.parse().ok().and_then(ShardIndex::new)
}

/// The shard whose ALB name (`<fleet>-s<k>`) this is, exactly.
pub fn parse_load_balancer_name(fleet: &FleetName, name: &str) -> Option<ShardIndex> {
    parse_shard_token(name.strip_prefix(fleet.as_str())?.strip_prefix('-')?)
}

/// The shard whose target group name (`<fleet>-s<k>-tg`) this is, exactly.
pub fn parse_target_group_name(fleet: &FleetName, name: &str) -> Option<ShardIndex> {
    parse_load_balancer_name(fleet, name.strip_suffix("-tg")?)
}

/// The regional name that holds the weighted set: `<region>.<domain>`.
pub fn regional_name(region: &str, domain: &str) -> String {
    format!("{region}.{}", domain.trim_end_matches('.'))
}

/// SetIdentifier of a region's latency record.
pub fn latency_set_identifier(fleet: &FleetName, region: &str) -> String {
    format!("strata:{fleet}:{region}")
}

/// SetIdentifier of a shard's weighted record.
pub fn weighted_set_identifier(fleet: &FleetName, region: &str, shard: ShardIndex) -> String {
    format!("strata:{fleet}:{region}:{shard}")
}

/// The shard named by a weighted SetIdentifier of this fleet and region, if it is one.
pub fn shard_of_set_identifier(fleet: &FleetName, region: &str, set_identifier: &str) -> Option<ShardIndex> {
    let prefix = format!("strata:{fleet}:{region}:");
    set_identifier.strip_prefix(&prefix).and_then(parse_shard_token)
}

/// A health check's CallerReference: unique per shard *incarnation* (Route 53 refuses a reference used by a
/// deleted health check), stable across retries of the same incarnation.
pub fn health_check_caller_reference(fleet: &FleetName, shard: ShardIndex, load_balancer_arn: &str) -> String {
    let alb_id = load_balancer_arn.rsplit('/').next().unwrap_or(load_balancer_arn);
    format!("strata-{fleet}-{shard}-{alb_id}")
}

/// The shard and ALB id of one of `fleet`'s health-check CallerReferences, exactly (an ALB id has no `-`).
pub fn parse_health_check_caller_reference(fleet: &FleetName, reference: &str) -> Option<(ShardIndex, String)> {
    let rest = reference.strip_prefix(&format!("strata-{fleet}-"))?;
    let (shard, alb_id) = rest.split_once('-')?;
    let valid_id = !alb_id.is_empty() && alb_id.bytes().all(|b| b.is_ascii_alphanumeric());
    Some((parse_shard_token(shard)?, alb_id.to_owned())).filter(|_| valid_id)
}

/// `app/<name>/<id>`: the LoadBalancer dimension of AWS/ApplicationELB metrics, from the ALB ARN.
pub fn load_balancer_dimension(lb_arn: &str) -> String {
    lb_arn.split_once(":loadbalancer/").map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| lb_arn.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_name_accepts_the_documented_alphabet_and_length() {
        assert!(FleetName::parse("web").is_ok());
        assert!(FleetName::parse("a-20-char-fleet-name").is_ok());
        for bad in ["", "Web", "web_1", "-web", "web-", "a-21-char-fleet-names"] {
            assert!(FleetName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn longest_names_fit_elbv2_limits() {
        let fleet = FleetName::parse("a-20-char-fleet-name").unwrap();
        let names = ShardNames::new(&fleet, ShardIndex::new(49).unwrap());
        assert_eq!(names.target_group, "a-20-char-fleet-name-s49-tg");
        assert!(names.target_group.len() <= 32 && names.load_balancer.len() <= 32);
    }

    #[test]
    fn alarm_names_parse_only_for_their_own_fleet() {
        let web = FleetName::parse("web").unwrap();
        let s1 = ShardIndex::new(1).unwrap();
        assert_eq!(parse_alarm_name(&web, "strata-web-s1-requests-high"), Some(FleetAlarm::RequestsHigh(s1)));
        assert_eq!(parse_alarm_name(&web, "strata-web-requests-low"), Some(FleetAlarm::RequestsLow));
        assert_eq!(parse_alarm_name(&web, "strata-web-targets-full"), Some(FleetAlarm::TargetsFull));
        for other in [
            "strata-web-v2-requests-low",
            "strata-web-v2-s0-requests-high",
            "strata-web-s1-s0-requests-high",
            "strata-web-blue-targets-full",
            "strata-web-s01-requests-high",
            "strata-web-s200-requests-high",
            "strata-web-s1-requests-high-copy",
        ] {
            assert_eq!(parse_alarm_name(&web, other), None, "{other} is not web's");
        }
    }

    #[test]
    fn shard_names_and_caller_references_parse_exactly() {
        let web = FleetName::parse("web").unwrap();
        let s2 = ShardIndex::new(2).unwrap();
        assert_eq!(parse_load_balancer_name(&web, "web-s2"), Some(s2));
        assert_eq!(parse_target_group_name(&web, "web-s2-tg"), Some(s2));
        for other in ["web-v2-s0", "web-s2-tg", "webs2", "web-s2x", "web-api"] {
            assert_eq!(parse_load_balancer_name(&web, other), None, "{other}");
        }
        let reference = health_check_caller_reference(
            &web,
            s2,
            "arn:aws:elasticloadbalancing:r:1:loadbalancer/app/web-s2/50dc6c495c0c9188",
        );
        assert_eq!(parse_health_check_caller_reference(&web, &reference), Some((s2, "50dc6c495c0c9188".to_owned())));
        let web_s2 = FleetName::parse("web-s2").unwrap();
        let theirs = health_check_caller_reference(&web_s2, ShardIndex::new(0).unwrap(), "app/web-s2-s0/abc");
        assert_eq!(parse_health_check_caller_reference(&web, &theirs), None, "{theirs} is web-s2's");
    }

    #[test]
    fn set_identifiers_round_trip_only_for_their_own_fleet_and_region() {
        let web = FleetName::parse("web").unwrap();
        let shard = ShardIndex::new(3).unwrap();
        let id = weighted_set_identifier(&web, "eu-west-1", shard);
        assert_eq!(id, "strata:web:eu-west-1:s3");
        assert_eq!(shard_of_set_identifier(&web, "eu-west-1", &id), Some(shard));
        assert_eq!(shard_of_set_identifier(&web, "us-east-1", &id), None);
        let webapp = FleetName::parse("webapp").unwrap();
        assert_eq!(shard_of_set_identifier(&webapp, "eu-west-1", &id), None);
    }
}

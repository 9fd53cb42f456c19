//! Deterministic names and ownership marks: every name Strata gives in AWS comes from here, so a retried
//! create finds (not duplicates) what an earlier attempt made, and ownership is checked in one place.

use std::fmt;

use crate::error::FieldError;

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

/// Upper bound of ELBv2 names (ALB and target group).
const ELB_NAME_MAX: usize = 32;

/// A fleet's name: 1-20 characters of `[a-z0-9-]`, not starting or ending with `-`, so that every
/// derived name (`<fleet>-s<k>-tg`) stays a valid ELBv2 name of at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct FleetName(String);

impl FleetName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok_chars = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if raw.is_empty() || raw.len() > 20 || !ok_chars || raw.starts_with('-') || raw.ends_with('-') {
            return Err(FieldError::new(
                "FleetName",
                format!("{raw:?} must be 1-20 characters of a-z, 0-9 and '-', not starting or ending with '-'"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SetIdentifier prefix that marks this fleet's Route 53 records (records cannot be tagged).
    pub fn set_identifier_prefix(&self) -> String {
        format!("strata:{}:", self.0)
    }
}

impl fmt::Display for FleetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A shard's position in its fleet: `s0`, `s1`, ... (at most 50 ALBs per region).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ShardIndex(u8);

impl ShardIndex {
    pub const MAX: u8 = 49;

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

/// Prefix of every alarm of a fleet, for one DescribeAlarms walk.
pub fn alarm_prefix(fleet: &FleetName) -> String {
    format!("strata-{fleet}-")
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
    set_identifier.strip_prefix(&prefix).and_then(ShardIndex::parse)
}

/// A health check's CallerReference: unique per shard *incarnation* (Route 53 refuses a reference used by a
/// deleted health check), stable across retries of the same incarnation.
pub fn health_check_caller_reference(fleet: &FleetName, shard: ShardIndex, load_balancer_arn: &str) -> String {
    let alb_id = load_balancer_arn.rsplit('/').next().unwrap_or(load_balancer_arn);
    format!("strata-{fleet}-{shard}-{alb_id}")
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

//! No shard less protected than the others: the fleet's AWS WAF web ACL, how each shard stands against it, and
//! which new shards must be given it before their records get any weight. Pure: AWS is read in `observe`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ObservedFleet, Shard, WebAcl};
use crate::names::ShardIndex;

/// How a shard's WAF association stands against the fleet's web ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protection", rename_all = "snake_case")]
pub enum Protection {
    /// The fleet's web ACL (or none, where no serving shard has one).
    Matches,
    /// No web ACL, while the fleet's other shards have one: it gets no weight.
    Missing { fleet_web_acl: String },
    /// Another web ACL than the fleet's: it gets no weight.
    Differs { web_acl: String, fleet_web_acl: String },
    /// Its association could not be read: its weight is not raised.
    Unknown,
}

impl Protection {
    /// Less protected than the fleet: no traffic until it matches.
    pub fn withholds_weight(&self) -> bool {
        matches!(self, Self::Missing { .. } | Self::Differs { .. })
    }

    /// What it means for the shard's weight, given the weight it has: what `strata status` says first.
    pub fn consequence(&self, weight: Option<i64>) -> &'static str {
        match self {
            Self::Matches => "in rotation",
            Self::Missing { .. } | Self::Differs { .. } if weight.is_some_and(|w| w > 0) => {
                "kept in rotation (availability first: the other shards hold fewer healthy targets)"
            }
            Self::Missing { .. } | Self::Differs { .. } => "no weight",
            Self::Unknown => "weight not raised",
        }
    }
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Matches => f.write_str("protected as the fleet is"),
            Self::Missing { fleet_web_acl } => {
                write!(f, "no web ACL protects it, while the fleet's is {fleet_web_acl}")
            }
            Self::Differs { web_acl, fleet_web_acl } => {
                write!(f, "its web ACL is {web_acl}, while the fleet's is {fleet_web_acl}")
            }
            Self::Unknown => f.write_str("its web ACL could not be read"),
        }
    }
}

/// The fleet's web ACL, as far as the reads tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetWebAcl<'a> {
    /// No web ACL is the norm: nothing is copied or withheld.
    None,
    /// This one is: at least half the serving shards have it.
    Acl(&'a str),
    /// The shards whose association could not be read could make either true.
    Undecided,
}

/// The fleet's web ACL: the one most serving shards have (on a tie, the lowest shard's), if at least half of
/// the serving shards have it. A shard that lost its association by hand is then the odd one out, never the
/// norm; and a web ACL put on a few shards (a rollout by hand, another tool) never becomes the norm that takes
/// the others' weight away. Where unread shards could change the answer, it is undecided.
pub fn fleet_web_acl(fleet: &ObservedFleet) -> FleetWebAcl<'_> {
    let serving: Vec<&Shard> = fleet.shards.iter().filter(|s| s.is_serving()).collect();
    let mut counts: BTreeMap<&str, (usize, ShardIndex)> = BTreeMap::new();
    for shard in &serving {
        if let WebAcl::Arn(arn) = web_acl_of(shard) {
            counts.entry(arn).or_insert((0, shard.index)).0 += 1;
        }
    }
    let mut ranked: Vec<(&str, usize, ShardIndex)> = counts.into_iter().map(|(a, (n, i))| (a, n, i)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let unknown = serving.iter().filter(|s| *web_acl_of(s) == WebAcl::Unknown).count();
    let (best, count) = ranked.first().map(|(arn, n, _)| (Some(*arn), *n)).unwrap_or((None, 0));
    let runner_up = ranked.get(1).map(|r| r.1).unwrap_or(0);
    let half = |n: usize| 2 * n >= serving.len();
    match best {
        Some(arn) if half(count) && (unknown == 0 || count > runner_up + unknown) => FleetWebAcl::Acl(arn),
        _ if unknown == 0 || !half(count + unknown) => FleetWebAcl::None,
        _ => FleetWebAcl::Undecided,
    }
}

fn web_acl_of(shard: &Shard) -> &WebAcl {
    shard.load_balancer.as_ref().map(|lb| &lb.web_acl).unwrap_or(&WebAcl::Unknown)
}

/// How `shard` stands against the fleet's web ACL. While it is undecided, a shard with no web ACL counts as
/// unknown (held, never raised), one with a web ACL as protected.
pub fn protection_of(shard: &Shard, fleet: FleetWebAcl<'_>) -> Protection {
    match (web_acl_of(shard), fleet) {
        (WebAcl::Unknown, _) | (WebAcl::None, FleetWebAcl::Undecided) => Protection::Unknown,
        (_, FleetWebAcl::None) | (WebAcl::Arn(_), FleetWebAcl::Undecided) => Protection::Matches,
        (WebAcl::None, FleetWebAcl::Acl(fleet)) => Protection::Missing { fleet_web_acl: fleet.to_owned() },
        (WebAcl::Arn(arn), FleetWebAcl::Acl(fleet)) if arn == fleet => Protection::Matches,
        (WebAcl::Arn(arn), FleetWebAcl::Acl(fleet)) => {
            Protection::Differs { web_acl: arn.clone(), fleet_web_acl: fleet.to_owned() }
        }
    }
}

/// A shard and how it stands against the fleet's web ACL, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardProtection {
    pub shard: ShardIndex,
    #[serde(flatten)]
    pub protection: Protection,
}

/// Every serving shard that does not match the fleet's web ACL, with how it stands (what reports and logs say).
pub fn unmatched(fleet: &ObservedFleet) -> Vec<ShardProtection> {
    let acl = fleet_web_acl(fleet);
    fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .map(|s| ShardProtection { shard: s.index, protection: protection_of(s, acl) })
        .filter(|p| p.protection != Protection::Matches)
        .collect()
}

/// One AssociateWebACL call: the fleet's web ACL onto a new shard's ALB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub index: ShardIndex,
    pub load_balancer_arn: String,
    pub web_acl_arn: String,
}

/// The serving shards with no web ACL while the fleet has one, each to be given the fleet's. Strata restores it
/// whenever it finishes the fleet (a scale-out, a stack Update) and on a scheduled pass that finds a shard at
/// weight 0: a new shard before its record gets any weight, and a shard that lost its association since. It
/// never replaces another web ACL (someone's rollout, Firewall Manager's): such a shard is reported and kept at
/// weight 0, not rewritten.
pub fn associations(fleet: &ObservedFleet) -> Vec<Association> {
    let FleetWebAcl::Acl(acl) = fleet_web_acl(fleet) else { return Vec::new() };
    fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .filter_map(|s| s.load_balancer.as_ref().filter(|lb| lb.web_acl == WebAcl::None).map(|lb| (s.index, lb)))
        .map(|(index, lb)| Association { index, load_balancer_arn: lb.arn.clone(), web_acl_arn: acl.to_owned() })
        .collect()
}

/// `fleet` with the associations made.
pub fn associated(fleet: &ObservedFleet, made: &[Association]) -> ObservedFleet {
    let mut after = fleet.clone();
    for association in made {
        let lb =
            after.shards.iter_mut().filter(|s| s.index == association.index).find_map(|s| s.load_balancer.as_mut());
        if let Some(lb) = lb {
            lb.web_acl = WebAcl::Arn(association.web_acl_arn.clone());
        }
    }
    after
}

#[cfg(test)]
mod tests;

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
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Matches => f.write_str("protected as the fleet is"),
            Self::Missing { fleet_web_acl } => {
                write!(f, "no weight: no web ACL protects it, while the fleet's is {fleet_web_acl}")
            }
            Self::Differs { web_acl, fleet_web_acl } => {
                write!(f, "no weight: its web ACL is {web_acl}, while the fleet's is {fleet_web_acl}")
            }
            Self::Unknown => f.write_str("weight not raised: its web ACL could not be read"),
        }
    }
}

/// The fleet's web ACL: the one most serving shards have (on a tie, the lowest shard's), if at least half of
/// the serving shards have it, counting those whose association is unknown. A shard that lost its association by
/// hand is then the odd one out, never the norm; and a web ACL put on a few shards (a rollout by hand, another
/// tool) never becomes the norm that takes the others' weight away.
pub fn fleet_web_acl(fleet: &ObservedFleet) -> Option<&str> {
    let serving: Vec<&Shard> = fleet.shards.iter().filter(|s| s.is_serving()).collect();
    let mut counts: BTreeMap<&str, (usize, ShardIndex)> = BTreeMap::new();
    for shard in &serving {
        if let Some(arn) = shard.load_balancer.as_ref().and_then(|lb| lb.web_acl.arn()) {
            counts.entry(arn).or_insert((0, shard.index)).0 += 1;
        }
    }
    let (arn, (count, _)) = counts.into_iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))?;
    (2 * count >= serving.len()).then_some(arn)
}

/// How `shard` stands against the fleet's web ACL.
pub fn protection_of(shard: &Shard, fleet_web_acl: Option<&str>) -> Protection {
    let web_acl = shard.load_balancer.as_ref().map(|lb| &lb.web_acl).unwrap_or(&WebAcl::Unknown);
    match (web_acl, fleet_web_acl) {
        (WebAcl::Unknown, _) => Protection::Unknown,
        (_, None) => Protection::Matches,
        (WebAcl::None, Some(fleet)) => Protection::Missing { fleet_web_acl: fleet.to_owned() },
        (WebAcl::Arn(arn), Some(fleet)) if arn == fleet => Protection::Matches,
        (WebAcl::Arn(arn), Some(fleet)) => {
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
    let Some(acl) = fleet_web_acl(fleet) else { return Vec::new() };
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

//! Who owns what: the owner's marks, and the rules that decide from exact tags whether Strata may act on a
//! resource. Nothing here reads a name prefix.

use std::collections::BTreeMap;
use std::fmt;

use super::{
    FleetName, MANAGED_BY, ShardIndex, TAG_FLEET, TAG_MANAGED_BY, TAG_OWNER_RESOURCE, TAG_OWNER_STACK, TAG_SHARD,
};

/// A resource's tags (or the marks it should carry), by key.
pub type Tags = BTreeMap<String, String>;

/// The custom resource a fleet belongs to. One fleet name in a region belongs to one owner: every resource
/// Strata makes carries its owner's tags, and nothing with another owner's tags is ever changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Owner {
    pub stack_id: String,
    pub logical_resource_id: String,
}

impl Owner {
    pub fn new(stack_id: &str, logical_resource_id: &str) -> Self {
        Self { stack_id: stack_id.to_owned(), logical_resource_id: logical_resource_id.to_owned() }
    }

    /// The owner named by a resource's tags; `None` for a resource made before owners were written.
    pub fn from_tags<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<Self> {
        Some(Self::new(get(TAG_OWNER_STACK)?, get(TAG_OWNER_RESOURCE)?))
    }

    pub fn tags(&self) -> [(&'static str, String); 2] {
        [(TAG_OWNER_STACK, self.stack_id.clone()), (TAG_OWNER_RESOURCE, self.logical_resource_id.clone())]
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resource {} of stack {}", self.logical_resource_id, self.stack_id)
    }
}

/// The marks every resource Strata makes carries: fleet, managed-by, the owner, and the shard for per-shard ones.
pub fn ownership_marks(
    fleet: &FleetName,
    shard: Option<ShardIndex>,
    owner: Option<&Owner>,
) -> std::collections::BTreeMap<String, String> {
    let mut marks = std::collections::BTreeMap::new();
    marks.insert(TAG_FLEET.to_owned(), fleet.as_str().to_owned());
    marks.insert(TAG_MANAGED_BY.to_owned(), MANAGED_BY.to_owned());
    if let Some(shard) = shard {
        marks.insert(TAG_SHARD.to_owned(), shard.get().to_string());
    }
    marks.extend(owner.into_iter().flat_map(Owner::tags).map(|(k, v)| (k.to_owned(), v)));
    marks
}

/// Whether Strata, acting for `owner`, may change a resource whose tags name `found`: its own, or an unclaimed
/// one when `take_unclaimed` (the first Update or Delete of a fleet made before owners were written).
pub fn may_act_on(found: Option<&Owner>, owner: Option<&Owner>, take_unclaimed: bool) -> bool {
    match found {
        Some(found) => owner == Some(found),
        None => take_unclaimed,
    }
}

/// One of the fleet's health checks, found by its exact CallerReference (`strata-<fleet>-s<k>-<alb id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHealthCheck {
    pub id: String,
    pub caller_reference: String,
    pub shard: ShardIndex,
    pub alb_id: String,
}

/// A resource found under this shard's name is this shard's only if it carries exactly its marks, its owner's
/// included (a racing Create of the same fleet name by another stack is not).
pub fn foreign(tags: &Tags, marks: &Tags) -> bool {
    lacks(tags, marks) || [TAG_OWNER_STACK, TAG_OWNER_RESOURCE].iter().any(|k| tags.get(*k) != marks.get(*k))
}

/// Whether any of `wanted` is missing from `tags` or has another value there (other keys don't count).
pub fn lacks(tags: &Tags, wanted: &Tags) -> bool {
    wanted.iter().any(|(k, v)| tags.get(k) != Some(v))
}

/// Whether `check` is the fleet's to delete or claim: its tags say the fleet and an owner this request may act
/// for (a CallerReference alone is never enough); an untagged one (its tagging call failed after the create) is
/// the fleet's when its reference names one of `own_alb_ids` (ALB ids are unique, and those ALBs are the owner's).
pub fn health_check_is_owned(
    check: &FleetHealthCheck,
    tags: &Tags,
    fleet: &FleetName,
    owner: Option<&Owner>,
    take_unclaimed: bool,
    own_alb_ids: &[&str],
) -> bool {
    if tags.is_empty() {
        return own_alb_ids.contains(&check.alb_id.as_str());
    }
    let tag = |key: &str| tags.get(key).map(String::as_str);
    tag(TAG_FLEET) == Some(fleet.as_str())
        && tag(TAG_MANAGED_BY) == Some(MANAGED_BY)
        && may_act_on(Owner::from_tags(tag).as_ref(), owner, take_unclaimed)
}

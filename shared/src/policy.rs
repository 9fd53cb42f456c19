//! Fleet policy as tags on every shard's ALB (`strata:policy:<key>=<value>`): written by the provisioner,
//! read back by the other functions, so one deployment serves any number of fleets and an Update reaches
//! all of them at once.

use crate::model::DnsLocation;
use crate::model::Tags;
use crate::names::{POLICY_PAUSED, TAG_POLICY_PREFIX};
use crate::spec::{AsgSelector, FleetSpec, Limits, Rebalancing, ShardingMode};

/// ELBv2 tag values hold at most 256 characters: a long ASG list spills into `asg-names.1`, `asg-names.2`, ...
const TAG_VALUE_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPolicy {
    pub dns: DnsLocation,
    pub asgs: AsgSelector,
    pub mode: ShardingMode,
    pub limits: Limits,
    pub rebalancing: Rebalancing,
    pub deregistration_delay_seconds: u32,
    pub scaler_function_arn: Option<String>,
    /// The `Paused` property (a fleet written before it existed reads as not paused).
    pub paused: bool,
    /// The keys of the `Tags` property: which of an ALB's tags are the user's, for what Strata makes later.
    pub user_tag_keys: Vec<String>,
}

impl FleetPolicy {
    pub fn from_spec(spec: &FleetSpec) -> Self {
        Self {
            dns: DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() },
            asgs: spec.asgs(),
            mode: spec.sharding_mode,
            limits: spec.limits.clone(),
            rebalancing: spec.rebalancing.clone(),
            deregistration_delay_seconds: spec.deregistration_delay_seconds,
            scaler_function_arn: spec.scaler_function_arn.clone(),
            paused: spec.paused,
            user_tag_keys: spec.tags.iter().map(|t| t.key.clone()).collect(),
        }
    }

    /// The policy as full tag keys (with the `strata:policy:` prefix).
    pub fn to_tags(&self) -> Tags {
        let l = &self.limits;
        let b = &self.rebalancing;
        let mut tags: Vec<(&str, String)> = vec![
            ("domain", self.dns.domain.clone()),
            ("hosted-zone-id", self.dns.hosted_zone_id.clone()),
            ("mode", self.mode.as_str().to_owned()),
            ("rps-per-shard", l.requests_per_second_per_shard.to_string()),
            ("targets-per-shard", l.targets_per_shard.to_string()),
            ("max-shards", l.max_shards.to_string()),
            ("min-shards", l.min_shards.to_string()),
            ("scale-out-percent", l.scale_out_percent.to_string()),
            ("scale-in-percent", l.scale_in_percent.to_string()),
            ("max-step", b.max_step.to_string()),
            ("hysteresis-percent", b.hysteresis_percent.to_string()),
            ("initial-weight", b.initial_weight.to_string()),
            ("deregistration-delay", self.deregistration_delay_seconds.to_string()),
            (POLICY_PAUSED, self.paused.to_string()),
        ];
        if let Some((key, value)) = &self.asgs.tag {
            tags.push(("asg-tag-key", key.clone()));
            tags.push(("asg-tag-value", value.clone()));
        }
        if let Some(arn) = &self.scaler_function_arn {
            tags.push(("scaler-arn", arn.clone()));
        }
        if let Some(units) = l.scale_out_reserved_capacity_units {
            tags.push(("reserve-lcu", units.to_string()));
        }
        let mut out: Tags = tags.into_iter().map(|(k, v)| (format!("{TAG_POLICY_PREFIX}{k}"), v)).collect();
        // One tag per key: a key may hold any character a tag value may, so no separator is safe.
        for (i, key) in self.user_tag_keys.iter().enumerate() {
            out.insert(format!("{TAG_POLICY_PREFIX}{USER_TAG_KEY}.{i}"), key.clone());
        }
        for (i, chunk) in chunk_names(&self.asgs.names).into_iter().enumerate() {
            out.insert(format!("{TAG_POLICY_PREFIX}asg-names.{i}"), chunk);
        }
        out
    }

    /// Reads the policy back from tags whose `strata:policy:` prefix is already stripped.
    /// `None` when the tags are not a complete policy (not a Strata ALB, or one still being built).
    pub fn from_tags(tags: &Tags) -> Option<Self> {
        let get = |k: &str| tags.get(k).cloned();
        #[allow(clippy::items_after_statements)]
        fn num<T: std::str::FromStr>(tags: &Tags, k: &str) -> Option<T> {
            tags.get(k)?.parse().ok()
        }
        let mode = match get("mode")?.as_str() {
            "partition" => ShardingMode::Partition,
            _ => ShardingMode::Mirror,
        };
        Some(Self {
            dns: dns_from_tags(tags)?,
            asgs: asgs_from_tags(tags)?,
            mode,
            limits: Limits {
                requests_per_second_per_shard: num(tags, "rps-per-shard")?,
                targets_per_shard: num(tags, "targets-per-shard")?,
                max_shards: num(tags, "max-shards")?,
                min_shards: num(tags, "min-shards")?,
                scale_out_percent: num(tags, "scale-out-percent")?,
                scale_in_percent: num(tags, "scale-in-percent")?,
                scale_out_reserved_capacity_units: num(tags, "reserve-lcu"),
            },
            rebalancing: Rebalancing {
                max_step: num(tags, "max-step")?,
                hysteresis_percent: num(tags, "hysteresis-percent")?,
                initial_weight: num(tags, "initial-weight")?,
            },
            deregistration_delay_seconds: num(tags, "deregistration-delay")?,
            scaler_function_arn: get("scaler-arn"),
            paused: get(POLICY_PAUSED).as_deref() == Some("true"),
            user_tag_keys: user_tag_keys(tags),
        })
    }
}

const USER_TAG_KEY: &str = "tag-key";

/// ELBv2 allows 50 tags per resource.
const ELB_TAGS_MAX: usize = 50;
/// Tags Strata may add to a shard's ALB over its life, beyond what it is made with: `strata:trigger`,
/// `strata:drain-trigger`, `strata:state`, `strata:draining-since`, `strata:deleting`, `strata:paused`,
/// `strata:reserved-lcu`.
const LATER_MARKS: usize = 7;

/// Refuses a spec whose shards' ALBs would need more tags than ELBv2 allows: Strata's marks (5), the policy,
/// the user's tags, and the marks added later.
pub fn check_tag_budget(spec: &FleetSpec) -> Result<(), crate::error::FieldError> {
    let owner = crate::names::Owner { stack_id: String::new(), logical_resource_id: String::new() };
    let marks = crate::names::ownership_marks(&spec.fleet, crate::names::ShardIndex::new(0), Some(&owner)).len();
    let needed = marks + FleetPolicy::from_spec(spec).to_tags().len() + spec.tags.len() + LATER_MARKS;
    if needed > ELB_TAGS_MAX {
        return Err(crate::error::FieldError::new(
            "Tags",
            format!(
                "the ALBs would need {needed} tags (Strata's own, the policy's, yours), ELBv2 allows {ELB_TAGS_MAX}: fewer tags or shorter AutoScalingGroupNames"
            ),
        ));
    }
    Ok(())
}

/// The `Tags` property's keys, from (prefix-stripped) policy tags.
fn user_tag_keys(tags: &Tags) -> Vec<String> {
    (0..).map_while(|i| tags.get(&format!("{USER_TAG_KEY}.{i}")).cloned()).collect()
}

/// The user's tags on an ALB (its full tags): those its policy names as the `Tags` property's, with their
/// values there. What a shard cloned from it, and the alarms and health checks made for it, carry too.
pub fn user_tags_of(alb_tags: &Tags) -> Tags {
    let policy: Tags = alb_tags
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(TAG_POLICY_PREFIX).map(|k| (k.to_owned(), v.clone())))
        .collect();
    let users =
        |k: &String| !k.to_ascii_lowercase().starts_with("aws:") && !k.to_ascii_lowercase().starts_with("strata:");
    user_tag_keys(&policy).into_iter().filter(users).filter_map(|k| alb_tags.get(&k).map(|v| (k, v.clone()))).collect()
}

/// Where the fleet's records live, from (prefix-stripped) policy tags.
pub fn dns_from_tags(tags: &Tags) -> Option<DnsLocation> {
    Some(DnsLocation { hosted_zone_id: tags.get("hosted-zone-id")?.clone(), domain: tags.get("domain")?.clone() })
}

/// The fleet's ASG selector, from (prefix-stripped) policy tags; `None` if the tags select nothing.
pub fn asgs_from_tags(tags: &Tags) -> Option<AsgSelector> {
    let mut names = Vec::new();
    for i in 0.. {
        let Some(chunk) = tags.get(&format!("asg-names.{i}")) else { break };
        names.extend(chunk.split(' ').filter(|n| !n.is_empty()).map(str::to_owned));
    }
    let tag = tags.get("asg-tag-key").cloned().zip(tags.get("asg-tag-value").cloned());
    (!names.is_empty() || tag.is_some()).then_some(AsgSelector { names, tag })
}

/// Space-separated names in values of at most 256 characters.
fn chunk_names(names: &[String]) -> Vec<String> {
    let mut chunks = vec![String::new()];
    for name in names {
        let current = chunks.last_mut().expect("never empty");
        if !current.is_empty() && current.len() + 1 + name.len() > TAG_VALUE_MAX {
            chunks.push(name.clone());
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(name);
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::FleetSpec;

    #[test]
    fn policy_survives_a_round_trip_through_tags_with_many_asgs() {
        let mut props = crate::spec::tests::valid_properties();
        let names: Vec<String> = (0..60).map(|i| format!("web-asg-number-{i:03}")).collect();
        props["AutoScalingGroupNames"] = serde_json::json!(names);
        props["AutoScalingGroupTag"] = serde_json::json!({"Key": "team", "Value": "web"});
        let policy = FleetPolicy::from_spec(&FleetSpec::from_properties(&props).unwrap());
        let tags = policy.to_tags();
        assert!(tags.values().all(|v| v.len() <= TAG_VALUE_MAX));
        let stripped: Tags =
            tags.iter().map(|(k, v)| (k.strip_prefix(TAG_POLICY_PREFIX).unwrap().to_owned(), v.clone())).collect();
        assert_eq!(FleetPolicy::from_tags(&stripped), Some(policy));
    }

    #[test]
    fn a_paused_fleet_says_so_and_by_which_switch() {
        use crate::model::Pause;
        use crate::names::TAG_PAUSED;
        use crate::plan::scale::tests::{fleet, shard};

        let mut props = crate::spec::tests::valid_properties();
        props["Paused"] = serde_json::json!("true");
        let paused = FleetPolicy::from_spec(&FleetSpec::from_properties(&props).unwrap());
        assert!(paused.paused);
        let mut observed = fleet(vec![shard(0, 255, false, None), shard(1, 0, false, None)]);
        assert_eq!(observed.pause(), None, "a fleet written before the property existed is not paused");
        observed.shards[0].load_balancer.as_mut().unwrap().tags.extend(paused.to_tags());
        assert_eq!(observed.pause(), Some(Pause::Property));
        let lb = observed.shards[1].load_balancer.as_mut().unwrap();
        lb.tags.insert(TAG_PAUSED.into(), "2026-12-02T05:00:00Z".into());
        assert_eq!(observed.pause(), Some(Pause::Command { since: "2026-12-02T05:00:00Z".into() }), "outlives Updates");
        let mut resumed = FleetPolicy::from_spec(&FleetSpec::from_properties(&props).unwrap());
        resumed.paused = false;
        observed.shards[0].load_balancer.as_mut().unwrap().tags.extend(resumed.to_tags());
        observed.shards[1].load_balancer.as_mut().unwrap().tags.remove(TAG_PAUSED);
        assert_eq!(observed.pause(), None);
    }

    #[test]
    fn the_user_tags_travel_in_the_policy_and_the_alb_tag_budget_is_checked() {
        let mut props = crate::spec::tests::valid_properties();
        props["Tags"] = serde_json::json!([{"Key": "cost center", "Value": "42"}, {"Key": "team", "Value": "web"}]);
        let spec = FleetSpec::from_properties(&props).unwrap();
        let policy = FleetPolicy::from_spec(&spec);
        let mut alb = policy.to_tags();
        alb.extend(spec.user_tags());
        alb.insert("added-by-hand".into(), "x".into());
        assert_eq!(user_tags_of(&alb), spec.user_tags(), "only the property's tags, not one added by hand");
        assert!(check_tag_budget(&spec).is_ok());
        let names: Vec<String> = (0..300).map(|i| format!("web-asg-with-a-long-name-{i:03}")).collect();
        props["AutoScalingGroupNames"] = serde_json::json!(names);
        let err = check_tag_budget(&FleetSpec::from_properties(&props).unwrap()).unwrap_err();
        assert!(err.to_string().contains("ELBv2 allows 50"), "{err}");
    }
}

//! Route 53 health checks of an internet-facing fleet's serving shards: one per shard incarnation, under the
//! CallerReference `strata-<fleet>-s<k>-<alb id>` (Route 53 refuses a reference once used by a deleted check,
//! so a shard removed and made again needs a new one). Internal ALBs get none: Route 53 cannot reach them.

use crate::model::{FleetHealthCheck, ObservedFleet};
use crate::names::{FleetName, ShardIndex, health_check_caller_reference};

/// A health check to make for a serving shard's ALB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckCreate {
    pub shard: ShardIndex,
    pub caller_reference: String,
    pub alb_dns: String,
    pub alb_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheckPlan {
    /// Serving shards whose check exists: their tags are read, and one whose tagging failed is tagged now.
    pub existing: Vec<FleetHealthCheck>,
    pub create: Vec<HealthCheckCreate>,
}

/// Which serving shards have their check (`listed`: the fleet's, by CallerReference) and which need one.
pub fn health_check_plan(
    fleet_name: &FleetName,
    observed: &ObservedFleet,
    listed: &[FleetHealthCheck],
    internet_facing: bool,
) -> HealthCheckPlan {
    let mut plan = HealthCheckPlan::default();
    if !internet_facing {
        return plan;
    }
    for shard in observed.shards.iter().filter(|s| s.is_serving()) {
        let Some(lb) = &shard.load_balancer else { continue };
        let reference = health_check_caller_reference(fleet_name, shard.index, &lb.arn);
        match listed.iter().find(|c| c.caller_reference == reference) {
            Some(check) => plan.existing.push(check.clone()),
            None => plan.create.push(HealthCheckCreate {
                shard: shard.index,
                caller_reference: reference,
                alb_dns: lb.dns_name.clone(),
                alb_id: lb.arn.rsplit('/').next().unwrap_or_default().to_owned(),
            }),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::scale::tests::{fleet, shard};

    #[test]
    fn a_serving_shard_without_its_check_gets_one_and_a_replaced_alb_gets_a_new_reference() {
        let observed = fleet(vec![shard(0, 10, false, None), shard(1, 10, false, None), shard(2, 0, false, Some("x"))]);
        let name = observed.fleet.clone();
        let plan = health_check_plan(&name, &observed, &[], true);
        assert_eq!(plan.create.iter().map(|c| c.shard.get()).collect::<Vec<_>>(), vec![0, 1], "not the draining one");
        let made: Vec<FleetHealthCheck> = plan
            .create
            .iter()
            .map(|c| FleetHealthCheck {
                id: format!("hc-{}", c.shard),
                caller_reference: c.caller_reference.clone(),
                shard: c.shard,
                alb_id: c.alb_id.clone(),
            })
            .collect();
        let again = health_check_plan(&name, &observed, &made, true);
        assert!(again.create.is_empty());
        assert_eq!(again.existing, made);
        // Shard 1 re-made with a new ALB: its old check (another incarnation) is not its check.
        let mut replaced = observed.clone();
        replaced.shards[1].load_balancer.as_mut().unwrap().arn = "arn:lb/s1-new".into();
        let plan = health_check_plan(&name, &replaced, &made, true);
        assert_eq!(plan.create.len(), 1);
        assert_eq!(plan.create[0].shard.get(), 1);
        assert!(health_check_plan(&name, &observed, &[], false).create.is_empty(), "internal ALBs get none");
    }

    #[test]
    fn a_health_check_is_the_fleets_by_its_tags_or_untagged_by_an_own_alb_id() {
        use crate::model::Tags;
        use crate::names::{Owner, health_check_is_owned};
        let fleet = FleetName::parse("web").unwrap();
        let owner = Owner { stack_id: "stack-a".into(), logical_resource_id: "Fleet".into() };
        let check = FleetHealthCheck {
            id: "hc".into(),
            caller_reference: "strata-web-s0-abc".into(),
            shard: ShardIndex::new(0).unwrap(),
            alb_id: "abc".into(),
        };
        let marks = crate::names::ownership_marks(&fleet, Some(check.shard), Some(&owner));
        assert!(health_check_is_owned(&check, &marks, &fleet, Some(&owner), false, &[]));
        let other = Owner { stack_id: "stack-b".into(), ..owner.clone() };
        assert!(!health_check_is_owned(&check, &marks, &fleet, Some(&other), true, &["abc"]), "another owner's");
        let webapp = crate::names::ownership_marks(&FleetName::parse("webapp").unwrap(), None, Some(&owner));
        assert!(!health_check_is_owned(&check, &webapp, &fleet, Some(&owner), true, &["abc"]), "another fleet's");
        assert!(health_check_is_owned(&check, &Tags::new(), &fleet, Some(&owner), false, &["abc"]));
        assert!(!health_check_is_owned(&check, &Tags::new(), &fleet, Some(&owner), false, &["xyz"]));
    }
}

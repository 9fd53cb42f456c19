use proptest::prelude::*;

use super::*;
use crate::aws::route53::owned_record;
use crate::names::shard_of_set_identifier;
use crate::plan::scale::tests::{fleet, policy, shard};

fn with_dns(mut fleet: ObservedFleet, dualstack: bool) -> ObservedFleet {
    for (i, shard) in fleet.shards.iter_mut().enumerate() {
        let lb = shard.load_balancer.as_mut().unwrap();
        if dualstack {
            lb.ip_address_type = Some(aws_sdk_elasticloadbalancingv2::types::IpAddressType::Dualstack);
        }
        lb.dns_name = format!("web-s{i}-1.us-east-1.elb.amazonaws.com");
        lb.canonical_hosted_zone_id = "Z35SXDOTRQ7X7K".into();
    }
    fleet.records.clear();
    fleet
}

/// The records as Route 53 holds them after the UPSERTs.
fn applied(fleet: &mut ObservedFleet, upserts: &[ResourceRecordSet]) {
    for set in upserts {
        let shard = set.set_identifier().and_then(|id| shard_of_set_identifier(&fleet.fleet, "us-east-1", id));
        let record = owned_record(set, shard);
        fleet.records.retain(|r| {
            (&r.name, &r.record_type, &r.set_identifier) != (&record.name, &record.record_type, &record.set_identifier)
        });
        fleet.records.push(record);
    }
}

proptest! {
    /// The first shards start at full weight, a shard added later at the initial weight, every shard keeps the
    /// weight it has; and writing what the plan says leaves nothing to write.
    #[test]
    fn record_plans_converge(first in 1..6u8, added in 0..4u8, dualstack in any::<bool>()) {
        let policy = policy(50, 1);
        let mut observed = with_dns(fleet((0..first).map(|i| shard(i, 0, false, None)).collect()), dualstack);
        let name = observed.fleet.clone();
        let plan = record_plan(&name, "us-east-1", &policy, &observed, &[]);
        let types = if dualstack { 2 } else { 1 };
        prop_assert_eq!(plan.upserts.len(), (usize::from(first) + 1) * types);
        prop_assert!(plan.weights.iter().all(|(_, w)| *w == MAX_WEIGHT));
        applied(&mut observed, &plan.upserts);
        prop_assert_eq!(record_plan(&name, "us-east-1", &policy, &observed, &[]).upserts, vec![]);

        let mut grown = with_dns(fleet((0..first + added).map(|i| shard(i, 0, false, None)).collect()), dualstack);
        grown.records = observed.records.clone();
        let plan = record_plan(&name, "us-east-1", &policy, &grown, &[]);
        for (index, weight) in &plan.weights {
            let expected = if index.get() < first { MAX_WEIGHT } else { policy.rebalancing.initial_weight };
            prop_assert_eq!(*weight, expected, "shard {}", index);
        }
        prop_assert_eq!(plan.upserts.len(), usize::from(added) * types, "only the new shards' records");
    }
}

#[test]
fn a_health_check_id_is_written_on_its_shards_records() {
    let policy = policy(50, 1);
    let observed = with_dns(fleet(vec![shard(0, 0, false, None), shard(1, 0, false, None)]), false);
    let one = ShardIndex::new(1).unwrap();
    let plan = record_plan(&observed.fleet, "us-east-1", &policy, &observed, &[(one, "hc-1".into())]);
    let with_check: Vec<_> = plan.upserts.iter().filter(|r| r.health_check_id() == Some("hc-1")).collect();
    assert_eq!(with_check.len(), 1);
    assert_eq!(with_check[0].set_identifier(), Some("strata:web:us-east-1:s1"));
}

#[test]
fn a_new_shard_less_protected_than_the_fleet_starts_at_weight_zero() {
    let policy = policy(50, 1);
    let mut observed = with_dns(fleet(vec![shard(0, 0, false, None), shard(1, 0, false, None)]), false);
    observed.shards[0].load_balancer.as_mut().unwrap().web_acl = crate::model::WebAcl::Arn("arn:acl/a".into());
    let plan = record_plan(&observed.fleet, "us-east-1", &policy, &observed, &[]);
    let zero = ShardIndex::new(0).unwrap();
    let one = ShardIndex::new(1).unwrap();
    assert_eq!(plan.weights, vec![(zero, MAX_WEIGHT), (one, 0)]);
}

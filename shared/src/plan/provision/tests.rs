use super::*;
use crate::names::{TAG_OWNER_RESOURCE, TAG_OWNER_STACK};
use crate::plan::scale::tests::{fleet, shard};

fn owner(stack: &str) -> Owner {
    Owner { stack_id: stack.into(), logical_resource_id: "Fleet".into() }
}

fn owned_by(mut observed: ObservedFleet, stack: &str) -> ObservedFleet {
    for s in &mut observed.shards {
        for tags in [&mut s.load_balancer.as_mut().unwrap().tags, &mut s.target_group.as_mut().unwrap().tags] {
            tags.insert(TAG_OWNER_STACK.into(), stack.into());
            tags.insert(TAG_OWNER_RESOURCE.into(), "Fleet".into());
        }
    }
    observed
}

#[test]
fn a_create_builds_up_to_min_shards_at_free_indexes_and_keeps_every_serving_shard() {
    let mut observed = fleet(vec![shard(0, 255, false, None), shard(3, 0, false, Some("2026-01-01T00:00:00Z"))]);
    observed.taken_indexes.insert(ShardIndex::new(1).unwrap());
    let indexes: Vec<u8> = shards_to_converge(&observed, 3).into_iter().map(ShardIndex::get).collect();
    assert_eq!(indexes, vec![0, 2, 4], "s1 is taken by something foreign, s3 is draining");
    let indexes: Vec<u8> = shards_to_converge(&observed, 1).into_iter().map(ShardIndex::get).collect();
    assert_eq!(indexes, vec![0], "MinShards below the serving count removes nothing");
}

#[test]
fn another_owners_fleet_is_refused_and_an_unclaimed_one_only_to_its_own_update() {
    let mut observed = owned_by(fleet(vec![shard(0, 255, false, None)]), "stack-a");
    assert!(check_owner(&observed.fleet, "us-east-1", &observed, false).is_ok());
    observed.other_owners.push(owner("stack-b"));
    assert!(check_owner(&observed.fleet, "us-east-1", &observed, true).is_err());
    let unclaimed = fleet(vec![shard(0, 255, false, None)]);
    assert!(check_owner(&unclaimed.fleet, "us-east-1", &unclaimed, false).is_err());
    assert!(check_owner(&unclaimed.fleet, "us-east-1", &unclaimed, true).is_ok());
}

#[test]
fn a_rollback_delete_keeps_only_its_own_owners_resources() {
    let mut observed = owned_by(fleet(vec![shard(0, 255, false, None)]), "stack-a");
    observed.shards.extend(fleet(vec![shard(1, 0, false, None)]).shards);
    keep_only_owned_by(&mut observed, &owner("stack-a"));
    assert_eq!(observed.shards.iter().map(|s| s.index.get()).collect::<Vec<_>>(), vec![0]);
    keep_only_owned_by(&mut observed, &owner("stack-b"));
    assert!(observed.shards.is_empty());
}

#[test]
fn a_change_aws_cannot_make_in_place_is_named_with_the_resource() {
    let spec = FleetSpec::from_properties(&crate::spec::tests::valid_properties()).unwrap();
    let observed = fleet(vec![shard(0, 255, false, None)]);
    assert!(replacement_conflicts(&spec, &observed).is_empty());
    let mut props = crate::spec::tests::valid_properties();
    props["Scheme"] = serde_json::json!("internal");
    props["TargetPort"] = serde_json::json!(8080);
    let changed = FleetSpec::from_properties(&props).unwrap();
    let conflicts = replacement_conflicts(&changed, &observed);
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(conflicts[0].starts_with("Scheme (web-s0 has internet-facing, spec says internal)"), "{conflicts:?}");
    assert!(conflicts[1].starts_with("TargetPort (web-s0-tg has 80, spec says 8080)"), "{conflicts:?}");

    let mut many = fleet((0..30).map(|i| shard(i, 8, false, None)).collect());
    for s in &mut many.shards {
        s.load_balancer.as_mut().unwrap().vpc_id = "vpc-old".into();
        s.target_group.as_mut().unwrap().vpc_id = "vpc-old".into();
    }
    let conflicts = replacement_conflicts(&spec, &many);
    assert_eq!(conflicts.len(), 1, "one entry per property, however many shards: {conflicts:?}");
    assert!(conflicts[0].starts_with("VpcId (web-s0 and 59 more have vpc-old, spec says vpc-"), "{conflicts:?}");
}

#[test]
fn every_property_declared_refused_is_compared_with_what_aws_built() {
    let observed = fleet(vec![shard(0, 255, false, None)]);
    let read: std::collections::BTreeSet<&str> = built_with(&observed.shards[0]).iter().map(|(p, _, _)| *p).collect();
    for property in refused_properties() {
        assert!(read.contains(property.as_str()), "{property} is declared refused but never compared");
    }
}

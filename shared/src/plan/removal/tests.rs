use proptest::prelude::*;

use super::*;
use crate::model::AutoScalingGroup;
use crate::plan::scale::tests::{fleet, shard};

fn asg(name: &str, target_groups: &[&str]) -> AutoScalingGroup {
    AutoScalingGroup {
        name: name.into(),
        target_group_arns: target_groups.iter().map(|t| (*t).to_owned()).collect(),
        instance_count: 2,
        tags: Default::default(),
    }
}

#[test]
fn a_removal_takes_only_the_shards_own_records_alarm_and_attachments() {
    let mut observed = fleet(vec![shard(0, 255, false, None), shard(1, 0, false, Some("2026-01-01T00:00:00Z"))]);
    observed.asgs = vec![asg("web-a", &["arn:tg/s0", "arn:tg/s1", "arn:tg/other-team"]), asg("web-b", &["arn:tg/s0"])];
    let one = ShardIndex::new(1).unwrap();
    let removal = removal_of(&observed, one, "Z1");
    assert_eq!(removal.detach, vec![("web-a".to_owned(), vec!["arn:tg/s1".to_owned()])]);
    let (zone, records) = removal.records.as_ref().unwrap();
    assert_eq!(zone, "Z1");
    assert_eq!(records, &vec![as_record_set(observed.weighted_record(one).unwrap())]);
    assert_eq!(removal.health_checks, HealthChecks::OfAlbs(vec!["s1".into()]));
    assert_eq!(removal.load_balancer_arns, vec!["arn:lb/s1".to_owned()]);
    assert_eq!(removal.target_groups, vec![("arn:tg/s1".to_owned(), "web-s1-tg".to_owned())]);
}

#[test]
fn a_fleet_removal_keeps_other_regions_records_and_records_it_does_not_own() {
    let mut observed = fleet(vec![shard(0, 255, false, None), shard(1, 0, false, None)]);
    let mut elsewhere = observed.records[0].clone();
    (elsewhere.shard, elsewhere.region) = (None, Some("eu-west-1".into()));
    observed.records.push(elsewhere);
    let removal = fleet_removal(&observed, "us-east-1", Some("Z1"), &["gone".into()]);
    let (_, records) = removal.records.as_ref().unwrap();
    assert_eq!(records.len(), 2, "the two weighted records, not eu-west-1's latency record");
    assert_eq!(removal.health_checks, HealthChecks::All { alb_ids: vec!["gone".into(), "s0".into(), "s1".into()] });
    assert!(fleet_removal(&observed, "us-east-1", None, &[]).records.is_none(), "another owner's records");
}

proptest! {
    /// Whatever the fleet, a fleet removal deletes every shard's ALB and TG and detaches exactly the fleet's
    /// target groups; a shard's removal touches that shard alone.
    #[test]
    fn removals_take_exactly_their_shards(count in 1..8u8, attached in prop::collection::vec(any::<bool>(), 8), pick in 0..8u8) {
        let mut observed = fleet((0..count).map(|i| shard(i, 10, false, None)).collect());
        let tgs: Vec<String> = (0..count).filter(|i| attached[usize::from(*i)]).map(|i| format!("arn:tg/s{i}")).collect();
        let mut foreign = tgs.clone();
        foreign.push("arn:tg/other-team".into());
        observed.asgs = vec![asg("web-a", &foreign.iter().map(String::as_str).collect::<Vec<_>>())];

        let all = fleet_removal(&observed, "us-east-1", Some("Z1"), &[]);
        prop_assert_eq!(all.load_balancer_arns.len(), usize::from(count));
        prop_assert_eq!(all.target_groups.len(), usize::from(count));
        let detached: Vec<String> = all.detach.iter().flat_map(|(_, t)| t.clone()).collect();
        prop_assert_eq!(&detached, &tgs);

        let index = ShardIndex::new(pick % count).unwrap();
        let one = removal_of(&observed, index, "Z1");
        let own_tg = format!("arn:tg/s{}", index.get());
        prop_assert_eq!(one.load_balancer_arns, vec![format!("arn:lb/s{}", index.get())]);
        prop_assert!(one.detach.iter().all(|(_, t)| t == std::slice::from_ref(&own_tg)));
        let own = observed.records.iter().filter(|r| r.shard == Some(index)).map(as_record_set).collect::<Vec<_>>();
        prop_assert_eq!(one.records.map(|(_, r)| r).unwrap_or_default(), own);
    }
}

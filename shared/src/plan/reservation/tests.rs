use super::*;
use crate::names::TAG_RESERVED_LCU;
use crate::plan::scale::tests::{fleet, policy, shard};

fn state(minimum: Option<u32>, pending: bool, decreases: Option<i32>) -> ReservationState {
    ReservationState { minimum, pending, decreases_remaining: decreases }
}

fn s(i: u8) -> ShardIndex {
    ShardIndex::new(i).unwrap()
}

#[test]
fn a_mark_reads_back_as_written() {
    let mark = Mark { units: 500, prior: 200, for_shard: s(3), since: 1_796_190_268 };
    assert_eq!(Mark::parse(&mark.to_tag_value()), Some(mark));
    assert_eq!(Mark::parse("units=500"), None);
}

#[test]
fn a_reservation_is_never_lowered_nor_raised_when_it_could_not_be_given_back() {
    assert_eq!(raise(state(None, false, Some(2)), 500), Ok(0));
    assert_eq!(raise(state(Some(200), false, Some(2)), 500), Ok(200), "someone's 200 is restored later");
    assert!(raise(state(Some(5000), false, Some(2)), 500).is_err(), "a larger one is left alone");
    assert!(raise(state(None, true, Some(2)), 500).is_err());
    assert!(raise(state(None, false, Some(0)), 500).is_err());
}

#[test]
fn giving_back_restores_what_was_there_and_waits_for_a_decrease() {
    let mark = Mark { units: 500, prior: 200, for_shard: s(1), since: 0 };
    assert_eq!(give_back(state(Some(500), false, Some(2)), mark), GiveBack::Restore(200));
    assert_eq!(give_back(state(Some(500), false, None), Mark { prior: 0, ..mark }), GiveBack::Reset);
    assert_eq!(give_back(state(Some(200), false, Some(2)), mark), GiveBack::Unmark, "never applied");
    assert!(matches!(give_back(state(Some(500), false, Some(0)), mark), GiveBack::Wait(_)));
    assert!(matches!(give_back(state(Some(500), true, Some(2)), mark), GiveBack::Wait(_)));
}

#[test]
fn the_reservation_is_held_until_the_new_shard_carries_its_weight_and_never_taken_from_a_hot_shard() {
    let mut observed = fleet(vec![shard(0, 255, false, None), shard(1, 8, false, None)]);
    let mark = Mark { units: 500, prior: 0, for_shard: s(1), since: 1000 };
    let lb = observed.shards[0].load_balancer.as_mut().unwrap();
    lb.tags.insert(TAG_RESERVED_LCU.into(), mark.to_tag_value());
    for shard in &mut observed.shards {
        shard.health = Some(crate::model::TargetHealthCount { healthy: 2, total: 2 });
    }
    assert!(give_backs(&observed, |i| i == s(1), 2000).is_empty(), "still ramping");
    assert_eq!(give_backs(&observed, |_| false, 2000).len(), 1, "ramped");
    observed.shards[1].health = Some(crate::model::TargetHealthCount { healthy: 0, total: 2 });
    assert!(give_backs(&observed, |_| false, 2000).is_empty(), "no healthy target yet: no weight planned");
    assert_eq!(give_backs(&observed, |_| false, 1000 + MAX_HOLD_SECONDS).len(), 1, "the hold is over");
    observed.shards.retain(|sh| sh.index == s(0));
    assert_eq!(give_backs(&observed, |_| true, 2000).len(), 1, "the new shard is gone");
    let _ = policy(8, 1);
}

use super::*;
use crate::plan::scale::tests::{fleet, shard};

fn with_acls(acls: &[Option<&str>]) -> ObservedFleet {
    let mut observed = fleet((0..acls.len() as u8).map(|i| shard(i, 100, false, None)).collect());
    for (s, acl) in observed.shards.iter_mut().zip(acls) {
        s.load_balancer.as_mut().unwrap().web_acl = acl.map_or(WebAcl::None, |a| WebAcl::Arn(a.into()));
    }
    observed
}

#[test]
fn the_fleet_web_acl_is_the_most_common_and_a_removed_one_never_wins() {
    assert_eq!(fleet_web_acl(&with_acls(&[None, None])), None);
    assert_eq!(fleet_web_acl(&with_acls(&[Some("a"), None, None])), Some("a"), "no web ACL is never the norm");
    assert_eq!(fleet_web_acl(&with_acls(&[Some("b"), Some("a"), Some("a")])), Some("a"));
    assert_eq!(fleet_web_acl(&with_acls(&[Some("b"), Some("a")])), Some("b"), "a tie: the lowest shard's");
}

#[test]
fn each_shard_stands_against_the_fleet_web_acl() {
    let mut observed = with_acls(&[Some("a"), None, Some("b"), Some("a")]);
    let mut unread = shard(4, 100, false, None).0;
    unread.load_balancer.as_mut().unwrap().web_acl = WebAcl::Unknown;
    observed.shards.push(unread);
    let got: Vec<_> = unmatched(&observed).into_iter().map(|p| (p.shard.get(), p.protection)).collect();
    assert_eq!(
        got,
        vec![
            (1, Protection::Missing { fleet_web_acl: "a".into() }),
            (2, Protection::Differs { web_acl: "b".into(), fleet_web_acl: "a".into() }),
            (4, Protection::Unknown),
        ]
    );
}

#[test]
fn associations_give_the_fleet_web_acl_to_every_serving_shard_that_lacks_it() {
    let mut observed = with_acls(&[Some("a"), None, Some("b"), Some("a"), None]);
    observed.shards[4] = shard(4, 0, false, Some("2026-12-01T00:00:00Z")).0;
    let wanted = associations(&observed);
    let shards: Vec<u8> = wanted.iter().map(|a| a.index.get()).collect();
    assert_eq!(shards, vec![1, 2], "not the matching ones, not a draining one");
    assert!(wanted.iter().all(|a| a.web_acl_arn == "a"));
    let after = associated(&observed, &wanted);
    assert!(unmatched(&after).is_empty());
    assert!(associations(&after).is_empty(), "nothing left to do");
    assert_eq!(associations(&with_acls(&[None, None])), vec![], "no web ACL in the fleet: nothing to copy");
}

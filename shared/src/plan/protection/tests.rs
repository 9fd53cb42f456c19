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
fn the_fleet_web_acl_is_the_one_at_least_half_the_serving_shards_have() {
    assert_eq!(fleet_web_acl(&with_acls(&[None, None])), FleetWebAcl::None);
    let removed = with_acls(&[Some("a"), None]);
    assert_eq!(fleet_web_acl(&removed), FleetWebAcl::Acl("a"), "one removed by hand: still the norm");
    assert_eq!(fleet_web_acl(&with_acls(&[Some("b"), Some("a"), Some("a")])), FleetWebAcl::Acl("a"));
    assert_eq!(fleet_web_acl(&with_acls(&[Some("b"), Some("a")])), FleetWebAcl::Acl("b"), "a tie: the lowest's");
    let rollout = with_acls(&[None, Some("a"), None, None, None, None]);
    assert_eq!(fleet_web_acl(&rollout), FleetWebAcl::None, "one shard of six never takes the others' weight");
}

#[test]
fn shards_whose_web_acl_is_unknown_count_against_the_norm() {
    let mut observed = with_acls(&[Some("a"), Some("b"), Some("a"), Some("a")]);
    for i in [0, 3] {
        observed.shards[i].load_balancer.as_mut().unwrap().web_acl = WebAcl::Unknown;
    }
    assert_eq!(fleet_web_acl(&observed), FleetWebAcl::Undecided, "one read a, one b: undecided until read");
    assert!(associations(&observed).is_empty());
    // A protected shard whose read failed never makes an unprotected one look as the fleet is.
    let mut two = with_acls(&[Some("a"), None]);
    two.shards[0].load_balancer.as_mut().unwrap().web_acl = WebAcl::Unknown;
    assert_eq!(fleet_web_acl(&two), FleetWebAcl::Undecided);
    assert_eq!(protection_of(&two.shards[1], fleet_web_acl(&two)), Protection::Unknown, "held, not raised");
    assert!(associations(&two).is_empty());
    // Reads that cannot change the answer leave it decided.
    let mut five = with_acls(&[Some("a"), Some("a"), Some("a"), None, None]);
    five.shards[4].load_balancer.as_mut().unwrap().web_acl = WebAcl::Unknown;
    assert_eq!(fleet_web_acl(&five), FleetWebAcl::Acl("a"));
}

#[test]
fn each_shard_stands_against_the_fleet_web_acl() {
    let mut observed = with_acls(&[Some("a"), None, Some("b"), Some("a"), Some("a")]);
    let mut unread = shard(5, 100, false, None).0;
    unread.load_balancer.as_mut().unwrap().web_acl = WebAcl::Unknown;
    observed.shards.push(unread);
    let got: Vec<_> = unmatched(&observed).into_iter().map(|p| (p.shard.get(), p.protection)).collect();
    assert_eq!(
        got,
        vec![
            (1, Protection::Missing { fleet_web_acl: "a".into() }),
            (2, Protection::Differs { web_acl: "b".into(), fleet_web_acl: "a".into() }),
            (5, Protection::Unknown),
        ]
    );
}

#[test]
fn associations_give_the_fleet_web_acl_to_every_serving_shard_that_has_none() {
    let mut observed = with_acls(&[Some("a"), None, Some("b"), Some("a"), None]);
    observed.shards[4] = shard(4, 0, false, Some("2026-12-01T00:00:00Z")).0;
    let wanted = associations(&observed);
    let shards: Vec<u8> = wanted.iter().map(|a| a.index.get()).collect();
    assert_eq!(shards, vec![1], "not the matching ones, not another web ACL, not a draining one");
    assert!(wanted.iter().all(|a| a.web_acl_arn == "a"));
    let after = associated(&observed, &wanted);
    assert_eq!(unmatched(&after).iter().map(|p| p.shard.get()).collect::<Vec<_>>(), [2], "reported, not rewritten");
    assert!(associations(&after).is_empty(), "nothing left to do");
    assert_eq!(associations(&with_acls(&[None, None])), vec![], "no web ACL in the fleet: nothing to copy");
}

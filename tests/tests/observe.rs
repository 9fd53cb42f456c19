//! Observation finds a fleet by Strata's tags and SetIdentifier prefix, and nothing else.

use strata_core::names::{FleetName, ShardIndex};
use strata_core::observe::{Depth, FleetQuery, observe};
use strata_tests::Emulator;
use strata_tests::fixtures::{foreign_load_balancer, hand_made_shard, upsert, weighted_alias};

const REGION: &str = "eu-west-1";

#[tokio::test]
async fn fleet_observation_finds_tagged_shards_and_skips_foreign_resources() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, serde_json::json!([{"name": "web-a", "size": 2}]));
    let aws = emulator.clients(REGION).await;
    let (lb0, dns0, tg0) = hand_made_shard(&aws, &fixture, "web", 0, "api.example.com").await;
    let (lb1, _, _) = hand_made_shard(&aws, &fixture, "web", 1, "api.example.com").await;
    // Foreign: an untagged ALB named like a shard, and a weighted record under the same name.
    let foreign_lb = foreign_load_balancer(&aws, &fixture, "web-s7").await;
    let foreign = weighted_alias("eu-west-1.api.example.com", "blue-green", &dns0, "Z2P70J7EXAMPLE", 50);
    upsert(&aws, &fixture.hosted_zone_id, foreign).await;
    // Another fleet whose name starts the same way must not leak in.
    hand_made_shard(&aws, &fixture, "webapp", 0, "api.example.com").await;

    let fleet = FleetName::parse("web").unwrap();
    let query = FleetQuery {
        fleet: &fleet,
        dns: None,
        asgs: None,
        depth: Depth { configuration: true, target_health: true, load: true, ..Depth::default() },
        owner: None,
    };
    let observed = observe(&aws, query).await.expect("observe");

    let indexes: Vec<u8> = observed.shards.iter().map(|s| s.index.get()).collect();
    assert_eq!(indexes, vec![0, 1]);
    let s0 = observed.shard(ShardIndex::new(0).unwrap()).unwrap();
    assert_eq!(s0.load_balancer.as_ref().unwrap().arn, lb0);
    assert_eq!(s0.target_group.as_ref().unwrap().arn, tg0);
    assert_eq!(s0.health.unwrap().total, 0, "no targets registered yet");
    assert!(!s0.load_balancer.as_ref().unwrap().attributes.is_empty(), "configuration depth reads attributes");
    assert_eq!(observed.shard(ShardIndex::new(1).unwrap()).unwrap().load_balancer.as_ref().unwrap().arn, lb1);
    let all_arns: Vec<&str> =
        observed.shards.iter().filter_map(|s| s.load_balancer.as_ref()).map(|lb| lb.arn.as_str()).collect();
    assert!(!all_arns.contains(&foreign_lb.as_str()), "an untagged ALB is never observed");
    assert_eq!(
        observed.taken_indexes.iter().map(|i| i.get()).collect::<Vec<_>>(),
        [7],
        "its name is taken: no new shard will use index 7"
    );

    let identifiers: Vec<&str> = observed.records.iter().map(|r| r.set_identifier.as_str()).collect();
    assert_eq!(
        identifiers,
        vec!["strata:web:eu-west-1:s0", "strata:web:eu-west-1:s1"],
        "foreign records are not observed"
    );
    assert_eq!(observed.weighted_record(ShardIndex::new(0).unwrap()).unwrap().weight, Some(100));
}

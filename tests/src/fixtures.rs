//! Hand-made AWS state for tests that must not depend on the code under test: a shard built by raw SDK
//! calls, and foreign resources that Strata must never touch.

use aws_sdk_elasticloadbalancingv2::types::{Tag, TargetTypeEnum};
use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
use strata_core::aws::AwsClients;

use crate::Fixture;

pub fn elb_tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// An ALB and target group named and tagged as shard `index` of `fleet`, plus its weighted record.
/// Returns (ALB ARN, ALB DNS name, TG ARN).
pub async fn hand_made_shard(
    aws: &AwsClients,
    fixture: &Fixture,
    fleet: &str,
    index: u8,
    domain: &str,
) -> (String, String, String) {
    let shard_tags = [
        elb_tag("strata:fleet", fleet),
        elb_tag("strata:shard", &index.to_string()),
        elb_tag("strata:managed-by", "strata"),
        elb_tag("strata:policy:domain", domain),
        elb_tag("strata:policy:hosted-zone-id", &fixture.hosted_zone_id),
    ];
    let lb = aws
        .elbv2
        .create_load_balancer()
        .name(format!("{fleet}-s{index}"))
        .set_subnets(Some(fixture.subnet_ids.clone()))
        .security_groups(&fixture.security_group_id)
        .set_tags(Some(shard_tags.to_vec()))
        .send()
        .await
        .expect("create ALB");
    let lb = &lb.load_balancers()[0];
    let tg = aws
        .elbv2
        .create_target_group()
        .name(format!("{fleet}-s{index}-tg"))
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&fixture.vpc_id)
        .target_type(TargetTypeEnum::Instance)
        .set_tags(Some(shard_tags[..3].to_vec()))
        .send()
        .await
        .expect("create TG");
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    let dns = lb.dns_name().unwrap().to_owned();
    let record = weighted_alias(
        &format!("{}.{domain}", aws.region),
        &format!("strata:{fleet}:{}:s{index}", aws.region),
        &dns,
        lb.canonical_hosted_zone_id().unwrap(),
        100,
    );
    upsert(aws, &fixture.hosted_zone_id, record).await;
    (lb.load_balancer_arn().unwrap().to_owned(), dns, tg_arn)
}

pub fn weighted_alias(name: &str, set_identifier: &str, dns: &str, zone: &str, weight: i64) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .set_identifier(set_identifier)
        .weight(weight)
        .alias_target(
            AliasTarget::builder().dns_name(dns).hosted_zone_id(zone).evaluate_target_health(true).build().unwrap(),
        )
        .build()
        .unwrap()
}

pub async fn upsert(aws: &AwsClients, zone: &str, record: ResourceRecordSet) {
    let change = Change::builder().action(ChangeAction::Upsert).resource_record_set(record).build().unwrap();
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .expect("UPSERT record");
}

/// A load balancer that is not Strata's (no tags), with a name that looks like a shard's.
pub async fn foreign_load_balancer(aws: &AwsClients, fixture: &Fixture, name: &str) -> String {
    let lb = aws
        .elbv2
        .create_load_balancer()
        .name(name)
        .set_subnets(Some(fixture.subnet_ids.clone()))
        .send()
        .await
        .expect("create foreign ALB");
    lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned()
}

//! Issue 17, part 2: no shard less protected than the others. A new shard gets the AWS WAF web ACL the fleet's
//! serving shards have before its record gets any weight; a shard whose association was removed by hand is
//! given no weight by the rebalancer, and `strata status` says why. All under the functions' own roles, which
//! the emulator holds to the WAF's dependent actions (elasticloadbalancing:SetWebAcl and the rest).

use std::process::Command;

use serde_json::json;
use strata_cli::report::RegionReport;
use strata_core::aws::AwsClients;
use strata_core::model::WebAcl;
use strata_core::plan::protection::Protection;
use strata_core::plan::scale::ScaleStep;
use strata_core::rebalance::RebalanceReport;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{Run, binary, run_function};
use strata_tests::state::weights;
use strata_tests::waf::{associate, create_web_acl, disassociate, web_acl_of};
use strata_tests::{Emulator, Fixture, event};

const REGION: &str = "us-east-1";

async fn load_balancer_arn(aws: &AwsClients, name: &str) -> String {
    let lb = aws.elbv2.describe_load_balancers().names(name).send().await.expect("DescribeLoadBalancers");
    lb.load_balancers()[0].load_balancer_arn().expect("an ARN").to_owned()
}

/// A one-shard fleet whose shard a team protected by hand with its own web ACL.
async fn protected_fleet(emulator: &Emulator) -> (Fixture, AwsClients, String) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}]));
    let created = provision(emulator, &fixture, "create", |p| p["DeregistrationDelaySeconds"] = json!("0"));
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let aws = emulator.clients(REGION).await;
    let acl = create_web_acl(&aws, "team-acl").await;
    associate(&aws, &acl, &load_balancer_arn(&aws, "web-s0").await).await;
    (fixture, aws, acl)
}

/// A requests-high alarm delivered to the alb-scaler, which adds a shard.
fn scale_out(emulator: &Emulator) -> Run {
    let run = run_function("alb-scaler", &emulator.env(REGION), &[event("alb-scaler/alarm-action.json")]);
    let report = run.outcomes[0].first_report::<ScaleReport>();
    assert!(matches!(report.plan.steps[..], [ScaleStep::Create { .. }]), "{report:?}");
    run
}

fn weight_of(weights: &[(String, i64)], shard: &str) -> Option<i64> {
    weights.iter().find(|(id, _)| id.ends_with(shard)).map(|(_, w)| *w)
}

#[tokio::test]
async fn a_new_shard_gets_the_fleets_web_acl_before_its_record_gets_weight() {
    let emulator = Emulator::start();
    let (fixture, aws, acl) = protected_fleet(&emulator).await;
    let before = emulator.calls().len();
    scale_out(&emulator);

    assert_eq!(web_acl_of(&aws, &load_balancer_arn(&aws, "web-s1").await).await.as_deref(), Some(acl.as_str()));
    let calls = emulator.calls()[before..].to_vec();
    let at = |wanted: &dyn Fn(&str) -> bool| calls.iter().position(|c| wanted(c)).expect("the call");
    let records_written = |c: &str| c.starts_with("route53:POST") && c.ends_with("/rrset");
    assert!(
        at(&|c| c == "wafv2:AssociateWebACL") < at(&records_written),
        "associated before any record is written: {calls:?}"
    );
    let weights = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(weight_of(&weights, ":s1").is_some_and(|w| w > 0), "in rotation once protected: {weights:?}");
}

#[tokio::test]
async fn a_shard_whose_web_acl_was_removed_by_hand_gets_no_weight_and_status_says_why() {
    let emulator = Emulator::start();
    let (fixture, aws, acl) = protected_fleet(&emulator).await;
    scale_out(&emulator);
    let rebalance = || run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
    rebalance();
    let s1 = load_balancer_arn(&aws, "web-s1").await;
    assert!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1").is_some_and(|w| w > 0));

    disassociate(&aws, &s1).await;
    let report = rebalance().outcomes[0].first_report::<RebalanceReport>();
    let missing = Protection::Missing { fleet_web_acl: acl.clone() };
    assert_eq!(
        report.less_protected.iter().map(|p| (p.shard.get(), &p.protection)).collect::<Vec<_>>(),
        [(1, &missing)]
    );
    let zeroed = weights(&aws, &fixture.hosted_zone_id).await;
    assert_eq!(weight_of(&zeroed, ":s1"), Some(0), "{zeroed:?}");
    assert!(weight_of(&zeroed, ":s0").is_some_and(|w| w > 0), "the protected shard keeps serving: {zeroed:?}");
    assert_eq!(web_acl_of(&aws, &s1).await, None, "the rebalancer only takes weight away");

    let strata = |args: &[&str]| {
        let out = Command::new(binary("strata")).args(args).envs(emulator.env(REGION)).output().expect("strata");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = strata(&["status", "--fleet", "web"]);
    assert!(
        text.contains(&format!("us-east-1: s1: no weight: no web ACL protects it, while the fleet's is {acl}")),
        "{text}"
    );
    let json: Vec<RegionReport> =
        serde_json::from_str(&strata(&["status", "--fleet", "web", "--output", "json"])).unwrap();
    assert_eq!(json[0].less_protected[0].protection, missing);
    assert_eq!(
        json[0].shards.iter().map(|s| s.web_acl.clone()).collect::<Vec<_>>(),
        [WebAcl::Arn(acl.clone()), WebAcl::None]
    );

    // The next pass that finishes the fleet (here a stack Update) gives it back its protection; the rebalancer
    // then ramps it up.
    let updated = provision(&emulator, &fixture, "update", |p| p["DeregistrationDelaySeconds"] = json!("0"));
    assert_eq!(updated.status(), CfnStatus::Success, "{updated}");
    assert_eq!(web_acl_of(&aws, &s1).await, Some(acl));
    let report = rebalance().outcomes[0].first_report::<RebalanceReport>();
    assert!(report.less_protected.is_empty(), "{report:?}");
    assert!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1").is_some_and(|w| w > 0));
}

#[tokio::test]
async fn a_shard_too_new_for_waf_waits_at_weight_zero_until_a_scheduled_pass_protects_it() {
    let emulator = Emulator::start();
    let (fixture, aws, acl) = protected_fleet(&emulator).await;
    emulator.set_web_acl_unavailable_seconds(600.0);
    let run = scale_out(&emulator);
    assert!(run.logs.contains("WAFUnavailableEntityException"), "AWS's reason, logged: {}", run.logs);
    assert_eq!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1"), Some(0), "in place, no weight");
    let rebalance = || run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
    let report = rebalance().outcomes[0].first_report::<RebalanceReport>();
    assert_eq!(
        report.less_protected.iter().map(|p| (p.shard.get(), &p.protection)).collect::<Vec<_>>(),
        [(1, &Protection::Unknown)]
    );
    assert_eq!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1"), Some(0), "never raised unprotected");

    emulator.set_web_acl_unavailable_seconds(0.0);
    let s1 = load_balancer_arn(&aws, "web-s1").await;
    assert_eq!(web_acl_of(&aws, &s1).await, None);
    run_function("alb-scaler", &emulator.env(REGION), &[event("alb-scaler/schedule.json")]);
    assert_eq!(web_acl_of(&aws, &s1).await, Some(acl), "the schedule tried again");
    rebalance();
    assert!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1").is_some_and(|w| w > 0));
}

#[tokio::test]
async fn a_shard_briefly_too_new_for_waf_is_protected_within_the_scale_out() {
    let emulator = Emulator::start();
    let (fixture, aws, acl) = protected_fleet(&emulator).await;
    // WAF refuses the new ALB (reads and associations alike) for its first 3 s: the retries outlast it.
    emulator.set_web_acl_unavailable_seconds(3.0);
    let run = scale_out(&emulator);
    assert!(run.logs.contains("web ACL associated"), "{}", run.logs);
    emulator.set_web_acl_unavailable_seconds(0.0);
    assert_eq!(web_acl_of(&aws, &load_balancer_arn(&aws, "web-s1").await).await, Some(acl));
    let weights = weights(&aws, &fixture.hosted_zone_id).await;
    assert!(weight_of(&weights, ":s1").is_some_and(|w| w > 0), "in rotation in the same pass: {weights:?}");
}

#[tokio::test]
async fn a_fleet_without_a_web_acl_makes_no_association() {
    let emulator = Emulator::start();
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}]));
    let created = provision(&emulator, &fixture, "create", |_| {});
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let before = emulator.calls().len();
    scale_out(&emulator);
    let calls = emulator.calls()[before..].to_vec();
    assert!(calls.iter().any(|c| c == "wafv2:GetWebACLForResource"), "read: {calls:?}");
    assert!(!calls.iter().any(|c| c == "wafv2:AssociateWebACL"), "nothing to copy: {calls:?}");
    let aws = emulator.clients(REGION).await;
    assert!(weight_of(&weights(&aws, &fixture.hosted_zone_id).await, ":s1").is_some_and(|w| w > 0));
}

/// What the emulator holds the roles to, as AWS does: AssociateWebACL onto an ALB is also authorized as
/// elasticloadbalancing:SetWebAcl and CreateWebACLAssociation (and as nothing of the other services WAF
/// protects); GetWebACLForResource as wafv2:GetWebACL on the web ACL it finds. One web ACL per resource, and
/// none for a load balancer that does not exist.
#[tokio::test]
async fn the_emulator_holds_waf_calls_to_their_dependent_actions() {
    use aws_sdk_wafv2::error::ProvideErrorMetadata;

    let emulator = Emulator::start();
    let (_, aws, acl) = protected_fleet(&emulator).await;
    let s0 = load_balancer_arn(&aws, "web-s0").await;
    let statement = |actions: &[&str]| json!({"Effect": "Allow", "Action": actions, "Resource": "*"});
    let role = |key: &str, actions: &[&str]| {
        json!({"access_key_id": key, "name": "waf-test", "role_name": key, "policy": {
            "Version": "2012-10-17", "Statement": [statement(actions)]}})
    };
    let wafv2 = ["wafv2:AssociateWebACL", "wafv2:GetWebACLForResource"];
    let elb = ["elasticloadbalancing:SetWebAcl", "elasticloadbalancing:CreateWebACLAssociation"];
    let mut all: Vec<&str> = wafv2.iter().chain(&elb).copied().collect();
    all.extend(["elasticloadbalancing:GetLoadBalancerWebACL", "wafv2:GetWebACL"]);
    let but_set: Vec<&str> = all.iter().copied().filter(|a| *a != "elasticloadbalancing:SetWebAcl").collect();
    let but_get_acl: Vec<&str> = all.iter().copied().filter(|a| *a != "wafv2:GetWebACL").collect();
    emulator.configure_iam(json!({"principals": [
        role("ASIAWAFONLY", &wafv2), role("ASIAWAFALL", &all), role("ASIAWAFNOSET", &but_set),
        role("ASIAWAFNOGETACL", &but_get_acl),
    ]}));
    let refusal = |err: &dyn ProvideErrorMetadata| (err.code().map(str::to_owned), err.message().map(str::to_owned));

    let only_waf = emulator.clients_as(REGION, "ASIAWAFONLY").await.wafv2;
    let (code, message) =
        refusal(&only_waf.associate_web_acl().web_acl_arn(&acl).resource_arn(&s0).send().await.unwrap_err());
    assert_eq!(code.as_deref(), Some("AccessDenied"));
    assert!(message.unwrap().contains(&format!("elasticloadbalancing:CreateWebACLAssociation on resource: {s0}")));
    let (_, message) = refusal(&only_waf.get_web_acl_for_resource().resource_arn(&s0).send().await.unwrap_err());
    assert!(message.unwrap().contains("elasticloadbalancing:GetLoadBalancerWebACL"));
    let no_set = emulator.clients_as(REGION, "ASIAWAFNOSET").await.wafv2;
    let (_, message) =
        refusal(&no_set.associate_web_acl().web_acl_arn(&acl).resource_arn(&s0).send().await.unwrap_err());
    assert!(message.unwrap().contains("perform: elasticloadbalancing:SetWebAcl on resource: *"));
    let no_get_acl = emulator.clients_as(REGION, "ASIAWAFNOGETACL").await.wafv2;
    let (_, message) = refusal(&no_get_acl.get_web_acl_for_resource().resource_arn(&s0).send().await.unwrap_err());
    assert!(message.unwrap().contains(&format!("perform: wafv2:GetWebACL on resource: {acl}")));

    let granted = emulator.clients_as(REGION, "ASIAWAFALL").await.wafv2;
    let other = create_web_acl(&aws, "other-acl").await;
    granted.associate_web_acl().web_acl_arn(&other).resource_arn(&s0).send().await.expect("all it needs");
    assert_eq!(web_acl_of(&aws, &s0).await, Some(other), "one web ACL per resource: the new one replaced it");
    let gone = s0.replace("/web-s0/", "/web-s9/");
    let missing = granted.associate_web_acl().web_acl_arn(&acl).resource_arn(&gone).send().await.unwrap_err();
    assert_eq!(missing.code(), Some("WAFNonexistentItemException"), "{missing:?}");
}

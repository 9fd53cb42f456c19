use proptest::prelude::*;

use super::*;
use crate::model::{Listener, ListenerAction, LoadBalancer};
use crate::names::{FleetName, Owner, ShardIndex, TAG_OWNER_RESOURCE, TAG_OWNER_STACK, foreign, ownership_marks};

fn tags() -> impl Strategy<Value = Tags> {
    prop::collection::btree_map("[a-c]{1,2}", "[x-z]{1,2}", 0..4)
}

fn config(lb_tags: Tags, lb_attributes: Tags, tg_attributes: Tags, interval: i32) -> ShardConfig {
    let spec = crate::spec::FleetSpec::from_properties(&crate::spec::tests::valid_properties()).unwrap();
    let owner = Owner { stack_id: "stack".into(), logical_resource_id: "Fleet".into() };
    let mut config = ShardConfig::from_spec(&spec, lb_tags, &owner);
    config.load_balancer_attributes = lb_attributes;
    config.target_group_attributes = tg_attributes;
    config.health_check_interval_seconds = interval;
    config
}

fn marks() -> Tags {
    let owner = Owner { stack_id: "stack".into(), logical_resource_id: "Fleet".into() };
    ownership_marks(&FleetName::parse("web").unwrap(), Some(ShardIndex::new(1).unwrap()), Some(&owner))
}

fn target_group(tags: Tags, attributes: Tags, interval: i32) -> TargetGroup {
    TargetGroup {
        arn: "arn:tg".into(),
        name: "web-s1-tg".into(),
        target_type: Some("instance".into()),
        protocol: Some("HTTP".into()),
        port: 80,
        vpc_id: "vpc-1".into(),
        health_check_path: "/health".into(),
        health_check_interval_seconds: interval,
        healthy_threshold: 3,
        unhealthy_threshold: 3,
        load_balancer_arns: Vec::new(),
        tags,
        attributes,
    }
}

proptest! {
    /// Carrying out a target group's changes leaves nothing to change: re-running after success is a no-op.
    #[test]
    fn target_group_changes_converge(
        tags in tags(), current in tags(), desired in tags(), interval in 5..300i32, wanted in 5..300i32,
    ) {
        let config = config(Tags::new(), Tags::new(), desired, wanted);
        let mut tg = target_group(tags, current, interval);
        let changes = target_group_changes(&tg, &config, &marks());
        prop_assert_eq!(changes.health_check, interval != wanted);
        if let Some(add) = changes.add_tags { tg.tags.extend(add); }
        if changes.health_check { tg.health_check_interval_seconds = config.health_check_interval_seconds; }
        tg.attributes.extend(changes.attributes);
        prop_assert_eq!(target_group_changes(&tg, &config, &marks()), TargetGroupChanges::default());
    }

    /// The same for an ALB, policy keys the spec dropped included; keys that are not policy keys are never removed.
    #[test]
    fn load_balancer_changes_converge(current_tags in tags(), policy in tags(), current in tags(), desired in tags()) {
        let policy: Tags = policy.into_iter().map(|(k, v)| (format!("{TAG_POLICY_PREFIX}{k}"), v)).collect();
        let mut lb_tags = current_tags.clone();
        lb_tags.insert(format!("{TAG_POLICY_PREFIX}stale"), "1".into());
        let config = config(policy.clone(), desired, Tags::new(), 15);
        let mut wanted = marks();
        wanted.extend(policy);
        let mut lb = LoadBalancer { tags: lb_tags, attributes: current, ..LoadBalancer::default() };
        let changes = load_balancer_changes(&lb, &config, &wanted);
        prop_assert!(changes.remove_tag_keys.iter().all(|k| k.starts_with(TAG_POLICY_PREFIX)));
        let stale = format!("{TAG_POLICY_PREFIX}stale");
        prop_assert!(changes.remove_tag_keys.contains(&stale));
        lb.tags.retain(|k, _| !changes.remove_tag_keys.contains(k));
        if let Some(add) = changes.add_tags { lb.tags.extend(add); }
        lb.attributes.extend(changes.attributes);
        prop_assert_eq!(load_balancer_changes(&lb, &config, &wanted), LoadBalancerChanges::default());
        for key in current_tags.keys().filter(|k| !k.starts_with(TAG_POLICY_PREFIX)) {
            prop_assert!(lb.tags.contains_key(key));
        }
    }
}

#[test]
fn a_resource_under_the_shards_name_with_another_owner_is_foreign() {
    let marks = marks();
    assert!(!foreign(&marks, &marks));
    let mut other = marks.clone();
    other.insert(TAG_OWNER_STACK.into(), "another-stack".into());
    assert!(foreign(&other, &marks));
    let mut unowned = marks.clone();
    unowned.remove(TAG_OWNER_RESOURCE);
    assert!(foreign(&unowned, &marks));
}

fn made(fresh: bool) -> ShardResources {
    ShardResources {
        load_balancer: LoadBalancer { arn: "arn:lb".into(), ..LoadBalancer::default() },
        target_group: target_group(Tags::new(), Tags::new(), 15),
        fresh_load_balancer: fresh,
        fresh_target_group: fresh,
    }
}

#[test]
fn the_https_listener_is_modified_on_policy_default_certificate_or_target_and_extra_certificates_added() {
    let config = config(Tags::new(), Tags::new(), Tags::new(), 15);
    let https = Listener {
        arn: "arn:l".into(),
        port: 443,
        protocol: Some("HTTPS".into()),
        ssl_policy: Some(config.ssl_policy.clone()),
        certificate_arns: config.certificate_arns.clone(),
        default_action: Some(ListenerAction::Forward { target_group_arn: "arn:tg".into() }),
    };
    let http = Listener { arn: "arn:h".into(), port: 80, ..https.clone() };
    let plan = completion_plan(&made(false), &config, &[http.clone(), https.clone()]);
    assert_eq!((plan.create_http, &plan.https), (false, &HttpsStep::Keep { arn: "arn:l".into() }));
    assert!(plan.load_balancer_attributes.is_empty() && plan.add_certificates.is_empty());
    let elsewhere = Listener {
        default_action: Some(ListenerAction::Forward { target_group_arn: "arn:x".into() }),
        ..https.clone()
    };
    assert_eq!(completion_plan(&made(false), &config, &[elsewhere]).https, HttpsStep::Modify { arn: "arn:l".into() });
    let no_policy = Listener { ssl_policy: None, ..https.clone() };
    assert_eq!(
        completion_plan(&made(false), &config, &[http, no_policy]).https,
        HttpsStep::Modify { arn: "arn:l".into() }
    );
    let mut two = config.clone();
    two.certificate_arns.push("arn:extra".into());
    two.load_balancer_attributes.insert("routing.http.drop_invalid_header_fields.enabled".into(), "true".into());
    let fresh = completion_plan(&made(true), &two, &[]);
    assert!(fresh.create_http && fresh.https == HttpsStep::Create);
    assert_eq!(fresh.add_certificates, vec!["arn:extra".to_owned()]);
    assert!(!fresh.load_balancer_attributes.is_empty(), "a new ALB's attributes come from AWS's defaults");
}

use serde_json::json;

use super::*;
use crate::error::StrataError;

pub(crate) fn valid_properties() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:strata-provisioner",
        "FleetName": "web",
        "Domain": "api.example.com",
        "HostedZoneId": "Z0123456789ABC",
        "VpcId": "vpc-1",
        "SubnetIds": ["subnet-a", "subnet-b", "subnet-c"],
        "SecurityGroupIds": ["sg-1"],
        "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "AutoScalingGroupNames": ["web-a", "web-b"]
    })
}

#[test]
fn defaults_fill_what_the_spec_leaves_out() {
    let spec = FleetSpec::from_properties(&valid_properties()).unwrap();
    assert_eq!(spec.fleet.as_str(), "web");
    assert_eq!(spec.scheme, Scheme::InternetFacing);
    assert_eq!(spec.target_port, 80);
    assert_eq!(spec.health_check_path, "/health");
    assert_eq!(spec.deregistration_delay_seconds, 300);
    assert!(!spec.stickiness.enabled);
    assert_eq!(spec.sharding_mode, ShardingMode::Mirror);
    assert_eq!(spec.limits.targets_per_shard, 1000);
    assert_eq!(spec.ssl_policy, DEFAULT_SSL_POLICY);
}

#[test]
fn cloudformation_strings_are_accepted_for_every_scalar() {
    let mut props = valid_properties();
    props["DeregistrationDelaySeconds"] = json!("30");
    props["Stickiness"] = json!({"Enabled": "true", "DurationSeconds": "600"});
    props["Limits"] = json!({"MaxShards": "4", "RequestsPerSecondPerShard": 1000});
    props["SubnetIds"] = json!("subnet-a, subnet-b");
    let spec = FleetSpec::from_properties(&props).unwrap();
    assert_eq!(spec.deregistration_delay_seconds, 30);
    assert!(spec.stickiness.enabled);
    assert_eq!(spec.stickiness.duration_seconds, 600);
    assert_eq!(spec.limits.max_shards, 4);
    assert_eq!(spec.limits.requests_per_second_per_shard, 1000);
    assert_eq!(spec.subnet_ids, vec!["subnet-a", "subnet-b"]);
}

#[test]
fn spec_validation_names_every_bad_field_in_one_error() {
    let mut props = valid_properties();
    props["FleetName"] = json!("Web_Fleet");
    props["Scheme"] = json!("public");
    props["DeregistrationDelaySeconds"] = json!("forever");
    props["Limits"] = json!({"MaxShards": 250, "MinShards": 0});
    props["VpcId"] = json!("subnet-1");
    props["Colour"] = json!("blue");
    let Err(StrataError::InvalidSpec(errors)) = FleetSpec::from_properties(&props) else {
        panic!("a bad spec must be refused");
    };
    let fields = errors.fields();
    for expected in
        ["FleetName", "Scheme", "DeregistrationDelaySeconds", "Limits.MaxShards", "Limits.MinShards", "VpcId", "Colour"]
    {
        assert!(fields.contains(&expected), "{expected} not named in {errors}");
    }
    assert_eq!(fields.len(), 7, "{errors}");
}

#[test]
fn missing_required_fields_are_each_named() {
    let Err(StrataError::InvalidSpec(errors)) = FleetSpec::from_properties(&json!({"ServiceToken": "x"})) else {
        panic!("an empty spec must be refused");
    };
    let fields = errors.fields();
    for expected in
        ["FleetName", "Domain", "HostedZoneId", "VpcId", "CertificateArn", "SubnetIds", "AutoScalingGroupNames"]
    {
        assert!(fields.contains(&expected), "{expected} not named in {errors}");
    }
}

#[test]
fn an_asg_tag_selector_alone_is_enough() {
    let mut props = valid_properties();
    props.as_object_mut().unwrap().remove("AutoScalingGroupNames");
    props["AutoScalingGroupTag"] = json!({"Key": "strata:fleet", "Value": "web"});
    let spec = FleetSpec::from_properties(&props).unwrap();
    assert_eq!(spec.asgs().tag, Some(("strata:fleet".into(), "web".into())));
}

#[test]
fn names_aws_would_refuse_are_refused_without_echoing_them() {
    let mut props = valid_properties();
    props["AutoScalingGroupNames"] = json!(["web-a", "a".repeat(256)]);
    props["AutoScalingGroupTag"] = json!({"Key": "k".repeat(129), "Value": "v".repeat(257)});
    props["FleetName"] = json!("f".repeat(1 << 20));
    let Err(StrataError::InvalidSpec(errors)) = FleetSpec::from_properties(&props) else { panic!("refused") };
    let fields = errors.fields();
    for field in ["AutoScalingGroupNames[1]", "AutoScalingGroupTag.Key", "AutoScalingGroupTag.Value", "FleetName"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    assert!(errors.to_string().len() < 1000, "the names are not echoed: {} bytes", errors.to_string().len());
    props["AutoScalingGroupNames"] = json!(["a".repeat(255)]);
    props["AutoScalingGroupTag"] = json!({"Key": "k".repeat(128), "Value": "v".repeat(256)});
    props["FleetName"] = json!("web");
    assert!(FleetSpec::from_properties(&props).is_ok(), "AWS's own maxima are accepted");
}

#[test]
fn target_type_ip_is_refused_naming_the_field() {
    let mut props = valid_properties();
    props["TargetType"] = json!("ip");
    let err = FleetSpec::from_properties(&props).unwrap_err();
    let StrataError::InvalidSpec(fields) = &err else { panic!("{err}") };
    assert_eq!(fields.fields(), vec!["TargetType"]);
    assert!(err.to_string().contains("Auto Scaling attaches"), "{err}");
    props["TargetType"] = json!("instance");
    assert_eq!(FleetSpec::from_properties(&props).unwrap().target_type, TargetType::Instance);
}

#[test]
fn a_fleet_name_that_makes_an_internal_alb_name_is_refused() {
    let mut props = valid_properties();
    props["FleetName"] = json!("internal-api");
    let err = FleetSpec::from_properties(&props).unwrap_err();
    let StrataError::InvalidSpec(fields) = &err else { panic!("{err}") };
    assert_eq!(fields.fields(), vec!["FleetName"]);
    assert!(err.to_string().contains("internal-"), "{err}");
    props["FleetName"] = json!("api-internal");
    assert!(FleetSpec::from_properties(&props).is_ok(), "only the prefix is reserved");
}

#[test]
fn the_health_check_timeout_is_below_every_interval_aws_accepts() {
    use crate::plan::shard::health_check_timeout;
    for interval in 5..=300 {
        let timeout = health_check_timeout(interval);
        assert!((2..=120).contains(&timeout) && timeout < interval, "interval {interval}: timeout {timeout}");
    }
    assert_eq!(health_check_timeout(30), 5, "AWS's default HTTP timeout where it fits");
    assert_eq!(health_check_timeout(5), 4);
}

#[test]
fn what_means_left_out_is_read_as_left_out() {
    let mut props = valid_properties();
    props["AutoScalingGroupTag"] = json!({});
    props["Scheme"] = json!(" internal ");
    props["Limits"] = json!({"MaxShards": null});
    props["Stickiness"] = Value::Null;
    let spec = FleetSpec::from_properties(&props).unwrap();
    assert_eq!(spec.auto_scaling_group_tag, None);
    assert_eq!(spec.scheme, Scheme::Internal);
    assert_eq!(spec.limits.max_shards, 8);
    props["AutoScalingGroupNames"] = json!(["é".repeat(255)]);
    props["AutoScalingGroupTag"] = json!({"Key": "k".repeat(128), "Value": "é".repeat(256)});
    assert!(FleetSpec::from_properties(&props).is_ok(), "AWS counts characters, not bytes");
}

#[test]
fn a_huge_bad_value_does_not_crowd_out_the_other_fields() {
    let mut props = valid_properties();
    props["Scheme"] = json!("x".repeat(100_000));
    props["Limits"] = json!("y".repeat(100_000));
    props["TargetPort"] = json!("none");
    let Err(StrataError::InvalidSpec(errors)) = FleetSpec::from_properties(&props) else { panic!("refused") };
    let mut fields = errors.fields();
    fields.sort();
    assert_eq!(fields, vec!["Limits", "Scheme", "TargetPort"]);
    assert!(errors.to_string().len() < 1000, "{} bytes", errors.to_string().len());
}

#[test]
fn user_tags_are_refused_beyond_the_health_checks_quota_and_with_reserved_or_repeated_keys() {
    let tag = |k: &str, v: &str| json!({"Key": k, "Value": v});
    let mut props = valid_properties();
    props["Tags"] = json!((0..5).map(|i| tag(&format!("cost-center-{i}"), "42")).collect::<Vec<_>>());
    let spec = FleetSpec::from_properties(&props).unwrap();
    assert_eq!(spec.user_tags().len(), 5);
    props["Tags"] = json!((0..6).map(|i| tag(&format!("k{i}"), "v")).collect::<Vec<_>>());
    let err = FleetSpec::from_properties(&props).unwrap_err().to_string();
    assert!(err.contains("Tags"), "{err}");
    props["Tags"] =
        json!([tag("aws:cloudformation:stack-name", "x"), tag("team", "a"), tag("team", "b"), tag("bad,key", "v")]);
    let err = FleetSpec::from_properties(&props).unwrap_err().to_string();
    assert!(err.contains("Tags[0].Key: aws:… keys are reserved"), "{err}");
    assert!(err.contains("Tags[2].Key: the same key twice"), "{err}");
    assert!(err.contains("Tags[3].Key") && err.contains("not allowed in a tag"), "{err}");
    props["Tags"] = json!([tag("Strata:fleet", "x")]);
    assert!(FleetSpec::from_properties(&props).is_err(), "strata:… is Strata's own");
}

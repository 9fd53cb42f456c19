use serde_json::json;

use super::*;
use crate::plan::scale::ScaleTrigger;

fn sample(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_alarm_shape_in_events_decodes_to_the_same_scale_out() {
    let mut ids = Vec::new();
    for path in ["alb-scaler/alarm-action.json", "alb-scaler/alarm-eventbridge.json", "alb-scaler/alarm-sns.json"] {
        match decode_scale(&sample(path), "us-east-1", Some("123456789012")).unwrap() {
            ScaleCommand::Scale { fleet, trigger: ScaleTrigger::Out, transition_id, hot_shard } => {
                assert_eq!(fleet.as_str(), "web", "{path}");
                assert_eq!(hot_shard.map(ShardIndex::get), Some(0), "{path}: the alarm names shard 0");
                ids.push(transition_id.unwrap());
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert!(ids.iter().all(|id| id == "strata-web-s0-requests-high@2026-11-25T09:10:00.123"), "{ids:?}");
}

#[test]
fn transitions_that_are_not_into_alarm_and_other_accounts_are_ignored() {
    for path in [
        "alb-scaler/alarm-ok.json",
        "alb-scaler/alarm-insufficient-data.json",
        "alb-scaler/alarm-other-account.json",
        "alb-scaler/alarm-foreign.json",
    ] {
        let decoded = decode_scale(&sample(path), "us-east-1", Some("123456789012")).unwrap();
        assert!(matches!(decoded, ScaleCommand::Ignored(_)), "{path}: {decoded:?}");
    }
    assert!(matches!(
        decode_scale(&sample("alb-scaler/alarm-low.json"), "us-east-1", Some("123456789012")).unwrap(),
        ScaleCommand::Scale { trigger: ScaleTrigger::In, .. }
    ));
}

#[test]
fn events_of_another_account_are_ignored_by_every_decoder() {
    let ours = Some("123456789012");
    let foreign = |path: &str| {
        let mut event = sample(path);
        event["account"] = json!("999999999999");
        event
    };
    for path in ["asg-registrar/tag-change.json", "asg-registrar/create-asg.json", "asg-registrar/schedule.json"] {
        let decoded = decode_asg_event(&foreign(path), "us-east-1", ours).unwrap();
        assert!(matches!(decoded, AsgTrigger::Ignored(ref r) if r.contains("999999999999")), "{path}: {decoded:?}");
        assert!(!matches!(decode_asg_event(&sample(path), "us-east-1", ours).unwrap(), AsgTrigger::Ignored(_)));
    }
    let decoded = decode_rebalance(&foreign("dns-rebalancer/schedule.json"), ours).unwrap();
    assert!(matches!(decoded, RebalanceTrigger::Ignored(_)), "{decoded:?}");
    assert_eq!(decode_rebalance(&sample("dns-rebalancer/schedule.json"), ours).unwrap(), RebalanceTrigger::AllFleets);
    let decoded = decode_rebalance(&sample("alb-scaler/alarm-other-account.json"), ours).unwrap();
    assert!(matches!(decoded, RebalanceTrigger::Ignored(_)), "{decoded:?}");
    let decoded = decode_scale(&foreign("alb-scaler/schedule.json"), "us-east-1", ours).unwrap();
    assert!(matches!(decoded, ScaleCommand::Ignored(_)), "{decoded:?}");
}

#[test]
fn names_aws_would_refuse_are_refused_before_any_call() {
    let mut create = sample("asg-registrar/create-asg.json");
    create["detail"]["requestParameters"]["autoScalingGroupName"] = json!("é".repeat(256));
    let err = decode_asg_event(&create, "us-east-1", None).unwrap_err();
    assert!(err.to_string().contains("256 characters"), "{err}");
    create["detail"]["requestParameters"]["autoScalingGroupName"] = json!("é".repeat(255));
    assert!(matches!(decode_asg_event(&create, "us-east-1", None).unwrap(), AsgTrigger::Asg { .. }));
    let mut alarm = sample("alb-scaler/alarm-sns.json");
    let message = alarm["Records"][0]["Sns"]["Message"].as_str().unwrap().to_owned();
    let mut message: Value = serde_json::from_str(&message).unwrap();
    message["AlarmName"] = json!("a".repeat(256));
    alarm["Records"][0]["Sns"]["Message"] = json!(message.to_string());
    assert!(decode_alarm(&alarm).is_err());
    assert!(decode_scale(&alarm, "us-east-1", None).is_err());
    assert!(decode_rebalance(&alarm, None).is_err());
}

#[test]
fn accounts_are_read_from_arns_only() {
    assert_eq!(arn_account("arn:aws:lambda:us-east-1:123456789012:function:f"), Some("123456789012"));
    assert_eq!(arn_account("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/s/1"), Some("123456789012"));
    assert_eq!(arn_account("arn:aws:s3:::bucket"), None);
    assert_eq!(arn_account("xarn:aws:lambda:us-east-1:123456789012:function:f"), None);
    assert_eq!(arn_account(""), None);
}

//! The emulator answers the current aws-sdk-cloudwatch (rpc-v2-cbor) for every CloudWatch call Strata makes,
//! with timestamps and typed errors intact.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit, StateValue,
    Statistic,
};
use aws_smithy_types::DateTime;
use strata_tests::Emulator;

const REGION: &str = "us-east-1";

async fn put_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) {
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .dimensions(Dimension::builder().name("LoadBalancer").value("app/web-s0/abc").build())
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(2)
        .threshold(240_000.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .alarm_actions("arn:aws:lambda:us-east-1:123456789012:function:strata-alb-scaler")
        .send()
        .await
        .expect("PutMetricAlarm over CBOR");
}

#[tokio::test]
async fn put_metric_alarm_and_describe_alarms_round_trip_over_cbor() {
    let emulator = Emulator::start();
    let cw = emulator.clients(REGION).await.cloudwatch;
    put_alarm(&cw, "strata-web-s0-requests-high").await;
    put_alarm(&cw, "foreign-alarm").await;
    let answer = cw.describe_alarms().alarm_name_prefix("strata-web-").send().await.expect("DescribeAlarms over CBOR");
    let alarms = answer.metric_alarms();
    assert_eq!(alarms.len(), 1);
    let alarm = &alarms[0];
    assert_eq!(alarm.alarm_name(), Some("strata-web-s0-requests-high"));
    assert_eq!(alarm.threshold(), Some(240_000.0));
    assert_eq!(alarm.evaluation_periods(), Some(2));
    assert_eq!(alarm.comparison_operator(), Some(&ComparisonOperator::GreaterThanThreshold));
    assert_eq!(alarm.alarm_actions(), ["arn:aws:lambda:us-east-1:123456789012:function:strata-alb-scaler"]);
    assert_eq!(alarm.dimensions()[0].value(), Some("app/web-s0/abc"));
    let updated = alarm.state_updated_timestamp().expect("a timestamp, decoded from a CBOR tag");
    let now = DateTime::from(std::time::SystemTime::now()).secs();
    assert!((now - updated.secs()).abs() < 300, "timestamp {updated} is not now ({now})");
}

#[tokio::test]
async fn set_alarm_state_changes_state_and_unknown_alarm_is_a_typed_error() {
    let emulator = Emulator::start();
    let cw = emulator.clients(REGION).await.cloudwatch;
    put_alarm(&cw, "strata-web-s0-requests-high").await;
    cw.set_alarm_state()
        .alarm_name("strata-web-s0-requests-high")
        .state_value(StateValue::Alarm)
        .state_reason("test: RPS above the limit")
        .send()
        .await
        .expect("SetAlarmState over CBOR");
    let answer = cw.describe_alarms().alarm_names("strata-web-s0-requests-high").send().await.unwrap();
    assert_eq!(answer.metric_alarms()[0].state_value(), Some(&StateValue::Alarm));
    assert_eq!(answer.metric_alarms()[0].state_reason(), Some("test: RPS above the limit"));

    let err = cw
        .set_alarm_state()
        .alarm_name("no-such-alarm")
        .state_value(StateValue::Alarm)
        .state_reason("x")
        .send()
        .await
        .unwrap_err();
    let service_error = err.into_service_error();
    assert!(service_error.is_resource_not_found(), "expected ResourceNotFound, got {service_error:?}");
}

#[tokio::test]
async fn delete_alarms_removes_only_the_named_alarms() {
    let emulator = Emulator::start();
    let cw = emulator.clients(REGION).await.cloudwatch;
    put_alarm(&cw, "strata-web-s0-requests-high").await;
    put_alarm(&cw, "strata-web-requests-low").await;
    cw.delete_alarms().alarm_names("strata-web-s0-requests-high").send().await.expect("DeleteAlarms over CBOR");
    let answer = cw.describe_alarms().send().await.unwrap();
    let names: Vec<_> = answer.metric_alarms().iter().filter_map(|a| a.alarm_name()).collect();
    assert_eq!(names, ["strata-web-requests-low"]);
}

#[tokio::test]
async fn put_metric_data_then_get_metric_data_returns_the_values_at_their_timestamps() {
    let emulator = Emulator::start();
    let cw = emulator.clients(REGION).await.cloudwatch;
    let now = DateTime::from(std::time::SystemTime::now()).secs();
    let minute = now - now % 60 - 120;
    let dimension = Dimension::builder().name("LoadBalancer").value("app/web-s0/abc").build();
    for (offset, value) in [(0, 1200.0), (60, 1800.0)] {
        cw.put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("RequestCount")
                    .dimensions(dimension.clone())
                    .timestamp(DateTime::from_secs(minute + offset))
                    .value(value)
                    .unit(StandardUnit::Count)
                    .build(),
            )
            .send()
            .await
            .expect("PutMetricData over CBOR");
    }
    let metric =
        Metric::builder().namespace("AWS/ApplicationELB").metric_name("RequestCount").dimensions(dimension).build();
    let answer = cw
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("rps_s0")
                .metric_stat(MetricStat::builder().metric(metric).period(60).stat("Sum").build())
                .build(),
        )
        .start_time(DateTime::from_secs(minute - 60))
        .end_time(DateTime::from_secs(minute + 180))
        .send()
        .await
        .expect("GetMetricData over CBOR");
    let result = &answer.metric_data_results()[0];
    assert_eq!(result.id(), Some("rps_s0"));
    let mut points: Vec<(i64, f64)> =
        result.timestamps().iter().map(|t| t.secs()).zip(result.values().iter().copied()).collect();
    points.sort_by_key(|p| p.0);
    assert_eq!(points, vec![(minute, 1200.0), (minute + 60, 1800.0)]);
}

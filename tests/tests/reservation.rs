//! Issue 17, part 1: relief in one call while a shard is built. With `Limits.ScaleOutReservedCapacityUnits`, a
//! high alarm first raises the hot shard's LCU reservation (ModifyCapacityReservation), then builds the shard;
//! once the new shard carries the weight the rebalancer plans for it, the reservation is given back, within
//! AWS's daily decreases. A refused reservation never delays the shard; fleets without the property never call.

use serde_json::{Value, json};
use strata_core::aws::AwsClients;
use strata_core::plan::scale::ScaleStep;
use strata_core::rebalance::RebalanceReport;
use strata_core::scale::ScaleReport;
use strata_tests::custom_resource::{CfnStatus, provision};
use strata_tests::runtime::{Run, run_function};
use strata_tests::state::{load_balancer_names, mutating};
use strata_tests::{Emulator, event};

const REGION: &str = "us-east-1";
const RESERVE: &str = "elasticloadbalancing:ModifyCapacityReservation";

async fn fleet(emulator: &Emulator, reserve: Option<&str>) -> (AwsClients, String) {
    let fixture = emulator.seed(REGION, json!([{"name": "web-a", "size": 2}, {"name": "web-b", "size": 1}]));
    let created = provision(emulator, &fixture, "create", |p| {
        p["Rebalancing"] = json!({"MaxStepWeight": "255"});
        if let Some(units) = reserve {
            p["Limits"] = json!({"ScaleOutReservedCapacityUnits": units});
        }
    });
    assert_eq!(created.status(), CfnStatus::Success, "{created}");
    let aws = emulator.clients(REGION).await;
    let lb = aws.elbv2.describe_load_balancers().names("web-s0").send().await.unwrap();
    (aws, lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned())
}

fn scaler(emulator: &Emulator, name: &str) -> Run {
    let mut env = emulator.env(REGION);
    env.push(("STRATA_LOG".into(), "info".into()));
    run_function("alb-scaler", &env, &[event(&format!("alb-scaler/{name}.json"))])
}

/// The reservation the emulator holds for `arn`: (units, decreases left).
fn reservation(emulator: &Emulator, arn: &str) -> (Value, Value) {
    let r = &emulator.capacity()["reservations"][arn];
    (r["units"].clone(), r["decreases"].clone())
}

async fn marked(aws: &AwsClients, arn: &str) -> Option<String> {
    let tags = aws.elbv2.describe_tags().resource_arns(arn).send().await.unwrap();
    let tags = tags.tag_descriptions()[0].tags();
    tags.iter().find(|t| t.key() == Some("strata:reserved-lcu")).and_then(|t| t.value().map(str::to_owned))
}

/// The dns-rebalancer until it plans no more change: the new shard has the weight planned for it.
fn ramp_up(emulator: &Emulator) {
    for _ in 0..10 {
        let run = run_function("dns-rebalancer", &emulator.env(REGION), &[event("dns-rebalancer/schedule.json")]);
        if run.outcomes[0].first_report::<RebalanceReport>().changes.is_empty() {
            return;
        }
    }
    panic!("the ramp never ended");
}

#[tokio::test]
async fn a_high_alarm_reserves_on_the_hot_shard_first_and_gives_it_back_after_the_ramp() {
    let emulator = Emulator::start();
    let (aws, s0) = fleet(&emulator, Some("500")).await;
    emulator.set_capacity(json!({"reserved_lcu_quota": 5000}));
    let before = emulator.calls().len();
    let run = scaler(&emulator, "alarm-action");
    assert!(matches!(run.outcomes[0].first_report::<ScaleReport>().plan.steps[..], [ScaleStep::Create { .. }]));
    let writes = mutating(&emulator.calls()[before..]);
    assert_eq!(writes.first().map(String::as_str), Some(RESERVE), "the reservation is the first write: {writes:?}");
    assert!(writes.iter().any(|c| c.ends_with(":CreateLoadBalancer")), "then the shard: {writes:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);
    assert_eq!(reservation(&emulator, &s0), (json!(500), json!(2)));
    assert_eq!(marked(&aws, &s0).await.as_deref(), Some("500"));
    assert!(run.logs.contains("\"CapacityReserved\":1.0"), "{}", run.logs);

    scaler(&emulator, "schedule");
    assert_eq!(reservation(&emulator, &s0).0, json!(500), "kept while the new shard ramps up");
    ramp_up(&emulator);
    let run = scaler(&emulator, "schedule");
    assert_eq!(reservation(&emulator, &s0), (Value::Null, json!(1)), "given back, one decrease spent");
    assert_eq!(marked(&aws, &s0).await, None);
    assert!(run.logs.contains("\"CapacityReservationReset\":1.0"), "{}", run.logs);
}

#[tokio::test]
async fn with_no_decrease_left_no_reset_is_attempted() {
    let emulator = Emulator::start();
    let (aws, s0) = fleet(&emulator, Some("500")).await;
    emulator.set_capacity(json!({"reserved_lcu_quota": 5000}));
    scaler(&emulator, "alarm-action");
    ramp_up(&emulator);
    emulator.set_capacity(json!({"decreases_remaining": 0}));
    let before = emulator.calls().len();
    let run = scaler(&emulator, "schedule");
    let calls = emulator.calls()[before..].to_vec();
    assert!(calls.iter().any(|c| c.ends_with(":DescribeCapacityReservation")), "{calls:?}");
    assert!(!calls.iter().any(|c| c == RESERVE), "no decrease attempted: {calls:?}");
    assert_eq!(reservation(&emulator, &s0).0, json!(500));
    assert_eq!(marked(&aws, &s0).await.as_deref(), Some("500"), "kept for a later day");
    assert!(run.logs.contains("no capacity decrease left today"), "{}", run.logs);
}

#[tokio::test]
async fn a_refused_reservation_is_counted_and_never_delays_the_shard() {
    let emulator = Emulator::start();
    // AWS's default reserved-LCU quota is 0: CapacityUnitsLimitExceeded.
    let (aws, s0) = fleet(&emulator, Some("500")).await;
    let run = scaler(&emulator, "alarm-action");
    assert!(matches!(run.outcomes[0].first_report::<ScaleReport>().plan.steps[..], [ScaleStep::Create { .. }]));
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);
    assert_eq!(reservation(&emulator, &s0).0, Value::Null);
    assert!(run.logs.contains("CapacityUnitsLimitExceeded"), "the reason, as AWS gave it: {}", run.logs);
    assert!(run.logs.contains("\"CapacityReservationFailed\":1.0"), "{}", run.logs);
    assert_eq!(marked(&aws, &s0).await, None);
}

#[tokio::test]
async fn a_fleet_without_the_property_makes_no_reservation_call() {
    let emulator = Emulator::start();
    let (aws, _) = fleet(&emulator, None).await;
    emulator.set_capacity(json!({"reserved_lcu_quota": 5000}));
    let before = emulator.calls().len();
    scaler(&emulator, "alarm-action");
    ramp_up(&emulator);
    scaler(&emulator, "schedule");
    let calls = emulator.calls()[before..].to_vec();
    assert!(!calls.iter().any(|c| c.contains("CapacityReservation")), "{calls:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);
}

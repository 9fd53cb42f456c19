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
    let calls = emulator.calls()[before..].to_vec();
    let at = |name: &str| calls.iter().position(|c| c.ends_with(name)).unwrap_or_else(|| panic!("{name}: {calls:?}"));
    let writes = mutating(&calls);
    assert_eq!(writes[..2], ["elasticloadbalancing:AddTags", RESERVE], "the mark, then the reservation: {writes:?}");
    assert!(at(":DescribeCapacityReservation") < at(":ModifyCapacityReservation"), "read before it is raised");
    assert!(at(":ModifyCapacityReservation") < at(":CreateLoadBalancer"), "then the shard: {calls:?}");
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);
    assert_eq!(reservation(&emulator, &s0), (json!(500), json!(2)));
    let mark = marked(&aws, &s0).await.expect("the mark");
    assert!(mark.starts_with("units=500 prior=0 shard=1 since="), "{mark}");
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
    assert!(marked(&aws, &s0).await.is_some(), "kept for a later day");
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

/// Someone else's reservation is never lowered; a smaller one is raised and restored, not reset.
#[tokio::test]
async fn a_reservation_made_by_someone_else_is_never_lowered_and_is_restored_after() {
    let emulator = Emulator::start();
    let (aws, s0) = fleet(&emulator, Some("500")).await;
    emulator.set_capacity(json!({"reserved_lcu_quota": 20000}));
    let minimum = |units: i32| {
        aws_sdk_elasticloadbalancingv2::types::MinimumLoadBalancerCapacity::builder().capacity_units(units).build()
    };
    let by_hand =
        aws.elbv2.modify_capacity_reservation().load_balancer_arn(&s0).minimum_load_balancer_capacity(minimum(5000));
    by_hand.send().await.unwrap();
    scaler(&emulator, "alarm-action");
    assert_eq!(reservation(&emulator, &s0), (json!(5000), json!(2)), "a larger reservation is left alone");
    assert_eq!(marked(&aws, &s0).await, None);
    assert_eq!(load_balancer_names(&aws).await, ["web-s0", "web-s1"]);

    let emulator = Emulator::start();
    let (aws, s0) = fleet(&emulator, Some("500")).await;
    emulator.set_capacity(json!({"reserved_lcu_quota": 20000}));
    let by_hand =
        aws.elbv2.modify_capacity_reservation().load_balancer_arn(&s0).minimum_load_balancer_capacity(minimum(200));
    by_hand.send().await.unwrap();
    scaler(&emulator, "alarm-action");
    assert_eq!(reservation(&emulator, &s0).0, json!(500));
    ramp_up(&emulator);
    scaler(&emulator, "schedule");
    assert_eq!(reservation(&emulator, &s0), (json!(200), json!(1)), "back to the 200 that was there");
    assert_eq!(marked(&aws, &s0).await, None);
}

//! The scaler's capacity relief: reserve LCUs on the hot shard before a new shard is built, and give them back
//! once the new shard carries its planned weight. Every failure is logged and counted, never returned: relief
//! must not stop or delay a scale-out.

use tracing::{info, warn};

use crate::aws::AwsClients;
use crate::model::ObservedFleet;
use crate::names::ShardIndex;
use crate::plan::reservation::{GiveBack, Mark, give_back, give_backs, raise};
use crate::plan::weights::plan_weights;
use crate::policy::FleetPolicy;
use crate::rebalance::capacities;
use crate::reservation;
use crate::telemetry::Metrics;

/// Reads the hot shard's reservation, marks the ALB with what it will reserve (so that a crash can never leave
/// an unmarked, billed reservation), then raises it: three calls, each bounded in time.
pub async fn reserve(
    aws: &AwsClients,
    observed: &ObservedFleet,
    relief: (String, u32, ShardIndex),
    now: i64,
    metrics: &mut Metrics,
) {
    let (arn, units, for_shard) = relief;
    let fleet = &observed.fleet;
    let outcome = async {
        let state = reservation::describe(&aws.elbv2, &arn).await?;
        let prior = match raise(state, units) {
            Ok(prior) => prior,
            Err(why) => return Ok(Some(why)),
        };
        reservation::mark(&aws.elbv2, &arn, Mark { units, prior, for_shard, since: now }).await?;
        if let Err(err) = reservation::set_minimum(&aws.elbv2, &arn, units).await {
            // Refused: nothing to give back. A mark left by a failed removal is cleared by a later give-back.
            let _ = reservation::unmark(&aws.elbv2, &arn).await;
            return Err(err);
        }
        Ok::<_, crate::StrataError>(None)
    };
    match outcome.await {
        Ok(None) => {
            info!(fleet = %fleet, load_balancer = %arn, units, "capacity reserved on the hot shard");
            metrics.count("CapacityReserved", 1);
        }
        Ok(Some(why)) => info!(fleet = %fleet, load_balancer = %arn, why, "no capacity reserved"),
        Err(err) => {
            warn!(fleet = %fleet, load_balancer = %arn, error = %err, "capacity reservation refused: the shard is built anyway");
            metrics.count("CapacityReservationFailed", 1);
        }
    }
}

/// Gives back, side by side, the reservations whose new shard carries its planned weight (or is gone, or whose
/// hold is over), restoring what was reserved before Strata's.
pub async fn give_back_ready(
    aws: &AwsClients,
    observed: &ObservedFleet,
    policy: &FleetPolicy,
    now: i64,
    metrics: &mut Metrics,
) {
    let plan = plan_weights(&capacities(observed), &policy.rebalancing);
    let increase_planned = |index: ShardIndex| plan.changes.iter().any(|c| c.index == index && Some(c.to) > c.from);
    let outcomes = futures::future::join_all(give_backs(observed, increase_planned, now).into_iter().map(
        |(arn, mark)| async move {
            let state = reservation::describe(&aws.elbv2, &arn).await?;
            let step = give_back(state, mark);
            match step {
                GiveBack::Wait(why) => {
                    info!(fleet = %observed.fleet, load_balancer = %arn, why, "capacity reservation kept");
                    return Ok(false);
                }
                GiveBack::Restore(units) => reservation::set_minimum(&aws.elbv2, &arn, units).await?,
                GiveBack::Reset => reservation::reset(&aws.elbv2, &arn).await?,
                GiveBack::Unmark => {}
            }
            reservation::unmark(&aws.elbv2, &arn).await?;
            Ok::<_, crate::StrataError>(step != GiveBack::Unmark)
        },
    ))
    .await;
    for outcome in outcomes {
        match outcome {
            Ok(given) => metrics.count("CapacityReservationReset", u64::from(given)),
            Err(err) => {
                warn!(fleet = %observed.fleet, error = %err, "capacity reservation not given back: the next pass tries again");
                metrics.count("CapacityResetFailed", 1);
            }
        }
    }
}

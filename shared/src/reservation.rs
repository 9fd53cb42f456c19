//! LCU capacity reservations (ELBv2 DescribeCapacityReservation / ModifyCapacityReservation) and their mark.
//! What to reserve and when to give it back is decided in `plan::reservation`.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{CapacityReservationStateEnum, MinimumLoadBalancerCapacity, Tag};

use crate::error::{Result, StrataError, aws_error};
use crate::names::TAG_RESERVED_LCU;
use crate::plan::reservation::{Mark, ReservationState};

/// A relief call waits at most this long (retries included): a slow or throttled reservation must not hold up
/// the shard being built.
const RELIEF_TIMEOUT: Duration = Duration::from_secs(3);

async fn bounded<T>(operation: &'static str, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(RELIEF_TIMEOUT, call).await.unwrap_or_else(|_| {
        Err(StrataError::Aws {
            code: None,
            service: "elbv2",
            operation,
            message: format!("no answer within {RELIEF_TIMEOUT:?}"),
        })
    })
}

pub async fn describe(client: &elbv2::Client, arn: &str) -> Result<ReservationState> {
    let call = async {
        client
            .describe_capacity_reservation()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "DescribeCapacityReservation", e))
    };
    let answer = bounded("DescribeCapacityReservation", call).await?;
    let pending = answer
        .capacity_reservation_state()
        .iter()
        .any(|z| z.state().and_then(|s| s.code()) == Some(&CapacityReservationStateEnum::Pending));
    Ok(ReservationState {
        minimum: answer.minimum_load_balancer_capacity().and_then(|m| m.capacity_units()).map(|u| u.max(0) as u32),
        pending,
        decreases_remaining: answer.decrease_requests_remaining(),
    })
}

/// Sets `arn`'s reserved minimum to `units` LCUs.
pub async fn set_minimum(client: &elbv2::Client, arn: &str, units: u32) -> Result<()> {
    modify(client, arn, Some(units)).await
}

/// Removes `arn`'s reservation (a decrease: it spends one of the day's).
pub async fn reset(client: &elbv2::Client, arn: &str) -> Result<()> {
    modify(client, arn, None).await
}

/// ModifyCapacityReservation takes exactly one of a minimum and a reset.
async fn modify(client: &elbv2::Client, arn: &str, units: Option<u32>) -> Result<()> {
    let request = client.modify_capacity_reservation().load_balancer_arn(arn);
    let request = match units {
        Some(units) => {
            let units = i32::try_from(units).unwrap_or(i32::MAX);
            request.minimum_load_balancer_capacity(MinimumLoadBalancerCapacity::builder().capacity_units(units).build())
        }
        None => request.reset_capacity_reservation(true),
    };
    let call = async { request.send().await.map_err(|e| aws_error("elbv2", "ModifyCapacityReservation", e)) };
    bounded("ModifyCapacityReservation", call).await.map(drop)
}

pub async fn mark(client: &elbv2::Client, arn: &str, mark: Mark) -> Result<()> {
    let tag = Tag::builder().key(TAG_RESERVED_LCU).value(mark.to_tag_value()).build();
    let call = async {
        client.add_tags().resource_arns(arn).tags(tag).send().await.map_err(|e| aws_error("elbv2", "AddTags", e))
    };
    bounded("AddTags", call).await.map(drop)
}

pub async fn unmark(client: &elbv2::Client, arn: &str) -> Result<()> {
    client
        .remove_tags()
        .resource_arns(arn)
        .tag_keys(TAG_RESERVED_LCU)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "RemoveTags", e))?;
    Ok(())
}

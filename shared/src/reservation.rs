//! LCU capacity reservations (ELBv2 ModifyCapacityReservation / DescribeCapacityReservation): relief for a hot
//! shard in one call while a new shard is built, and the reset once the new shard carries its share. What to
//! reserve and when to reset is decided in `plan::reservation`.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{MinimumLoadBalancerCapacity, Tag};

use crate::error::{Result, aws_error};
use crate::names::TAG_RESERVED_LCU;

/// Raises `arn`'s reserved minimum to `units` LCUs.
pub async fn reserve(client: &elbv2::Client, arn: &str, units: u32) -> Result<()> {
    let minimum = MinimumLoadBalancerCapacity::builder().capacity_units(units as i32).build();
    client
        .modify_capacity_reservation()
        .load_balancer_arn(arn)
        .minimum_load_balancer_capacity(minimum)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyCapacityReservation", e))?;
    Ok(())
}

/// Marks `arn` as holding a reservation Strata made (`strata:reserved-lcu=<units>`), so a later pass resets it.
pub async fn mark_reserved(client: &elbv2::Client, arn: &str, units: u32) -> Result<()> {
    let tag = Tag::builder().key(TAG_RESERVED_LCU).value(units.to_string()).build();
    client.add_tags().resource_arns(arn).tags(tag).send().await.map_err(|e| aws_error("elbv2", "AddTags", e))?;
    Ok(())
}

/// How many decreases AWS still allows on `arn`'s reservation today.
pub async fn decreases_remaining(client: &elbv2::Client, arn: &str) -> Result<i32> {
    let answer = client
        .describe_capacity_reservation()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DescribeCapacityReservation", e))?;
    Ok(answer.decrease_requests_remaining().unwrap_or(0))
}

/// Gives the reservation back (a decrease: it spends one of the day's) and removes the mark.
pub async fn reset(client: &elbv2::Client, arn: &str) -> Result<()> {
    client
        .modify_capacity_reservation()
        .load_balancer_arn(arn)
        .reset_capacity_reservation(true)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyCapacityReservation", e))?;
    client
        .remove_tags()
        .resource_arns(arn)
        .tag_keys(TAG_RESERVED_LCU)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "RemoveTags", e))?;
    Ok(())
}

//! Deleting an ALB (listeners first) and a target group, tolerating what is already gone (the order of a
//! whole removal is `crate::teardown`'s).

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elbv2;

use crate::aws::elbv2 as read;
use crate::error::{Result, aws_error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetGroupDeletion {
    Deleted,
    /// AWS still answered ResourceInUse when the bounded wait ended.
    StillInUse,
}

/// AWS answers ResourceInUse for a while after the TG's ALB (and so its listeners) was deleted.
const TARGET_GROUP_IN_USE_RETRIES: [Duration; 6] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Deletes a TG, retrying ResourceInUse with backoff for about 16 s in all; a TG that is gone counts as deleted
/// (DeleteTargetGroup succeeds for it).
pub async fn delete_target_group(client: &elbv2::Client, arn: &str) -> Result<TargetGroupDeletion> {
    let mut waits = TARGET_GROUP_IN_USE_RETRIES.iter();
    loop {
        let deleted = client.delete_target_group().target_group_arn(arn).send().await;
        match deleted {
            Ok(_) => return Ok(TargetGroupDeletion::Deleted),
            // moto's answer for a TG already gone (AWS succeeds): a retry after a lost answer meets it.
            Err(err) if err.as_service_error().is_some_and(|e| e.meta().code() == Some("TargetGroupNotFound")) => {
                return Ok(TargetGroupDeletion::Deleted);
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
                match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return Ok(TargetGroupDeletion::StillInUse),
                }
            }
            Err(err) => return Err(aws_error("elbv2", "DeleteTargetGroup", err)),
        }
    }
}

pub async fn delete_load_balancer(client: &elbv2::Client, arn: &str) -> Result<()> {
    // No listeners to read means the ALB is already gone.
    let listeners = read::listeners_of(client, arn).await.unwrap_or_default();
    for listener in listeners {
        let deleted = client.delete_listener().listener_arn(&listener.arn).send().await;
        if let Err(err) = deleted.as_ref().map_err(|e| e.as_service_error())
            && !err.is_some_and(|e| e.is_listener_not_found_exception())
        {
            return Err(aws_error("elbv2", "DeleteListener", deleted.unwrap_err()));
        }
    }
    // DeleteLoadBalancer succeeds for an ALB that no longer exists.
    client
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DeleteLoadBalancer", e))?;
    Ok(())
}

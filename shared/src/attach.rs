//! The attach/detach calls (Auto Scaling's Attach/DetachLoadBalancerTargetGroups, at most 10 TGs per call);
//! which ASG goes on which shard is `crate::plan::attachments`.

use aws_sdk_autoscaling as autoscaling;

use crate::error::{Result, aws_error};
use crate::plan::attachments::AttachmentChange;

const TGS_PER_CALL: usize = 10;

/// Each ASG's changes in order, the ASGs side by side.
pub async fn apply_attachments(client: &autoscaling::Client, changes: &[AttachmentChange]) -> Result<()> {
    futures::future::try_join_all(changes.iter().map(|change| apply_one(client, change))).await?;
    Ok(())
}

async fn apply_one(client: &autoscaling::Client, change: &AttachmentChange) -> Result<()> {
    for chunk in change.attach.chunks(TGS_PER_CALL) {
        client
            .attach_load_balancer_target_groups()
            .auto_scaling_group_name(&change.asg)
            .set_target_group_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("autoscaling", "AttachLoadBalancerTargetGroups", e))?;
    }
    detach(client, &change.asg, &change.detach).await
}

pub async fn detach(client: &autoscaling::Client, asg: &str, target_groups: &[String]) -> Result<()> {
    for chunk in target_groups.chunks(TGS_PER_CALL) {
        client
            .detach_load_balancer_target_groups()
            .auto_scaling_group_name(asg)
            .set_target_group_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("autoscaling", "DetachLoadBalancerTargetGroups", e))?;
    }
    Ok(())
}

//! A shard's target group: made, its health check and attributes brought to the configuration.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{Matcher, ProtocolEnum};

use super::{no_resource, tags_from};
use crate::attributes;
use crate::aws::elbv2 as read;
use crate::error::{Result, aws_error};
use crate::model::{Tags, TargetGroup};
use crate::plan::shard::ShardConfig;

pub(super) async fn create_target_group(
    client: &elbv2::Client,
    name: &str,
    config: &ShardConfig,
    tags: &Tags,
) -> Result<TargetGroup> {
    let created = client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(config.target_port)
        .vpc_id(&config.vpc_id)
        .target_type(config.target_type.clone())
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_path(&config.health_check_path)
        .health_check_interval_seconds(config.health_check_interval_seconds)
        .health_check_timeout_seconds(config.health_check_timeout_seconds())
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .matcher(Matcher::builder().http_code("200").build())
        .set_tags(Some(tags_from(tags)))
        .send()
        .await;
    match created {
        Ok(out) => out
            .target_groups()
            .first()
            .and_then(read::target_group)
            .ok_or_else(|| no_resource("CreateTargetGroup", name)),
        // A concurrent invocation may have made it first (with other settings, since AWS answers an identical
        // create with the existing one): `verify_marks` decides whether it is this shard's.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_duplicate_target_group_name_exception()) => {
            let found = client
                .describe_target_groups()
                .names(name)
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "DescribeTargetGroups", e))?;
            found
                .target_groups()
                .first()
                .and_then(read::target_group)
                .ok_or_else(|| no_resource("DescribeTargetGroups", name))
        }
        Err(err) => Err(aws_error("elbv2", "CreateTargetGroup", err)),
    }
}

pub(super) async fn update_target_group(client: &elbv2::Client, arn: &str, config: &ShardConfig) -> Result<()> {
    client
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_path(&config.health_check_path)
        .health_check_interval_seconds(config.health_check_interval_seconds)
        .health_check_timeout_seconds(config.health_check_timeout_seconds())
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyTargetGroup", e))?;
    Ok(())
}

/// Sends `changed` (only what differs) in calls of at most 20 attributes, as AWS allows.
pub(super) async fn set_target_group_attributes(client: &elbv2::Client, arn: &str, changed: &Tags) -> Result<()> {
    for batch in attributes::batches(changed) {
        let attrs =
            batch.iter().map(|(k, v)| elbv2::types::TargetGroupAttribute::builder().key(k).value(v).build()).collect();
        client
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "ModifyTargetGroupAttributes", e))?;
    }
    Ok(())
}

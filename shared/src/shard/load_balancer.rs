//! A shard's ALB: made, its tags and attributes brought to the configuration.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::LoadBalancerTypeEnum;

use super::{no_resource, tags_from};
use crate::attributes;
use crate::aws::elbv2 as read;
use crate::error::{Result, aws_error};
use crate::model::{LoadBalancer, Tags};
use crate::plan::shard::ShardConfig;

pub(super) async fn create_load_balancer(
    client: &elbv2::Client,
    name: &str,
    config: &ShardConfig,
    tags: &Tags,
) -> Result<LoadBalancer> {
    let tags = tags_from(tags);
    let created = client
        .create_load_balancer()
        .name(name)
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(config.scheme.clone())
        .ip_address_type(config.ip_address_type.clone())
        .set_subnets(Some(config.subnet_ids.clone()))
        .set_security_groups(Some(config.security_group_ids.clone()).filter(|s| !s.is_empty()))
        .set_tags(Some(tags))
        .send()
        .await;
    match created {
        Ok(out) => out
            .load_balancers()
            .first()
            .and_then(read::load_balancer)
            .ok_or_else(|| no_resource("CreateLoadBalancer", name)),
        // Made first with other settings (a racing create): `verify_marks` decides whether it is this shard's.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_duplicate_load_balancer_name_exception()) => {
            let found = client
                .describe_load_balancers()
                .names(name)
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "DescribeLoadBalancers", e))?;
            found
                .load_balancers()
                .first()
                .and_then(read::load_balancer)
                .ok_or_else(|| no_resource("DescribeLoadBalancers", name))
        }
        Err(err) => Err(aws_error("elbv2", "CreateLoadBalancer", err)),
    }
}

/// Sends `changed` (only what differs) in calls of at most 20 attributes, as AWS allows.
pub(super) async fn set_load_balancer_attributes(client: &elbv2::Client, arn: &str, changed: &Tags) -> Result<()> {
    for batch in attributes::batches(changed) {
        let attrs =
            batch.iter().map(|(k, v)| elbv2::types::LoadBalancerAttribute::builder().key(k).value(v).build()).collect();
        client
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "ModifyLoadBalancerAttributes", e))?;
    }
    Ok(())
}

/// Removes policy keys the spec no longer has.
pub(super) async fn remove_tags(client: &elbv2::Client, arn: &str, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    client
        .remove_tags()
        .resource_arns(arn)
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "RemoveTags", e))?;
    Ok(())
}

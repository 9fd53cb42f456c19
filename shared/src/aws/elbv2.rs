//! ELBv2 reads: load balancers, target groups, tags, listeners, attributes, target health.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{self, ActionTypeEnum};
use futures::future::try_join_all;

use crate::aws::batches;
use crate::error::{Result, aws_error};
use crate::model::{Listener, ListenerAction, LoadBalancer, Tags, TargetGroup, TargetHealthCount, WebAcl};

/// DescribeTags, DescribeLoadBalancers and DescribeTargetGroups take at most 20 ARNs.
pub const DESCRIBE_BATCH: usize = 20;

/// Every load balancer in the region whose name starts with `prefix` (page size 400), and how many load
/// balancers the region holds in all (what counts toward AWS's 50-per-region quota), from the same pages.
pub async fn load_balancers_named(client: &elbv2::Client, prefix: &str) -> Result<(Vec<LoadBalancer>, usize)> {
    let mut pages = client.describe_load_balancers().page_size(400).into_paginator().send();
    let mut out = Vec::new();
    let mut total = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("elbv2", "DescribeLoadBalancers", e))?;
        // Only ALBs count against the ALB quota (NLBs and GWLBs have their own).
        total += page
            .load_balancers()
            .iter()
            .filter(|lb| lb.r#type() == Some(&types::LoadBalancerTypeEnum::Application))
            .count();
        out.extend(
            page.load_balancers()
                .iter()
                .filter(|lb| lb.load_balancer_name().is_some_and(|n| n.starts_with(prefix)))
                .filter_map(load_balancer),
        );
    }
    Ok((out, total))
}

/// Every target group in the region whose name starts with `prefix` (page size 400).
pub async fn target_groups_named(client: &elbv2::Client, prefix: &str) -> Result<Vec<TargetGroup>> {
    let mut pages = client.describe_target_groups().page_size(400).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("elbv2", "DescribeTargetGroups", e))?;
        out.extend(
            page.target_groups()
                .iter()
                .filter(|tg| tg.target_group_name().is_some_and(|n| n.starts_with(prefix)))
                .filter_map(target_group),
        );
    }
    Ok(out)
}

/// The region's quota of application load balancers (DescribeAccountLimits `application-load-balancers`);
/// `None` when AWS does not list it.
pub async fn alb_quota(client: &elbv2::Client) -> Result<Option<usize>> {
    let mut pages = client.describe_account_limits().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("elbv2", "DescribeAccountLimits", e))?;
        let limit = page.limits().iter().find(|l| l.name() == Some("application-load-balancers"));
        if let Some(max) = limit.and_then(|l| l.max()) {
            return Ok(max.trim().parse::<f64>().ok().filter(|m| *m >= 0.0).map(|m| m as usize));
        }
    }
    Ok(None)
}

/// Tags of many resources, 20 ARNs a call, the calls concurrent.
pub async fn tags_of(client: &elbv2::Client, arns: &[String]) -> Result<Vec<(String, Tags)>> {
    let calls = batches(arns, DESCRIBE_BATCH).map(|chunk| async move {
        client
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "DescribeTags", e))
    });
    let mut out = Vec::new();
    for answer in try_join_all(calls).await? {
        for description in answer.tag_descriptions() {
            let tags = description
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            if let Some(arn) = description.resource_arn() {
                out.push((arn.to_owned(), tags));
            }
        }
    }
    Ok(out)
}

pub async fn listeners_of(client: &elbv2::Client, load_balancer_arn: &str) -> Result<Vec<Listener>> {
    let mut pages = client.describe_listeners().load_balancer_arn(load_balancer_arn).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("elbv2", "DescribeListeners", e))?;
        out.extend(page.listeners().iter().filter_map(listener));
    }
    out.sort_by_key(|l| l.port);
    Ok(out)
}

/// Extra (non-default) certificates of an HTTPS listener.
pub async fn extra_certificates(client: &elbv2::Client, listener_arn: &str) -> Result<Vec<String>> {
    let answer = client
        .describe_listener_certificates()
        .listener_arn(listener_arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DescribeListenerCertificates", e))?;
    Ok(answer
        .certificates()
        .iter()
        .filter(|c| !c.is_default().unwrap_or(false))
        .filter_map(|c| c.certificate_arn().map(str::to_owned))
        .collect())
}

pub async fn load_balancer_attributes(client: &elbv2::Client, arn: &str) -> Result<Tags> {
    let answer = client
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DescribeLoadBalancerAttributes", e))?;
    Ok(answer
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
        .collect())
}

pub async fn target_group_attributes(client: &elbv2::Client, arn: &str) -> Result<Tags> {
    let answer = client
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DescribeTargetGroupAttributes", e))?;
    Ok(answer
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
        .collect())
}

/// Exact target health of one target group (one call per TG: AWS has no batch form).
pub async fn target_health(client: &elbv2::Client, target_group_arn: &str) -> Result<TargetHealthCount> {
    let answer = client
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DescribeTargetHealth", e))?;
    let descriptions = answer.target_health_descriptions();
    let healthy = descriptions
        .iter()
        .filter(|d| d.target_health().and_then(|h| h.state()) == Some(&types::TargetHealthStateEnum::Healthy))
        .count();
    Ok(TargetHealthCount { healthy: healthy as u32, total: descriptions.len() as u32 })
}

/// An ALB as the model holds it; `None` without the ARN and name AWS always sends (nothing could act on it).
pub(crate) fn load_balancer(lb: &types::LoadBalancer) -> Option<LoadBalancer> {
    Some(LoadBalancer {
        arn: lb.load_balancer_arn()?.to_owned(),
        name: lb.load_balancer_name()?.to_owned(),
        dns_name: lb.dns_name().unwrap_or_default().to_owned(),
        canonical_hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
        scheme: lb.scheme().cloned(),
        ip_address_type: lb.ip_address_type().cloned(),
        vpc_id: lb.vpc_id().unwrap_or_default().to_owned(),
        subnet_ids: lb.availability_zones().iter().filter_map(|az| az.subnet_id().map(str::to_owned)).collect(),
        security_group_ids: lb.security_groups().to_vec(),
        created_epoch: lb.created_time().map(|t| t.secs()).unwrap_or_default(),
        state: lb.state().and_then(|s| s.code()).cloned(),
        tags: Tags::new(),
        attributes: Tags::new(),
        web_acl: WebAcl::Unknown,
    })
}

pub(crate) fn target_group(tg: &types::TargetGroup) -> Option<TargetGroup> {
    Some(TargetGroup {
        arn: tg.target_group_arn()?.to_owned(),
        name: tg.target_group_name()?.to_owned(),
        target_type: tg.target_type().cloned(),
        protocol: tg.protocol().cloned(),
        port: tg.port().unwrap_or_default(),
        vpc_id: tg.vpc_id().unwrap_or_default().to_owned(),
        health_check_path: tg.health_check_path().unwrap_or_default().to_owned(),
        health_check_interval_seconds: tg.health_check_interval_seconds().unwrap_or_default(),
        healthy_threshold: tg.healthy_threshold_count().unwrap_or_default(),
        unhealthy_threshold: tg.unhealthy_threshold_count().unwrap_or_default(),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
        tags: Tags::new(),
        attributes: Tags::new(),
    })
}

fn listener(l: &types::Listener) -> Option<Listener> {
    let default_action = l.default_actions().first().and_then(action_of);
    Some(Listener {
        arn: l.listener_arn()?.to_owned(),
        port: l.port().unwrap_or_default(),
        protocol: l.protocol().cloned(),
        ssl_policy: l.ssl_policy().map(str::to_owned),
        certificate_arns: l.certificates().iter().filter_map(|c| c.certificate_arn().map(str::to_owned)).collect(),
        default_action,
    })
}

fn action_of(action: &types::Action) -> Option<ListenerAction> {
    Some(match action.r#type()? {
        ActionTypeEnum::Forward => {
            let weighted = action.forward_config().and_then(|f| f.target_groups().first());
            let arn = action.target_group_arn().or_else(|| weighted.and_then(|t| t.target_group_arn()))?;
            ListenerAction::Forward { target_group_arn: arn.to_owned() }
        }
        ActionTypeEnum::Redirect => {
            let r = action.redirect_config();
            ListenerAction::Redirect {
                protocol: r.and_then(|r| r.protocol()).map(str::to_owned),
                port: r.and_then(|r| r.port()).map(str::to_owned),
                status_code: r.and_then(|r| r.status_code()).map(|s| s.as_str().to_owned()).unwrap_or_default(),
            }
        }
        other => ListenerAction::Other(other.as_str().to_owned()),
    })
}

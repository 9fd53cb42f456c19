//! AWS WAF as a team sets it up by hand (admin credentials): a regional web ACL, associated or removed from a
//! load balancer, and which one protects a load balancer now.

use aws_sdk_wafv2::types::{AllowAction, DefaultAction, Scope, VisibilityConfig};
use strata_core::aws::AwsClients;

/// A regional web ACL that allows everything; its ARN.
pub async fn create_web_acl(aws: &AwsClients, name: &str) -> String {
    let visibility = VisibilityConfig::builder()
        .sampled_requests_enabled(false)
        .cloud_watch_metrics_enabled(false)
        .metric_name(name)
        .build()
        .expect("visibility config");
    let out = aws
        .wafv2
        .create_web_acl()
        .name(name)
        .scope(Scope::Regional)
        .default_action(DefaultAction::builder().allow(AllowAction::builder().build()).build())
        .visibility_config(visibility)
        .send()
        .await
        .expect("CreateWebACL");
    out.summary().and_then(|s| s.arn()).expect("the new web ACL's ARN").to_owned()
}

pub async fn associate(aws: &AwsClients, web_acl_arn: &str, load_balancer_arn: &str) {
    aws.wafv2
        .associate_web_acl()
        .web_acl_arn(web_acl_arn)
        .resource_arn(load_balancer_arn)
        .send()
        .await
        .expect("AssociateWebACL");
}

pub async fn disassociate(aws: &AwsClients, load_balancer_arn: &str) {
    aws.wafv2.disassociate_web_acl().resource_arn(load_balancer_arn).send().await.expect("DisassociateWebACL");
}

/// The ARN of the web ACL that protects `load_balancer_arn`, if any.
pub async fn web_acl_of(aws: &AwsClients, load_balancer_arn: &str) -> Option<String> {
    let out = aws
        .wafv2
        .get_web_acl_for_resource()
        .resource_arn(load_balancer_arn)
        .send()
        .await
        .expect("GetWebACLForResource");
    out.web_acl().map(|acl| acl.arn().to_owned())
}

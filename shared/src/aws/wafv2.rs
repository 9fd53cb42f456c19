//! AWS WAF (wafv2, regional scope): which web ACL protects a load balancer, and giving a new one the fleet's.

use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::error::ProvideErrorMetadata;

use crate::error::{Result, aws_error};
use crate::model::WebAcl;

/// The web ACL that protects `load_balancer_arn` (GetWebACLForResource; AWS answers no web ACL when none does).
/// A load balancer that is gone (WAFNonexistentItemException) is protected by none.
pub async fn web_acl_of(client: &Client, load_balancer_arn: &str) -> Result<WebAcl> {
    match client.get_web_acl_for_resource().resource_arn(load_balancer_arn).send().await {
        Ok(out) => Ok(out.web_acl().map(|acl| WebAcl::Arn(acl.arn().to_owned())).unwrap_or(WebAcl::None)),
        Err(err) if err.code() == Some("WAFNonexistentItemException") => Ok(WebAcl::None),
        Err(err) => Err(aws_error("wafv2", "GetWebACLForResource", err)),
    }
}

/// Associates `web_acl_arn` with `load_balancer_arn` (AssociateWebACL: idempotent, a resource has one web ACL).
pub async fn associate(client: &Client, web_acl_arn: &str, load_balancer_arn: &str) -> Result<()> {
    client
        .associate_web_acl()
        .web_acl_arn(web_acl_arn)
        .resource_arn(load_balancer_arn)
        .send()
        .await
        .map_err(|e| aws_error("wafv2", "AssociateWebACL", e))?;
    Ok(())
}

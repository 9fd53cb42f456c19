//! AWS WAF (wafv2, regional scope): which web ACL protects a load balancer, and giving a new one the fleet's.

use std::time::Duration;

use aws_sdk_wafv2::Client;
use aws_sdk_wafv2::error::ProvideErrorMetadata;

use crate::error::{Result, aws_error};
use crate::model::WebAcl;

/// The web ACL that protects `load_balancer_arn` (GetWebACLForResource; AWS answers no web ACL when none does).
/// Any error, WAFNonexistentItemException included (AWS may not know an ALB it just listed yet), is an error:
/// never read as "no web ACL".
pub async fn web_acl_of(client: &Client, load_balancer_arn: &str) -> Result<WebAcl> {
    read(client, load_balancer_arn, false).await
}

/// `web_acl_of` for a load balancer being brought into rotation: one that WAF does not know yet (too new) has no
/// web ACL, so the fleet's is associated with it (retried while AWS still refuses it as too new).
pub async fn web_acl_of_new(client: &Client, load_balancer_arn: &str) -> Result<WebAcl> {
    read(client, load_balancer_arn, true).await
}

async fn read(client: &Client, load_balancer_arn: &str, too_new_is_none: bool) -> Result<WebAcl> {
    match client.get_web_acl_for_resource().resource_arn(load_balancer_arn).send().await {
        Ok(out) => Ok(out.web_acl().map(|acl| WebAcl::Arn(acl.arn().to_owned())).unwrap_or(WebAcl::None)),
        Err(err) if too_new_is_none && too_new(&err) => Ok(WebAcl::None),
        Err(err) => Err(aws_error("wafv2", "GetWebACLForResource", err)),
    }
}

/// AWS's answers while a load balancer is too new for WAF ("wait a few minutes"), which the SDK does not retry.
const NOT_YET: [&str; 2] = ["WAFUnavailableEntityException", "WAFNonexistentItemException"];

fn too_new(err: &impl ProvideErrorMetadata) -> bool {
    err.code().is_some_and(|code| NOT_YET.contains(&code))
}
/// Waits before each retry of an association refused as too early: 7 s in all on the scale-out path; a
/// scheduled pass finishes the job if AWS needs longer.
const RETRY_WAITS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];

/// Associates `web_acl_arn` with `load_balancer_arn` (AssociateWebACL). Called only for a load balancer that has
/// no web ACL: AWS would replace another one, which Strata never does.
pub async fn associate(client: &Client, web_acl_arn: &str, load_balancer_arn: &str) -> Result<()> {
    let mut waits = RETRY_WAITS.iter();
    loop {
        let sent = client.associate_web_acl().web_acl_arn(web_acl_arn).resource_arn(load_balancer_arn).send().await;
        match (sent, waits.next()) {
            (Ok(_), _) => return Ok(()),
            (Err(err), Some(wait)) if too_new(&err) => {
                tokio::time::sleep(*wait).await;
            }
            (Err(err), _) => return Err(aws_error("wafv2", "AssociateWebACL", err)),
        }
    }
}

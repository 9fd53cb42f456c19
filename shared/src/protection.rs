//! The fleet's AWS WAF web ACL onto every serving shard that lacks it, before the records give it weight
//! (plan: `plan::protection`).

use futures::future::join_all;
use futures::future::try_join_all;
use tracing::{info, warn};

use crate::aws::{AwsClients, wafv2};
use crate::error::Result;
use crate::model::{ObservedFleet, WebAcl};
use crate::plan::protection::{associated, associations};

/// `fleet` with every serving shard's web ACL known (read where the observation did not) and the fleet's web ACL
/// associated where a shard lacked it. A refused association is logged and left: that shard's record then gets
/// no weight (`plan::records`), the rebalancer keeps it at 0, and `strata status` says why.
pub async fn ensure_web_acls(aws: &AwsClients, fleet: &ObservedFleet) -> Result<ObservedFleet> {
    let mut known = fleet.clone();
    let unread: Vec<(usize, String)> = known
        .shards
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_serving())
        .filter_map(|(i, s)| {
            s.load_balancer.as_ref().filter(|lb| lb.web_acl == WebAcl::Unknown).map(|lb| (i, lb.arn.clone()))
        })
        .collect();
    let read = try_join_all(unread.iter().map(|(_, arn)| wafv2::web_acl_of(&aws.wafv2, arn))).await?;
    for ((i, _), web_acl) in unread.into_iter().zip(read) {
        if let Some(lb) = known.shards[i].load_balancer.as_mut() {
            lb.web_acl = web_acl;
        }
    }
    let wanted = associations(&known);
    let results = join_all(
        wanted
            .iter()
            .map(|a| async move { (a, wafv2::associate(&aws.wafv2, &a.web_acl_arn, &a.load_balancer_arn).await) }),
    )
    .await;
    let mut made = Vec::new();
    for (association, result) in results {
        match result {
            Ok(()) => {
                info!(fleet = %fleet.fleet, shard = %association.index, web_acl = association.web_acl_arn, "web ACL associated");
                made.push(association.clone());
            }
            Err(err) => warn!(
                fleet = %fleet.fleet,
                shard = %association.index,
                error = %err,
                "the fleet's web ACL was not associated: the shard gets no weight until it is"
            ),
        }
    }
    Ok(associated(&known, &made))
}

//! The fleet's AWS WAF web ACL onto every serving shard that has none, before the records give it weight
//! (plan: `plan::protection`).

use futures::future::join_all;
use tracing::{info, warn};

use crate::aws::{AwsClients, wafv2};
use crate::model::ObservedFleet;
use crate::observe::read_web_acls;
use crate::plan::protection::{associated, associations};

/// `fleet` with every serving shard's web ACL read where the observation did not (a failed read stays unknown:
/// a new shard's record then starts at weight 0; one WAF does not know yet is a new shard's, and has none), and
/// the fleet's web ACL associated where a shard has none. A refused association is logged and left: that shard's record then gets no weight (`plan::records`), the
/// rebalancer keeps it at 0, `strata status` says why, and a scheduled pass tries again. Never fails: the
/// scale-out around it goes on.
pub async fn ensure_web_acls(aws: &AwsClients, fleet: &ObservedFleet) -> ObservedFleet {
    let mut known = fleet.clone();
    read_web_acls(aws, &mut known, true).await;
    let wanted = associations(&known);
    let results = join_all(wanted.iter().map(|a| async move {
        let result = wafv2::associate(&aws.wafv2, &a.web_acl_arn, &a.load_balancer_arn).await;
        (a, result)
    }))
    .await;
    let mut made = Vec::new();
    for (association, result) in results {
        let (fleet, shard) = (&fleet.fleet, association.index);
        match result {
            Ok(()) => {
                info!(fleet = %fleet, shard = %shard, web_acl = association.web_acl_arn, "web ACL associated");
                made.push(association.clone());
            }
            Err(err) => warn!(
                fleet = %fleet,
                shard = %shard,
                error = %err,
                "the fleet's web ACL was not associated: the shard gets no weight until it is"
            ),
        }
    }
    associated(&known, &made)
}

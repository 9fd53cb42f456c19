//! Building, updating and removing one shard (ALB + listeners + target group). Every step first looks at what
//! exists, so a retry after a crash or a timeout finishes the shard instead of duplicating it. What a shard
//! should be, and what differs, is decided in `crate::plan::shard`; this module makes the calls.

mod delete;
mod listeners;
mod load_balancer;
mod target_group;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::Tag;

use crate::aws::elbv2 as read;
use crate::error::{Result, StrataError, aws_error};
use crate::model::{Listener, Shard, Tags};
use crate::names::{FleetName, ShardIndex, ShardNames, foreign};
use crate::plan::shard::{CompletionPlan, ResourceStep, ShardPlan};
pub use crate::plan::shard::{ShardConfig, ShardResources};
pub use delete::{TargetGroupDeletion, delete_load_balancer, delete_target_group};
use listeners::{ShardListeners, ensure_listeners};
use load_balancer::{create_load_balancer, remove_tags, set_load_balancer_attributes};
use target_group::{create_target_group, set_target_group_attributes, update_target_group};

pub(crate) fn tags_from(map: &Tags) -> Vec<Tag> {
    map.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The ALB and the target group of shard `index`, side by side: made where missing, their tags and settings
/// changed where the plan says they drifted.
pub async fn ensure_shard_resources(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    config: &ShardConfig,
    existing: Option<&Shard>,
    plan: &ShardPlan,
) -> Result<ShardResources> {
    let names = ShardNames::new(fleet, index);
    let marks = &plan.marks;
    let target_group = async {
        match (existing.and_then(|s| s.target_group.as_ref()), &plan.target_group) {
            (Some(tg), ResourceStep::Change(changes)) => {
                let mut tg = tg.clone();
                if let Some(tags) = &changes.add_tags {
                    add_tags(client, &tg.arn, tags).await?;
                    tg.tags.extend(tags.clone());
                }
                if changes.health_check {
                    update_target_group(client, &tg.arn, config).await?;
                }
                set_target_group_attributes(client, &tg.arn, &changes.attributes).await?;
                Ok(tg)
            }
            _ => {
                let tg = create_target_group(client, &names.target_group, config, &plan.resource_tags).await?;
                verify_marks(client, &tg.arn, &names.target_group, marks).await?;
                Ok(tg)
            }
        }
    };
    let load_balancer = async {
        match (existing.and_then(|s| s.load_balancer.as_ref()), &plan.load_balancer) {
            (Some(lb), ResourceStep::Change(changes)) => {
                let mut lb = lb.clone();
                if let Some(tags) = &changes.add_tags {
                    add_tags(client, &lb.arn, tags).await?;
                }
                remove_tags(client, &lb.arn, &changes.remove_tag_keys).await?;
                set_load_balancer_attributes(client, &lb.arn, &changes.attributes).await?;
                lb.tags.retain(|k, _| !changes.remove_tag_keys.contains(k));
                lb.tags.extend(plan.load_balancer_tags.clone());
                Ok::<_, StrataError>((lb, false))
            }
            _ => {
                let mut lb =
                    create_load_balancer(client, &names.load_balancer, config, &plan.load_balancer_tags).await?;
                verify_marks(client, &lb.arn, &names.load_balancer, marks).await?;
                lb.tags = plan.load_balancer_tags.clone();
                Ok((lb, true))
            }
        }
    };
    let (target_group, (load_balancer, fresh_load_balancer)) = futures::try_join!(target_group, load_balancer)?;
    let fresh_target_group = !matches!(plan.target_group, ResourceStep::Change(_));
    Ok(ShardResources { load_balancer, target_group, fresh_load_balancer, fresh_target_group })
}

/// The listeners of a shard whose ALB and target group `made` holds: none for a new ALB, the observed ones, or
/// read now when the observation had none (an observation without listeners).
pub async fn listeners_of(
    client: &elbv2::Client,
    made: &ShardResources,
    existing: Option<&Shard>,
) -> Result<Vec<Listener>> {
    match (made.fresh_load_balancer, existing) {
        (true, _) => Ok(Vec::new()),
        (false, Some(shard)) if !shard.listeners.is_empty() => Ok(shard.listeners.clone()),
        _ => read::listeners_of(client, &made.load_balancer.arn).await,
    }
}

/// Completes a shard whose ALB and target group `made` holds, as `completion` says, all side by side: a new
/// ALB's or TG's attributes, and both listeners.
pub async fn ensure_shard_listeners(
    client: &elbv2::Client,
    config: &ShardConfig,
    made: &ShardResources,
    plan: &ShardPlan,
    completion: &CompletionPlan,
) -> Result<()> {
    let (lb, tg) = (&made.load_balancer.arn, &made.target_group.arn);
    let lb_attributes = set_load_balancer_attributes(client, lb, &completion.load_balancer_attributes);
    let tg_attributes = set_target_group_attributes(client, tg, &completion.target_group_attributes);
    let tags = tags_from(&plan.resource_tags);
    let listeners =
        ensure_listeners(ShardListeners { client, lb_arn: lb, tg_arn: tg, config, tags: &tags }, completion);
    futures::try_join!(lb_attributes, tg_attributes, listeners)?;
    Ok(())
}

/// An answer without the resource it is about (AWS always returns it; an empty ARN must never be used).
pub(crate) fn no_resource(operation: &'static str, name: &str) -> StrataError {
    StrataError::Aws {
        code: None,
        service: "elbv2",
        operation,
        message: format!("{name}: the answer holds no resource"),
    }
}

/// A create that names an existing resource answers with it (AWS's idempotency: same name and settings), and a
/// name alone is never trusted: before anything else is changed, the resource must carry exactly this shard's
/// marks, its owner's included (a racing Create of the same fleet name by another stack stops here).
async fn verify_marks(client: &elbv2::Client, arn: &str, name: &str, marks: &Tags) -> Result<()> {
    let tags = read::tags_of(client, &[arn.to_owned()]).await?.into_iter().next().map(|(_, t)| t).unwrap_or_default();
    if foreign(&tags, marks) {
        return Err(StrataError::Refused(format!(
            "{name} exists and is not this fleet's (its tags are not this shard's): Strata leaves it alone"
        )));
    }
    Ok(())
}

async fn add_tags(client: &elbv2::Client, arn: &str, tags: &Tags) -> Result<()> {
    client
        .add_tags()
        .resource_arns(arn)
        .set_tags(Some(tags_from(tags)))
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "AddTags", e))?;
    Ok(())
}

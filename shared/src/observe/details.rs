//! Per-shard reads (attributes, listeners and their certificates, target health), side by side, and the reads a
//! pass adds to an observation made without them.

use aws_sdk_elasticloadbalancingv2::types::ProtocolEnum;
use futures::StreamExt;
use futures::future::try_join_all;

use super::Depth;
use crate::aws::{AwsClients, elbv2, wafv2};
use crate::error::Result;
use crate::model::{ObservedFleet, Shard, WebAcl};
use crate::names::{ShardIndex, TAG_DELETING};

/// Per-shard reads of everything named like a shard, before ownership is known: a resource gone meanwhile (a
/// foreign one being deleted, say) is left out here, and read again below only if it is the fleet's.
pub(super) async fn early_details(aws: &AwsClients, named: &[Shard], depth: Depth) -> Result<Vec<Shard>> {
    // The template a scale-out clones: the first shard with both halves (the first serving one, unless tags say
    // otherwise; then it is read where it is cloned).
    let template = named
        .iter()
        .find(|s| s.load_balancer.is_some() && s.target_group.is_some())
        .map(|s| s.index)
        .filter(|_| depth.template_configuration);
    let reads = try_join_all(named.iter().map(|shard| async move {
        match observe_details(aws, std::slice::from_ref(shard), depth, template).await {
            Ok(read) => Ok(read.into_iter().next()),
            Err(err) if err.aws_code().is_some_and(|code| NOT_FOUND.contains(&code)) => Ok(None),
            Err(err) => Err(err),
        }
    }));
    Ok(reads.await?.into_iter().flatten().collect())
}

/// ELBv2's answers for a resource that no longer exists.
const NOT_FOUND: [&str; 3] = ["LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound"];

/// The fleet's shards with their per-shard reads: those made early on the same ALB and TG, the rest now
/// (without the template's configuration: a template read late is read where it is cloned).
pub(super) async fn details_of(
    aws: &AwsClients,
    shards: &[Shard],
    early: Vec<Shard>,
    depth: Depth,
) -> Result<Vec<Shard>> {
    let arn_of = |s: &Shard| {
        (s.load_balancer.as_ref().map(|lb| lb.arn.clone()), s.target_group.as_ref().map(|tg| tg.arn.clone()))
    };
    let found = |shard: &Shard| early.iter().find(|e| e.index == shard.index && arn_of(e) == arn_of(shard));
    let missing: Vec<Shard> = shards.iter().filter(|s| found(s).is_none()).cloned().collect();
    let late = observe_details(aws, &missing, depth, None).await?;
    Ok(shards
        .iter()
        .map(|shard| {
            let Some(read) = found(shard).or_else(|| late.iter().find(|l| l.index == shard.index)) else {
                return shard.clone();
            };
            let mut shard = shard.clone();
            if let (Some(lb), Some(read)) = (shard.load_balancer.as_mut(), read.load_balancer.as_ref()) {
                lb.attributes = read.attributes.clone();
            }
            if let (Some(tg), Some(read)) = (shard.target_group.as_mut(), read.target_group.as_ref()) {
                tg.attributes = read.attributes.clone();
            }
            shard.listeners = read.listeners.clone();
            shard.health = read.health;
            shard.configured = read.configured;
            shard
        })
        .collect())
}

/// Per-shard reads, all shards and all independent reads side by side: a listener's extra certificates wait
/// for its listener only.
async fn observe_details(
    aws: &AwsClients,
    shards: &[Shard],
    depth: Depth,
    template: Option<ShardIndex>,
) -> Result<Vec<Shard>> {
    try_join_all(shards.iter().cloned().map(|mut shard| async move {
        let configuration = depth.configuration || template == Some(shard.index);
        let configured = |arn: Option<&String>| arn.cloned().filter(|_| configuration);
        let lb_arn = configured(shard.load_balancer.as_ref().map(|lb| &lb.arn));
        let listed_lb =
            shard.load_balancer.as_ref().map(|lb| lb.arn.clone()).filter(|_| configuration || depth.listeners);
        let tg_arn = shard.target_group.as_ref().map(|tg| tg.arn.clone());
        let listeners = async {
            let Some(arn) = &listed_lb else { return Ok(None) };
            let mut listeners = elbv2::listeners_of(&aws.elbv2, arn).await?;
            for listener in listeners.iter_mut().filter(|l| l.protocol == Some(ProtocolEnum::Https) && configuration) {
                listener.certificate_arns.extend(elbv2::extra_certificates(&aws.elbv2, &listener.arn).await?);
                listener.certificate_arns.dedup();
            }
            Ok(Some(listeners))
        };
        let lb_attributes = async {
            match &lb_arn {
                Some(arn) => elbv2::load_balancer_attributes(&aws.elbv2, arn).await.map(Some),
                None => Ok(None),
            }
        };
        let tg_attributes = async {
            match configured(tg_arn.as_ref()) {
                Some(arn) => elbv2::target_group_attributes(&aws.elbv2, &arn).await.map(Some),
                None => Ok(None),
            }
        };
        let health = async {
            match tg_arn.as_ref().filter(|_| depth.target_health) {
                Some(arn) => elbv2::target_health(&aws.elbv2, arn).await.map(Some),
                None => Ok(None),
            }
        };
        let (listeners, lb_attributes, tg_attributes, health) =
            futures::try_join!(listeners, lb_attributes, tg_attributes, health)?;
        if let (Some(lb), Some(attributes)) = (shard.load_balancer.as_mut(), lb_attributes) {
            lb.attributes = attributes;
        }
        if let (Some(tg), Some(attributes)) = (shard.target_group.as_mut(), tg_attributes) {
            tg.attributes = attributes;
        }
        shard.listeners = listeners.unwrap_or_default();
        shard.health = health;
        shard.configured = configuration;
        Ok(shard)
    }))
    .await
}

/// WAF calls of one fleet in flight at once: the account's WAF API rate is shared with every team.
const WAF_CONCURRENCY: usize = 8;

/// Reads the web ACL of each of the fleet's serving shards not read yet (its own ALBs only: never another
/// team's). A failed read leaves it unknown (logged). For a shard with no weighted record yet (`new_is_lenient`:
/// a shard being brought into rotation), one WAF does not know yet reads as protected by none.
pub async fn read_web_acls(aws: &AwsClients, fleet: &mut ObservedFleet, new_is_lenient: bool) {
    let new: Vec<ShardIndex> =
        fleet.shards.iter().filter(|s| fleet.weighted_record(s.index).is_none()).map(|s| s.index).collect();
    let unread = fleet
        .shards
        .iter_mut()
        .filter(|s| s.is_serving())
        .filter_map(|s| Some((new_is_lenient && new.contains(&s.index), s.load_balancer.as_mut()?)))
        .filter(|(_, lb)| lb.web_acl == WebAcl::Unknown);
    let reads = unread.map(|(lenient, lb)| async move {
        let read = match lenient {
            true => wafv2::web_acl_of_new(&aws.wafv2, &lb.arn).await,
            false => wafv2::web_acl_of(&aws.wafv2, &lb.arn).await,
        };
        lb.web_acl = read.unwrap_or_else(|err| {
            tracing::warn!(load_balancer = lb.arn, error = %err, "web ACL not read: this shard gets no more weight for now");
            WebAcl::Unknown
        });
    });
    futures::stream::iter(reads).buffer_unordered(WAF_CONCURRENCY).collect::<Vec<()>>().await;
}

/// Reads shard `index`'s full configuration into an observation made without it (a template chosen after the
/// plan, by a pass that did not expect to clone).
pub async fn ensure_configuration(aws: &AwsClients, observed: &mut ObservedFleet, index: ShardIndex) -> Result<()> {
    let Some(shard) = observed.shards.iter_mut().find(|s| s.index == index && !s.configured) else { return Ok(()) };
    let depth = Depth { configuration: true, ..Depth::default() };
    let read = observe_details(aws, std::slice::from_ref(shard), depth, None).await?;
    let (health, web_acl) = (shard.health, shard.load_balancer.as_ref().map(|lb| lb.web_acl.clone()));
    *shard = read.into_iter().next().expect("one shard in, one out");
    shard.health = health;
    if let (Some(lb), Some(web_acl)) = (shard.load_balancer.as_mut(), web_acl) {
        lb.web_acl = web_acl;
    }
    Ok(())
}

/// Whether the fleet's Delete has started since `fleet` was observed. The Delete marks every ALB and target group
/// `strata:deleting` before it removes any, so the serving shards (which no scaler pass removes) tell: marked, or
/// gone. One DescribeTags call per 20 resources.
pub async fn delete_started(aws: &AwsClients, fleet: &ObservedFleet) -> Result<bool> {
    let arns: Vec<String> = fleet
        .shards
        .iter()
        .filter(|s| s.is_serving())
        .flat_map(|s| {
            let lb = s.load_balancer.as_ref().map(|lb| lb.arn.clone());
            lb.into_iter().chain(s.target_group.as_ref().map(|tg| tg.arn.clone()))
        })
        .collect();
    match elbv2::tags_of(&aws.elbv2, &arns).await {
        Ok(tags) => Ok(tags.len() < arns.len() || tags.iter().any(|(_, t)| t.contains_key(TAG_DELETING))),
        Err(err) if err.aws_code().is_some_and(|code| NOT_FOUND.contains(&code)) => Ok(true),
        Err(err) => Err(err),
    }
}

/// Fills each shard's target health (DescribeTargetHealth per target group, concurrent) into an observation
/// made without it.
pub async fn read_target_health(aws: &AwsClients, observed: &mut ObservedFleet) -> Result<()> {
    let arns: Vec<Option<String>> =
        observed.shards.iter().map(|s| s.target_group.as_ref().map(|tg| tg.arn.clone())).collect();
    let health = try_join_all(arns.iter().map(|arn| async move {
        match arn {
            Some(arn) => elbv2::target_health(&aws.elbv2, arn).await.map(Some),
            None => Ok(None),
        }
    }))
    .await?;
    for (shard, health) in observed.shards.iter_mut().zip(health) {
        shard.health = health;
    }
    Ok(())
}

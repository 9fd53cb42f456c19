//! Observe: read one fleet in one region from AWS into the plain model, discovering everything by Strata's
//! tags and SetIdentifier prefix. Reads are batched (20 ARNs per ELBv2 describe) and run concurrently.

use std::collections::BTreeMap;

use futures::future::try_join_all;

use crate::aws::{AwsClients, autoscaling, cloudwatch, elbv2, route53};
use crate::error::Result;
use crate::model::{LoadBalancer, ObservedFleet, Shard, Tags, TargetGroup};
use crate::names::{FleetName, MANAGED_BY, ShardIndex, TAG_FLEET, TAG_MANAGED_BY, TAG_SHARD, alarm_prefix};
use crate::policy::{asgs_from_tags, dns_from_tags};
use crate::spec::AsgSelector;

/// Where a fleet's records live; read from the shards' policy tags when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsLocation {
    pub hosted_zone_id: String,
    pub domain: String,
}

/// How deep to look: the rebalancer needs health, the provisioner and scaler need configuration to clone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    /// Listeners (with extra certificates) and ALB/TG attributes: one call per shard each.
    pub configuration: bool,
    /// DescribeTargetHealth per target group.
    pub target_health: bool,
    /// Requests per second per shard: one GetMetricData call for up to 500 shards.
    pub load: bool,
}

pub struct FleetQuery<'a> {
    pub fleet: &'a FleetName,
    pub dns: Option<DnsLocation>,
    pub asgs: Option<AsgSelector>,
    pub depth: Depth,
}

pub async fn observe(aws: &AwsClients, query: FleetQuery<'_>) -> Result<ObservedFleet> {
    let fleet = query.fleet;
    let name_prefix = format!("{fleet}-s");
    let alarms_prefix = alarm_prefix(fleet);
    let ((load_balancers, region_load_balancers), target_groups, alarms) = futures::try_join!(
        elbv2::load_balancers_named(&aws.elbv2, &name_prefix),
        elbv2::target_groups_named(&aws.elbv2, &name_prefix),
        cloudwatch::alarms_with_prefix(&aws.cloudwatch, &alarms_prefix),
    )?;
    let arns: Vec<String> =
        load_balancers.iter().map(|lb| lb.arn.clone()).chain(target_groups.iter().map(|tg| tg.arn.clone())).collect();
    let tags: BTreeMap<String, Tags> = elbv2::tags_of(&aws.elbv2, &arns).await?.into_iter().collect();

    let mut observed = ObservedFleet {
        fleet: fleet.clone(),
        region: aws.region.clone(),
        shards: Vec::new(),
        duplicate_load_balancers: Vec::new(),
        duplicate_target_groups: Vec::new(),
        records: Vec::new(),
        asgs: Vec::new(),
        alarms,
        region_load_balancers,
    };
    assemble_shards(&mut observed, owned(load_balancers, &tags, fleet), owned(target_groups, &tags, fleet));

    let policy_tags = observed.policy_tags();
    let dns = query.dns.or_else(|| dns_from_tags(&policy_tags));
    let selector = query.asgs.or_else(|| asgs_from_tags(&policy_tags));
    let records = async {
        match &dns {
            Some(dns) => route53::owned_records(&aws.route53, &dns.hosted_zone_id, fleet, &aws.region).await,
            None => Ok(Vec::new()),
        }
    };
    let asgs = async {
        match &selector {
            Some(selector) => autoscaling::fleet_asgs(&aws.autoscaling, selector).await,
            None => Ok(Vec::new()),
        }
    };
    let details = observe_details(aws, &observed.shards, query.depth);
    let lb_arns: Vec<String> =
        observed.shards.iter().map(|s| s.load_balancer.as_ref().map(|lb| lb.arn.clone()).unwrap_or_default()).collect();
    let load = async {
        match query.depth.load && !lb_arns.is_empty() {
            true => cloudwatch::request_rates(&aws.cloudwatch, &lb_arns).await,
            false => Ok(vec![None; lb_arns.len()]),
        }
    };
    let (records, asgs, details, rates) = futures::try_join!(records, asgs, details, load)?;
    observed.records = records;
    observed.asgs = asgs;
    observed.shards = details;
    for (shard, rate) in observed.shards.iter_mut().zip(rates) {
        shard.requests_per_second = rate;
    }
    Ok(observed)
}

/// Resources tagged as this fleet's and Strata's, paired with their shard index.
fn owned<T: HasArn>(items: Vec<T>, tags: &BTreeMap<String, Tags>, fleet: &FleetName) -> Vec<(ShardIndex, T)> {
    items
        .into_iter()
        .filter_map(|mut item| {
            let tags = tags.get(item.arn())?;
            let ours = tags.get(TAG_FLEET).map(String::as_str) == Some(fleet.as_str())
                && tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY);
            let shard = ShardIndex::parse(tags.get(TAG_SHARD)?)?;
            item.set_tags(tags.clone());
            ours.then_some((shard, item))
        })
        .collect()
}

/// Groups ALBs and TGs by shard. Where racing creates left two ALBs for one shard, the oldest serves and the
/// rest are listed as duplicates to remove.
fn assemble_shards(
    observed: &mut ObservedFleet,
    mut lbs: Vec<(ShardIndex, LoadBalancer)>,
    tgs: Vec<(ShardIndex, TargetGroup)>,
) {
    lbs.sort_by(|a, b| (a.0, a.1.created_epoch, &a.1.arn).cmp(&(b.0, b.1.created_epoch, &b.1.arn)));
    let mut shards: BTreeMap<ShardIndex, Shard> = BTreeMap::new();
    for (index, lb) in lbs {
        let shard = shards.entry(index).or_insert_with(|| Shard::new(index));
        if shard.load_balancer.is_none() {
            shard.load_balancer = Some(lb);
        } else {
            observed.duplicate_load_balancers.push(lb);
        }
    }
    for (index, tg) in tgs {
        let shard = shards.entry(index).or_insert_with(|| Shard::new(index));
        if shard.target_group.is_none() {
            shard.target_group = Some(tg);
        } else {
            observed.duplicate_target_groups.push(tg);
        }
    }
    observed.shards = shards.into_values().collect();
}

/// Per-shard reads, all shards and all independent reads side by side: a listener's extra certificates wait
/// for its listener only.
async fn observe_details(aws: &AwsClients, shards: &[Shard], depth: Depth) -> Result<Vec<Shard>> {
    try_join_all(shards.iter().cloned().map(|mut shard| async move {
        let lb_arn = shard.load_balancer.as_ref().map(|lb| lb.arn.clone()).filter(|_| depth.configuration);
        let tg_arn = shard.target_group.as_ref().map(|tg| tg.arn.clone());
        let listeners = async {
            let Some(arn) = &lb_arn else { return Ok(None) };
            let mut listeners = elbv2::listeners_of(&aws.elbv2, arn).await?;
            for listener in listeners.iter_mut().filter(|l| l.protocol == "HTTPS") {
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
            match tg_arn.as_ref().filter(|_| depth.configuration) {
                Some(arn) => elbv2::target_group_attributes(&aws.elbv2, arn).await.map(Some),
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
        Ok(shard)
    }))
    .await
}

trait HasArn {
    fn arn(&self) -> &str;
    fn set_tags(&mut self, tags: Tags);
}

impl HasArn for LoadBalancer {
    fn arn(&self) -> &str {
        &self.arn
    }
    fn set_tags(&mut self, tags: Tags) {
        self.tags = tags;
    }
}

impl HasArn for TargetGroup {
    fn arn(&self) -> &str {
        &self.arn
    }
    fn set_tags(&mut self, tags: Tags) {
        self.tags = tags;
    }
}

/// The fleets that have at least one Strata ALB in the region (for triggers that name no fleet).
pub async fn discover_fleets(aws: &AwsClients) -> Result<Vec<FleetName>> {
    let (load_balancers, _) = elbv2::load_balancers_named(&aws.elbv2, "").await?;
    let arns: Vec<String> = load_balancers.into_iter().map(|lb| lb.arn).collect();
    let mut fleets: Vec<FleetName> = elbv2::tags_of(&aws.elbv2, &arns)
        .await?
        .into_iter()
        .filter(|(_, tags)| tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY))
        .filter_map(|(_, tags)| FleetName::parse(tags.get(TAG_FLEET)?).ok())
        .collect();
    fleets.sort();
    fleets.dedup();
    Ok(fleets)
}

//! Observe: read one fleet in one region from AWS into the plain model, discovering everything by Strata's
//! tags and SetIdentifier prefix. Reads are batched (20 ARNs per ELBv2 describe) and run concurrently.

use std::collections::{BTreeMap, BTreeSet};

mod details;

pub use details::{delete_started, ensure_configuration, read_target_health, read_web_acls};
use details::{details_of, early_details};

use crate::aws::{AwsClients, autoscaling, cloudwatch, elbv2, route53};
use crate::error::{Result, StrataError};
use crate::model::{DnsLocation, LoadBalancer, ObservedFleet, Shard, Tags, TargetGroup};
use crate::names::{
    FleetName, MANAGED_BY, Owner, ShardIndex, TAG_DELETING, TAG_FLEET, TAG_MANAGED_BY, TAG_SHARD, may_act_on,
    parse_load_balancer_name, parse_target_group_name,
};
use crate::policy::{asgs_from_tags, dns_from_tags};
use crate::spec::AsgSelector;

/// How deep to look: the rebalancer needs health, the provisioner and scaler need configuration to clone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Depth {
    /// Listeners (with extra certificates) and ALB/TG attributes: one call per shard each.
    pub configuration: bool,
    /// Listeners only (whether a shard is complete), one call per shard: what the scaler decides on.
    pub listeners: bool,
    /// The full configuration of the first serving shard alone: the template a scale-out clones, read side by
    /// side with the rest instead of after the plan.
    pub template_configuration: bool,
    /// DescribeTargetHealth per target group.
    pub target_health: bool,
    /// Requests per second per shard: one GetMetricData call for up to 500 shards.
    pub load: bool,
    /// A hosted zone that no longer exists reads as holding no records (a Delete must still remove the rest).
    pub zone_may_be_gone: bool,
    /// The region's ALB quota (DescribeAccountLimits), side by side with the listings: what a scale-out needs.
    pub quota: bool,
    /// Each serving shard's AWS WAF web ACL (GetWebACLForResource), one call per shard, once the fleet's own
    /// shards are known. A failed read leaves it unknown (logged): that shard's weight is then held, and a WAF
    /// outage never stops traffic moving off capacity that is gone.
    pub web_acls: bool,
}

pub struct FleetQuery<'a> {
    pub fleet: &'a FleetName,
    pub dns: Option<DnsLocation>,
    pub asgs: Option<AsgSelector>,
    pub depth: Depth,
    /// Whose fleet to read: `Some` (the provisioner, for its own custom resource), or `None` for the fleet's own
    /// owner as its lowest shard says. Either way another owner's resources are left out (their names count as
    /// taken) and unclaimed ones are kept.
    pub owner: Option<&'a Owner>,
}

pub async fn observe(aws: &AwsClients, query: FleetQuery<'_>) -> Result<ObservedFleet> {
    let fleet = query.fleet;
    let name_prefix = format!("{fleet}-s");
    let ((mut load_balancers, region_albs), mut target_groups, alarms, alb_quota) = futures::try_join!(
        elbv2::load_balancers_named(&aws.elbv2, &name_prefix),
        elbv2::target_groups_named(&aws.elbv2, &name_prefix),
        cloudwatch::fleet_alarms(&aws.cloudwatch, fleet),
        read_quota(aws, query.depth.quota),
    )?;
    load_balancers.retain(|lb| parse_load_balancer_name(fleet, &lb.name).is_some());
    target_groups.retain(|tg| parse_target_group_name(fleet, &tg.name).is_some());
    // The per-shard reads (listeners, the template's configuration, target health) start with the tags, on
    // everything named like a shard (reads only: what turns out not to be the fleet's is dropped), so that they
    // are not round trips after the tags; the records and ASGs follow the tags, which say where they are.
    let named = named_shards(fleet, &load_balancers, &target_groups);
    let early = early_details(aws, &named, query.depth);
    let rest = async {
        let found = Found { load_balancers, target_groups, alarms, region_albs, alb_quota };
        let mut observed = owned_fleet(aws, fleet, query.owner, found).await?;
        let policy_tags = observed.policy_tags();
        let dns = query.dns.or_else(|| dns_from_tags(&policy_tags));
        let selector = query.asgs.or_else(|| asgs_from_tags(&policy_tags));
        let records = async {
            match &dns {
                Some(dns) => {
                    let zone = &dns.hosted_zone_id;
                    route53::owned_records(&aws.route53, zone, fleet, &aws.region, query.depth.zone_may_be_gone).await
                }
                None => Ok(Vec::new()),
            }
        };
        let asgs = async {
            match &selector {
                Some(selector) => autoscaling::fleet_asgs(&aws.autoscaling, selector).await,
                None => Ok(Vec::new()),
            }
        };
        let lb_arns: Vec<String> = observed
            .shards
            .iter()
            .map(|s| s.load_balancer.as_ref().map(|lb| lb.arn.clone()).unwrap_or_default())
            .collect();
        let load = async {
            match query.depth.load && !lb_arns.is_empty() {
                true => cloudwatch::request_rates(&aws.cloudwatch, &lb_arns).await,
                false => Ok(vec![None; lb_arns.len()]),
            }
        };
        let (records, asgs, rates) = futures::try_join!(records, asgs, load)?;
        observed.records = records;
        observed.asgs = asgs;
        for (shard, rate) in observed.shards.iter_mut().zip(rates) {
            shard.requests_per_second = rate;
        }
        Ok::<_, StrataError>(observed)
    };
    let (early, mut observed) = futures::try_join!(early, rest)?;
    observed.shards = details_of(aws, &observed.shards, early, query.depth).await?;
    if query.depth.web_acls {
        read_web_acls(aws, &mut observed, false).await;
    }
    Ok(observed)
}

/// What the name-prefix listings found.
struct Found {
    load_balancers: Vec<LoadBalancer>,
    target_groups: Vec<TargetGroup>,
    alarms: Vec<crate::model::Alarm>,
    region_albs: usize,
    alb_quota: Option<usize>,
}

/// A quota that cannot be read (a role without DescribeAccountLimits, an outage) never stops a scale-out: the
/// plan then assumes AWS's default, and says so in the log.
async fn read_quota(aws: &AwsClients, wanted: bool) -> Result<Option<usize>> {
    if !wanted {
        return Ok(None);
    }
    match elbv2::alb_quota(&aws.elbv2).await {
        Ok(quota) => Ok(quota),
        Err(err) => {
            tracing::warn!(error = %err, "the ALB quota could not be read: AWS's default of 50 is assumed");
            Ok(None)
        }
    }
}

/// The fleet's own ALBs and TGs by their tags (DescribeTags), grouped by shard; another owner's are left out
/// and their indexes counted as taken.
async fn owned_fleet(
    aws: &AwsClients,
    fleet: &FleetName,
    owner: Option<&Owner>,
    found: Found,
) -> Result<ObservedFleet> {
    let Found { load_balancers, target_groups, alarms, region_albs, alb_quota } = found;
    let arns: Vec<String> =
        load_balancers.iter().map(|lb| lb.arn.clone()).chain(target_groups.iter().map(|tg| tg.arn.clone())).collect();
    let tags: BTreeMap<String, Tags> = elbv2::tags_of(&aws.elbv2, &arns).await?.into_iter().collect();
    let mut lbs = candidates(load_balancers, &tags, fleet, parse_load_balancer_name);
    let mut tgs = candidates(target_groups, &tags, fleet, parse_target_group_name);
    let owner = owner.cloned().or_else(|| fleet_owner(&lbs, &tgs));
    let mut other_owners: Vec<Owner> = lbs
        .iter()
        .filter(|c| c.marked)
        .filter_map(|c| c.owner.clone())
        .chain(tgs.iter().filter(|c| c.marked).filter_map(|c| c.owner.clone()))
        .filter(|found| Some(found) != owner.as_ref())
        .collect();
    other_owners.sort();
    other_owners.dedup();
    let mut taken_indexes = keep_owned_by(&mut lbs, owner.as_ref());
    taken_indexes.extend(keep_owned_by(&mut tgs, owner.as_ref()));
    let lbs: Vec<(ShardIndex, LoadBalancer)> = lbs.into_iter().filter_map(Candidate::owned).collect();
    let tgs: Vec<(ShardIndex, TargetGroup)> = tgs.into_iter().filter_map(Candidate::owned).collect();
    let deleting = lbs
        .iter()
        .map(|(_, lb)| &lb.tags)
        .chain(tgs.iter().map(|(_, tg)| &tg.tags))
        .any(|t| t.contains_key(TAG_DELETING));
    let mut observed = ObservedFleet {
        fleet: fleet.clone(),
        region: aws.region.clone(),
        shards: Vec::new(),
        duplicate_load_balancers: Vec::new(),
        duplicate_target_groups: Vec::new(),
        records: Vec::new(),
        asgs: Vec::new(),
        alarms,
        region_albs,
        alb_quota,
        owner,
        taken_indexes,
        other_owners,
        deleting,
    };
    assemble_shards(&mut observed, lbs, tgs);
    Ok(observed)
}

/// A load balancer or target group named exactly like one of the fleet's shards, with what its tags say.
struct Candidate<T> {
    index: ShardIndex,
    item: T,
    /// Carries Strata's marks for this fleet and shard (fleet, managed-by, shard tags matching the name).
    marked: bool,
    owner: Option<Owner>,
}

impl<T> Candidate<T> {
    fn owned(self) -> Option<(ShardIndex, T)> {
        self.marked.then_some((self.index, self.item))
    }
}

/// Keeps the candidates that `owner` may act on (its own and unclaimed ones); returns the indexes of the rest.
fn keep_owned_by<T>(candidates: &mut [Candidate<T>], owner: Option<&Owner>) -> BTreeSet<ShardIndex> {
    for candidate in candidates.iter_mut().filter(|c| c.marked) {
        candidate.marked = may_act_on(candidate.owner.as_ref(), owner, true);
    }
    candidates.iter().filter(|c| !c.marked).map(|c| c.index).collect()
}

/// Every resource named exactly like a shard of `fleet`, each with its tags set and whether it carries Strata's
/// marks for that shard. A name alone is never trusted: one without the marks is someone else's.
fn candidates<T: HasArn>(
    items: Vec<T>,
    tags: &BTreeMap<String, Tags>,
    fleet: &FleetName,
    parse_name: fn(&FleetName, &str) -> Option<ShardIndex>,
) -> Vec<Candidate<T>> {
    items
        .into_iter()
        .filter_map(|mut item| {
            let index = parse_name(fleet, item.name())?;
            let tags = tags.get(item.arn()).cloned().unwrap_or_default();
            let tag = |key: &str| tags.get(key).map(String::as_str);
            let marked = tag(TAG_FLEET) == Some(fleet.as_str())
                && tag(TAG_MANAGED_BY) == Some(MANAGED_BY)
                && tag(TAG_SHARD).and_then(ShardIndex::parse) == Some(index);
            let owner = Owner::from_tags(|k| tags.get(k).map(String::as_str));
            item.set_tags(tags.clone());
            Some(Candidate { index, item, marked, owner })
        })
        .collect()
}

/// The fleet's owner, as its lowest marked shard says.
fn fleet_owner(lbs: &[Candidate<LoadBalancer>], tgs: &[Candidate<TargetGroup>]) -> Option<Owner> {
    let lb_owners = lbs.iter().filter(|c| c.marked).map(|c| (c.index, &c.owner));
    let tg_owners = tgs.iter().filter(|c| c.marked).map(|c| (c.index, &c.owner));
    lb_owners.chain(tg_owners).filter_map(|(index, owner)| Some((index, owner.clone()?))).min().map(|(_, owner)| owner)
}

/// Shards as their names alone say (the oldest ALB and TG of each index), before any ownership is known.
fn named_shards(fleet: &FleetName, lbs: &[LoadBalancer], tgs: &[TargetGroup]) -> Vec<Shard> {
    let mut shards: BTreeMap<ShardIndex, Shard> = BTreeMap::new();
    let mut lbs: Vec<&LoadBalancer> = lbs.iter().collect();
    lbs.sort_by_key(|lb| (lb.created_epoch, lb.arn.clone()));
    for lb in lbs {
        let Some(index) = parse_load_balancer_name(fleet, &lb.name) else { continue };
        shards.entry(index).or_insert_with(|| Shard::new(index)).load_balancer.get_or_insert_with(|| lb.clone());
    }
    for tg in tgs {
        let Some(index) = parse_target_group_name(fleet, &tg.name) else { continue };
        shards.entry(index).or_insert_with(|| Shard::new(index)).target_group.get_or_insert_with(|| tg.clone());
    }
    shards.into_values().collect()
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

trait HasArn {
    fn arn(&self) -> &str;
    fn name(&self) -> &str;
    fn set_tags(&mut self, tags: Tags);
}

macro_rules! has_arn {
    ($($kind:ty),*) => {$(
        impl HasArn for $kind {
            fn arn(&self) -> &str {
                &self.arn
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn set_tags(&mut self, tags: Tags) {
                self.tags = tags;
            }
        }
    )*};
}

has_arn!(LoadBalancer, TargetGroup);

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

//! Observe: read one fleet in one region from AWS into the plain model, discovering everything by Strata's
//! tags and SetIdentifier prefix. Reads are batched (20 ARNs per ELBv2 describe) and run concurrently.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use crate::aws::{AwsClients, autoscaling, cloudwatch, elbv2, route53};
use crate::error::{Result, StrataError};
use crate::model::{LoadBalancer, ObservedFleet, Shard, Tags, TargetGroup};
use crate::names::{
    FleetName, MANAGED_BY, Owner, ShardIndex, TAG_DELETING, TAG_FLEET, TAG_MANAGED_BY, TAG_SHARD, may_act_on,
    parse_load_balancer_name, parse_target_group_name,
};
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
    let ((mut load_balancers, region_load_balancers), mut target_groups, alarms) = futures::try_join!(
        elbv2::load_balancers_named(&aws.elbv2, &name_prefix),
        elbv2::target_groups_named(&aws.elbv2, &name_prefix),
        cloudwatch::fleet_alarms(&aws.cloudwatch, fleet),
    )?;
    load_balancers.retain(|lb| parse_load_balancer_name(fleet, &lb.name).is_some());
    target_groups.retain(|tg| parse_target_group_name(fleet, &tg.name).is_some());
    // The per-shard reads (listeners, the template's configuration, target health) start with the tags, on
    // everything named like a shard (reads only: what turns out not to be the fleet's is dropped), so that they
    // are not round trips after the tags; the records and ASGs follow the tags, which say where they are.
    let named = named_shards(fleet, &load_balancers, &target_groups);
    let early = early_details(aws, &named, query.depth);
    let rest = async {
        let found = Found { load_balancers, target_groups, alarms, region_load_balancers };
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
    Ok(observed)
}

/// What the name-prefix listings found.
struct Found {
    load_balancers: Vec<LoadBalancer>,
    target_groups: Vec<TargetGroup>,
    alarms: Vec<crate::model::Alarm>,
    region_load_balancers: usize,
}

/// The fleet's own ALBs and TGs by their tags (DescribeTags), grouped by shard; another owner's are left out
/// and their indexes counted as taken.
async fn owned_fleet(
    aws: &AwsClients,
    fleet: &FleetName,
    owner: Option<&Owner>,
    found: Found,
) -> Result<ObservedFleet> {
    let Found { load_balancers, target_groups, alarms, region_load_balancers } = found;
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
        region_load_balancers,
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

/// Per-shard reads of everything named like a shard, before ownership is known: a resource gone meanwhile (a
/// foreign one being deleted, say) is left out here, and read again below only if it is the fleet's.
async fn early_details(aws: &AwsClients, named: &[Shard], depth: Depth) -> Result<Vec<Shard>> {
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
            Err(StrataError::Aws { message, .. }) if NOT_FOUND.iter().any(|code| message.starts_with(code)) => Ok(None),
            Err(err) => Err(err),
        }
    }));
    Ok(reads.await?.into_iter().flatten().collect())
}

/// ELBv2's answers for a resource that no longer exists.
const NOT_FOUND: [&str; 3] = ["LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound"];

/// The fleet's shards with their per-shard reads: those made early on the same ALB and TG, the rest now
/// (without the template's configuration: a template read late is read where it is cloned).
async fn details_of(aws: &AwsClients, shards: &[Shard], early: Vec<Shard>, depth: Depth) -> Result<Vec<Shard>> {
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
            for listener in listeners.iter_mut().filter(|l| l.protocol == "HTTPS" && configuration) {
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

/// Reads shard `index`'s full configuration into an observation made without it (a template chosen after the
/// plan, by a pass that did not expect to clone).
pub async fn ensure_configuration(aws: &AwsClients, observed: &mut ObservedFleet, index: ShardIndex) -> Result<()> {
    let Some(shard) = observed.shards.iter_mut().find(|s| s.index == index && !s.configured) else { return Ok(()) };
    let depth = Depth { configuration: true, ..Depth::default() };
    let read = observe_details(aws, std::slice::from_ref(shard), depth, None).await?;
    let health = shard.health;
    *shard = read.into_iter().next().expect("one shard in, one out");
    shard.health = health;
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
        Err(StrataError::Aws { message, .. }) if NOT_FOUND.iter().any(|code| message.starts_with(code)) => Ok(true),
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

trait HasArn {
    fn arn(&self) -> &str;
    fn name(&self) -> &str;
    fn set_tags(&mut self, tags: Tags);
}

impl HasArn for LoadBalancer {
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

impl HasArn for TargetGroup {
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

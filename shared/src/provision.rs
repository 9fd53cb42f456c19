//! The whole fleet of one region, converged to a spec (Create and Update) or torn down (Delete).
//! Identity lives in AWS (tags, deterministic names), so every step can be re-run after a crash.

use aws_sdk_elasticloadbalancingv2::types::Tag;
use futures::future::try_join_all;
use tracing::{info, warn};

use crate::alarms;
use crate::aws::{AwsClients, batches};
use crate::dns;
use crate::error::{Result, StrataError, aws_error};
use crate::finish::{FleetSettings, finish_fleet};
use crate::model::DnsLocation;
use crate::model::ObservedFleet;
use crate::model::Tags;
use crate::names::{FleetName, Owner, ShardIndex, TAG_DELETING, ownership_marks, regional_name};
use crate::observe::{Depth, FleetQuery, observe};
use crate::plan::provision::{alb_ids_of, check_owner, keep_only_owned_by, replacement_conflicts, shards_to_converge};
use crate::plan::removal::{duplicates_of, fleet_removal};
use crate::plan::scale::format_rfc3339;
use crate::plan::shard::{ShardPlan, completion_plan, shard_plan};
use crate::policy::{FleetPolicy, dns_from_tags};
use crate::shard::{ShardConfig, ensure_shard_listeners, ensure_shard_resources, listeners_of};
use crate::spec::{FleetSpec, Scheme};
use crate::teardown::{InUse, Remover, remove};

/// What the provisioner reports back (CloudFormation `Fn::GetAtt` data).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetSummary {
    pub regional_dns_name: String,
    pub load_balancer_arns: Vec<String>,
    pub load_balancer_dns_names: Vec<String>,
    pub target_group_arns: Vec<String>,
}

pub async fn observe_spec(aws: &AwsClients, spec: &FleetSpec, owner: &Owner, depth: Depth) -> Result<ObservedFleet> {
    let dns = DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() };
    let asgs = Some(spec.asgs());
    observe(aws, FleetQuery { fleet: &spec.fleet, dns: Some(dns), asgs, depth, owner: Some(owner) }).await
}

/// Create or Update: every resource of DESIGN.md §1 for this region, matching the spec, for `owner`.
/// `may_claim`: the request's PhysicalResourceId names this very fleet (an Update), so resources made before
/// owners were written become `owner`'s. Nothing is changed when the ownership check fails; `fleet_taken` is
/// set once it has passed (from then on a cut-short Create may have made something).
pub async fn converge(
    aws: &AwsClients,
    spec: &FleetSpec,
    owner: &Owner,
    may_claim: bool,
    scaler_arn: Option<&str>,
    fleet_taken: &std::sync::atomic::AtomicBool,
) -> Result<FleetSummary> {
    if let Some(region) = spec.region.as_deref().filter(|r| *r != aws.region) {
        return Err(StrataError::Refused(format!(
            "the spec's Region is {region} but this provisioner runs in {}: deploy one stack per region",
            aws.region
        )));
    }
    let before = observe_spec(aws, spec, owner, Depth { configuration: true, ..Depth::default() }).await?;
    check_owner(&spec.fleet, &aws.region, &before, may_claim)?;
    fleet_taken.store(true, std::sync::atomic::Ordering::SeqCst);
    if before.deleting {
        return Err(StrataError::Refused(format!("fleet {} is being deleted: wait for its Delete", spec.fleet)));
    }
    let conflicts = replacement_conflicts(spec, &before);
    if !conflicts.is_empty() {
        return Err(StrataError::Refused(format!(
            "AWS cannot change these in place (give the fleet a new FleetName to replace it; CloudFormation then deletes the old one): {}",
            conflicts.join("; ")
        )));
    }
    let policy = FleetPolicy::from_spec(spec);
    let scaler_arn = spec.scaler_function_arn.as_deref().or(scaler_arn);
    let config = ShardConfig::from_spec(spec, policy.to_tags(), owner);
    let indexes = shards_to_converge(&before, spec.limits.min_shards);
    // Claiming writes the owner on listeners, alarms and health checks first and on ALBs and target groups
    // last (in ensure_shard): a claim cut short leaves them unclaimed, and the next Update claims again.
    if before.has_unclaimed() {
        claim(aws, &before, owner).await?;
    }
    let plans: Vec<_> = indexes.iter().map(|i| (*i, shard_plan(&spec.fleet, *i, &config, before.shard(*i)))).collect();
    try_join_all(plans.iter().map(|(index, plan)| converge_shard(aws, &spec.fleet, *index, &config, &before, plan)))
        .await?;
    let remover = Remover { owner: Some(owner), take_unclaimed: before.has_unclaimed() };
    remove(aws, &spec.fleet, &duplicates_of(&before), remover, InUse::LeaveForNextPass).await?;

    let fleet = observe_spec(aws, spec, owner, Depth::default()).await?;
    let settings = FleetSettings {
        fleet: &spec.fleet,
        policy: &policy,
        internet_facing: spec.scheme == Scheme::InternetFacing,
        health_check_path: &spec.health_check_path,
        scaler_arn,
        owner: Some(owner),
        user_tags: &spec.user_tags(),
        health_checks: None,
    };
    let attachments = finish_fleet(aws, &settings, &fleet).await?;
    info!(fleet = %spec.fleet, shards = fleet.shards.len(), attachments = attachments.changes.len(), "fleet converged");
    Ok(summary(spec, &fleet, &aws.region))
}

/// Shard `index` brought to `config`: its ALB and TG as `plan` says, then (from what they are) its attributes and
/// listeners. Re-running after success makes no change.
async fn converge_shard(
    aws: &AwsClients,
    fleet: &FleetName,
    index: ShardIndex,
    config: &ShardConfig,
    before: &ObservedFleet,
    plan: &ShardPlan,
) -> Result<()> {
    let existing = before.shard(index);
    let made = ensure_shard_resources(&aws.elbv2, fleet, index, config, existing, plan).await?;
    let listeners = listeners_of(&aws.elbv2, &made, existing).await?;
    let completion = completion_plan(&made, config, &listeners);
    ensure_shard_listeners(&aws.elbv2, config, &made, plan, &completion).await
}

fn summary(spec: &FleetSpec, fleet: &ObservedFleet, region: &str) -> FleetSummary {
    let lbs: Vec<_> = fleet.shards.iter().filter_map(|s| s.load_balancer.as_ref()).collect();
    FleetSummary {
        regional_dns_name: regional_name(region, &spec.domain),
        load_balancer_arns: lbs.iter().map(|lb| lb.arn.clone()).collect(),
        load_balancer_dns_names: lbs.iter().map(|lb| lb.dns_name.clone()).collect(),
        target_group_arns: fleet.shards.iter().filter_map(|s| s.target_group.as_ref()).map(|t| t.arn.clone()).collect(),
    }
}

/// Puts `owner`'s marks on what an unclaimed fleet has besides ALBs and target groups (which `ensure_shard`
/// claims): listeners, alarms and health checks.
async fn claim(aws: &AwsClients, fleet: &ObservedFleet, owner: &Owner) -> Result<()> {
    let name = &fleet.fleet;
    info!(fleet = %name, owner = %owner, "claiming a fleet made before owners were written");
    let listeners = fleet.shards.iter().flat_map(|s| s.listeners.iter().map(move |l| (s.index, l.arn.clone())));
    let tag_listeners = try_join_all(listeners.map(|(index, arn)| async move {
        let tags = ownership_marks(name, Some(index), Some(owner))
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        aws.elbv2
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "AddTags", e))
    }));
    let checks = async {
        let alb_ids = alb_ids_of(fleet);
        let checks = dns::fleet_health_checks(&aws.route53, name).await?;
        let checks = dns::owned_health_checks(&aws.route53, name, checks, Some(owner), true, &alb_ids).await?;
        let no_user_tags = Tags::new();
        try_join_all(checks.iter().map(|c| dns::tag_health_check(&aws.route53, name, c, Some(owner), &no_user_tags)))
            .await
    };
    futures::try_join!(tag_listeners, checks, alarms::claim_alarms(&aws.cloudwatch, name, &fleet.alarms, owner))?;
    Ok(())
}

/// Delete: everything of `owner`'s fleet in this region, in dependency order (records → health checks →
/// alarms → ASG attachments → listeners → ALBs → TGs), tolerant of what is already gone. The fleet is marked
/// first, so the other functions leave it alone, and observed again at the end, so that a record or alarm that
/// a pass already in flight wrote back is removed too. Another region's records and shards, and anything of
/// another owner, are left alone; `claim_unowned` (a Delete whose PhysicalResourceId names the fleet) also
/// removes resources made before owners were written. Returns how many shards were removed.
pub async fn teardown(
    aws: &AwsClients,
    fleet: &FleetName,
    dns: Option<DnsLocation>,
    asgs: Option<crate::spec::AsgSelector>,
    owner: &Owner,
    claim_unowned: bool,
) -> Result<usize> {
    let (mut dns, mut records_are_mine, mut alb_ids, mut removed) = (dns, true, Vec::new(), 0);
    // A pass of another function that observed the fleet before the mark may write records, alarms or even a
    // shard back: observe again after each pass, and go on while shards still turn up.
    for pass in 0..TEARDOWN_PASSES {
        let query =
            FleetQuery { fleet, dns: dns.clone(), asgs: asgs.clone(), depth: TEARDOWN_DEPTH, owner: Some(owner) };
        let mut observed = observe(aws, query).await?;
        if !claim_unowned {
            keep_only_owned_by(&mut observed, owner);
        }
        // Records cannot carry an owner: they are the fleet's, and so its owner's, unless another owner holds it.
        records_are_mine &= observed.other_owners.is_empty();
        dns = dns.or_else(|| dns_from_tags(&observed.policy_tags()));
        alb_ids.extend(alb_ids_of(&observed).into_iter().map(str::to_owned));
        let shards_left = !observed.shards.is_empty() || !observed.duplicate_load_balancers.is_empty();
        mark_deleting(aws, &observed).await?;
        let zone = dns.as_ref().filter(|_| records_are_mine).map(|d| d.hosted_zone_id.as_str());
        if zone.is_none() && !observed.other_owners.is_empty() {
            warn!(fleet = %fleet, "records left alone: another custom resource holds this fleet");
        }
        let removal = fleet_removal(&observed, &aws.region, zone, &alb_ids);
        let remover = Remover { owner: Some(owner), take_unclaimed: claim_unowned };
        remove(aws, fleet, &removal, remover, InUse::RetryThenFail { rounds: TARGET_GROUP_ROUNDS }).await?;
        removed += observed.shards.len();
        if pass > 0 && !shards_left {
            break;
        }
    }
    info!(fleet = %fleet, shards = removed, "fleet deleted");
    Ok(removed)
}

const TEARDOWN_DEPTH: Depth = Depth {
    configuration: false,
    listeners: false,
    template_configuration: false,
    target_health: false,
    load: false,
    zone_may_be_gone: true,
    quota: false,
    web_acls: false,
};

/// A Delete observes and removes at most this many times (see `teardown`).
const TEARDOWN_PASSES: usize = 3;

/// Rounds of `delete_target_group`'s own bounded wait (about 16 s each) before a Delete gives up: AWS answers
/// DeleteTargetGroup with ResourceInUse for a while after the ALB's deletion (for how long is not documented).
const TARGET_GROUP_ROUNDS: usize = 8;

/// Tags the fleet's ALBs and target groups `strata:deleting` (20 ARNs a call).
async fn mark_deleting(aws: &AwsClients, observed: &ObservedFleet) -> Result<()> {
    if observed.shards.is_empty() {
        return Ok(());
    }
    let arns: Vec<String> = observed
        .shards
        .iter()
        .flat_map(|s| {
            s.load_balancer.iter().map(|lb| lb.arn.clone()).chain(s.target_group.iter().map(|t| t.arn.clone()))
        })
        .collect();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tag = Tag::builder().key(TAG_DELETING).value(format_rfc3339(now)).build();
    try_join_all(
        batches(&arns, crate::aws::elbv2::DESCRIBE_BATCH)
            .map(|chunk| aws.elbv2.add_tags().set_resource_arns(Some(chunk.to_vec())).tags(tag.clone()).send()),
    )
    .await
    .map_err(|e| aws_error("elbv2", "AddTags", e))?;
    Ok(())
}

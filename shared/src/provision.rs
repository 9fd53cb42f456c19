//! The whole fleet of one region, converged to a spec (Create and Update) or torn down (Delete).
//! Identity lives in AWS (tags, deterministic names), so every step can be re-run after a crash.

use aws_sdk_route53::types::ChangeAction;
use futures::future::try_join_all;
use tracing::info;

use crate::alarms;
use crate::attach::detach;
use crate::aws::AwsClients;
use crate::dns::{self, as_record_set, change_owned_records};
use crate::error::{Result, StrataError};
use crate::finish::{FleetSettings, finish_fleet};
use crate::model::ObservedFleet;
use crate::names::{FleetName, ShardIndex, regional_name};
use crate::observe::{Depth, DnsLocation, FleetQuery, observe};
use crate::policy::FleetPolicy;
use crate::shard::{ShardConfig, delete_load_balancer, delete_shard, ensure_shard};
use crate::spec::{FleetSpec, Scheme};

/// What the provisioner reports back (CloudFormation `Fn::GetAtt` data).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetSummary {
    pub regional_dns_name: String,
    pub load_balancer_arns: Vec<String>,
    pub load_balancer_dns_names: Vec<String>,
    pub target_group_arns: Vec<String>,
}

pub async fn observe_spec(aws: &AwsClients, spec: &FleetSpec, depth: Depth) -> Result<ObservedFleet> {
    let dns = DnsLocation { hosted_zone_id: spec.hosted_zone_id.clone(), domain: spec.domain.clone() };
    observe(aws, FleetQuery { fleet: &spec.fleet, dns: Some(dns), asgs: Some(spec.asgs.clone()), depth }).await
}

/// Fields of existing shards that differ from the spec and that AWS cannot change in place.
pub fn replacement_conflicts(spec: &FleetSpec, observed: &ObservedFleet) -> Vec<String> {
    let mut conflicts = Vec::new();
    for shard in &observed.shards {
        if let Some(lb) = &shard.load_balancer {
            if lb.scheme != spec.scheme.as_aws() {
                conflicts.push(format!("Scheme ({} has {}, spec says {})", lb.name, lb.scheme, spec.scheme.as_aws()));
            }
            if lb.vpc_id != spec.vpc_id && !lb.vpc_id.is_empty() {
                conflicts.push(format!("VpcId ({} is in {}, spec says {})", lb.name, lb.vpc_id, spec.vpc_id));
            }
        }
        if let Some(tg) = &shard.target_group {
            if tg.target_type != spec.target_type.as_aws() {
                conflicts.push(format!(
                    "TargetType ({} is {}, spec says {})",
                    tg.name,
                    tg.target_type,
                    spec.target_type.as_aws()
                ));
            }
            if tg.port != i32::from(spec.target_port) {
                conflicts.push(format!("TargetPort ({} uses {}, spec says {})", tg.name, tg.port, spec.target_port));
            }
        }
    }
    conflicts
}

/// Create or Update: every resource of DESIGN.md §1 for this region, matching the spec.
pub async fn converge(aws: &AwsClients, spec: &FleetSpec, scaler_arn: Option<&str>) -> Result<FleetSummary> {
    if let Some(region) = spec.region.as_deref().filter(|r| *r != aws.region) {
        return Err(StrataError::Refused(format!(
            "the spec's Region is {region} but this provisioner runs in {}: deploy one stack per region",
            aws.region
        )));
    }
    let before = observe_spec(aws, spec, Depth { configuration: true, ..Depth::default() }).await?;
    let conflicts = replacement_conflicts(spec, &before);
    if !conflicts.is_empty() {
        return Err(StrataError::Refused(format!(
            "AWS cannot change these in place: {}. Give the fleet a new FleetName to replace it (CloudFormation then deletes the old one)",
            conflicts.join("; ")
        )));
    }
    let policy = FleetPolicy::from_spec(spec);
    let scaler_arn = spec.scaler_function_arn.as_deref().or(scaler_arn);
    let config = ShardConfig::from_spec(spec, policy.to_tags());
    let mut indexes: Vec<ShardIndex> = before.shards.iter().filter(|s| !s.is_draining()).map(|s| s.index).collect();
    indexes.extend((0..spec.limits.min_shards).filter_map(ShardIndex::new));
    indexes.sort();
    indexes.dedup();
    try_join_all(
        indexes.iter().map(|index| ensure_shard(&aws.elbv2, &spec.fleet, *index, &config, before.shard(*index))),
    )
    .await?;
    for duplicate in &before.duplicate_load_balancers {
        delete_load_balancer(&aws.elbv2, &duplicate.arn).await?;
    }

    let fleet = observe_spec(aws, spec, Depth::default()).await?;
    let settings = FleetSettings {
        fleet: &spec.fleet,
        policy: &policy,
        internet_facing: spec.scheme == Scheme::InternetFacing,
        health_check_path: &spec.health_check.path,
        scaler_arn,
    };
    let attachments = finish_fleet(aws, &settings, &fleet).await?;
    info!(fleet = %spec.fleet, shards = fleet.shards.len(), attachments = attachments.changes.len(), "fleet converged");
    Ok(summary(spec, &fleet, &aws.region))
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

/// Delete: everything Strata owns for this fleet in this region, in dependency order (records → health
/// checks → alarms → ASG attachments → listeners → ALBs → TGs), tolerant of what is already gone.
/// Another region's records and shards are left alone.
pub async fn teardown(
    aws: &AwsClients,
    fleet: &FleetName,
    dns_location: DnsLocation,
    asgs: Option<crate::spec::AsgSelector>,
) -> Result<usize> {
    let query = FleetQuery { fleet, dns: Some(dns_location.clone()), asgs, depth: Depth::default() };
    let observed = observe(aws, query).await?;
    let mine: Vec<_> = observed
        .records
        .iter()
        .filter(|r| r.shard.is_some() || r.region.as_deref() == Some(aws.region.as_str()))
        .map(|r| (ChangeAction::Delete, as_record_set(r)))
        .collect();
    let removed = mine.len();
    if !mine.is_empty() {
        change_owned_records(&aws.route53, &dns_location.hosted_zone_id, fleet, mine).await?;
    }
    let alb_ids: Vec<&str> = observed
        .shards
        .iter()
        .filter_map(|s| s.load_balancer.as_ref())
        .chain(&observed.duplicate_load_balancers)
        .filter_map(|lb| lb.arn.rsplit('/').next())
        .collect();
    for (id, reference) in dns::fleet_health_checks(&aws.route53, fleet).await? {
        if alb_ids.iter().any(|alb| reference.ends_with(&format!("-{alb}"))) {
            dns::delete_health_check(&aws.route53, &id).await?;
        }
    }
    alarms::delete_alarms(&aws.cloudwatch, observed.alarms.iter().map(|a| a.name.clone()).collect()).await?;
    let owned_tgs: Vec<&str> =
        observed.shards.iter().filter_map(|s| s.target_group.as_ref()).map(|t| t.arn.as_str()).collect();
    for asg in &observed.asgs {
        let attached: Vec<String> =
            asg.target_group_arns.iter().filter(|t| owned_tgs.contains(&t.as_str())).cloned().collect();
        detach(&aws.autoscaling, &asg.name, &attached).await?;
    }
    for duplicate in &observed.duplicate_load_balancers {
        delete_load_balancer(&aws.elbv2, &duplicate.arn).await?;
    }
    for shard in &observed.shards {
        delete_shard(&aws.elbv2, shard).await?;
    }
    info!(fleet = %fleet, shards = observed.shards.len(), records = removed, "fleet deleted");
    Ok(observed.shards.len())
}

//! Building, updating and removing one shard (ALB + listeners + target group). Every step first looks at what
//! exists, so a retry after a crash or a timeout finishes the shard instead of duplicating it.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag, TargetTypeEnum,
};

use crate::attributes::{self, ALB_DEFAULTS, NOT_CLONED_LOAD_BALANCER_KEYS, TARGET_GROUP_DEFAULTS};
use crate::aws::elbv2 as read;
use crate::error::StrataError;
use crate::error::{Result, aws_error};
use crate::model::{LoadBalancer, Shard, Tags, TargetGroup};
use crate::names::{
    FleetName, Owner, ShardIndex, ShardNames, TAG_OWNER_RESOURCE, TAG_OWNER_STACK, TAG_POLICY_PREFIX, ownership_marks,
};
use crate::spec::FleetSpec;

/// Everything a shard is made of; from the spec (provisioner) or cloned from a serving shard (scaler).
#[derive(Debug, Clone, PartialEq)]
pub struct ShardConfig {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub scheme: String,
    pub ip_address_type: String,
    pub load_balancer_attributes: Tags,
    /// The default certificate first.
    pub certificate_arns: Vec<String>,
    pub ssl_policy: String,
    pub target_type: String,
    pub target_port: i32,
    pub health_check_path: String,
    pub health_check_interval_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    pub target_group_attributes: Tags,
    /// Tags for the ALB beyond ownership (full keys): the fleet policy, the trigger that made it.
    pub load_balancer_tags: Tags,
    /// The custom resource the fleet belongs to (`None` only for a fleet made before owners were written).
    pub owner: Option<Owner>,
}

impl ShardConfig {
    pub fn from_spec(spec: &FleetSpec, policy_tags: Tags, owner: &Owner) -> Self {
        let load_balancer_attributes = [
            ("load_balancing.cross_zone.enabled", "true"),
            ("routing.http.drop_invalid_header_fields.enabled", "true"),
        ];
        let target_group_attributes = [
            ("deregistration_delay.timeout_seconds", spec.deregistration_delay_seconds.to_string()),
            ("stickiness.enabled", spec.stickiness.enabled.to_string()),
            ("stickiness.type", "lb_cookie".to_owned()),
            ("stickiness.lb_cookie.duration_seconds", spec.stickiness.duration_seconds.to_string()),
        ];
        Self {
            vpc_id: spec.vpc_id.clone(),
            subnet_ids: spec.subnet_ids.clone(),
            security_group_ids: spec.security_group_ids.clone(),
            scheme: spec.scheme.as_aws().to_owned(),
            ip_address_type: spec.ip_address_type.as_aws().to_owned(),
            load_balancer_attributes: load_balancer_attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            certificate_arns: vec![spec.certificate_arn.clone()],
            ssl_policy: spec.ssl_policy.clone(),
            target_type: spec.target_type.as_aws().to_owned(),
            target_port: i32::from(spec.target_port),
            health_check_path: spec.health_check.path.clone(),
            health_check_interval_seconds: i32::from(spec.health_check.interval_seconds),
            healthy_threshold: i32::from(spec.health_check.healthy_threshold),
            unhealthy_threshold: i32::from(spec.health_check.unhealthy_threshold),
            target_group_attributes: target_group_attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            load_balancer_tags: policy_tags,
            owner: Some(owner.clone()),
        }
    }
}

impl ShardConfig {
    /// A new shard's configuration, read from a serving shard observed with `Depth::configuration`, so that
    /// shards never drift: subnets, security groups, scheme, IP type, ALB attributes, certificates (default and
    /// extra), TLS policy, target group settings and attributes (but not [`NOT_CLONED_LOAD_BALANCER_KEYS`]).
    pub fn cloned_from(shard: &Shard, load_balancer_tags: Tags, owner: Option<Owner>) -> Option<Self> {
        let lb = shard.load_balancer.as_ref()?;
        let tg = shard.target_group.as_ref()?;
        let https = shard.listeners.iter().find(|l| l.port == 443)?;
        Some(Self {
            vpc_id: tg.vpc_id.clone(),
            subnet_ids: lb.subnet_ids.clone(),
            security_group_ids: lb.security_group_ids.clone(),
            scheme: lb.scheme.clone(),
            ip_address_type: lb.ip_address_type.clone(),
            load_balancer_attributes: lb
                .attributes
                .iter()
                .filter(|(k, _)| !NOT_CLONED_LOAD_BALANCER_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            certificate_arns: https.certificate_arns.clone(),
            ssl_policy: https.ssl_policy.clone().unwrap_or_else(|| crate::spec::DEFAULT_SSL_POLICY.to_owned()),
            target_type: tg.target_type.clone(),
            target_port: tg.port,
            health_check_path: tg.health_check_path.clone(),
            health_check_interval_seconds: tg.health_check_interval_seconds,
            healthy_threshold: tg.healthy_threshold,
            unhealthy_threshold: tg.unhealthy_threshold,
            target_group_attributes: tg.attributes.clone(),
            load_balancer_tags,
            owner,
        })
    }
}

fn tags_from(map: &Tags) -> Vec<Tag> {
    map.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Makes shard `index` match `config`: creates what is missing, updates only what drifted (so re-running after
/// success makes no change). The TG and the ALB do not depend on each other and are made side by side; the two
/// listeners follow, side by side too. Returns the shard's ARNs.
pub async fn ensure_shard(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    config: &ShardConfig,
    existing: Option<&Shard>,
) -> Result<(String, String)> {
    let made = ensure_shard_resources(client, fleet, index, config, existing).await?;
    ensure_shard_listeners(client, fleet, index, config, &made, existing).await?;
    Ok((made.load_balancer.arn, made.target_group.arn))
}

/// A shard's ALB and target group as they are after `ensure_shard_resources`: what later steps (listeners,
/// records, alarms) need, without reading them back.
#[derive(Debug, Clone)]
pub struct ShardResources {
    pub load_balancer: LoadBalancer,
    pub target_group: TargetGroup,
    /// The ALB was just made: it has no listener yet, and AWS's default attributes.
    pub fresh_load_balancer: bool,
    /// The target group was just made, with AWS's default attributes.
    pub fresh_target_group: bool,
}

/// The ALB and the target group of shard `index`, side by side: made where missing, their tags and settings
/// brought to `config` where they drifted.
pub async fn ensure_shard_resources(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    config: &ShardConfig,
    existing: Option<&Shard>,
) -> Result<ShardResources> {
    let names = ShardNames::new(fleet, index);
    let marks = ownership_marks(fleet, Some(index), config.owner.as_ref());
    let target_group = async {
        match existing.and_then(|s| s.target_group.as_ref()) {
            Some(tg) => {
                let mut tg = tg.clone();
                if drifted(&tg.tags, &marks) {
                    add_tags(client, &tg.arn, &marks).await?;
                    tg.tags.extend(marks.clone());
                }
                if health_check_drifted(&tg, config) {
                    update_target_group(client, &tg.arn, config).await?;
                }
                let changed = attributes::changes(&tg.attributes, &config.target_group_attributes);
                set_target_group_attributes(client, &tg.arn, &changed).await?;
                Ok(tg)
            }
            None => {
                let tg = create_target_group(client, &names.target_group, config, &marks).await?;
                verify_marks(client, &tg.arn, &names.target_group, &marks).await?;
                Ok(tg)
            }
        }
    };
    let load_balancer = async {
        let mut desired = marks.clone();
        desired.extend(config.load_balancer_tags.clone());
        match existing.and_then(|s| s.load_balancer.as_ref()) {
            Some(lb) => {
                let mut lb = lb.clone();
                if drifted(&lb.tags, &desired) {
                    add_tags(client, &lb.arn, &desired).await?;
                }
                // A policy key the spec no longer has (an ASG tag removed, a shorter ASG list) must not be obeyed.
                let stale: Vec<String> = lb
                    .tags
                    .keys()
                    .filter(|k| k.starts_with(TAG_POLICY_PREFIX) && !config.load_balancer_tags.contains_key(*k))
                    .cloned()
                    .collect();
                if !stale.is_empty() {
                    client
                        .remove_tags()
                        .resource_arns(&lb.arn)
                        .set_tag_keys(Some(stale.clone()))
                        .send()
                        .await
                        .map_err(|e| aws_error("elbv2", "RemoveTags", e))?;
                }
                let changed = attributes::changes(&lb.attributes, &config.load_balancer_attributes);
                set_load_balancer_attributes(client, &lb.arn, &changed).await?;
                lb.tags.retain(|k, _| !stale.contains(k));
                lb.tags.extend(desired);
                Ok::<_, crate::error::StrataError>((lb, false))
            }
            None => {
                let mut lb = create_load_balancer(client, &names.load_balancer, config, &marks).await?;
                verify_marks(client, &lb.arn, &names.load_balancer, &marks).await?;
                lb.tags = desired;
                Ok((lb, true))
            }
        }
    };
    let (target_group, (load_balancer, fresh_load_balancer)) = futures::try_join!(target_group, load_balancer)?;
    let fresh_target_group = existing.and_then(|s| s.target_group.as_ref()).is_none();
    Ok(ShardResources { load_balancer, target_group, fresh_load_balancer, fresh_target_group })
}

/// Completes a shard whose ALB and target group `made` holds, all side by side: the attributes of a new ALB or
/// TG (AWS's defaults brought to `config`), and both listeners (a new ALB has none; an observed one brings its
/// listeners, read again only when not observed).
pub async fn ensure_shard_listeners(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    config: &ShardConfig,
    made: &ShardResources,
    existing: Option<&Shard>,
) -> Result<()> {
    let marks = ownership_marks(fleet, Some(index), config.owner.as_ref());
    let known = match (made.fresh_load_balancer, existing) {
        (true, _) => Some(Vec::new()),
        (false, Some(shard)) if !shard.listeners.is_empty() => Some(shard.listeners.clone()),
        _ => None,
    };
    let (lb, tg) = (&made.load_balancer.arn, &made.target_group.arn);
    let lb_attributes = async {
        match made.fresh_load_balancer {
            true => {
                let changed =
                    attributes::changes(&attributes::defaults(ALB_DEFAULTS), &config.load_balancer_attributes);
                set_load_balancer_attributes(client, lb, &changed).await
            }
            false => Ok(()),
        }
    };
    let tg_attributes = async {
        match made.fresh_target_group {
            true => {
                let defaults = attributes::defaults(TARGET_GROUP_DEFAULTS);
                set_target_group_attributes(
                    client,
                    tg,
                    &attributes::changes(&defaults, &config.target_group_attributes),
                )
                .await
            }
            false => Ok(()),
        }
    };
    let tags = tags_from(&marks);
    let listeners = ensure_listeners(client, lb, tg, config, &tags, known);
    futures::try_join!(lb_attributes, tg_attributes, listeners)?;
    Ok(())
}

/// An answer without the resource it is about (AWS always returns it; an empty ARN must never be used).
fn no_resource(operation: &'static str, name: &str) -> StrataError {
    StrataError::Aws { service: "elbv2", operation, message: format!("{name}: the answer holds no resource") }
}

/// A create that names an existing resource answers with it (AWS's idempotency: same name and settings), and a
/// name alone is never trusted: before anything else is changed, the resource must carry exactly this shard's
/// marks, its owner's included (a racing Create of the same fleet name by another stack stops here).
async fn verify_marks(client: &elbv2::Client, arn: &str, name: &str, marks: &Tags) -> Result<()> {
    let tags = read::tags_of(client, &[arn.to_owned()]).await?.into_iter().next().map(|(_, t)| t).unwrap_or_default();
    let foreign_owner = [TAG_OWNER_STACK, TAG_OWNER_RESOURCE].iter().any(|k| tags.get(*k) != marks.get(*k));
    if drifted(&tags, marks) || foreign_owner {
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

/// Whether any desired key has another value than AWS has (keys AWS has beyond the desired ones don't count).
fn drifted(current: &Tags, desired: &Tags) -> bool {
    desired.iter().any(|(k, v)| current.get(k) != Some(v))
}

fn health_check_drifted(tg: &crate::model::TargetGroup, config: &ShardConfig) -> bool {
    tg.health_check_path != config.health_check_path
        || tg.health_check_interval_seconds != config.health_check_interval_seconds
        || tg.healthy_threshold != config.healthy_threshold
        || tg.unhealthy_threshold != config.unhealthy_threshold
}

/// AWS's default HTTP health check timeout (5 s) unless the interval is that short: the timeout must be
/// smaller than the interval (ELBv2 CreateTargetGroup / ModifyTargetGroup), and the interval can be 5 s.
pub fn health_check_timeout(interval_seconds: i32) -> i32 {
    (interval_seconds - 1).clamp(2, 5)
}

async fn create_target_group(
    client: &elbv2::Client,
    name: &str,
    config: &ShardConfig,
    marks: &Tags,
) -> Result<TargetGroup> {
    let created = client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(config.target_port)
        .vpc_id(&config.vpc_id)
        .target_type(TargetTypeEnum::from(config.target_type.as_str()))
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_path(&config.health_check_path)
        .health_check_interval_seconds(config.health_check_interval_seconds)
        .health_check_timeout_seconds(health_check_timeout(config.health_check_interval_seconds))
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .matcher(Matcher::builder().http_code("200").build())
        .set_tags(Some(tags_from(marks)))
        .send()
        .await;
    match created {
        Ok(out) => {
            out.target_groups().first().map(read::target_group).ok_or_else(|| no_resource("CreateTargetGroup", name))
        }
        // A concurrent invocation may have made it first (with other settings, since AWS answers an identical
        // create with the existing one): `verify_marks` decides whether it is this shard's.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_duplicate_target_group_name_exception()) => {
            let found = client
                .describe_target_groups()
                .names(name)
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "DescribeTargetGroups", e))?;
            found
                .target_groups()
                .first()
                .map(read::target_group)
                .ok_or_else(|| no_resource("DescribeTargetGroups", name))
        }
        Err(err) => Err(aws_error("elbv2", "CreateTargetGroup", err)),
    }
}

async fn update_target_group(client: &elbv2::Client, arn: &str, config: &ShardConfig) -> Result<()> {
    client
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_path(&config.health_check_path)
        .health_check_interval_seconds(config.health_check_interval_seconds)
        .health_check_timeout_seconds(health_check_timeout(config.health_check_interval_seconds))
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyTargetGroup", e))?;
    Ok(())
}

/// Sends `changed` (only what differs) in calls of at most 20 attributes, as AWS allows.
async fn set_target_group_attributes(client: &elbv2::Client, arn: &str, changed: &Tags) -> Result<()> {
    for batch in attributes::batches(changed) {
        let attrs =
            batch.iter().map(|(k, v)| elbv2::types::TargetGroupAttribute::builder().key(k).value(v).build()).collect();
        client
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "ModifyTargetGroupAttributes", e))?;
    }
    Ok(())
}

async fn create_load_balancer(
    client: &elbv2::Client,
    name: &str,
    config: &ShardConfig,
    marks: &Tags,
) -> Result<LoadBalancer> {
    let mut tags = tags_from(marks);
    tags.extend(tags_from(&config.load_balancer_tags));
    let created = client
        .create_load_balancer()
        .name(name)
        .r#type(LoadBalancerTypeEnum::Application)
        .scheme(LoadBalancerSchemeEnum::from(config.scheme.as_str()))
        .ip_address_type(IpAddressType::from(config.ip_address_type.as_str()))
        .set_subnets(Some(config.subnet_ids.clone()))
        .set_security_groups(Some(config.security_group_ids.clone()).filter(|s| !s.is_empty()))
        .set_tags(Some(tags))
        .send()
        .await;
    match created {
        Ok(out) => {
            out.load_balancers().first().map(read::load_balancer).ok_or_else(|| no_resource("CreateLoadBalancer", name))
        }
        // Made first with other settings (a racing create): `verify_marks` decides whether it is this shard's.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_duplicate_load_balancer_name_exception()) => {
            let found = client
                .describe_load_balancers()
                .names(name)
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "DescribeLoadBalancers", e))?;
            found
                .load_balancers()
                .first()
                .map(read::load_balancer)
                .ok_or_else(|| no_resource("DescribeLoadBalancers", name))
        }
        Err(err) => Err(aws_error("elbv2", "CreateLoadBalancer", err)),
    }
}

/// Sends `changed` (only what differs) in calls of at most 20 attributes, as AWS allows.
async fn set_load_balancer_attributes(client: &elbv2::Client, arn: &str, changed: &Tags) -> Result<()> {
    for batch in attributes::batches(changed) {
        let attrs =
            batch.iter().map(|(k, v)| elbv2::types::LoadBalancerAttribute::builder().key(k).value(v).build()).collect();
        client
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "ModifyLoadBalancerAttributes", e))?;
    }
    Ok(())
}

fn redirect_to_https() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port("443")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build()
}

fn forward_to(tg_arn: &str) -> Action {
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg_arn).build()
}

/// HTTP:80 answers 301 to HTTPS; HTTPS:443 terminates TLS with the certificate(s) and forwards to the TG.
/// Listeners carry the ownership tags too, so IAM can scope their changes by tag.
async fn ensure_listeners(
    client: &elbv2::Client,
    lb_arn: &str,
    tg_arn: &str,
    config: &ShardConfig,
    tags: &[Tag],
    known: Option<Vec<crate::model::Listener>>,
) -> Result<()> {
    let existing = match known {
        Some(listeners) => listeners,
        None => read::listeners_of(client, lb_arn).await?,
    };
    let http = async {
        if existing.iter().any(|l| l.port == 80) {
            return Ok(());
        }
        client
            .create_listener()
            .load_balancer_arn(lb_arn)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(redirect_to_https())
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "CreateListener", e))?;
        Ok(())
    };
    let https = ensure_https_listener(client, lb_arn, tg_arn, config, tags, existing.iter().find(|l| l.port == 443));
    futures::try_join!(http, https)?;
    Ok(())
}

async fn ensure_https_listener(
    client: &elbv2::Client,
    lb_arn: &str,
    tg_arn: &str,
    config: &ShardConfig,
    tags: &[Tag],
    existing: Option<&crate::model::Listener>,
) -> Result<()> {
    let default_cert = config.certificate_arns.first().cloned().unwrap_or_default();
    let (https_arn, present) = match existing {
        Some(https) => {
            let drifted = https.ssl_policy.as_deref() != Some(config.ssl_policy.as_str())
                || https.certificate_arns.first() != Some(&default_cert)
                || https.default_action != format!("forward:{tg_arn}");
            if drifted {
                client
                    .modify_listener()
                    .listener_arn(&https.arn)
                    .ssl_policy(&config.ssl_policy)
                    .certificates(Certificate::builder().certificate_arn(&default_cert).build())
                    .default_actions(forward_to(tg_arn))
                    .send()
                    .await
                    .map_err(|e| aws_error("elbv2", "ModifyListener", e))?;
            }
            (https.arn.clone(), https.certificate_arns.clone())
        }
        None => {
            let created = client
                .create_listener()
                .load_balancer_arn(lb_arn)
                .protocol(ProtocolEnum::Https)
                .port(443)
                .ssl_policy(&config.ssl_policy)
                .certificates(Certificate::builder().certificate_arn(&default_cert).build())
                .default_actions(forward_to(tg_arn))
                .set_tags(Some(tags.to_vec()))
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "CreateListener", e))?;
            let arn = created.listeners().first().and_then(|l| l.listener_arn());
            (arn.ok_or_else(|| no_resource("CreateListener", "HTTPS:443"))?.to_owned(), vec![default_cert])
        }
    };
    let extra: Vec<Certificate> = config
        .certificate_arns
        .iter()
        .skip(1)
        .filter(|arn| !present.contains(arn))
        .map(|arn| Certificate::builder().certificate_arn(arn).build())
        .collect();
    if !extra.is_empty() {
        client
            .add_listener_certificates()
            .listener_arn(&https_arn)
            .set_certificates(Some(extra))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "AddListenerCertificates", e))?;
    }
    Ok(())
}

/// Removes a shard's listeners, ALB and TG, in that order, tolerating what is already gone.
pub async fn delete_shard(client: &elbv2::Client, shard: &Shard) -> Result<()> {
    if let Some(lb) = &shard.load_balancer {
        delete_load_balancer(client, &lb.arn).await?;
    }
    if let Some(tg) = &shard.target_group
        && delete_target_group(client, &tg.arn).await? == TargetGroupDeletion::StillInUse
    {
        return Err(crate::error::StrataError::Aws {
            service: "elbv2",
            operation: "DeleteTargetGroup",
            message: format!(
                "ResourceInUse: target group {} still in use after its ALB's deletion; retry later",
                tg.name
            ),
        });
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetGroupDeletion {
    Deleted,
    /// AWS still answered ResourceInUse when the bounded wait ended.
    StillInUse,
}

/// AWS answers ResourceInUse for a while after the TG's ALB (and so its listeners) was deleted.
const TARGET_GROUP_IN_USE_RETRIES: [Duration; 6] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Deletes a TG, retrying ResourceInUse with backoff for about 16 s in all; a TG that is gone counts as deleted
/// (DeleteTargetGroup succeeds for it).
pub async fn delete_target_group(client: &elbv2::Client, arn: &str) -> Result<TargetGroupDeletion> {
    let mut waits = TARGET_GROUP_IN_USE_RETRIES.iter();
    loop {
        let deleted = client.delete_target_group().target_group_arn(arn).send().await;
        match deleted {
            Ok(_) => return Ok(TargetGroupDeletion::Deleted),
            // moto's answer for a TG already gone (AWS succeeds): a retry after a lost answer meets it.
            Err(err) if err.as_service_error().is_some_and(|e| e.meta().code() == Some("TargetGroupNotFound")) => {
                return Ok(TargetGroupDeletion::Deleted);
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
                match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return Ok(TargetGroupDeletion::StillInUse),
                }
            }
            Err(err) => return Err(aws_error("elbv2", "DeleteTargetGroup", err)),
        }
    }
}

pub async fn delete_load_balancer(client: &elbv2::Client, arn: &str) -> Result<()> {
    // No listeners to read means the ALB is already gone.
    let listeners = read::listeners_of(client, arn).await.unwrap_or_default();
    for listener in listeners {
        let deleted = client.delete_listener().listener_arn(&listener.arn).send().await;
        if let Err(err) = deleted.as_ref().map_err(|e| e.as_service_error())
            && !err.is_some_and(|e| e.is_listener_not_found_exception())
        {
            return Err(aws_error("elbv2", "DeleteListener", deleted.unwrap_err()));
        }
    }
    // DeleteLoadBalancer succeeds for an ALB that no longer exists.
    client
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "DeleteLoadBalancer", e))?;
    Ok(())
}

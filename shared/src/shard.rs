//! Building, updating and removing one shard (ALB + listeners + target group). Every step first looks at what
//! exists, so a retry after a crash or a timeout finishes the shard instead of duplicating it.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag, TargetTypeEnum,
};

use crate::aws::elbv2 as read;
use crate::error::{Result, aws_error};
use crate::model::{Shard, Tags};
use crate::names::{FleetName, MANAGED_BY, ShardIndex, ShardNames, TAG_FLEET, TAG_MANAGED_BY, TAG_SHARD};
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
}

impl ShardConfig {
    pub fn from_spec(spec: &FleetSpec, policy_tags: Tags) -> Self {
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
        }
    }
}

impl ShardConfig {
    /// A new shard's configuration, read from a serving shard observed with `Depth::configuration`, so that
    /// shards never drift: subnets, security groups, scheme, IP type, ALB attributes, certificates (default and
    /// extra), TLS policy, target group settings and attributes.
    pub fn cloned_from(shard: &Shard, load_balancer_tags: Tags) -> Option<Self> {
        let lb = shard.load_balancer.as_ref()?;
        let tg = shard.target_group.as_ref()?;
        let https = shard.listeners.iter().find(|l| l.port == 443)?;
        Some(Self {
            vpc_id: tg.vpc_id.clone(),
            subnet_ids: lb.subnet_ids.clone(),
            security_group_ids: lb.security_group_ids.clone(),
            scheme: lb.scheme.clone(),
            ip_address_type: lb.ip_address_type.clone(),
            load_balancer_attributes: lb.attributes.clone(),
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
        })
    }
}

fn ownership_tags(fleet: &FleetName, index: ShardIndex) -> Vec<Tag> {
    [
        (TAG_FLEET, fleet.as_str().to_owned()),
        (TAG_SHARD, index.get().to_string()),
        (TAG_MANAGED_BY, MANAGED_BY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| Tag::builder().key(k).value(v).build())
    .collect()
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
    let names = ShardNames::new(fleet, index);
    let target_group = async {
        match existing.and_then(|s| s.target_group.as_ref()) {
            Some(tg) => {
                if health_check_drifted(tg, config) {
                    update_target_group(client, &tg.arn, config).await?;
                }
                if drifted(&tg.attributes, &config.target_group_attributes) {
                    set_target_group_attributes(client, &tg.arn, &config.target_group_attributes).await?;
                }
                Ok(tg.arn.clone())
            }
            None => {
                let arn = create_target_group(client, fleet, index, &names.target_group, config).await?;
                set_target_group_attributes(client, &arn, &config.target_group_attributes).await?;
                Ok(arn)
            }
        }
    };
    let load_balancer = async {
        match existing.and_then(|s| s.load_balancer.as_ref()) {
            Some(lb) => {
                if drifted(&lb.tags, &config.load_balancer_tags) {
                    client
                        .add_tags()
                        .resource_arns(&lb.arn)
                        .set_tags(Some(tags_from(&config.load_balancer_tags)))
                        .send()
                        .await
                        .map_err(|e| aws_error("elbv2", "AddTags", e))?;
                }
                if drifted(&lb.attributes, &config.load_balancer_attributes) {
                    set_load_balancer_attributes(client, &lb.arn, &config.load_balancer_attributes).await?;
                }
                Ok::<_, crate::error::StrataError>((lb.arn.clone(), false))
            }
            None => {
                let arn = create_load_balancer(client, fleet, index, &names.load_balancer, config).await?;
                set_load_balancer_attributes(client, &arn, &config.load_balancer_attributes).await?;
                Ok((arn, true))
            }
        }
    };
    let (tg_arn, (lb_arn, fresh)) = futures::try_join!(target_group, load_balancer)?;
    // A new ALB has no listener; an observed one brings its listeners (read again only when not observed).
    let known = match (fresh, existing) {
        (true, _) => Some(Vec::new()),
        (false, Some(shard)) if !shard.listeners.is_empty() => Some(shard.listeners.clone()),
        _ => None,
    };
    ensure_listeners(client, &lb_arn, &tg_arn, config, &ownership_tags(fleet, index), known).await?;
    Ok((lb_arn, tg_arn))
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

async fn create_target_group(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    name: &str,
    config: &ShardConfig,
) -> Result<String> {
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
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .matcher(Matcher::builder().http_code("200").build())
        .set_tags(Some(ownership_tags(fleet, index)))
        .send()
        .await;
    match created {
        Ok(out) => Ok(out.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_owned()),
        // A concurrent invocation made it first: TG names are unique per region, so it is ours to use.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_duplicate_target_group_name_exception()) => {
            let found = client
                .describe_target_groups()
                .names(name)
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "DescribeTargetGroups", e))?;
            Ok(found.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_owned())
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
        .healthy_threshold_count(config.healthy_threshold)
        .unhealthy_threshold_count(config.unhealthy_threshold)
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyTargetGroup", e))?;
    Ok(())
}

async fn set_target_group_attributes(client: &elbv2::Client, arn: &str, attributes: &Tags) -> Result<()> {
    let attrs =
        attributes.iter().map(|(k, v)| elbv2::types::TargetGroupAttribute::builder().key(k).value(v).build()).collect();
    client
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyTargetGroupAttributes", e))?;
    Ok(())
}

async fn create_load_balancer(
    client: &elbv2::Client,
    fleet: &FleetName,
    index: ShardIndex,
    name: &str,
    config: &ShardConfig,
) -> Result<String> {
    let mut tags = ownership_tags(fleet, index);
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
        .await
        .map_err(|e| aws_error("elbv2", "CreateLoadBalancer", e))?;
    Ok(created.load_balancers().first().and_then(|l| l.load_balancer_arn()).unwrap_or_default().to_owned())
}

async fn set_load_balancer_attributes(client: &elbv2::Client, arn: &str, attributes: &Tags) -> Result<()> {
    if attributes.is_empty() {
        return Ok(());
    }
    let attrs = attributes
        .iter()
        .map(|(k, v)| elbv2::types::LoadBalancerAttribute::builder().key(k).value(v).build())
        .collect();
    client
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| aws_error("elbv2", "ModifyLoadBalancerAttributes", e))?;
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
            (
                created.listeners().first().and_then(|l| l.listener_arn()).unwrap_or_default().to_owned(),
                vec![default_cert],
            )
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
    if let Some(tg) = &shard.target_group {
        // DeleteTargetGroup succeeds for a TG that no longer exists.
        client
            .delete_target_group()
            .target_group_arn(&tg.arn)
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "DeleteTargetGroup", e))?;
    }
    Ok(())
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

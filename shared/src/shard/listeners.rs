//! A shard's listeners as the completion plan says: HTTP:80 answers 301 to HTTPS; HTTPS:443 terminates TLS and
//! forwards to the target group. Listeners carry the ownership tags too, so IAM can scope their changes by tag.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::{
    Action, ActionTypeEnum, Certificate, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag,
};

use super::no_resource;
use crate::error::{Result, aws_error};
use crate::plan::shard::{CompletionPlan, HttpsStep, ShardConfig};

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

/// Where a shard's listeners go and what they carry.
pub(super) struct ShardListeners<'a> {
    pub client: &'a elbv2::Client,
    pub lb_arn: &'a str,
    pub tg_arn: &'a str,
    pub config: &'a ShardConfig,
    pub tags: &'a [Tag],
}

/// HTTP and HTTPS side by side.
pub(super) async fn ensure_listeners(shard: ShardListeners<'_>, plan: &CompletionPlan) -> Result<()> {
    let http = async {
        if !plan.create_http {
            return Ok(());
        }
        shard
            .client
            .create_listener()
            .load_balancer_arn(shard.lb_arn)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(redirect_to_https())
            .set_tags(Some(shard.tags.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "CreateListener", e))?;
        Ok(())
    };
    futures::try_join!(http, ensure_https_listener(&shard, plan))?;
    Ok(())
}

async fn ensure_https_listener(shard: &ShardListeners<'_>, plan: &CompletionPlan) -> Result<()> {
    let ShardListeners { client, lb_arn, tg_arn, config, tags } = *shard;
    let default_cert = config.certificate_arns.first().cloned().unwrap_or_default();
    let https_arn = match &plan.https {
        HttpsStep::Keep { arn } => arn.clone(),
        HttpsStep::Modify { arn } => {
            client
                .modify_listener()
                .listener_arn(arn)
                .ssl_policy(&config.ssl_policy)
                .certificates(Certificate::builder().certificate_arn(&default_cert).build())
                .default_actions(forward_to(tg_arn))
                .send()
                .await
                .map_err(|e| aws_error("elbv2", "ModifyListener", e))?;
            arn.clone()
        }
        HttpsStep::Create => {
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
            arn.ok_or_else(|| no_resource("CreateListener", "HTTPS:443"))?.to_owned()
        }
    };
    if !plan.add_certificates.is_empty() {
        let extra = plan.add_certificates.iter().map(|arn| Certificate::builder().certificate_arn(arn).build());
        client
            .add_listener_certificates()
            .listener_arn(&https_arn)
            .set_certificates(Some(extra.collect()))
            .send()
            .await
            .map_err(|e| aws_error("elbv2", "AddListenerCertificates", e))?;
    }
    Ok(())
}

//! AWS adapters: one module per service, each turning SDK shapes into the plain model and back.
//! Clients are built once per cold start from the standard environment (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`).

pub mod autoscaling;
pub mod cloudwatch;
pub mod elbv2;
pub mod route53;
pub mod wafv2;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::error::{Result, StrataError};
use crate::settings::Settings;

/// The clients the Strata functions use, built once.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub region: String,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub route53: aws_sdk_route53::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub wafv2: aws_sdk_wafv2::Client,
}

impl AwsClients {
    /// Loads the shared config from the environment, with the retries `settings` say (adaptive by default).
    pub async fn from_env(settings: &Settings) -> Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(attempts) = settings.adaptive_retry_attempts {
            loader = loader.retry_config(RetryConfig::adaptive().with_max_attempts(attempts));
        }
        Self::from_config(&loader.load().await)
    }

    pub fn from_config(config: &SdkConfig) -> Result<Self> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| StrataError::Config("no AWS region: set AWS_REGION".into()))?;
        Ok(Self {
            region,
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            wafv2: aws_sdk_wafv2::Client::new(config),
        })
    }
}

/// Splits ids into the batches an API accepts (ELBv2 describes take 20 ARNs).
pub fn batches<T>(items: &[T], size: usize) -> impl Iterator<Item = &[T]> {
    items.chunks(size.max(1))
}

/// A function's cold start: its settings, its logging and its AWS clients, once.
pub async fn cold_start(function: &str) -> crate::Result<(Settings, AwsClients)> {
    let settings = Settings::from_env(function);
    crate::telemetry::init_logging(&settings.log_filter);
    let aws = AwsClients::from_env(&settings).await?;
    Ok((settings, aws))
}

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use strata_core::aws::AwsClients;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    strata_core::telemetry::init_logging();
    let aws = AwsClients::from_env().await?;
    let settings = alb_scaler::settings_from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| alb_scaler::handle(&aws, &settings, event))).await
}

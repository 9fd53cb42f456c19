use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use strata_core::aws::cold_start;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, aws) = cold_start("alb-scaler").await?;
    let settings = alb_scaler::scaler_settings(&settings);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| alb_scaler::handle(&aws, &settings, event))).await
}

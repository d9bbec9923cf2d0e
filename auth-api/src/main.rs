//! The Auth API as an API Gateway Lambda function.

use roster_auth_api::config::AuthConfig;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init(LogFormat::from_env());
    let config = AuthConfig::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    let deps = config.deps(&sdk)?;
    // During init, with the CPU boosted, rather than in the first invocation at its share.
    Box::pin(deps.load_before_serving()).await;
    roster_platform::http::run_on_lambda(roster_auth_api::router(deps)).await
}

//! The User API as an API Gateway Lambda function.

use roster_platform::guards::{ApiKeySettings, TokenSettings};
use roster_platform::telemetry::{self, LogFormat};
use roster_user_api::config::UserConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init(LogFormat::from_env());
    let config = UserConfig::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    let deps = config.deps(
        &sdk,
        &TokenSettings::from_env()?,
        &ApiKeySettings::from_env()?,
    )?;
    // During init, with the CPU boosted, rather than in the first invocation at its share.
    Box::pin(deps.load_before_serving()).await;
    roster_platform::http::run_on_lambda(roster_user_api::router(deps)).await
}

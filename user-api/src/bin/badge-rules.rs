//! The badge rules as an SQS-triggered Lambda function.

use roster_platform::telemetry::{self, LogFormat};
use roster_user_api::config::UserConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let profiles = UserConfig::from_env()?.profiles(&roster_platform::aws::from_env().await);
    roster_platform::lambda::run_queue_handler(roster_user_api::badge_rules::subscriber(profiles))
        .await
}

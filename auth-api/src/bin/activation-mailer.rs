//! The activation mailer (the mail of `UserRegistered` and `ActivationCodeReissued`) as an
//! SQS-triggered Lambda function.

use roster_auth_api::config::MailerConfig;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let config = MailerConfig::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    roster_platform::lambda::run_queue_handler(config.subscriber(&sdk)).await
}

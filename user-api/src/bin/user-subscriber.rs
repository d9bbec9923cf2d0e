//! The User API's EventBridge subscriber as an SQS-triggered Lambda function.

use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    roster_platform::lambda::run_queue_handler(roster_user_api::subscriber::subscriber()).await
}

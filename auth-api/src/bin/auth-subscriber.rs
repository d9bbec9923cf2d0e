//! The Auth API's EventBridge subscriber as an SQS-triggered Lambda function.

use roster_auth_api::config::Stores;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let stores = Stores::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    let subscriber = roster_auth_api::subscriber::subscriber(stores.table(&sdk), stores.pool(&sdk));
    roster_platform::lambda::run_queue_handler(subscriber).await
}

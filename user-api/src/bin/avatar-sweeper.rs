//! The uploads sweep as a scheduled Lambda function (every minute): each user deleted more than
//! an upload URL's lifetime ago has the upload prefix emptied once more, so an upload through a
//! URL issued before the deletion leaves nothing behind.

use lambda_runtime::{LambdaEvent, service_fn};
use roster_platform::telemetry::{self, LogFormat};
use roster_user_api::config::UserConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let profiles = UserConfig::from_env()?.profiles(&roster_platform::aws::from_env().await);
    let profiles = &profiles;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let report = profiles.sweep_deleted_uploads(chrono::Utc::now()).await?;
            tracing::info!(?report, "swept deleted users' uploads");
            Ok::<_, lambda_runtime::Error>(report)
        },
    ))
    .await
}

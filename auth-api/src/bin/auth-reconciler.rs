//! The registration reconciler as a scheduled Lambda function: rolls back registrations left
//! pending by a process that died or a rollback that could not finish.

use lambda_runtime::{LambdaEvent, service_fn};
use roster_auth_api::config::Stores;
use roster_auth_api::registration::{ABANDONED_AFTER_SECONDS, reconcile};
use roster_platform::config::parsed_or;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let sdk = roster_platform::aws::from_env().await;
    let stores = Stores::from_env()?;
    let (table, identity) = (stores.table(&sdk), stores.pool(&sdk));
    let after = chrono::Duration::seconds(parsed_or(
        "RECONCILE_AFTER_SECONDS",
        ABANDONED_AFTER_SECONDS,
    )?);
    let (table, identity) = (&table, &identity);
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let report = reconcile(table, identity, after).await?;
            tracing::info!(?report, "reconciled registrations");
            Ok::<_, lambda_runtime::Error>(report)
        },
    ))
    .await
}

//! The registration reconciler as a scheduled Lambda function: rolls back registrations left
//! pending by a process that died or a rollback that could not finish.

use lambda_runtime::{LambdaEvent, service_fn};
use roster_auth_api::identity::Cognito;
use roster_auth_api::registration::{ABANDONED_AFTER_SECONDS, reconcile};
use roster_auth_api::store::AuthTable;
use roster_platform::config::{parsed_or, required};
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let sdk = roster_platform::aws::from_env().await;
    let table = AuthTable::new(aws_sdk_dynamodb::Client::new(&sdk), required("AUTH_TABLE")?);
    let identity = Cognito::new(
        aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        required("USER_POOL_ID")?,
    );
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

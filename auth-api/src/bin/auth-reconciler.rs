//! The registration reconciler as a scheduled Lambda function (every minute): rolls back
//! registrations left pending by a process that died or a rollback that could not finish, and
//! checks one slice of the identities against the pool, recording each whose Cognito user was
//! deleted outside Roster (published as `IdentityDeleted`: the User API deletes the profile).
//! `RECONCILE_IDENTITY_SEGMENTS` (default 1440) sets how many runs a round of every identity
//! takes: each run checks `users / segments` of them.

use lambda_runtime::{LambdaEvent, service_fn};
use roster_auth_api::config::Stores;
use roster_auth_api::registration::{
    ABANDONED_AFTER_SECONDS, IDENTITY_SEGMENTS, IdentitySlice, reconcile_with,
};
use roster_platform::config::parsed_or;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let sdk = roster_platform::aws::from_env().await;
    let stores = Stores::from_env()?;
    let (table, directory) = (stores.table(&sdk), stores.pool(&sdk));
    let after = chrono::Duration::seconds(parsed_or(
        "RECONCILE_AFTER_SECONDS",
        ABANDONED_AFTER_SECONDS,
    )?);
    let segments: u32 = parsed_or("RECONCILE_IDENTITY_SEGMENTS", IDENTITY_SEGMENTS)?;
    let (table, directory) = (&table, &directory);
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let slice = IdentitySlice::of_minute(chrono::Utc::now(), segments);
            let report = reconcile_with(table, directory, after, slice).await?;
            tracing::info!(?report, ?slice, "reconciled registrations and identities");
            Ok::<_, lambda_runtime::Error>(report)
        },
    ))
    .await
}

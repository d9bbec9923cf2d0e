//! AWS SDK configuration, built once at start-up.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_eventbridge::config::Credentials;

/// How long one attempt of an AWS call may take before the SDK gives up on it and retries
/// (timeouts are retried like any transient failure). DynamoDB and Cognito answer in
/// milliseconds; a call that hangs must not hold a request until API Gateway's 29 s limit.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one AWS call may take, its retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The timeouts every client of this workspace uses.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The standard provider chain: on Lambda the function's role and region; elsewhere the usual
/// environment variables (`AWS_ENDPOINT_URL` included, which is how a local endpoint is used).
pub async fn from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}

/// Configuration for a local AWS endpoint (moto): explicit endpoint and region and throwaway
/// static credentials, so a developer's real AWS credentials are never picked up by accident.
pub async fn local(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .timeout_config(timeouts())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            "roster-local",
            "roster-local",
            None,
            None,
            "roster-local",
        ))
        .load()
        .await
}

/// The string value of a Secrets Manager secret; the error is a printable account of the
/// failure (never the secret).
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<String, String> {
    let value = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string())?;
    value
        .secret_string
        .ok_or_else(|| format!("secret {secret_id} has no string value"))
}

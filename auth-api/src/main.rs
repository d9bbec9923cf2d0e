//! The Auth API as an API Gateway Lambda function.

use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init(LogFormat::from_env());
    roster_platform::http::run_on_lambda(roster_auth_api::router()).await
}

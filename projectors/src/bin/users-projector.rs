//! The users table's stream projector as a DynamoDB Streams-triggered Lambda function.

use roster_platform::events::EventPublisher;
use roster_platform::telemetry::{self, LogFormat};
use roster_platform::{aws, config, lambda};
use roster_projectors::StreamProjector;
use roster_projectors::users_table::UsersTableProjection;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init(LogFormat::from_env());
    let bus = config::required("EVENT_BUS_NAME")?;
    let sdk = aws::from_env().await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    lambda::run_stream_handler(StreamProjector::new(
        "users-projector",
        UsersTableProjection,
        publisher,
    ))
    .await
}

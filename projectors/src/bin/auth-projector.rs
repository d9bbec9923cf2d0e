//! The auth table's stream projector as a DynamoDB Streams-triggered Lambda function.

use roster_projectors::auth_table::AuthTableProjection;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    roster_projectors::serve("auth-projector", AuthTableProjection).await
}

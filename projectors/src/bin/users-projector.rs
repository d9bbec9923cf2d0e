//! The users table's stream projector as a DynamoDB Streams-triggered Lambda function.

use roster_projectors::users_table::UsersTableProjection;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    roster_projectors::serve("users-projector", UsersTableProjection).await
}

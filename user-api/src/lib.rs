//! Roster User API: owns profiles, badges, status and assets (DynamoDB and S3). One axum
//! router, hosted by `lambda_http` on AWS and by the local stack on a laptop; plus the
//! subscriber that turns Auth API events into profile changes.

pub mod subscriber;

use axum::Router;
use roster_platform::http::with_common_routes;

/// Name of this service in logs and health answers.
pub const SERVICE: &str = "user-api";

/// The User API's routes.
pub fn router() -> Router {
    with_common_routes(Router::new(), SERVICE)
}

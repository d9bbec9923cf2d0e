//! Roster Auth API: owns identities and credentials (Cognito) and the uniqueness of email,
//! name and handle. One axum router, hosted by `lambda_http` on AWS and by the local stack on
//! a laptop; plus the subscriber that applies User API events to Cognito.

pub mod subscriber;

use axum::Router;
use roster_platform::http::with_common_routes;

/// Name of this service in logs and health answers.
pub const SERVICE: &str = "auth-api";

/// The Auth API's routes.
pub fn router() -> Router {
    with_common_routes(Router::new(), SERVICE)
}

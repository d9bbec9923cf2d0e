//! `GET /user/activate/{activationCode}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::PathParams;
use roster_platform::problem::Problem;

use super::{WriteContext, user_response};
use crate::AppState;
use crate::domain::ActivationCode;
use crate::error::UserError;
use crate::model::User;

#[utoipa::path(
    get, path = "/user/activate/{activationCode}", tag = "users",
    params(("activationCode" = String, Path, description = "The code the Auth API returned at registration", pattern = r"^[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "Activated: the user is CONFIRMED", body = User),
        (status = 400, description = "Malformed code", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or already used code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is no longer UNCONFIRMED (suspended or archived)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code is older than its 7-day lifetime", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Uses an activation code, once: UNCONFIRMED becomes CONFIRMED. Only the code's hash is
/// looked up; the code is never stored or logged.
pub async fn activate(
    State(state): State<AppState>,
    PathParams(code): PathParams<String>,
    WriteContext(context): WriteContext,
) -> Result<Response, UserError> {
    let code = ActivationCode::parse(&code)?;
    let profile = state.profiles.activate(&code, &context).await?;
    tracing::info!(user = %profile.id, "activated");
    Ok(user_response(&state, StatusCode::OK, &profile))
}

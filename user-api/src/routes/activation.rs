//! `POST /user/activate` (the code in the body) and the seed's `GET /user/activate/{code}`.
//! Prefer the POST: a URL is written to API Gateway's access logs, traces and WAF samples, and
//! the code in it is a credential until it is used.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::{JsonBody, PathParams};
use roster_platform::problem::Problem;
use serde::Deserialize;

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
/// looked up; the code is never stored or logged. The seed's form; prefer `POST /user/activate`.
pub async fn activate(
    State(state): State<AppState>,
    PathParams(code): PathParams<String>,
    WriteContext(context): WriteContext,
) -> Result<Response, UserError> {
    use_code(&state, &code, &context).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"activationCode": "9f86d081884c7d659a2feaa0c55ad015"}))]
pub struct ActivationRequest {
    /// The code the Auth API returned at registration.
    #[schema(pattern = r"^[0-9a-fA-F]{32}$")]
    activation_code: String,
}

#[utoipa::path(
    post, path = "/user/activate", tag = "users",
    request_body = ActivationRequest,
    responses(
        (status = 200, description = "Activated: the user is CONFIRMED", body = User),
        (status = 400, description = "Malformed code or body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or already used code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is no longer UNCONFIRMED (suspended or archived)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code is older than its 7-day lifetime", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Uses an activation code sent in the body, once: UNCONFIRMED becomes CONFIRMED. The code
/// stays out of URLs, so out of access logs, traces and WAF samples.
pub async fn activate_in_body(
    State(state): State<AppState>,
    WriteContext(context): WriteContext,
    JsonBody(request): JsonBody<ActivationRequest>,
) -> Result<Response, UserError> {
    use_code(&state, &request.activation_code, &context).await
}

async fn use_code(
    state: &AppState,
    code: &str,
    context: &crate::profiles::Context,
) -> Result<Response, UserError> {
    let code = ActivationCode::parse(code)?;
    let profile = state.profiles.activate(&code, context).await?;
    tracing::info!(user = %profile.id, "activated");
    Ok(user_response(state, StatusCode::OK, &profile))
}

//! `POST /auth/activation/resend`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use roster_platform::extract::JsonBody;
use roster_platform::problem::Problem;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::activation::ResendTarget;
use crate::domain::{Email, InputError};
use crate::error::AuthError;
use roster_events::UserId;

/// Whose activation code to send again: exactly one of `userId` and `email`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct ResendRequest {
    /// The user's id (its Cognito `sub`).
    #[schema(pattern = r"^[A-Za-z0-9-]{1,64}$")]
    user_id: Option<String>,
    #[schema(
        max_length = 254,
        pattern = r"^[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"
    )]
    email: Option<String>,
}

/// The answer to a resend, whoever the target is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResendAccepted {
    status: &'static str,
    detail: &'static str,
}

#[utoipa::path(
    post,
    path = "/auth/activation/resend",
    tag = "registration",
    request_body = ResendRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the target is a user awaiting activation: if it is, a new code is issued (the earlier ones stop working) and mailed to it", body = ResendAccepted),
        (status = 400, description = "Invalid input: not exactly one of `userId` and `email`, or a malformed one", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too soon after the last resend for this target, or too many today: `Retry-After` says when to try again. The same limits apply to targets that are no user, so this tells nothing about the account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Sends a user's activation code again: a new code (a new generation) whose mail follows
/// from the event path; the earlier codes stop working. Always 202 for a valid request within
/// the limits, whether the target is a user awaiting activation, an activated user or nobody.
pub async fn resend(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ResendRequest>,
) -> Result<(StatusCode, Json<ResendAccepted>), AuthError> {
    let target = match (request.user_id, request.email) {
        (Some(id), None) => ResendTarget::User(UserId::parse(&id)?),
        (None, Some(email)) => ResendTarget::Email(Email::parse(&email)?),
        _ => return Err(InputError::ResendTarget.into()),
    };
    state.activation.resend(&target).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResendAccepted {
            status: "accepted",
            detail: "if this is a user awaiting activation, a new code is on its way to its email",
        }),
    ))
}

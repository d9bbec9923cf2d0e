//! Password reset and change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use serde::Deserialize;

use crate::AppState;
use crate::domain::{Email, NewPassword, PresentedPassword, ResetCode};
use crate::error::AuthError;
use crate::password_change::ChangeCommand;
use crate::password_reset::ConfirmCommand;
use roster_platform::problem::Problem;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgotRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"
    )]
    email: String,
    client_id: Option<String>,
}

/// The answer to a password-reset request, whatever the account.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Accepted {
    status: &'static str,
    detail: &'static str,
}

#[utoipa::path(
    post,
    path = "/auth/password/forgot",
    tag = "password",
    request_body = ForgotRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the account exists", body = Accepted),
        (status = 400, description = "Invalid input or unknown clientId", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the app client (`clientId`, or the default client when none is named): `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this caller (API Gateway's throttle); never Cognito's per-user limit, which would tell that the account exists", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/password/forgot`: always 202, whether or not the account exists, after the same
/// work either way.
pub async fn forgot(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<ForgotRequest>,
) -> Result<(StatusCode, Json<Accepted>), AuthError> {
    let email = Email::parse(&request.email)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    caller.may_use_client(client_id)?;
    state.password_reset.request(&email, client_id).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "accepted",
            detail: "if the account exists, a reset code is on its way to its email",
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"
    )]
    email: String,
    #[schema(pattern = r"^[!-~]{1,64}$")]
    code: String,
    #[schema(
        min_length = 10,
        max_length = 256,
        pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{10,256}$"
    )]
    new_password: String,
    client_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/password/confirm",
    tag = "password",
    request_body = ConfirmRequest,
    responses(
        (status = 204, description = "The new password is set"),
        (status = 400, description = "Wrong or expired code, weak password, or invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the app client (`clientId`, or the default client when none is named): `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/password/confirm`: sets the new password with the emailed code, and ends every
/// session of the account.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<ConfirmRequest>,
) -> Result<StatusCode, AuthError> {
    let email = Email::parse(&request.email)?;
    let code = ResetCode::parse(&request.code)?;
    let new_password = NewPassword::parse(&request.new_password)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    caller.may_use_client(client_id)?;
    let command = ConfirmCommand {
        email,
        code,
        new_password,
        client_id: client_id.to_owned(),
    };
    state.password_reset.confirm(&command).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequest {
    #[schema(min_length = 1, max_length = 256)]
    old_password: String,
    #[schema(
        min_length = 10,
        max_length = 256,
        pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{10,256}$"
    )]
    new_password: String,
}

#[utoipa::path(
    post,
    path = "/auth/password/change",
    tag = "password",
    request_body = ChangeRequest,
    responses(
        (status = 204, description = "The password is changed"),
        (status = 400, description = "Weak password or invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `POST /auth/password/change` (Bearer): the signed-in user changes its own password, proving
/// the old one first. Every session of the user ends, the caller's included (refresh tokens
/// revoked, access and id tokens refused within the revocation bound): sign in again.
pub async fn change(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<ChangeRequest>,
) -> Result<StatusCode, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    let command = ChangeCommand {
        old: PresentedPassword::parse(&request.old_password)?,
        new: NewPassword::parse(&request.new_password)?,
    };
    state.password_change.change(&verified, &command).await?;
    Ok(StatusCode::NO_CONTENT)
}

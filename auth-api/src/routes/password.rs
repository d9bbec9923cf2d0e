//! Password reset and change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use serde::Deserialize;

use crate::AppState;
use crate::domain::{Email, InputError, NewPassword, PresentedPassword};
use crate::error::AuthError;
use crate::identity::IdentityError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgotRequest {
    email: String,
    client_id: Option<String>,
}

/// `POST /auth/password/forgot`: always 202, whether or not the account exists.
pub async fn forgot(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ForgotRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), AuthError> {
    let email = Email::parse(&request.email)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    match state.identity.forgot_password(client_id, &email).await {
        Ok(()) | Err(IdentityError::NotAuthorized) => {}
        Err(IdentityError::Throttled) => return Err(AuthError::Throttled),
        // Other failures are ours to fix, not the caller's to learn about.
        Err(error) => tracing::error!(%error, "starting a password reset failed"),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "status": "accepted",
            "detail": "if the account exists, a reset code is on its way to its email"
        })),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    email: String,
    code: String,
    new_password: String,
    client_id: Option<String>,
}

/// `POST /auth/password/confirm`: sets the new password with the emailed code.
pub async fn confirm(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ConfirmRequest>,
) -> Result<StatusCode, AuthError> {
    let email = Email::parse(&request.email)?;
    let code = request.code.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(InputError::Empty("code").into());
    }
    let password = NewPassword::parse(&request.new_password)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    state
        .identity
        .confirm_forgot_password(client_id, &email, code, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequest {
    old_password: String,
    new_password: String,
}

/// `POST /auth/password/change` (Bearer): the signed-in user changes its own password, proving
/// the old one first.
pub async fn change(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<ChangeRequest>,
) -> Result<StatusCode, AuthError> {
    let verified = state.verifier.verify(&token, TokenUse::Access).await?;
    let old = PresentedPassword::parse(&request.old_password)?;
    let new = NewPassword::parse(&request.new_password)?;
    let username = verified.username.as_deref().unwrap_or(&verified.sub);
    match state
        .identity
        .sign_in(&verified.client_id, username, &old)
        .await
    {
        Ok(_) => {}
        Err(IdentityError::NotAuthorized) => return Err(AuthError::WrongPassword),
        Err(error) => return Err(error.into()),
    }
    state.identity.set_password(username, &new).await?;
    tracing::info!(sub = %verified.sub, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

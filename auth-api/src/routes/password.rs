//! Password reset and change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use serde::Deserialize;

use crate::AppState;
use crate::cognito::CognitoError;
use crate::domain::{Email, InputError, NewPassword, PresentedPassword};
use crate::error::AuthError;
use crate::events;
use roster_events::auth::{PasswordChangeKind, PasswordChanged};
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
    // The same calls, in the same order, and the same answer whether or not the account
    // exists: the email's reservation (the Auth API's own table), ForgotPassword (Cognito hides
    // unknown users), then a request record whose stream INSERT becomes
    // PasswordResetRequested for a user. Cognito's refusals (a throttled or disabled user) are
    // logged, never told: they would say the account exists.
    let user_id = match state
        .revocations
        .table()
        .user_id_by_email(email.as_str())
        .await
    {
        Ok(user_id) => user_id,
        Err(error) => {
            tracing::error!(%error, "reading the email's reservation failed");
            None
        }
    };
    match state.directory.forgot_password(client_id, &email).await {
        Ok(()) | Err(CognitoError::NotAuthorized) => {}
        Err(CognitoError::Throttled) => tracing::warn!("a password reset was throttled"),
        // Other failures are ours to fix, not the caller's to learn about.
        Err(error) => tracing::error!(%error, "starting a password reset failed"),
    }
    if let Err(error) = state
        .revocations
        .table()
        .record_reset_request(email.as_str(), user_id.as_deref(), &events::now())
        .await
    {
        tracing::error!(%error, "recording a password reset request failed");
    }
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
    let code = request.code.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(InputError::Empty("code").into());
    }
    let password = NewPassword::parse(&request.new_password)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    caller.may_use_client(client_id)?;
    state
        .directory
        .confirm_forgot_password(client_id, &email, code, &password)
        .await?;
    end_every_session(&state, &email).await;
    let at = events::now();
    let event = PasswordChanged {
        user_id: None,
        email: Some(email.as_str().to_owned()),
        kind: PasswordChangeKind::Reset,
        changed_at: at.clone(),
    };
    state
        .events
        .emit(&[email.as_str(), at.as_str()], at.clone(), event)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// After a reset, every session of the account ends, whoever the account is: a Roster
/// registration, an operator created outside Roster, a user whose email changed since it
/// registered. The user is read from the pool (the reset has succeeded, so nothing can be
/// learnt from that any more), signed out everywhere by its immutable id, and its access and
/// id tokens revoked. The code is used up by now, so a failure here cannot be retried by the
/// caller: it is logged as an error for an operator, and the reset still answers 204.
async fn end_every_session(state: &AppState, email: &Email) {
    let sub = match state.directory.user_id(email).await {
        Ok(Some(sub)) => sub,
        // Deleted between the reset and now: nothing left to sign out.
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "after a password reset, the user could not be read: its sessions were not ended");
            return;
        }
    };
    if let Err(error) = state.directory.sign_out_everywhere(&sub).await {
        tracing::error!(user = %sub, %error, "after a password reset, the global sign-out failed");
    }
    if let Err(error) = state.revocations.revoke(&sub, "PASSWORD_RESET").await {
        tracing::error!(user = %sub, %error, "after a password reset, the tokens could not be revoked");
    }
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
    let old = PresentedPassword::parse(&request.old_password)?;
    let new = NewPassword::parse(&request.new_password)?;
    let username = verified.username.as_deref().unwrap_or(&verified.sub);
    match state
        .directory
        .sign_in(&verified.client_id, username, &old)
        .await
    {
        Ok(_) => {}
        Err(CognitoError::NotAuthorized) => return Err(AuthError::WrongPassword),
        Err(error) => return Err(error.into()),
    }
    state.directory.set_password(username, &new).await?;
    // Every session ends, this one included: the caller signs in again with the new password.
    state.directory.sign_out_everywhere(username).await?;
    state
        .revocations
        .revoke(&verified.sub, "PASSWORD_CHANGED")
        .await
        .map_err(|error| AuthError::Internal(error.to_string()))?;
    tracing::info!(sub = %verified.sub, "password changed");
    let at = events::now();
    let event = PasswordChanged {
        user_id: Some(verified.sub.clone()),
        email: None,
        kind: PasswordChangeKind::Change,
        changed_at: at.clone(),
    };
    state
        .events
        .emit(&[verified.sub.as_str(), at.as_str()], at.clone(), event)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

//! The user's own account: `GET /auth/me/export` and `DELETE /auth/me` (Bearer), and the
//! server-to-server `GET /auth/users/{id}/export` (API key, `users:read`). See
//! [`crate::account`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use roster_events::UserId;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use roster_platform::problem::Problem;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::account::IdentityExport;
use crate::domain::PresentedPassword;
use crate::error::AuthError;

#[utoipa::path(
    get,
    path = "/auth/me/export",
    tag = "account",
    responses(
        (status = 200, description = "Everything the Auth API holds about the caller: the identity record and the user pool's record, secrets left out", body = IdentityExport),
        (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No identity of this user (deleted, or not registered through Roster)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `GET /auth/me/export` (Bearer): the caller's identity part of its data export. The User API
/// answers the profile part (`GET /public/user/me/export`); `roster-client` joins the two.
pub async fn export_me(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Json<IdentityExport>, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    Ok(Json(state.account.export(&verified.sub).await?))
}

#[utoipa::path(
    get,
    path = "/auth/users/{id}/export",
    tag = "account",
    params(("id" = String, Path, description = "The user's id (its Cognito `sub`)")),
    responses(
        (status = 200, description = "Everything the Auth API holds about the user, secrets left out", body = IdentityExport),
        (status = 400, description = "Not a user id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, unknown, revoked or expired API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `users:read` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No identity of this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /auth/users/{id}/export` (API key, `users:read`): the identity part of a user's data
/// export, for the services that answer data-access requests.
pub async fn export_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IdentityExport>, AuthError> {
    let id = UserId::parse(&id)?;
    Ok(Json(state.account.export(id.as_str()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The current password, proven again.
    #[schema(min_length = 1, max_length = 1024)]
    password: String,
}

/// A deletion under way.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletionRequested {
    pub user_id: String,
    /// RFC 3339: when the user asked (the first request's time, for a repeated one).
    pub requested_at: String,
}

#[utoipa::path(
    delete,
    path = "/auth/me",
    tag = "account",
    request_body = DeleteAccountRequest,
    responses(
        (status = 202, description = "The deletion is under way: every session has ended; within seconds the profile and uploads are deleted (`UserDeletionRequested`), then the sign-in, and the email, name and handle are free again (`UserDeleted`)", body = DeletionRequested),
        (status = 400, description = "No password, or invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or revoked access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password is wrong (`/problems/wrong-password`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No identity of this user (deleted, or not registered through Roster)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `DELETE /auth/me` (Bearer): the signed-in user deletes its own account, proving its current
/// password again. The same deletion as `DELETE /user/{id}` follows, by event.
pub async fn delete_me(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<DeleteAccountRequest>,
) -> Result<(StatusCode, Json<DeletionRequested>), AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    let password = PresentedPassword::parse(&request.password)?;
    let requested_at = state.account.request_deletion(&verified, &password).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeletionRequested {
            user_id: verified.sub,
            requested_at: requested_at.as_str().to_owned(),
        }),
    ))
}

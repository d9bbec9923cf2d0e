//! Token verification for S2S callers, done locally with the shared verifier.

use axum::extract::State;
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::{JsonBody, PathParams};
use roster_platform::jwt::{TokenUse, VerifiedToken};
use serde::Deserialize;

use crate::AppState;
use crate::domain::InputError;
use crate::error::AuthError;
use roster_platform::problem::Problem;

fn token_use(raw: &str) -> Result<TokenUse, AuthError> {
    raw.parse()
        .map_err(|()| AuthError::Input(InputError::Empty("tokenType (access or id)")))
}

#[utoipa::path(
    get,
    path = "/auth/token/{token_type}/verify/{token}",
    tag = "tokens",
    params(
        ("token_type" = String, Path, description = "`access` or `id`", pattern = r"^(access|id)$"),
        ("token" = String, Path, description = "The JWT (prefer the POST form)"),
    ),
    responses(
        (status = 200, description = "The token is valid", body = VerifiedToken),
        (status = 400, description = "Unknown token type", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The token is not valid, or missing API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the app client the token was issued to: `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /auth/token/{tokenType}/verify/{token}` (the seed's route; prefer the POST form, since
/// URLs end up in logs).
pub async fn verify_in_path(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathParams((token_type, token)): PathParams<(String, String)>,
) -> Result<Json<VerifiedToken>, AuthError> {
    let expected = token_use(&token_type)?;
    // The key's binding first: a key may not learn whether another client's user was
    // signed out.
    let verified = state.verifier.verify(&token, expected).await?;
    caller.may_use_client(&verified.client_id)?;
    state.not_revoked(&verified).await?;
    Ok(Json(verified))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    token: String,
    /// `access` or `id`.
    #[schema(pattern = r"^(access|id)$")]
    token_type: String,
}

#[utoipa::path(
    post,
    path = "/auth/token/verify",
    tag = "tokens",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "The token is valid", body = VerifiedToken),
        (status = 400, description = "Invalid input or unknown token type", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The token is not valid, or missing API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the app client the token was issued to: `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/token/verify` with `{token, tokenType}`.
pub async fn verify_in_body(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<VerifyRequest>,
) -> Result<Json<VerifiedToken>, AuthError> {
    let expected = token_use(&request.token_type)?;
    // The key's binding first: a key may not learn whether another client's user was
    // signed out.
    let verified = state.verifier.verify(&request.token, expected).await?;
    caller.may_use_client(&verified.client_id)?;
    state.not_revoked(&verified).await?;
    Ok(Json(verified))
}

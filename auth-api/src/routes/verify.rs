//! Token verification for S2S callers, done locally with the shared verifier.

use axum::Json;
use axum::extract::{Path, State};
use roster_platform::extract::JsonBody;
use roster_platform::jwt::{TokenUse, VerifiedToken};
use serde::Deserialize;

use crate::AppState;
use crate::domain::InputError;
use crate::error::AuthError;

fn token_use(raw: &str) -> Result<TokenUse, AuthError> {
    raw.parse()
        .map_err(|()| AuthError::Input(InputError::Empty("tokenType (access or id)")))
}

/// `GET /auth/token/{tokenType}/verify/{token}` (the seed's route; prefer the POST form, since
/// URLs end up in logs).
pub async fn verify_in_path(
    State(state): State<AppState>,
    Path((token_type, token)): Path<(String, String)>,
) -> Result<Json<VerifiedToken>, AuthError> {
    let expected = token_use(&token_type)?;
    Ok(Json(state.verifier.verify(&token, expected).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    token: String,
    token_type: String,
}

/// `POST /auth/token/verify` with `{token, tokenType}`.
pub async fn verify_in_body(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<VerifyRequest>,
) -> Result<Json<VerifiedToken>, AuthError> {
    let expected = token_use(&request.token_type)?;
    Ok(Json(state.verifier.verify(&request.token, expected).await?))
}

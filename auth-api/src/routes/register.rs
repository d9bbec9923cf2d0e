//! `POST /auth/register`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use roster_platform::extract::JsonBody;
use serde::Deserialize;

use crate::AppState;
use crate::domain::{Email, IdempotencyKey, Name, NewPassword, SourceSystem};
use crate::error::AuthError;
use crate::registration::{RegisterCommand, Registered};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    name: String,
    password: String,
    source_system: Option<String>,
}

/// Creates an identity: 201 with the user and its activation code (shown this once), 409
/// naming a taken email, name or handle. With `Idempotency-Key`, a repeat returns the first
/// response and creates nothing.
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<Registered>), AuthError> {
    let command = RegisterCommand {
        email: Email::parse(&request.email)?,
        name: Name::parse(&request.name)?,
        password: NewPassword::parse(&request.password)?,
        source_system: SourceSystem::parse(request.source_system.as_deref())?,
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("\u{0}")))
        .transpose()?;
    let registered = state
        .registrar
        .register(&command, idempotency_key.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

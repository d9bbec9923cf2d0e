//! `POST /auth/register`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::JsonBody;
use roster_platform::http::CorrelationId;
use serde::Deserialize;

use crate::AppState;
use crate::domain::{Email, IdempotencyKey, Name, NewPassword, SourceSystem};
use crate::error::AuthError;
use crate::registration::{RegisterCommand, Registered};
use roster_platform::problem::Problem;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "name": "ada_lovelace", "password": "Analytical-Engine-1", "sourceSystem": "web-shop"}))]
pub struct RegisterRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"
    )]
    email: String,
    /// 3 to 30 letters, digits and single `_`, `.` or `-` between them, starting with a letter.
    #[schema(
        min_length = 3,
        max_length = 30,
        pattern = r"^[A-Za-z](?:[_.-]?[A-Za-z0-9])+$"
    )]
    name: String,
    #[schema(
        min_length = 10,
        max_length = 256,
        pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{10,256}$"
    )]
    password: String,
    #[schema(pattern = r"^[A-Za-z0-9_.-]{1,64}$")]
    source_system: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "registration",
    request_body = RegisterRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body, sent with the same API key, return the first response. Each API key has keys of its own: another API key sending the same value starts a registration of its own")),
    responses(
        (status = 201, description = "Registered. No activation code: an activation mail with it goes to the address (`POST /auth/activation/resend` sends a fresh one)", body = Registered),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the `sourceSystem` (`roster` when none is named): `/problems/source-system-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email, name or handle taken (`field` says which), or the same Idempotency-Key is in progress", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Registration failed and was rolled back; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Creates an identity: 201 with the user (the activation code goes to the address by mail,
/// never to the caller), 409 naming a taken email, name or handle. With `Idempotency-Key`, a
/// repeat by the same API key returns the first response and creates nothing.
pub async fn register(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    correlation: Option<Extension<CorrelationId>>,
    JsonBody(request): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<Registered>), AuthError> {
    let command = RegisterCommand {
        email: Email::parse(&request.email)?,
        name: Name::parse(&request.name)?,
        password: NewPassword::parse(&request.password)?,
        source_system: SourceSystem::parse(request.source_system.as_deref())?,
        correlation_id: correlation.map(|Extension(id)| id.0),
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("\u{0}")))
        .transpose()?
        .map(|key| key.scoped_to(&caller.key_id));
    caller.may_use_source_system(command.source_system.as_str())?;
    let registered = state
        .registrar
        .register(&command, idempotency_key.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

//! Signing in, refreshing and signing out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use serde::Deserialize;

use crate::AppState;
use crate::cognito::{CognitoError, Tokens};
use crate::domain::{Email, PresentedPassword, RefreshToken};
use crate::error::AuthError;
use crate::login::{LoginCommand, LoginOutcome};
use roster_platform::problem::Problem;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[!-?A-~]{1,64}@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"
    )]
    email: String,
    #[schema(min_length = 1, max_length = 256)]
    password: String,
    client_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 400, description = "Invalid input or unknown clientId", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (one answer for both), or missing API key; or, for a user with two-step sign-in on and the right password, `/problems/mfa-required` carrying `session` (an opaque handle) and `expiresIn` (seconds): send it with a code of the authenticator app to `POST /auth/login/mfa`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password reset required; the API key lacks the `auth` scope; or the key is not bound to the app client (`clientId`, or the default client when none is named): `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled or locked out; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/login`: tokens for email and password. An unknown account and a wrong password
/// get the same answer. A user with two-step sign-in on gets 401 `/problems/mfa-required` with
/// a challenge handle instead of tokens.
pub async fn login(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let email = Email::parse(&request.email)?;
    let password = PresentedPassword::parse(&request.password)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    caller.may_use_client(client_id)?;
    let command = LoginCommand {
        email,
        password,
        client_id: client_id.to_owned(),
    };
    match state.login.sign_in(&command, &caller).await? {
        LoginOutcome::Tokens(tokens) => {
            tracing::info!(caller = %caller.name, client_id, "signed in");
            Ok(Json(tokens))
        }
        LoginOutcome::MfaRequired {
            session,
            expires_in,
        } => {
            tracing::info!(caller = %caller.name, client_id, "second factor required");
            Err(AuthError::MfaRequired {
                session,
                expires_in,
            })
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 8192, pattern = r"\S")]
    refresh_token: String,
    client_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/token/refresh",
    tag = "session",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New access and id tokens (no new refresh token)", body = Tokens),
        (status = 400, description = "Invalid input or unknown clientId", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The refresh token is not valid, or missing API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the app client (`clientId`, or the default client when none is named): `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/token/refresh`: new access and id tokens for a refresh token.
pub async fn refresh(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<impl IntoResponse, AuthError> {
    let token = RefreshToken::parse(&request.refresh_token)?;
    let client_id = state.clients.resolve(request.client_id.as_deref())?;
    caller.may_use_client(client_id)?;
    match state.refresh.refresh(client_id, &token).await {
        Ok(tokens) => Ok(Json(tokens)),
        Err(CognitoError::NotAuthorized) => Err(AuthError::InvalidRefreshToken),
        Err(error) => Err(error.into()),
    }
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "session",
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `POST /auth/logout`: global sign-out of the access token's user: its refresh tokens stop
/// working, and every access and id token issued until now is refused by the verify routes
/// and `/public/*` within the revocation bound.
pub async fn logout(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<StatusCode, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    state.logout.sign_out_everywhere(&verified).await?;
    Ok(StatusCode::NO_CONTENT)
}

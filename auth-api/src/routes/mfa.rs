//! Two-step sign-in with an authenticator app: enrolment and removal (Bearer), and the second
//! step of a challenged sign-in (API key).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use roster_platform::api_key_guard::Caller;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use roster_platform::problem::Problem;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::cognito::Tokens;
use crate::domain::{MfaSessionText, PresentedPassword, TotpCode};
use crate::error::AuthError;

/// A started enrolment: put the key into an authenticator app (or scan the URI as a QR
/// code), then confirm with the code it shows.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The key, base32, as authenticator apps take it when typed in.
    secret: String,
    /// `otpauth://totp/Roster:<email>?secret=<secret>&issuer=Roster`.
    otpauth_uri: String,
}

#[utoipa::path(
    post,
    path = "/auth/mfa/totp",
    tag = "mfa",
    responses(
        (status = 200, description = "A new key, pending until confirmed; it replaces any key pending before. Two-step sign-in is not on yet", body = TotpEnrolment),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `POST /auth/mfa/totp` (Bearer): starts enrolling an authenticator app for the signed-in
/// user. The answer is the only place the key appears; it is never logged.
pub async fn start(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Json<TotpEnrolment>, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    let enrolment = state.mfa.start(&verified, &token).await?;
    Ok(Json(TotpEnrolment {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpConfirmRequest {
    /// The 6 digits the authenticator app shows now.
    #[schema(pattern = r"^[0-9]{6}$")]
    code: String,
}

#[utoipa::path(
    post,
    path = "/auth/mfa/totp/confirm",
    tag = "mfa",
    request_body = TotpConfirmRequest,
    responses(
        (status = 204, description = "Two-step sign-in is on: every sign-in from now on asks for a code"),
        (status = 400, description = "The code is not 6 digits (`/problems/invalid-input`), or it is wrong or no enrolment was started (`/problems/invalid-code`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `POST /auth/mfa/totp/confirm` (Bearer): proves the pending key with the app's current code
/// and turns two-step sign-in on (`MfaEnabled`). The user's sessions go on.
pub async fn confirm(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<TotpConfirmRequest>,
) -> Result<StatusCode, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    let code = TotpCode::parse(&request.code)?;
    state.mfa.confirm(&verified, &token, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpDisableRequest {
    /// The user's current password.
    #[schema(min_length = 1, max_length = 256)]
    password: String,
}

#[utoipa::path(
    delete,
    path = "/auth/mfa/totp",
    tag = "mfa",
    request_body = TotpDisableRequest,
    responses(
        (status = 204, description = "Two-step sign-in is off (also when it was not on)"),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled or locked out; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `DELETE /auth/mfa/totp` (Bearer, the current password in the body): turns two-step sign-in
/// off (`MfaDisabled`). The password is asked again so that a token left in an open browser
/// cannot remove the second factor.
pub async fn disable(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    JsonBody(request): JsonBody<TotpDisableRequest>,
) -> Result<StatusCode, AuthError> {
    let verified = state.verify_token(&token, TokenUse::Access).await?;
    let password = PresentedPassword::parse(&request.password)?;
    state.mfa.disable(&verified, &token, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaLoginRequest {
    /// The `session` of the `/problems/mfa-required` answer to `POST /auth/login`.
    #[schema(min_length = 1, max_length = 4096)]
    session: String,
    /// The 6 digits the authenticator app shows now.
    #[schema(pattern = r"^[0-9]{6}$")]
    code: String,
    /// If named, the app client the sign-in used.
    client_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/login/mfa",
    tag = "session",
    request_body = MfaLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 400, description = "Invalid input (`/problems/invalid-input`: a code that is not 6 digits, a missing session), or a wrong code (`/problems/invalid-code`; the session stands, send the next code)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing API key, or `/problems/invalid-mfa-session`: the session is not one this API issued, has expired (3 minutes), was used already, or was issued to another API key or app client; sign in again", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The API key lacks the `auth` scope, or is not bound to the sign-in's app client: `/problems/client-not-allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Throttled; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `POST /auth/login/mfa`: the second step of a sign-in that answered
/// `/problems/mfa-required`: the session handle and a code of the user's authenticator app for
/// the same tokens as `POST /auth/login` (and `UserLoggedIn`).
pub async fn login_mfa(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(request): JsonBody<MfaLoginRequest>,
) -> Result<Json<Tokens>, AuthError> {
    let session = MfaSessionText::parse(&request.session)?;
    let code = TotpCode::parse(&request.code)?;
    if let Some(client_id) = request.client_id.as_deref() {
        state.clients.resolve(Some(client_id))?;
    }
    let tokens = state
        .login
        .complete(&session, &code, request.client_id.as_deref(), &caller)
        .await?;
    tracing::info!(caller = %caller.name, "signed in with a second factor");
    Ok(Json(tokens))
}

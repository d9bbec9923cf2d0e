//! The signed-in user's own profile, for frontends: `GET /public/user/me` and
//! `PATCH /public/user/me/profile`, with a Bearer access token checked by the shared verifier,
//! then against the profile itself (see `sessions.rs`): a deleted account or a revoked token
//! is 401, a suspended or archived account 403.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::{BearerToken, JsonBody};
use roster_platform::jwt::TokenUse;
use roster_platform::problem::Problem;
use serde::Deserialize;

use super::{WriteContext, user_response};
use crate::AppState;
use crate::domain::{self, UserId};
use crate::error::UserError;
use crate::export::UserExport;
use crate::model::User;
use crate::profiles::SettingsChange;

/// The caller's id, once its token and account still hold, with its profile as it is.
async fn caller(
    state: &AppState,
    token: &str,
) -> Result<(UserId, crate::domain::Profile), UserError> {
    let verified = state.verifier.verify(token, TokenUse::Access).await?;
    let profile = state.profiles.own_profile(&verified).await?;
    Ok((UserId::parse(&verified.sub)?, profile))
}

/// The caller's own profile is not "no such user" but "not there yet" (or any more).
fn own(
    result: Result<crate::domain::Profile, UserError>,
) -> Result<crate::domain::Profile, UserError> {
    match result {
        Err(UserError::UserNotFound) => Err(UserError::ProfileNotReady),
        other => other,
    }
}

#[utoipa::path(
    get, path = "/public/user/me", tag = "me",
    responses(
        (status = 200, description = "The caller's profile", body = User),
        (status = 401, description = "Missing, invalid or revoked access token, or a deleted account", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or archived", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The profile does not exist yet (moments after registration) or any more", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `GET /public/user/me`.
pub async fn me(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Response, UserError> {
    let (_, profile) = caller(&state, &token).await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

#[utoipa::path(
    get, path = "/public/user/me/export", tag = "me",
    responses(
        (status = 200, description = "Everything the User API holds about the caller: the profile, its bookkeeping, and every stored version of its uploads with a presigned GET valid for 15 minutes. The identity part is the Auth API's `GET /auth/me/export`", body = UserExport),
        (status = 401, description = "Missing, invalid or revoked access token, or a deleted account", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or archived", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The profile does not exist yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Tokens cannot be verified right now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `GET /public/user/me/export`: the caller's data export (the User API's part). Refused as
/// `GET /public/user/me` is.
pub async fn export(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> Result<Json<UserExport>, UserError> {
    let (_, profile) = caller(&state, &token).await?;
    Ok(Json(state.profiles.export(&profile).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"lang": "de_de", "currency": "EUR", "avatar": "04"}))]
pub struct ProfileUpdate {
    /// `en_us` style: language, `_`, region.
    #[schema(pattern = "^[a-z]{2}_[a-z]{2}$")]
    lang: Option<String>,
    /// ISO 4217, such as USD.
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// A default avatar, `01` to `06`. Uploads go through the server-to-server avatar route.
    #[schema(pattern = "^0[1-6]$")]
    avatar: Option<String>,
}

#[utoipa::path(
    patch, path = "/public/user/me/profile", tag = "me",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = User),
        (status = 400, description = "Invalid lang, currency or avatar", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or revoked access token, or a deleted account", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or archived", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The profile does not exist yet", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
/// `PATCH /public/user/me/profile`: language, currency, default avatar.
pub async fn update_profile(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
    WriteContext(context): WriteContext,
    JsonBody(update): JsonBody<ProfileUpdate>,
) -> Result<Response, UserError> {
    let (id, current) = caller(&state, &token).await?;
    let settings = SettingsChange {
        lang: update.lang.as_deref().map(domain::parse_lang).transpose()?,
        currency: update
            .currency
            .as_deref()
            .map(domain::parse_currency)
            .transpose()?,
        default_avatar: update
            .avatar
            .as_deref()
            .map(domain::parse_default_avatar)
            .transpose()?,
    };
    let nothing_to_change =
        settings.lang.is_none() && settings.currency.is_none() && settings.default_avatar.is_none();
    let profile = if nothing_to_change {
        // An empty PATCH changes nothing: the profile as it is.
        current
    } else {
        own(state
            .profiles
            .update_settings(&id, &settings, &context)
            .await)?
    };
    Ok(user_response(&state, StatusCode::OK, &profile))
}

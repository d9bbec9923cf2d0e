//! `POST /user/{id}/avatar`: an upload URL for an avatar of the user's own, or one of the
//! default avatars.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roster_platform::extract::{JsonBody, PathParams};
use roster_platform::problem::Problem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{WriteContext, user_id, user_response};
use crate::AppState;
use crate::domain;
use crate::error::UserError;
use crate::profiles::SettingsChange;

/// Either an upload of the user's own file, or one of the default avatars.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AvatarRequest {
    Upload(UploadRequest),
    Default(DefaultAvatar),
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"contentType": "image/png", "contentLength": 48213}))]
pub struct UploadRequest {
    #[schema(pattern = "^image/(png|jpeg|webp)$")]
    content_type: String,
    /// The exact size of the file. (A JSON number with an integral value, so `1024.0` too.)
    #[schema(value_type = i64, minimum = 1, maximum = 2097152)]
    content_length: f64,
}

/// A size given as a JSON number: whole, and within what an avatar may be.
fn whole_bytes(length: f64) -> Result<i64, UserError> {
    let whole = length.fract() == 0.0 && (1.0..=domain::MAX_AVATAR_BYTES as f64).contains(&length);
    if whole {
        Ok(length as i64)
    } else {
        Err(domain::InputError::AvatarSize.into())
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"default": "03"}))]
pub struct DefaultAvatar {
    /// A default avatar, `01` to `06`.
    #[schema(pattern = "^0[1-6]$")]
    default: String,
}

/// Where to PUT the file, and the URL the avatar will have once it is there.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvatarUpload {
    /// PUT the file here, with exactly `headers`, before `expiresInSeconds` pass.
    upload_url: String,
    method: &'static str,
    headers: BTreeMap<String, String>,
    expires_in_seconds: u64,
    max_bytes: i64,
    /// The profile's `avatarUrl` from now on.
    avatar_url: String,
}

#[utoipa::path(
    post, path = "/user/{id}/avatar", tag = "avatars",
    params(("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    request_body = AvatarRequest,
    responses(
        (status = 201, description = "An upload URL (5 minutes, exactly contentLength bytes of contentType); the profile points at the new avatar", body = AvatarUpload),
        (status = 200, description = "The default avatar is chosen", body = crate::model::User),
        (status = 400, description = "Wrong type, size or default avatar, malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Starts an avatar upload (presigned PUT, png/jpeg/webp, at most 2 MiB) or chooses a default
/// avatar.
pub async fn avatar(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    WriteContext(context): WriteContext,
    JsonBody(request): JsonBody<AvatarRequest>,
) -> Result<Response, UserError> {
    let id = user_id(&id)?;
    match request {
        AvatarRequest::Upload(upload) => {
            let (profile, upload) = state
                .profiles
                .start_avatar_upload(
                    &id,
                    &upload.content_type,
                    whole_bytes(upload.content_length)?,
                    &context,
                )
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(AvatarUpload {
                    upload_url: upload.url,
                    method: "PUT",
                    headers: upload.headers.into_iter().collect(),
                    expires_in_seconds: domain::AVATAR_UPLOAD_SECONDS,
                    max_bytes: domain::MAX_AVATAR_BYTES,
                    avatar_url: profile.settings.avatar_url,
                }),
            )
                .into_response())
        }
        AvatarRequest::Default(DefaultAvatar { default }) => {
            let settings = SettingsChange {
                default_avatar: Some(domain::parse_default_avatar(&default)?),
                ..SettingsChange::default()
            };
            let profile = state
                .profiles
                .update_settings(&id, &settings, &context)
                .await?;
            Ok(user_response(&state, StatusCode::OK, &profile))
        }
    }
}

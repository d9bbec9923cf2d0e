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
use crate::domain::{self, InputError};
use crate::error::UserError;
use crate::profiles::SettingsChange;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"contentType": "image/png", "contentLength": 48213}))]
pub struct AvatarRequest {
    /// image/png, image/jpeg or image/webp.
    content_type: Option<String>,
    /// The exact size of the file, at most 2 MiB.
    content_length: Option<i64>,
    /// A default avatar (`01` to `06`) instead of an upload.
    default: Option<String>,
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
    params(("id" = String, Path, description = "The user id")),
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
        AvatarRequest {
            content_type: Some(content_type),
            content_length: Some(length),
            default: None,
        } => {
            let (profile, upload) = state
                .profiles
                .start_avatar_upload(&id, &content_type, length, &context)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(AvatarUpload {
                    upload_url: upload.url,
                    method: "PUT",
                    headers: upload.headers.into_iter().collect(),
                    expires_in_seconds: domain::AVATAR_UPLOAD_SECONDS,
                    max_bytes: domain::MAX_AVATAR_BYTES,
                    avatar_url: profile.profile_data.avatar_url,
                }),
            )
                .into_response())
        }
        AvatarRequest {
            content_type: None,
            content_length: None,
            default: Some(default),
        } => {
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
        _ => Err(InputError::AvatarRequest.into()),
    }
}

//! The User API's routes. Handlers extract, call a use case in [`crate::profiles`], and answer
//! with the user model and its `ETag`.

pub mod activation;
pub mod avatar;
pub mod badges;
pub mod data;
pub mod listing;
pub mod lookup;
pub mod me;
pub mod status;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_platform::http::CorrelationId;
use roster_platform::problem::Problem;
use serde_json::Value;

use crate::AppState;
use crate::domain::Profile;
use crate::domain::{self, InputError, UserId};
use crate::error::UserError;
use crate::model::User;
use crate::profiles::Context;

/// The answer of every route that returns a user: the user model, with the version as ETag.
pub fn user_response(state: &AppState, status: StatusCode, profile: &Profile) -> Response {
    let mut response = (
        status,
        Json(User::from_profile(profile, &state.profiles.assets)),
    )
        .into_response();
    if let Ok(etag) = HeaderValue::from_str(&domain::etag(profile.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

pub fn user_id(raw: &str) -> Result<UserId, UserError> {
    Ok(UserId::parse(raw)?)
}

/// A write's context: the request's correlation id and its `If-Match`, if any.
pub struct WriteContext(pub Context);

impl<S: Send + Sync> FromRequestParts<S> for WriteContext {
    type Rejection = UserError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, UserError> {
        let if_match = match parts.headers.get(header::IF_MATCH) {
            None => None,
            Some(value) => {
                domain::parse_if_match(value.to_str().map_err(|_| InputError::IfMatch)?)?
            }
        };
        Ok(Self(Context {
            correlation_id: parts
                .extensions
                .get::<CorrelationId>()
                .map(|id| id.0.clone()),
            if_match,
        }))
    }
}

/// A data body: JSON (or, where `merge_patch`, `application/merge-patch+json`) of at most
/// [`domain::MAX_DATA_BODY_BYTES`]; 415, 413 and 400 problems otherwise.
pub struct DataBody<const MERGE_PATCH: bool>(pub Value);

impl<S: Send + Sync, const MERGE_PATCH: bool> FromRequest<S> for DataBody<MERGE_PATCH> {
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Problem> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase());
        let accepted = match content_type.as_deref() {
            Some("application/json") => true,
            Some("application/merge-patch+json") => MERGE_PATCH,
            _ => false,
        };
        if !accepted {
            let expected = if MERGE_PATCH {
                "application/merge-patch+json or application/json"
            } else {
                "application/json"
            };
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported Media Type",
            )
            .with_detail(format!("send the body as {expected}")));
        }
        let bytes = axum::body::to_bytes(request.into_body(), domain::MAX_DATA_BODY_BYTES)
            .await
            .map_err(|_| {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    "Body Too Large",
                )
                .with_detail(format!(
                    "the body may be at most {} bytes",
                    domain::MAX_DATA_BODY_BYTES
                ))
            })?;
        serde_json::from_slice(&bytes).map(DataBody).map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-body",
                "Invalid Request Body",
            )
            .with_detail("the body is not valid JSON")
        })
    }
}

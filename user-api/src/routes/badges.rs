//! `POST|DELETE /user/{id}/badge/{name}`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use roster_platform::extract::PathParams;
use roster_platform::problem::Problem;

use super::{WriteContext, user_id, user_response};
use crate::AppState;
use crate::error::UserError;
use crate::model::User;

/// Says whether an award was new: `awarded` or `already-awarded`.
pub const BADGE_HEADER: &str = "badge-award";

#[utoipa::path(
    post, path = "/user/{id}/badge/{name}", tag = "badges",
    params(
        ("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$"),
        ("name" = String, Path, description = "A badge of the catalog: NEW_MEMBER, VERIFIED, PHOTOGENIC, CONVERSATION_STARTER, EARLY_ADOPTER (404 for any other)", pattern = r"^[A-Z_]{1,32}$"),
    ),
    responses(
        (status = 201, description = "Awarded now (`Badge-Award: awarded`)", body = User),
        (status = 200, description = "The user held it already (`Badge-Award: already-awarded`); nothing changed", body = User),
        (status = 400, description = "Malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or no such badge", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Awards a badge in one conditional write: however many callers award it at once, the user
/// holds it once and one `BadgeAwarded` is published.
pub async fn award(
    State(state): State<AppState>,
    PathParams((id, badge)): PathParams<(String, String)>,
    WriteContext(context): WriteContext,
) -> Result<Response, UserError> {
    let (profile, awarded) = state
        .profiles
        .award(&user_id(&id)?, &badge, &context)
        .await?;
    let (status, outcome) = if awarded {
        (StatusCode::CREATED, "awarded")
    } else {
        (StatusCode::OK, "already-awarded")
    };
    let mut response = user_response(&state, status, &profile);
    response
        .headers_mut()
        .insert(BADGE_HEADER, HeaderValue::from_static(outcome));
    Ok(response)
}

#[utoipa::path(
    delete, path = "/user/{id}/badge/{name}", tag = "badges",
    params(
        ("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$"),
        ("name" = String, Path, description = "A badge of the catalog (404 for any other)", pattern = r"^[A-Z_]{1,32}$"),
    ),
    responses(
        (status = 200, description = "Revoked", body = User),
        (status = 400, description = "Malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, no such badge, or the user does not hold it", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Revokes a badge the user holds.
pub async fn revoke(
    State(state): State<AppState>,
    PathParams((id, badge)): PathParams<(String, String)>,
    WriteContext(context): WriteContext,
) -> Result<Response, UserError> {
    let profile = state
        .profiles
        .revoke(&user_id(&id)?, &badge, &context)
        .await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

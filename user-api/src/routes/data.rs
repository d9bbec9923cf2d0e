//! `PUT|PATCH /user/{id}/data/update`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::PathParams;
use roster_platform::problem::Problem;

use super::{DataBody, WriteContext, user_id, user_response};
use crate::AppState;
use crate::error::UserError;
use crate::model::User;

#[utoipa::path(
    put, path = "/user/{id}/data/update", tag = "data",
    params(("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    request_body(content = Object, content_type = "application/json", description = "The new data: a JSON object of at most 16 KiB, nesting at most 16 levels"),
    responses(
        (status = 200, description = "Replaced", body = User),
        (status = 400, description = "Not JSON, not an object, too deep, malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Above the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Replaces the user's data.
pub async fn replace(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    WriteContext(context): WriteContext,
    DataBody(data): DataBody<false>,
) -> Result<Response, UserError> {
    let profile = state
        .profiles
        .replace_data(&user_id(&id)?, data, &context)
        .await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

#[utoipa::path(
    patch, path = "/user/{id}/data/update", tag = "data",
    params(("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    request_body(content = Object, content_type = "application/merge-patch+json", description = "An RFC 7396 JSON Merge Patch object (application/json is accepted too): `null` removes a key"),
    responses(
        (status = 200, description = "Merged", body = User),
        (status = 400, description = "Not JSON, not an object, result too deep, malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The data kept changing under this merge; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body or the merged data is above the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither merge-patch+json nor json", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Merges a JSON Merge Patch into the user's data without losing a concurrent writer's keys.
pub async fn merge(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    WriteContext(context): WriteContext,
    DataBody(patch): DataBody<true>,
) -> Result<Response, UserError> {
    let profile = state
        .profiles
        .merge_data(&user_id(&id)?, &patch, &context)
        .await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

//! Reading profiles: by id (one GetItem), by name, email or handle (a Query of the lookup
//! index for the id, then a GetItem), and deleting one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::PathParams;
use roster_platform::problem::Problem;

use super::{WriteContext, user_id, user_response};
use crate::AppState;
use crate::domain::Lookup;
use crate::error::UserError;
use crate::export::UserExport;
use crate::model::User;

#[utoipa::path(
    get, path = "/user/{id}", tag = "users",
    params(("id" = String, Path, description = "The user id (Cognito sub)", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    responses(
        (status = 200, description = "The user; ETag is its version", body = User),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /user/{id}`.
pub async fn by_id(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, UserError> {
    let profile = state.profiles.get(&user_id(&id)?).await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

#[utoipa::path(
    get, path = "/user/{id}/export", tag = "users",
    params(("id" = String, Path, description = "The user id (Cognito sub)", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    responses(
        (status = 200, description = "Everything the User API holds about the user: the profile, its bookkeeping, and every stored version of its uploads with a presigned GET valid for 15 minutes. The identity part is the Auth API's `GET /auth/users/{id}/export`", body = UserExport),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (or deleted)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /user/{id}/export`: a user's data export (the User API's part), for the services that
/// answer data-access requests.
pub async fn export(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<UserExport>, UserError> {
    let profile = state.profiles.get(&user_id(&id)?).await?;
    Ok(Json(state.profiles.export(&profile).await?))
}

async fn find(
    state: AppState,
    lookup: Result<Lookup, crate::domain::InputError>,
) -> Result<Response, UserError> {
    let profile = state.profiles.find(&lookup?).await?;
    Ok(user_response(&state, StatusCode::OK, &profile))
}

#[utoipa::path(
    get, path = "/user/name/{name}", tag = "users",
    params(("name" = String, Path, description = "The user name, any case", pattern = r"^[A-Za-z0-9_.-]{1,64}$")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, description = "Malformed name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /user/name/{name}`: case-insensitive.
pub async fn by_name(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<Response, UserError> {
    find(state, Lookup::name(&name)).await
}

#[utoipa::path(
    get, path = "/user/email/{email}", tag = "users",
    params(("email" = String, Path, description = "The email address, any case", max_length = 254, pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*$")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, description = "Malformed email", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /user/email/{email}`: case-insensitive.
pub async fn by_email(
    State(state): State<AppState>,
    PathParams(email): PathParams<String>,
) -> Result<Response, UserError> {
    find(state, Lookup::email(&email)).await
}

#[utoipa::path(
    get, path = "/user/handle/{handle}", tag = "users",
    params(("handle" = String, Path, description = "The handle, with or without `@` (`%40` encoded or not), any case", pattern = r"^@?[A-Za-z0-9]{1,64}$")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, description = "Malformed handle", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /user/handle/{handle}`.
pub async fn by_handle(
    State(state): State<AppState>,
    PathParams(handle): PathParams<String>,
) -> Result<Response, UserError> {
    find(state, Lookup::handle(&handle)).await
}

#[utoipa::path(
    delete, path = "/user/{id}", tag = "users",
    params(("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$")),
    responses(
        (status = 204, description = "Deleted, with the avatars the user uploaded; UserDeleted follows, and the Auth API removes the identity"),
        (status = 400, description = "Malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `DELETE /user/{id}`: a hard delete of the profile and its uploaded avatars.
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    WriteContext(context): WriteContext,
) -> Result<StatusCode, UserError> {
    let deleted = state.profiles.delete(&user_id(&id)?, &context).await?;
    tracing::info!(user = %deleted.id, "profile deleted");
    Ok(StatusCode::NO_CONTENT)
}

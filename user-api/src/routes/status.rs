//! `PATCH /user/{id}/status/{status}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use roster_platform::extract::PathParams;
use roster_platform::problem::Problem;

use super::{WriteContext, user_id, user_response};
use crate::AppState;
use crate::domain::parse_status;
use crate::error::UserError;
use crate::model::User;

#[utoipa::path(
    patch, path = "/user/{id}/status/{status}", tag = "users",
    params(
        ("id" = String, Path, description = "The user id", pattern = r"^[A-Za-z0-9-]{1,64}$"),
        ("status" = String, Path, description = "UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED (400 for any other)", pattern = r"^(UNCONFIRMED|CONFIRMED|SUSPENDED|ARCHIVED)$"),
    ),
    responses(
        (status = 200, description = "The user in the new status (or already in it)", body = User),
        (status = 400, description = "Unknown status, malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The status machine does not allow this transition", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names another version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// Moves the user along the status machine in one conditional write. Suspending or archiving
/// disables the user's sign-in (through `UserStatusChanged`); confirming again enables it.
pub async fn set_status(
    State(state): State<AppState>,
    PathParams((id, status)): PathParams<(String, String)>,
    WriteContext(context): WriteContext,
) -> Result<Response, UserError> {
    let id = user_id(&id)?;
    let to = parse_status(&status)?;
    let (profile, changed) = state.profiles.set_status(&id, to, &context).await?;
    if changed {
        tracing::info!(user = %profile.id, status = to.as_str(), "status changed");
    }
    Ok(user_response(&state, StatusCode::OK, &profile))
}

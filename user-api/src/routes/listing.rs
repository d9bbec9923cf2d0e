//! `GET /users`: listing and searching users, a page at a time ([`crate::listing`]).

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use roster_platform::problem::Problem;

use crate::AppState;
use crate::error::UserError;
use crate::listing::ListRequest;
use crate::model::{UserList, UserSummary};

/// The query string's parameters, decoded, in order and with repeats kept (so a repeat can be
/// refused); a string that does not decode is a 400 problem.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(Self(pairs)),
            Err(_) => Err(
                Problem::new(StatusCode::BAD_REQUEST, "invalid-input", "Invalid Input")
                    .with_detail("the query string does not decode (percent-encoded UTF-8)"),
            ),
        }
    }
}

#[utoipa::path(
    get, path = "/users", tag = "users",
    params(
        ("status" = Option<String>, Query, description = "Only users of this status: UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED. Combines with createdAfter and createdBefore", pattern = "^(UNCONFIRMED|CONFIRMED|SUSPENDED|ARCHIVED)$"),
        ("createdAfter" = Option<String>, Query, description = "Only users created after this instant (RFC 3339, compared to the millisecond, exclusive)", format = DateTime),
        ("createdBefore" = Option<String>, Query, description = "Only users created before this instant (RFC 3339, compared to the millisecond, exclusive)", format = DateTime),
        ("namePrefix" = Option<String>, Query, description = "Only users whose name starts with this, any case; lists by name. Combines with no other filter", pattern = r"^[A-Za-z0-9_.-]{1,64}$"),
        ("emailPrefix" = Option<String>, Query, description = "Only users whose email starts with this, any case (normalised as emails are); lists by email. Combines with no other filter", max_length = 254),
        ("handlePrefix" = Option<String>, Query, description = "Only users whose handle starts with this, with or without `@`, any case; lists by handle. Combines with no other filter", pattern = r"^@?[A-Za-z0-9]{1,64}$"),
        ("order" = Option<String>, Query, description = "`asc` (the default: oldest first, or A to Z for a prefix) or `desc`", pattern = "^(asc|desc)$"),
        ("limit" = Option<u32>, Query, description = "The most users a page holds: 1 to 100, 50 by default. A page may hold fewer while more follow", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "The previous page's `nextCursor`, sent with the same filters and order (the limit may change)", max_length = 2048),
    ),
    responses(
        (status = 200, description = "A page of users, in the listing's order: by creation time then id, or by the prefixed key", body = UserList),
        (status = 400, description = "An unknown or repeated parameter, a malformed value, filters that do not combine, or a cursor not issued for this query (`/problems/invalid-cursor`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []))
)]
/// `GET /users` (`users:read`): one page of users matching the filters, and the cursor of the
/// next. One Query per shard of the listing's index.
pub async fn list(
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<UserList>, UserError> {
    let request = ListRequest::parse(&pairs)?;
    let after = match &request.cursor {
        Some(cursor) => Some(state.cursors.open(&request.query, cursor).await?),
        None => None,
    };
    let page = state
        .profiles
        .list(&request.query, after.as_ref(), request.limit)
        .await?;
    let next_cursor = match &page.next {
        Some(position) => Some(state.cursors.seal(&request.query, position).await?),
        None => None,
    };
    Ok(Json(UserList {
        users: page.items.into_iter().map(UserSummary::from).collect(),
        next_cursor,
    }))
}

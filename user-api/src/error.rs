//! The User API's failures and their problem+json answers. Causes of 5xx go to the log only.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_events::UserStatus;
use roster_platform::extract::invalid_token;
use roster_platform::jwt::TokenRejection;
use roster_platform::problem::Problem;

use crate::assets::AssetsError;
use crate::domain::{DataError, InputError, MAX_DATA_BYTES};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no such user")]
    UserNotFound,
    #[error("unknown badge")]
    UnknownBadge,
    #[error("the user does not hold this badge")]
    BadgeNotHeld,
    #[error("no unused activation code matches")]
    ActivationNotFound,
    #[error("the activation code expired")]
    ActivationExpired,
    #[error("status {from} cannot become {to}")]
    IllegalTransition { from: UserStatus, to: UserStatus },
    #[error("the profile changed since it was read")]
    PreconditionFailed,
    #[error("data too large")]
    DataTooLarge,
    #[error("too many concurrent changes")]
    Contended,
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
    #[error("the profile does not exist yet")]
    ProfileNotReady,
    #[error("the account is suspended or archived")]
    AccountDisabled,
    #[error("throttled")]
    Throttled,
    #[error("the cursor is not one this API issued for this query")]
    InvalidCursor,
    #[error("the User API's key is unavailable: {0}")]
    KeyUnavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<roster_events::ValueError> for UserError {
    fn from(error: roster_events::ValueError) -> Self {
        UserError::Input(error.into())
    }
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Throttled => UserError::Throttled,
            other => UserError::Internal(other.to_string()),
        }
    }
}

impl From<AssetsError> for UserError {
    fn from(error: AssetsError) -> Self {
        UserError::Internal(error.to_string())
    }
}

impl From<DataError> for UserError {
    fn from(error: DataError) -> Self {
        match error {
            DataError::Input(input) => UserError::Input(input),
            DataError::TooLarge => UserError::DataTooLarge,
        }
    }
}

impl From<TokenRejection> for UserError {
    fn from(rejection: TokenRejection) -> Self {
        UserError::InvalidToken(rejection)
    }
}

fn retry_after(problem: Problem, seconds: &'static str) -> Response {
    let mut response = problem.into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static(seconds));
    response
}

impl IntoResponse for UserError {
    fn into_response(self) -> Response {
        let problem = match self {
            UserError::Input(error) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid-input", "Invalid Input")
                    .with_detail(error.to_string())
            }
            UserError::UserNotFound => Problem::not_found("no user has this id, name, email or handle"),
            UserError::ProfileNotReady => Problem::not_found(
                "your profile does not exist yet: it is created moments after registration; retry shortly",
            ),
            UserError::AccountDisabled => Problem::new(StatusCode::FORBIDDEN, "account-disabled", "Account Disabled")
                .with_detail("this account is suspended or archived"),
            UserError::UnknownBadge => Problem::new(StatusCode::NOT_FOUND, "unknown-badge", "Unknown Badge")
                .with_detail("no badge of this name is in the catalog"),
            UserError::BadgeNotHeld => Problem::new(StatusCode::NOT_FOUND, "badge-not-held", "Badge Not Held")
                .with_detail("the user does not hold this badge"),
            UserError::ActivationNotFound => Problem::not_found(
                "no unused activation code matches: it is unknown or was used already",
            ),
            UserError::ActivationExpired => Problem::new(StatusCode::GONE, "activation-expired", "Activation Code Expired")
                .with_detail("the activation code is older than its 7-day lifetime; an operator can confirm the user"),
            UserError::IllegalTransition { from, to } => {
                Problem::new(StatusCode::CONFLICT, "illegal-transition", "Illegal Status Transition")
                    .with_detail(format!("a {from} user cannot become {to}"))
                    .with_extension("from", from.as_str())
                    .with_extension("to", to.as_str())
            }
            UserError::PreconditionFailed => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition Failed",
            )
            .with_detail("the profile changed since the ETag in If-Match was read; read it again"),
            UserError::DataTooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "data-too-large",
                "Data Too Large",
            )
            .with_detail(format!("data may hold at most {MAX_DATA_BYTES} bytes of JSON")),
            UserError::Contended => {
                return retry_after(
                    Problem::new(StatusCode::CONFLICT, "contended", "Too Many Concurrent Changes")
                        .with_detail("the profile kept changing while this change was applied; retry"),
                    "1",
                );
            }
            UserError::InvalidToken(TokenRejection::KeysUnavailable) => {
                return retry_after(
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable")
                        .with_detail("tokens cannot be checked right now; retry shortly"),
                    "5",
                );
            }
            UserError::InvalidToken(_) => invalid_token(),
            UserError::Throttled => {
                return retry_after(
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "throttled", "Service Unavailable")
                        .with_detail("the profile store is busy; retry shortly"),
                    "1",
                );
            }
            UserError::InvalidCursor => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-cursor",
                "Invalid Cursor",
            )
            .with_detail(
                "the cursor was not issued for this query (same filters and order) or was altered; \
                 send the query's parameters with the cursor of its previous page, or start again \
                 without one",
            ),
            UserError::KeyUnavailable(cause) => {
                tracing::error!(%cause, "the User API's key is unavailable");
                return retry_after(
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable")
                        .with_detail("listings cannot be paged right now; retry shortly"),
                    "5",
                );
            }
            UserError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                Problem::internal()
            }
        };
        problem.into_response()
    }
}

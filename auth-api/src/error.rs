//! The Auth API's failures and their problem+json answers. Causes of 5xx go to the log only.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roster_platform::api_key_guard::OutsideBindings;
use roster_platform::extract::invalid_token;
use roster_platform::jwt::TokenRejection;
use roster_platform::problem::Problem;

use crate::cognito::CognitoError;
use crate::domain::InputError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("unknown app client")]
    UnknownClient,
    /// The API key is not bound to the app client or source system the request uses.
    #[error(transparent)]
    OutsideBindings(#[from] OutsideBindings),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
    #[error("throttled")]
    Throttled,
    #[error("password reset required")]
    PasswordResetRequired,
    #[error("invalid code")]
    InvalidCode,
    #[error("the pool refused the password")]
    PasswordRefused,
    #[error("wrong current password")]
    WrongPassword,
    /// Not a failure: the password was right and the user has two-step sign-in on. Answered
    /// as a problem carrying the challenge handle.
    #[error("a second factor is required")]
    MfaRequired { session: String, expires_in: u64 },
    #[error("invalid sign-in session")]
    InvalidMfaSession,
    #[error(transparent)]
    Register(#[from] crate::registration::RegisterError),
    #[error("no such identity")]
    NoIdentity,
    /// Too many activation code resends for one target: retry after this many seconds.
    #[error("resend limit reached")]
    ResendLimited { retry_after: u64 },
    #[error("internal: {0}")]
    Internal(String),
}

impl From<roster_events::ValueError> for AuthError {
    fn from(error: roster_events::ValueError) -> Self {
        AuthError::Input(error.into())
    }
}

impl From<TokenRejection> for AuthError {
    fn from(rejection: TokenRejection) -> Self {
        AuthError::InvalidToken(rejection)
    }
}

impl From<CognitoError> for AuthError {
    fn from(error: CognitoError) -> Self {
        match error {
            CognitoError::NotAuthorized => AuthError::InvalidCredentials,
            CognitoError::Throttled => AuthError::Throttled,
            CognitoError::PasswordResetRequired => AuthError::PasswordResetRequired,
            CognitoError::InvalidCode => AuthError::InvalidCode,
            CognitoError::InvalidPassword => AuthError::PasswordRefused,
            CognitoError::InvalidParameter => AuthError::Input(InputError::Email),
            CognitoError::Unavailable(cause) => AuthError::Internal(cause),
        }
    }
}

impl From<crate::logout::SessionError> for AuthError {
    fn from(error: crate::logout::SessionError) -> Self {
        use crate::logout::SessionError;
        match error {
            SessionError::Directory(error) => error.into(),
            SessionError::Revocation(error) => AuthError::Internal(error.to_string()),
        }
    }
}

impl From<crate::password_change::ChangeError> for AuthError {
    fn from(error: crate::password_change::ChangeError) -> Self {
        use crate::password_change::ChangeError;
        match error {
            ChangeError::WrongPassword => AuthError::WrongPassword,
            ChangeError::Directory(error) => error.into(),
            ChangeError::Revocation(error) => AuthError::Internal(error.to_string()),
        }
    }
}

impl From<crate::login::LoginError> for AuthError {
    fn from(error: crate::login::LoginError) -> Self {
        use crate::login::LoginError;
        match error {
            LoginError::Directory(error) => error.into(),
            LoginError::InvalidSession => AuthError::InvalidMfaSession,
            LoginError::OutsideBindings(refusal) => AuthError::OutsideBindings(refusal),
            LoginError::Handles(cause) => AuthError::Internal(cause),
        }
    }
}

impl From<crate::mfa::MfaError> for AuthError {
    fn from(error: crate::mfa::MfaError) -> Self {
        use crate::mfa::MfaError;
        match error {
            MfaError::WrongPassword => AuthError::WrongPassword,
            MfaError::Directory(error) => error.into(),
        }
    }
}

impl From<crate::account::AccountError> for AuthError {
    fn from(error: crate::account::AccountError) -> Self {
        use crate::account::AccountError;
        match error {
            AccountError::NoIdentity => AuthError::NoIdentity,
            AccountError::WrongPassword => AuthError::WrongPassword,
            AccountError::Directory(error) => error.into(),
            AccountError::Store(error) => AuthError::Internal(error.to_string()),
        }
    }
}

impl From<crate::activation::ResendError> for AuthError {
    fn from(error: crate::activation::ResendError) -> Self {
        use crate::activation::ResendError;
        match error {
            ResendError::Limited { retry_after } => AuthError::ResendLimited { retry_after },
            ResendError::Unavailable(cause) => AuthError::Internal(cause),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let problem = match self {
            AuthError::Input(error) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid-input", "Invalid Input")
                    .with_detail(error.to_string())
            }
            AuthError::UnknownClient => {
                Problem::new(StatusCode::BAD_REQUEST, "unknown-client", "Unknown Client")
                    .with_detail("clientId is not one of this pool's app clients")
            }
            AuthError::OutsideBindings(refusal) => return refusal.into_response(),
            AuthError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Unauthorized",
            )
            .with_detail("the email or password is not correct"),
            AuthError::InvalidRefreshToken => {
                invalid_token().with_detail("the refresh token is not valid")
            }
            AuthError::InvalidToken(TokenRejection::KeysUnavailable) => {
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service Unavailable",
                )
                .with_detail("tokens cannot be verified right now; retry shortly")
                .into_response();
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("5"));
                return response;
            }
            AuthError::InvalidToken(rejection) => {
                tracing::info!(reason = %rejection, "token refused");
                invalid_token()
            }
            AuthError::Throttled => {
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    "Too Many Requests",
                )
                .with_detail("too many attempts; retry later")
                .into_response();
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                return response;
            }
            AuthError::PasswordResetRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "password-reset-required",
                "Password Reset Required",
            )
            .with_detail("reset the password with /auth/password/forgot before signing in"),
            AuthError::InvalidCode => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid-code", "Invalid Code")
                    .with_detail("the code is wrong or has expired")
            }
            AuthError::PasswordRefused => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid-input", "Invalid Input")
                    .with_detail("the user pool refused the new password")
            }
            AuthError::WrongPassword => {
                Problem::new(StatusCode::FORBIDDEN, "wrong-password", "Forbidden")
                    .with_detail("the current password is not correct")
            }
            AuthError::MfaRequired {
                session,
                expires_in,
            } => Problem::new(
                StatusCode::UNAUTHORIZED,
                "mfa-required",
                "Second Factor Required",
            )
            .with_detail(
                "the password is right; send a code of the authenticator app with this session \
                 to /auth/login/mfa",
            )
            .with_extension("session", session)
            .with_extension("expiresIn", expires_in),
            AuthError::InvalidMfaSession => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-mfa-session",
                "Unauthorized",
            )
            .with_detail("the sign-in session is not valid or has expired; sign in again"),
            AuthError::Register(error) => return register_problem(error),
            AuthError::NoIdentity => Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found")
                .with_detail("no identity of this user"),
            AuthError::ResendLimited { retry_after } => {
                let mut response = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "resend-limited",
                    "Too Many Resends",
                )
                .with_detail(format!(
                    "the activation code of this target was sent again too recently or too \
                     often today; retry in {retry_after} s"
                ))
                .with_extension("retryAfter", retry_after)
                .into_response();
                response.headers_mut().insert(
                    "retry-after",
                    HeaderValue::from_str(&retry_after.to_string())
                        .unwrap_or(HeaderValue::from_static("60")),
                );
                return response;
            }
            AuthError::Internal(cause) => {
                tracing::error!(%cause, "auth request failed");
                Problem::internal()
            }
        };
        problem.into_response()
    }
}

fn register_problem(error: crate::registration::RegisterError) -> Response {
    use crate::registration::RegisterError;
    match error {
        RegisterError::Taken(field) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict")
            .with_detail(format!("{} is already taken", field.as_str()))
            .with_extension("field", field.as_str())
            .into_response(),
        RegisterError::IdempotencyMismatch => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency Key Reused",
        )
        .with_detail("this Idempotency-Key was used with a different request body")
        .into_response(),
        RegisterError::InProgress => {
            let mut response =
                Problem::new(StatusCode::CONFLICT, "in-progress", "Request In Progress")
                    .with_detail(
                        "a request with this Idempotency-Key is still running; retry shortly",
                    )
                    .into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            response
        }
        RegisterError::PasswordRefused => AuthError::PasswordRefused.into_response(),
        RegisterError::EmailRefused => AuthError::Input(InputError::Email).into_response(),
        RegisterError::Unavailable(cause) => AuthError::Internal(cause).into_response(),
    }
}

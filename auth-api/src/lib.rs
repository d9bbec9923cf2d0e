//! Roster Auth API: owns identities and credentials (Cognito) and the uniqueness of email,
//! name and handle. One axum router, hosted by `lambda_http` on AWS and by the local stack on
//! a laptop; plus the subscriber that applies User API events to Cognito.

pub mod account;
pub mod activation;
pub mod cognito;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod login;
pub mod logout;
pub mod mailer;
pub mod mfa;
pub mod password_change;
pub mod password_reset;
pub mod refresh;
pub mod registration;
pub mod revocations;
pub mod routes;
pub mod store;
pub mod subscriber;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use roster_platform::api_key_guard::{ApiKeyGuard, RequiredScope, require_api_key};
use roster_platform::http::{CorsSettings, load_at_startup, with_common_routes, with_cors};
use roster_platform::jwt::JwtVerifier;
use roster_platform::openapi::{DocsUi, SecuritySchemes, with_document};
use roster_platform::secret_key::SecretKey;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AuthError;

/// Name of this service in logs and health answers.
pub const SERVICE: &str = "auth-api";

/// The API-key scope of the Auth API's server-to-server routes.
pub const SCOPE: &str = "auth";

/// The API-key scope of the identity export: the scope that reads profiles reads identities.
pub const READ_USERS_SCOPE: &str = "users:read";

/// The app clients (one per frontend) tokens may be issued to.
#[derive(Debug, Clone)]
pub struct AppClients {
    default: String,
    allowed: Vec<String>,
}

impl AppClients {
    /// `allowed` must contain `default`.
    pub fn new(default: impl Into<String>, allowed: Vec<String>) -> Self {
        let default = default.into();
        let mut allowed = allowed;
        if !allowed.contains(&default) {
            allowed.push(default.clone());
        }
        Self { default, allowed }
    }

    /// The client a request names, or the default one.
    pub fn resolve<'a>(&'a self, asked: Option<&'a str>) -> Result<&'a str, AuthError> {
        match asked {
            None => Ok(&self.default),
            Some(client) if self.allowed.iter().any(|allowed| allowed == client) => Ok(client),
            Some(_) => Err(AuthError::UnknownClient),
        }
    }

    pub fn all(&self) -> &[String] {
        &self.allowed
    }
}

/// Everything the routes need, built once at start-up.
pub struct AuthDeps {
    pub account: account::Account,
    pub registrar: registration::Registrar,
    pub activation: activation::Activation,
    pub login: login::Login,
    pub refresh: refresh::Refresh,
    pub logout: logout::Logout,
    pub password_reset: password_reset::PasswordReset,
    pub password_change: password_change::PasswordChange,
    pub mfa: mfa::Mfa,
    pub verifier: JwtVerifier,
    /// Tokens revoked since they were issued (sign-out, password, status, deletion).
    pub revocations: Arc<revocations::RevocationSet>,
    pub api_keys: Arc<ApiKeyGuard>,
    /// The Auth API's own key (activation codes, request fingerprints, challenge handles).
    pub server_key: Arc<SecretKey>,
    pub clients: AppClients,
    pub cors: CorsSettings,
    /// Where the docs page loads Swagger UI from.
    pub docs_ui: DocsUi,
}

impl AuthDeps {
    /// Loads what the first requests would otherwise load, all at once: the pool's JWKS, the
    /// API keys, the revocation set and the Auth API's key (see
    /// [`roster_platform::http::load_at_startup`]).
    pub async fn load_before_serving(&self) {
        tokio::join!(
            load_at_startup("the pool's JWKS", self.verifier.load_keys()),
            load_at_startup("the API keys", self.api_keys.load()),
            load_at_startup("the revocation set", self.revocations.load()),
            load_at_startup("the Auth API's key", self.server_key.load()),
        );
    }

    /// Verifies `token` as a token of use `expected` whose user's tokens were not revoked
    /// after it was issued.
    pub async fn verify_token(
        &self,
        token: &str,
        expected: roster_platform::jwt::TokenUse,
    ) -> Result<roster_platform::jwt::VerifiedToken, AuthError> {
        let verified = self.verifier.verify(token, expected).await?;
        self.not_revoked(&verified).await?;
        Ok(verified)
    }

    /// Refuses a verified token whose user's tokens were revoked after it was issued.
    pub async fn not_revoked(
        &self,
        verified: &roster_platform::jwt::VerifiedToken,
    ) -> Result<(), AuthError> {
        use revocations::RevocationError;
        use roster_platform::jwt::TokenRejection;

        match self.revocations.check(verified).await {
            Ok(()) => Ok(()),
            Err(RevocationError::Revoked) => Err(TokenRejection::Revoked.into()),
            Err(RevocationError::Unavailable(cause)) => {
                tracing::warn!(%cause, "revocations unavailable");
                Err(TokenRejection::KeysUnavailable.into())
            }
        }
    }
}

pub type AppState = Arc<AuthDeps>;

/// The OpenAPI document's frame: the routes add their own paths.
const SECURITY_SCHEMES: SecuritySchemes = SecuritySchemes {
    api_key: "A server-to-server API key with the `auth` scope (`users:read` for the identity \
              export)",
};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Roster Auth API",
        description = "Identities and credentials: registration, sign-in (with an optional \
            second factor), tokens, passwords. Errors are application/problem+json.",
    ),
    modifiers(&SECURITY_SCHEMES),
    components(schemas(roster_platform::problem::Problem))
)]
struct ApiDoc;

/// The routes that take an API key, and their documentation.
fn server_to_server() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::register::register))
        .routes(routes!(routes::activation::resend))
        .routes(routes!(routes::session::login))
        .routes(routes!(routes::mfa::login_mfa))
        .routes(routes!(routes::session::refresh))
        .routes(routes!(routes::verify::verify_in_path))
        .routes(routes!(routes::verify::verify_in_body))
        .routes(routes!(routes::password::forgot))
        .routes(routes!(routes::password::confirm))
}

/// The routes that take an API key with `users:read`, and their documentation.
fn read_users() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(routes::account::export_user))
}

/// The routes that take a Bearer access token, and their documentation.
fn bearer() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::session::logout))
        .routes(routes!(routes::password::change))
        .routes(routes!(routes::mfa::start, routes::mfa::disable))
        .routes(routes!(routes::mfa::confirm))
        .routes(routes!(routes::account::export_me))
        .routes(routes!(routes::account::delete_me))
}

/// The Auth API's OpenAPI 3.1 document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(server_to_server())
        .merge(read_users())
        .merge(bearer())
        .into_openapi()
}

/// The Auth API's routes, with its OpenAPI document at `/openapi.json`.
pub fn router(deps: AuthDeps) -> Router {
    let (cors, docs_ui) = (deps.cors.clone(), deps.docs_ui.clone());
    let state: AppState = Arc::new(deps);
    let scope = |scope| {
        from_fn_with_state(
            RequiredScope {
                guard: Arc::clone(&state.api_keys),
                scope,
            },
            require_api_key,
        )
    };
    let (router, _) = OpenApiRouter::<AppState>::new()
        .merge(server_to_server().route_layer(scope(SCOPE)))
        .merge(read_users().route_layer(scope(READ_USERS_SCOPE)))
        .merge(bearer())
        .split_for_parts();
    let router = with_document(router, openapi(), &docs_ui).with_state(state);
    with_cors(with_common_routes(router, SERVICE), &cors)
}

//! Roster Auth API: owns identities and credentials (Cognito) and the uniqueness of email,
//! name and handle. One axum router, hosted by `lambda_http` on AWS and by the local stack on
//! a laptop; plus the subscriber that applies User API events to Cognito.

pub mod config;
pub mod domain;
pub mod error;
pub mod identity;
pub mod registration;
pub mod routes;
pub mod server_key;
pub mod store;
pub mod subscriber;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use roster_platform::api_key_guard::{ApiKeyGuard, RequiredScope, require_api_key};
use roster_platform::http::with_common_routes;
use roster_platform::jwt::JwtVerifier;

use crate::error::AuthError;
use crate::identity::Cognito;

/// Name of this service in logs and health answers.
pub const SERVICE: &str = "auth-api";

/// The API-key scope of the Auth API's server-to-server routes.
pub const SCOPE: &str = "auth";

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
    pub identity: Cognito,
    pub registrar: registration::Registrar,
    pub verifier: JwtVerifier,
    pub api_keys: Arc<ApiKeyGuard>,
    pub clients: AppClients,
}

pub type AppState = Arc<AuthDeps>;

/// The Auth API's routes.
pub fn router(deps: AuthDeps) -> Router {
    let state: AppState = Arc::new(deps);
    let api_key = from_fn_with_state(
        RequiredScope {
            guard: Arc::clone(&state.api_keys),
            scope: SCOPE,
        },
        require_api_key,
    );
    let server_to_server = Router::new()
        .route("/auth/register", post(routes::register::register))
        .route("/auth/login", post(routes::session::login))
        .route("/auth/token/refresh", post(routes::session::refresh))
        .route(
            "/auth/token/{token_type}/verify/{token}",
            get(routes::verify::verify_in_path),
        )
        .route("/auth/token/verify", post(routes::verify::verify_in_body))
        .route("/auth/password/forgot", post(routes::password::forgot))
        .route("/auth/password/confirm", post(routes::password::confirm))
        .route_layer(api_key);
    let bearer = Router::new()
        .route("/auth/logout", post(routes::session::logout))
        .route("/auth/password/change", post(routes::password::change));
    let router = server_to_server.merge(bearer).with_state(state);
    with_common_routes(router, SERVICE)
}

//! Roster User API: owns profiles, badges, status and assets (DynamoDB and S3). One axum
//! router, hosted by `lambda_http` on AWS and by the local stack on a laptop; plus the
//! subscribers that turn events into profile changes (Auth API events, and the badge rules).

pub mod assets;
pub mod badge_rules;
pub mod config;
pub mod domain;
pub mod error;
pub mod export;
pub mod listing;
pub mod model;
pub mod profiles;
pub mod routes;
pub mod sessions;
pub mod store;
pub mod subscriber;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use roster_platform::api_key_guard::{ApiKeyGuard, RequiredScope, require_api_key};
use roster_platform::http::{CorsSettings, load_at_startup, with_common_routes, with_cors};
use roster_platform::jwt::JwtVerifier;
use roster_platform::openapi::{DocsUi, SecuritySchemes, with_document};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::listing::ListCursors;
use crate::profiles::Profiles;

/// Name of this service in logs and health answers.
pub const SERVICE: &str = "user-api";

/// The API-key scope of the reading routes.
pub const READ_SCOPE: &str = "users:read";
/// The API-key scope of the changing routes.
pub const WRITE_SCOPE: &str = "users:write";

/// Everything the routes need, built once at start-up.
pub struct UserDeps {
    pub profiles: Profiles,
    /// Seals and opens the cursors of `GET /users`.
    pub cursors: ListCursors,
    pub verifier: JwtVerifier,
    pub api_keys: Arc<ApiKeyGuard>,
    pub cors: CorsSettings,
    /// Where the docs page loads Swagger UI from.
    pub docs_ui: DocsUi,
}

impl UserDeps {
    /// Loads what the first requests would otherwise load, all at once: the pool's JWKS, the
    /// API keys and the User API's key (see [`roster_platform::http::load_at_startup`]).
    pub async fn load_before_serving(&self) {
        tokio::join!(
            load_at_startup("the pool's JWKS", self.verifier.load_keys()),
            load_at_startup("the API keys", self.api_keys.load()),
            load_at_startup("the User API's key", self.cursors.load()),
        );
    }
}

pub type AppState = Arc<UserDeps>;

const SECURITY_SCHEMES: SecuritySchemes = SecuritySchemes {
    api_key: "A server-to-server API key: `users:read` for reads, `users:write` for changes",
};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Roster User API",
        description = "Profiles, status, badges, data and avatars. Reads return an ETag; writes \
            honour If-Match. Errors are application/problem+json.",
    ),
    modifiers(&SECURITY_SCHEMES),
    components(schemas(roster_platform::problem::Problem))
)]
struct ApiDoc;

fn reads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::lookup::by_id))
        .routes(routes!(routes::lookup::by_name))
        .routes(routes!(routes::lookup::by_email))
        .routes(routes!(routes::lookup::by_handle))
        .routes(routes!(routes::lookup::export))
        .routes(routes!(routes::listing::list))
}

fn writes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::lookup::delete))
        .routes(routes!(routes::activation::activate))
        .routes(routes!(routes::activation::activate_in_body))
        .routes(routes!(routes::status::set_status))
        .routes(routes!(routes::data::replace, routes::data::merge))
        .routes(routes!(routes::badges::award, routes::badges::revoke))
        .routes(routes!(routes::avatar::avatar))
}

fn bearer() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::me::me))
        .routes(routes!(routes::me::update_profile))
        .routes(routes!(routes::me::export))
}

/// The User API's OpenAPI 3.1 document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document =
        OpenApiRouter::<AppState>::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
            .merge(reads())
            .merge(writes())
            .merge(bearer())
            .into_openapi();
    add_guard_responses(&mut document);
    document
}

/// The answers of the guards, on every operation they protect: written once here rather than
/// on each route.
fn add_guard_responses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Response, ResponseBuilder, content::ContentBuilder};

    let problem = |description: &str| -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    roster_platform::problem::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let api_key = operation.security.iter().flatten().any(|requirement| {
                serde_json::to_value(requirement).is_ok_and(|value| value.get("apiKey").is_some())
            });
            let responses = &mut operation.responses.responses;
            if api_key {
                responses
                    .entry("401".to_owned())
                    .or_insert_with(|| problem("Missing, unknown, revoked or expired API key"));
                responses.entry("403".to_owned()).or_insert_with(|| {
                    problem("The API key lacks the route's scope (users:read or users:write)")
                });
                responses.entry("503".to_owned()).or_insert_with(|| {
                    problem("API keys cannot be checked right now; see Retry-After")
                });
            }
            responses.entry("500".to_owned()).or_insert_with(|| {
                problem("An unexpected failure on our side; the cause is logged, never shown")
            });
        }
    }
}

/// The User API's routes, with its OpenAPI document at `/openapi.json`.
pub fn router(deps: UserDeps) -> Router {
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
        .merge(reads().route_layer(scope(READ_SCOPE)))
        .merge(writes().route_layer(scope(WRITE_SCOPE)))
        .merge(bearer())
        .split_for_parts();
    let router = with_document(router, openapi(), &docs_ui).with_state(state);
    with_cors(with_common_routes(router, SERVICE), &cors)
}

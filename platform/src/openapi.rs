//! What both APIs' OpenAPI documents share: the two security schemes and the route that
//! serves the document.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api_key_guard::API_KEY_HEADER;

/// Adds the `apiKey` (header `x-api-key`, described with the API's scopes) and `bearer`
/// (a user-pool access token) security schemes.
pub struct SecuritySchemes {
    pub api_key: &'static str,
}

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                API_KEY_HEADER,
                self.api_key,
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A user-pool access token"))
                    .build(),
            ),
        );
    }
}

/// Serves `document` at `GET /openapi.json`.
pub fn with_document<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    document: OpenApi,
) -> Router<S> {
    let document = Arc::new(document);
    router.route(
        "/openapi.json",
        get(move || {
            let document = Arc::clone(&document);
            async move { axum::Json(document.as_ref().clone()) }
        }),
    )
}

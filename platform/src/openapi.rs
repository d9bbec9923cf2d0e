//! What both APIs' OpenAPI documents share: the two security schemes and the route that
//! serves the document.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::Html;
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

/// Serves `document` at `GET /openapi.json` and its interactive documentation at `GET /docs`:
/// Swagger UI, whose script and stylesheet (`platform/assets/swagger-ui`) are served by the
/// API itself. The page's content security policy allows nothing from another origin.
pub fn with_document<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    document: OpenApi,
) -> Router<S> {
    let title = format!("{} — API documentation", document.info.title);
    let page = Html(DOCS_PAGE.replace("{title}", &escape_html(&title)));
    let document = Arc::new(document);
    router
        .route(
            "/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let page = page.clone();
                async move { (docs_headers(), page) }
            }),
        )
        .route(
            "/docs/init.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    DOCS_INIT,
                )
            }),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    SWAGGER_UI_CSS,
                )
            }),
        )
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SWAGGER_UI_JS,
                )
            }),
        )
}

/// Swagger UI 5.34.1's script and stylesheet, and nothing else of its distribution: no
/// source maps (2.2 MB that no API caller needs), no index page, no OAuth2 redirect page.
/// See `platform/assets/swagger-ui/README.md` for where they come from.
const SWAGGER_UI_JS: &str = include_str!("../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &str = include_str!("../assets/swagger-ui/swagger-ui.css");

/// Every operation of `document`: (method in capitals, path as the document writes it).
pub fn operations(document: &OpenApi) -> BTreeSet<(String, String)> {
    let document = serde_json::to_value(document).expect("an OpenAPI document serializes");
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(method, _)| method)
        {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// Relative links throughout, so the page works under an API Gateway stage prefix too
/// (`/Prod/docs` loads `/Prod/docs/...` and `/Prod/openapi.json`).
const DOCS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"#;

/// The documents name no server, so "Try it out" would call the host's root; the page names
/// the directory it was served from instead, which keeps an API Gateway stage prefix.
const DOCS_INIT: &str = r##"fetch("openapi.json")
  .then((response) => response.json())
  .then((spec) => {
    if (!spec.servers) {
      spec.servers = [{ url: new URL(".", location.href).href.replace(/\/$/, "") }];
    }
    window.ui = SwaggerUIBundle({
      spec,
      dom_id: "#swagger-ui",
      deepLinking: true,
      displayRequestDuration: true,
      // "Try it out" calls this API from its own origin: no CORS, and the key goes nowhere else.
      validatorUrl: null,
    });
  });
"##;

fn docs_headers() -> [(header::HeaderName, &'static str); 3] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get_page(path: &str) -> (StatusCode, http::HeaderMap, String) {
        let document = utoipa::openapi::OpenApiBuilder::new()
            .info(utoipa::openapi::Info::new("Test <API>", "1"))
            .build();
        let app: Router = with_document(Router::new(), document);
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_docs_page_loads_only_its_own_assets() {
        let (status, headers, page) = get_page("/docs").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<title>Test &lt;API&gt; — API documentation</title>"));
        assert!(!page.contains("http"), "no absolute URL: {page}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
        for asset in [
            "/docs/swagger-ui.css",
            "/docs/swagger-ui-bundle.js",
            "/docs/init.js",
        ] {
            let (status, _, body) = get_page(asset).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            assert!(body.len() > 100, "{asset}");
            assert!(!body.contains("sourceMappingURL"), "{asset} links no map");
        }
        let (_, headers, script) = get_page("/docs/swagger-ui-bundle.js").await;
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(script.contains("SwaggerUIBundle"));
        let (_, headers, style) = get_page("/docs/swagger-ui.css").await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
        assert!(style.contains(".swagger-ui"));
        for unserved in [
            "/docs/swagger-ui-bundle.js.map",
            "/docs/swagger-ui.css.map",
            "/docs/oauth2-redirect.html",
        ] {
            assert_eq!(
                get_page(unserved).await.0,
                StatusCode::NOT_FOUND,
                "{unserved}"
            );
        }
    }

    #[tokio::test]
    async fn a_query_string_is_not_echoed_into_the_page() {
        let (status, _, page) = get_page("/docs?%22%3E%3Cscript%3Ealert(1)%3C/script%3E").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("alert"), "{page}");
    }
}

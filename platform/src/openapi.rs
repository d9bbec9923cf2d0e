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
use crate::config::ConfigError;

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

/// Where the assets bucket keeps Swagger UI's script and stylesheet, under its public prefix.
pub const DOCS_UI_PREFIX: &str = "public/docs/swagger-ui-5.34.1/";

/// One file the docs pages load from the assets bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocsUiAsset {
    /// Its bucket key, under [`DOCS_UI_PREFIX`].
    pub key: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Swagger UI 5.34.1's script and stylesheet, and nothing else of its distribution (no source
/// maps, no index page, no OAuth2 redirect page; see `platform/assets/swagger-ui/README.md`),
/// as the assets bucket holds them. Local provisioning uploads them; a deploy syncs them
/// (docs/deploy.md). They are not in the Lambda binaries: 1.9 MB of text that made each API's
/// zip half a megabyte bigger.
pub const DOCS_UI_ASSETS: [DocsUiAsset; 2] = [
    DocsUiAsset {
        key: "public/docs/swagger-ui-5.34.1/swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
    },
    DocsUiAsset {
        key: "public/docs/swagger-ui-5.34.1/swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/swagger-ui/swagger-ui.css"),
    },
];

/// Where a docs page loads Swagger UI from: the assets bucket's public URL (CloudFront, the
/// bucket's own, or a local endpoint's), at [`DOCS_UI_PREFIX`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsUi {
    /// The folder's URL, ending in `/`.
    folder: String,
    /// Its origin, the only one besides the API's own the page may load from.
    origin: String,
}

impl DocsUi {
    /// Swagger UI under `assets_base_url`, an absolute http(s) URL.
    pub fn new(assets_base_url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid {
            name: "ASSETS_BASE_URL",
            reason: reason.to_owned(),
        };
        let base = assets_base_url.trim_end_matches('/');
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| invalid("not an absolute URL"))?;
        if !matches!(scheme, "https" | "http") {
            return Err(invalid("not an http(s) URL"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        let allowed =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
        if host.is_empty() || !host.chars().all(allowed) {
            return Err(invalid(
                "no host, or a host with characters a URL origin cannot hold",
            ));
        }
        if base.contains(['"', '<', '>', '\'', ' ', ';']) {
            return Err(invalid("characters a URL cannot hold"));
        }
        Ok(Self {
            folder: format!("{base}/{}", DOCS_UI_PREFIX.trim_start_matches('/')),
            origin: format!("{scheme}://{host}"),
        })
    }
}

/// Serves `document` at `GET /openapi.json` and its interactive documentation at `GET /docs`:
/// Swagger UI, whose script and stylesheet come from the assets bucket (`ui`). The page's
/// content security policy allows nothing from anywhere else.
pub fn with_document<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    document: OpenApi,
    ui: &DocsUi,
) -> Router<S> {
    let title = format!("{} — API documentation", document.info.title);
    let page = Html(
        DOCS_PAGE
            .replace("{title}", &escape_html(&title))
            .replace("{ui}", &escape_html(&ui.folder)),
    );
    let headers = docs_headers(&ui.origin);
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
                let (page, headers) = (page.clone(), headers.clone());
                async move { (headers, page) }
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
}

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
<link rel="stylesheet" href="{ui}swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ui}swagger-ui-bundle.js"></script>
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

/// The page's headers: scripts and styles from the API and the assets bucket's `origin` only.
fn docs_headers(origin: &str) -> [(header::HeaderName, String); 3] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'self' {origin}; \
                 style-src 'self' 'unsafe-inline' {origin}; img-src 'self' data:; \
                 connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'"
            ),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::REFERRER_POLICY, "no-referrer".to_owned()),
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

    const ASSETS: &str = "https://assets.example.com/cdn";

    async fn get_page(path: &str) -> (StatusCode, http::HeaderMap, String) {
        let document = utoipa::openapi::OpenApiBuilder::new()
            .info(utoipa::openapi::Info::new("Test <API>", "1"))
            .build();
        let ui = DocsUi::new(ASSETS).unwrap();
        let app: Router = with_document(Router::new(), document, &ui);
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
    async fn the_docs_page_loads_swagger_ui_from_the_assets_bucket_and_nothing_else() {
        let (status, headers, page) = get_page("/docs").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<title>Test &lt;API&gt; — API documentation</title>"));
        let folder = "https://assets.example.com/cdn/public/docs/swagger-ui-5.34.1/";
        assert!(
            page.contains(&format!(r#"href="{folder}swagger-ui.css""#)),
            "{page}"
        );
        assert!(
            page.contains(&format!(r#"src="{folder}swagger-ui-bundle.js""#)),
            "{page}"
        );
        assert!(page.contains(r#"src="docs/init.js""#), "{page}");
        assert_eq!(
            page.matches("https://").count(),
            2,
            "no other absolute URL: {page}"
        );
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            policy.starts_with(
                "default-src 'none'; script-src 'self' https://assets.example.com; \
                 style-src 'self' 'unsafe-inline' https://assets.example.com; img-src 'self' data:;"
            ),
            "{policy}"
        );
        let (status, headers, script) = get_page("/docs/init.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(script.contains("SwaggerUIBundle"));
        for unserved in [
            "/docs/swagger-ui-bundle.js",
            "/docs/swagger-ui.css",
            "/docs/swagger-ui-bundle.js.map",
            "/docs/oauth2-redirect.html",
        ] {
            assert_eq!(
                get_page(unserved).await.0,
                StatusCode::NOT_FOUND,
                "{unserved}"
            );
        }
    }

    #[test]
    fn the_bucket_holds_swagger_ui_without_source_maps_under_the_prefix() {
        for asset in DOCS_UI_ASSETS {
            assert!(asset.key.starts_with(DOCS_UI_PREFIX), "{}", asset.key);
            let text = std::str::from_utf8(asset.body).unwrap();
            assert!(text.len() > 100_000, "{}", asset.key);
            assert!(
                !text.contains("sourceMappingURL"),
                "{} links no map",
                asset.key
            );
        }
        assert!(
            std::str::from_utf8(DOCS_UI_ASSETS[0].body)
                .unwrap()
                .contains("SwaggerUIBundle")
        );
        assert!(
            std::str::from_utf8(DOCS_UI_ASSETS[1].body)
                .unwrap()
                .contains(".swagger-ui")
        );
    }

    #[test]
    fn the_assets_url_must_be_an_http_url_with_a_plain_host() {
        let ui = DocsUi::new("http://127.0.0.1:4566/roster-assets/").unwrap();
        assert_eq!(ui.origin, "http://127.0.0.1:4566");
        assert_eq!(
            ui.folder,
            "http://127.0.0.1:4566/roster-assets/public/docs/swagger-ui-5.34.1/"
        );
        for bad in [
            "assets.example.com",
            "ftp://assets.example.com",
            "https://",
            "https://a b.example.com",
            "https://x.example.com/\"; script-src *",
        ] {
            assert!(DocsUi::new(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_query_string_is_not_echoed_into_the_page() {
        let (status, _, page) = get_page("/docs?%22%3E%3Cscript%3Ealert(1)%3C/script%3E").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("alert"), "{page}");
    }
}

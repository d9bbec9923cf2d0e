//! One axum router, two hosts: `lambda_http` on AWS, `axum::serve` on a laptop. Both get the
//! same health route and the same problem+json answers for unknown routes and methods.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::config::ConfigError;
use crate::problem::Problem;

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

/// The header that carries a request's correlation id, in and out.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The id that follows one request across services: the caller's `X-Correlation-Id` when it
/// is a sane one (1 to 128 letters, digits, `-`, `_`, `.`), otherwise a new UUID. Handlers
/// find it as a request extension and store it with the change they make, so the events the
/// change leads to carry it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    fn from_header(value: Option<&HeaderValue>) -> Self {
        let given = value.and_then(|value| value.to_str().ok()).filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
        Self(given.map_or_else(new_id, str::to_owned))
    }
}

/// A random (version 4) UUID from aws-lc's generator, which draws from the kernel only to
/// seed itself: `Uuid::new_v4` makes a `getrandom` system call for every request.
fn new_id() -> String {
    let mut bytes = [0_u8; 16];
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string(),
        Err(_) => uuid::Uuid::new_v4().to_string(),
    }
}

async fn correlate(mut request: Request, next: Next) -> Response {
    let id = CorrelationId::from_header(request.headers().get(CORRELATION_HEADER));
    let span = tracing::info_span!("request", correlation_id = %id.0);
    let header = HeaderValue::from_str(&id.0).ok();
    request.extensions_mut().insert(id);
    let mut response = next.run(request).instrument(span).await;
    if let Some(header) = header {
        response.headers_mut().insert(CORRELATION_HEADER, header);
    }
    response
}

/// Adds `GET /health` (liveness: no AWS call, so it stays cheap and never flaps with a
/// dependency), the problem+json fallbacks and the correlation id to a service's router.
pub fn with_common_routes(router: Router, service: &'static str) -> Router {
    router
        .route(
            "/health",
            get(move || async move {
                axum::Json(Health {
                    status: "ok",
                    service,
                    version: env!("CARGO_PKG_VERSION"),
                })
            }),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed() })
        .layer(from_fn(correlate))
}

/// The browser origins (one per frontend) allowed to call a service cross-origin:
/// `CORS_ALLOWED_ORIGINS`, comma-separated, each `scheme://host[:port]`. Empty: no
/// cross-origin calls at all. Server-to-server callers are not browsers and are not affected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsSettings {
    pub origins: Vec<String>,
}

impl CorsSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse(&std::env::var("CORS_ALLOWED_ORIGINS").unwrap_or_default())
    }

    /// A comma-separated list of origins; a wildcard, a path or a scheme other than http(s)
    /// is refused.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: "CORS_ALLOWED_ORIGINS",
            reason,
        };
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| invalid(format!("{origin:?} is not an http(s) origin")))?;
            let valid = !host.is_empty()
                && host.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                });
            if !valid {
                return Err(invalid(format!(
                    "{origin:?} is not scheme://host[:port] (no wildcard, no path)"
                )));
            }
            origins.push(origin.to_owned());
        }
        Ok(Self { origins })
    }
}

/// Answers browsers' CORS preflights and marks responses for the allowed origins only. A
/// preflight from any other origin gets no `Access-Control-Allow-Origin`, so the browser
/// stops there. Browsers may send a Bearer token, never an API key.
pub fn with_cors(router: Router, settings: &CorsSettings) -> Router {
    if settings.origins.is_empty() {
        return router;
    }
    let origins: Vec<HeaderValue> = settings
        .origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                HeaderName::from_static(CORRELATION_HEADER),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static(CORRELATION_HEADER),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn unknown_route(uri: Uri) -> Problem {
    Problem::not_found("no such route").with_instance(uri.path().to_owned())
}

/// How long an API waits at start-up for each thing it loads before its first request.
pub const STARTUP_LOAD_LIMIT: Duration = Duration::from_secs(3);

/// Runs `load` (the JWKS, the API keys, a secret key) before the first request. On Lambda that
/// is the init phase, which runs with the CPU boosted, while invocations run at the memory's
/// share of one vCPU (128 MB: about 7%), so loading there makes the first invocation as cheap
/// as the others. A load that fails or takes longer than [`STARTUP_LOAD_LIMIT`] is logged and
/// left to the first request that needs it, as without this step: starting never fails for it.
pub async fn load_at_startup<E: std::fmt::Debug>(
    what: &'static str,
    load: impl Future<Output = Result<(), E>>,
) {
    match tokio::time::timeout(STARTUP_LOAD_LIMIT, load).await {
        Ok(Ok(())) => tracing::debug!(what, "loaded at start-up"),
        Ok(Err(error)) => {
            tracing::warn!(
                what,
                ?error,
                "not loaded at start-up; the first request will try"
            );
        }
        Err(_) => tracing::warn!(
            what,
            limit_s = STARTUP_LOAD_LIMIT.as_secs(),
            "not loaded in time at start-up; the first request will try"
        ),
    }
}

/// Runs the router as an API Gateway Lambda function.
pub async fn run_on_lambda(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(router).await
}

/// Serves the router on an already bound listener until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    /// `.cargo/config.toml` builds aws-lc without its CPU-jitter entropy source, whose
    /// collection cost about 50 ms of CPU at each process's first use of randomness (here: the
    /// first request's correlation id). Built with it, this binary carries its code.
    #[cfg(target_os = "linux")]
    #[test]
    fn aws_lc_is_built_without_its_cpu_jitter_entropy_source() {
        assert_eq!(new_id().len(), 36, "the generator is linked and works");
        let binary = std::fs::read("/proc/self/exe").expect("this test binary");
        // Written backwards, so that this test's own text is not what it finds.
        let needle: Vec<u8> = b"yportne_daer_tnej".iter().rev().copied().collect();
        assert!(
            !binary.windows(needle.len()).any(|window| window == needle),
            "aws-lc was built with CPU-jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY set?"
        );
    }

    #[test]
    fn cors_origins_are_http_origins_without_wildcards_or_paths() {
        let parsed =
            CorsSettings::parse(" https://app.example.com, http://localhost:5173 ,").unwrap();
        assert_eq!(
            parsed.origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert!(CorsSettings::parse("").unwrap().origins.is_empty());
        for bad in [
            "*",
            "https://*.example.com",
            "https://app.example.com/path",
            "ftp://example.com",
            "example.com",
            "https://",
        ] {
            assert!(CorsSettings::parse(bad).is_err(), "{bad}");
        }
    }

    fn app() -> Router {
        with_common_routes(Router::new(), "test-api")
    }

    async fn call(method: &str, uri: &str) -> (StatusCode, String, serde_json::Value) {
        let response = app()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(response.into_body(), 4096).await.unwrap();
        (status, content_type, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn health_names_the_service() {
        let (status, _, body) = call("GET", "/health").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["service"], "test-api");
    }

    #[tokio::test]
    async fn unknown_route_is_a_404_problem() {
        let (status, content_type, body) = call("GET", "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["type"], "/problems/not-found");
        assert_eq!(body["instance"], "/nope");
    }

    #[tokio::test]
    async fn a_sane_correlation_id_is_kept_and_any_other_replaced() {
        for (given, kept) in [
            ("req-123.abc_DEF", true),
            ("has space", false),
            (&"x".repeat(129), false),
            ("", false),
        ] {
            let mut request = Request::builder().uri("/health");
            if !given.is_empty() {
                request = request.header(CORRELATION_HEADER, given);
            }
            let response = app()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let echoed = response.headers()[CORRELATION_HEADER].to_str().unwrap();
            if kept {
                assert_eq!(echoed, given);
            } else {
                assert!(uuid::Uuid::parse_str(echoed).is_ok(), "{echoed}");
            }
        }
    }

    #[tokio::test]
    async fn wrong_method_is_a_405_problem() {
        let (status, content_type, body) = call("DELETE", "/health").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["status"], 405);
    }
}

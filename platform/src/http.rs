//! One axum router, two hosts: `lambda_http` on AWS, `axum::serve` on a laptop. Both get the
//! same health route and the same problem+json answers for unknown routes and methods.

use std::future::Future;

use axum::Router;
use axum::http::Uri;
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;

use crate::problem::Problem;

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

/// Adds `GET /health` (liveness: no AWS call, so it stays cheap and never flaps with a
/// dependency) and the problem+json fallbacks to a service's router.
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
}

async fn unknown_route(uri: Uri) -> Problem {
    Problem::not_found("no such route").with_instance(uri.path().to_owned())
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
    async fn wrong_method_is_a_405_problem() {
        let (status, content_type, body) = call("DELETE", "/health").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["status"], 405);
    }
}

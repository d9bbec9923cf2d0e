//! Request extractors whose rejections speak the one error format: a JSON body and a Bearer
//! token that fail as `application/problem+json` 4xx, never as axum's plain-text defaults.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON request body; malformed JSON, a wrong shape or a missing content type become 400 or
/// 415 problems that say what is wrong (never echoing secrets: serde names the field, not the
/// value).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
        )
        .with_detail("send the body as application/json"),
        JsonRejection::JsonDataError(error) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid Request Body",
        )
        .with_detail(error.body_text()),
        JsonRejection::JsonSyntaxError(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid Request Body",
        )
        .with_detail("the body is not valid JSON"),
        JsonRejection::BytesRejection(error) => {
            let status = error.status();
            Problem::new(status, "invalid-body", "Invalid Request Body")
                .with_detail(error.body_text())
        }
        other => Problem::new(other.status(), "invalid-body", "Invalid Request Body"),
    }
}

/// Path parameters whose rejection (a segment that is not valid UTF-8 once decoded, or does
/// not parse) is a 400 problem.
#[derive(Debug, Clone)]
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-path",
                "Invalid Path Parameter",
            )
            .with_detail(rejection.body_text())),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header, unverified.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            })
            .filter(|token| !token.is_empty())
            .map(BearerToken)
            .ok_or_else(invalid_token)
    }
}

/// The one answer to a missing, malformed or refused token.
pub fn invalid_token() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "invalid-token", "Unauthorized")
        .with_detail("a valid token is required")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::routing::post;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Login {
        #[allow(dead_code)]
        email: String,
    }

    async fn status_and_type(content_type: Option<&str>, body: &str) -> (u16, String) {
        let app = Router::new().route("/", post(|JsonBody(_): JsonBody<Login>| async { "ok" }));
        let mut request = Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = app
            .oneshot(request.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let _ = to_bytes(response.into_body(), 4096).await;
        (status, content_type)
    }

    #[tokio::test]
    async fn body_mistakes_are_problem_json_4xx() {
        let json = Some("application/json");
        assert_eq!(status_and_type(json, "{").await.0, 400);
        assert_eq!(status_and_type(json, "{\"name\":1}").await.0, 400);
        assert_eq!(status_and_type(json, "{\"email\":5}").await.0, 400);
        let (status, content_type) = status_and_type(None, "{\"email\":\"a\"}").await;
        assert_eq!(status, 415);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(status_and_type(json, "{\"email\":\"a\"}").await.0, 200);
    }
}

//! The example account page (`examples/web`) on an origin of its own, as the local stack
//! serves it: the page's files, its `config.json`, and `POST /session` (with
//! `POST /session/mfa` for the second step of a two-step sign-in), the page's small backend
//! for signing in; `POST /activation` and `POST /activation/resend`, its backend for using an
//! activation code and asking for a new one; and `GET /mailbox`, the local stack's mailbox:
//! the mail this stack sent (through SES on the local endpoint, which delivers nothing), by
//! recipient.
//!
//! The Auth API's `/auth/login` takes a server-to-server API key, which a browser must never
//! hold. So the page posts the email and password to its own origin, and this backend calls
//! the Auth API with the key and hands back the access token alone (the refresh token stays
//! out of the browser). Everything else the page does goes straight from the browser to the
//! APIs, cross-origin, with that token: which is what the APIs' CORS allow-list governs.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest::Client;
use roster_platform::api_key_guard::API_KEY_HEADER;
use roster_platform::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stack::LocalFacts;

/// The files of `examples/web`, built into the binary.
const INDEX: &str = include_str!("../../examples/web/index.html");
const SCRIPT: &str = include_str!("../../examples/web/app.js");
const STYLE: &str = include_str!("../../examples/web/style.css");

/// Where the page's backend and the page itself find the APIs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub auth_url: String,
    pub user_url: String,
    /// Where profile pictures and badge icons are served from.
    pub assets_url: String,
    /// The key `POST /session` signs in with; it never reaches the browser.
    pub api_key: String,
    /// This frontend's app client (`account-web`), named in each sign-in.
    pub client_id: Option<String>,
    /// The local AWS endpoint, whose SES keeps the mail sent (`/_roster/mailbox`).
    pub aws_endpoint: String,
    /// The stack's mail domain: the mailbox shows the mail sent from it only.
    pub mail_domain: String,
}

impl WebConfig {
    /// The page as a running local stack serves it: its APIs, its assets, its development
    /// key and the `account-web` app client.
    pub fn for_stack(facts: &LocalFacts) -> Self {
        Self {
            auth_url: facts.auth_url.clone(),
            user_url: facts.user_url.clone(),
            assets_url: facts.assets_url(),
            api_key: facts.api_key.clone(),
            client_id: facts.client_ids.get("account-web").cloned(),
            aws_endpoint: facts.aws_endpoint.clone(),
            mail_domain: facts.mail_domain(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct WebState {
    pub(crate) config: Arc<WebConfig>,
    pub(crate) http: Client,
    policy: HeaderValue,
}

/// The page's public configuration, as `GET /config.json` serves it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig<'a> {
    auth_url: &'a str,
    user_url: &'a str,
    assets_url: &'a str,
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
}

/// The second step of a two-step sign-in: the challenge's session and the app's code.
#[derive(Deserialize)]
struct SecondStep {
    session: String,
    code: String,
}

/// What the page gets back from signing in: the access token and nothing longer-lived.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    access_token: String,
    expires_in: Option<u64>,
}

impl WebState {
    /// The pages' Content-Security-Policy.
    pub(crate) fn policy(&self) -> &HeaderValue {
        &self.policy
    }
}

pub fn router(config: WebConfig, http: Client) -> Router {
    let origin = |url: &str| {
        reqwest::Url::parse(url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default()
    };
    // The page may talk to its own origin and the two APIs, and show images from the assets
    // origin; nothing else, and no inline script.
    let policy = format!(
        "default-src 'self'; connect-src 'self' {} {}; img-src 'self' {} data:; \
         script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        origin(&config.auth_url),
        origin(&config.user_url),
        origin(&config.assets_url),
    );
    let state = WebState {
        config: Arc::new(config),
        http,
        policy: HeaderValue::from_str(&policy).expect("a valid policy header"),
    };
    Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| file("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route("/style.css", get(|| file("text/css; charset=utf-8", STYLE)))
        .route("/config.json", get(page_config))
        .route("/session", post(sign_in))
        .route("/session/mfa", post(second_step))
        .route("/activation", post(activate))
        .route("/activation/resend", post(resend))
        .route("/mailbox", get(crate::mailbox::page))
        .route("/mailbox/{id}", get(crate::mailbox::html_body))
        .fallback(|| async { Problem::not_found("the account page has no such file") })
        .with_state(state)
}

async fn index(State(state): State<WebState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, state.policy.clone()),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        INDEX,
    )
        .into_response()
}

async fn file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn page_config(State(state): State<WebState>) -> Response {
    let config = &state.config;
    axum::Json(PageConfig {
        auth_url: &config.auth_url,
        user_url: &config.user_url,
        assets_url: &config.assets_url,
    })
    .into_response()
}

/// `POST /session`: the Auth API's login with the server's key. The Auth API's refusals
/// (wrong password, bad input) reach the page as they are; a two-step sign-in's challenge
/// (401 `/problems/mfa-required`) becomes `200 {"mfaRequired": true, "session", "expiresIn"}`,
/// and the page sends the sealed session back with a code to `POST /session/mfa`; a backend
/// that cannot reach the Auth API is a 502.
async fn sign_in(State(state): State<WebState>, body: axum::body::Bytes) -> Response {
    let Ok(SignIn { email, password }) = serde_json::from_slice(&body) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-sign-in",
            "Invalid sign-in",
        )
        .with_detail("send {\"email\": ..., \"password\": ...}")
        .into_response();
    };
    let request = serde_json::json!({
        "email": email,
        "password": password,
        "clientId": state.config.client_id,
    });
    signed_in(&state, "/auth/login", &request).await
}

/// `POST /session/mfa`: the Auth API's `/auth/login/mfa` with the server's key.
async fn second_step(State(state): State<WebState>, body: axum::body::Bytes) -> Response {
    let Ok(SecondStep { session, code }) = serde_json::from_slice(&body) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-sign-in",
            "Invalid sign-in",
        )
        .with_detail("send {\"session\": ..., \"code\": ...}")
        .into_response();
    };
    let request = serde_json::json!({
        "session": session,
        "code": code,
        "clientId": state.config.client_id,
    });
    signed_in(&state, "/auth/login/mfa", &request).await
}

/// Calls the Auth API's `path` with the key; a success becomes the page's [`Session`], a
/// refusal is passed on as it is.
async fn signed_in(state: &WebState, path: &str, request: &Value) -> Response {
    let answer = state
        .http
        .post(format!("{}{path}", state.config.auth_url))
        .header(API_KEY_HEADER, &state.config.api_key)
        .json(request)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(error = %error.without_url(), "the Auth API did not answer a sign-in");
            return Problem::new(
                StatusCode::BAD_GATEWAY,
                "auth-api-unreachable",
                "The Auth API did not answer",
            )
            .into_response();
        }
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if status == StatusCode::UNAUTHORIZED && body["type"] == "/problems/mfa-required" {
        // Not a failure for the page: the password was right, a code comes next.
        return axum::Json(serde_json::json!({
            "mfaRequired": true,
            "session": body["session"],
            "expiresIn": body["expiresIn"],
        }))
        .into_response();
    }
    if !status.is_success() {
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
        }
        return response;
    }
    match body["accessToken"].as_str() {
        Some(token) => axum::Json(Session {
            access_token: token.to_owned(),
            expires_in: body["expiresIn"].as_u64(),
        })
        .into_response(),
        None => Problem::new(
            StatusCode::BAD_GATEWAY,
            "no-access-token",
            "The Auth API gave no access token",
        )
        .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Activate {
    activation_code: String,
}

#[derive(Deserialize)]
struct Resend {
    email: String,
}

/// `POST /activation`: the User API's `POST /user/activate` with the server's key (a browser
/// never holds a key). 200 `{"activated": true, "email"}`; the User API's refusals (unknown
/// or used code 404, expired 410, malformed 400) reach the page as they are.
async fn activate(State(state): State<WebState>, body: axum::body::Bytes) -> Response {
    let Ok(Activate { activation_code }) = serde_json::from_slice(&body) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-activation",
            "Invalid activation",
        )
        .with_detail("send {\"activationCode\": ...}")
        .into_response();
    };
    let request = serde_json::json!({ "activationCode": activation_code });
    let url = format!("{}/user/activate", state.config.user_url);
    passed_on(
        &state,
        &url,
        &request,
        |user| serde_json::json!({"activated": true, "email": user["email"]}),
    )
    .await
}

/// `POST /activation/resend`: the Auth API's `POST /auth/activation/resend` with the server's
/// key, for an email address. Its answer (202 whoever the address is, 429 with `Retry-After`
/// when too soon) reaches the page as it is.
async fn resend(State(state): State<WebState>, body: axum::body::Bytes) -> Response {
    let Ok(Resend { email }) = serde_json::from_slice(&body) else {
        return Problem::new(StatusCode::BAD_REQUEST, "invalid-resend", "Invalid resend")
            .with_detail("send {\"email\": ...}")
            .into_response();
    };
    let request = serde_json::json!({ "email": email });
    let url = format!("{}/auth/activation/resend", state.config.auth_url);
    passed_on(&state, &url, &request, Clone::clone).await
}

/// POSTs `request` to `url` with the key; a success's body becomes `shown(body)`, a refusal is
/// passed on with its status, type and `Retry-After`.
async fn passed_on(
    state: &WebState,
    url: &str,
    request: &Value,
    shown: impl FnOnce(&Value) -> Value,
) -> Response {
    let answer = match state
        .http
        .post(url)
        .header(API_KEY_HEADER, &state.config.api_key)
        .json(request)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(error = %error.without_url(), "an API did not answer the page's backend");
            return Problem::new(
                StatusCode::BAD_GATEWAY,
                "api-unreachable",
                "The API did not answer",
            )
            .into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    let mut response = if status.is_success() {
        (status, axum::Json(shown(&body))).into_response()
    } else {
        (status, axum::Json(body)).into_response()
    };
    for name in [header::CONTENT_TYPE, header::RETRY_AFTER] {
        if let Some(value) = headers.get(&name).filter(|_| !status.is_success()) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

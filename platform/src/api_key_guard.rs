//! The API-key guard of every server-to-server route of both APIs.
//!
//! The caller sends its key in `x-api-key`. The guard finds the stored record by the key's id,
//! compares SHA-256 digests in constant time, refuses expired keys, and checks the route's
//! scope. Records come from Secrets Manager and are cached for a configurable TTL; a key id
//! the cache does not know triggers at most one reload per cooldown (so a key created a moment
//! ago works at once, and random ids cannot hammer Secrets Manager). Unknown, malformed,
//! revoked and expired keys all get the same 401; a valid key without the scope gets 403.
//! The caller's name and key id are logged, the key never.
//!
//! A key's other bindings (the app clients and source systems it may use) depend on the
//! request's body, so the routes check them with the [`Caller`] the guard puts into the
//! request: [`Caller::may_use_client`], [`Caller::may_use_source_system`]. Outside them the
//! answer is 403 as well, with a problem type naming what was refused.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{Mutex, RwLock};

use crate::api_keys::{ApiKeyRecord, ApiKeySet, Bindings, key_id};
use crate::lambda::BoxFuture;
use crate::problem::Problem;

/// The header that carries the key.
pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Debug, thiserror::Error)]
#[error("API keys cannot be loaded: {0}")]
pub struct KeySourceError(pub String);

/// Where the key records live.
pub trait KeySource: Send + Sync + 'static {
    fn load(&self) -> BoxFuture<'_, Result<ApiKeySet, KeySourceError>>;
}

/// The key set stored as a Secrets Manager secret's JSON string.
#[derive(Debug, Clone)]
pub struct SecretsManagerKeys {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerKeys {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl KeySource for SecretsManagerKeys {
    fn load(&self) -> BoxFuture<'_, Result<ApiKeySet, KeySourceError>> {
        Box::pin(async move {
            let text = crate::aws::secret_string(&self.client, &self.secret_id)
                .await
                .map_err(KeySourceError)?;
            serde_json::from_str(&text)
                .map_err(|error| KeySourceError(format!("the secret is not a key set: {error}")))
        })
    }
}

/// Who is calling, once the key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// The app clients and source systems the key may use.
    pub bindings: Bindings,
}

impl Caller {
    /// Whether the key may use the app client `client_id`: name it in a sign-in, refresh or
    /// password reset (or get it as the default), or verify a token issued to it.
    pub fn may_use_client(&self, client_id: &str) -> Result<(), OutsideBindings> {
        if self.bindings.allows_client(client_id) {
            return Ok(());
        }
        tracing::info!(caller = %self.name, key_id = %self.key_id, client_id, "API key not bound to this app client");
        Err(OutsideBindings::Client)
    }

    /// Whether the key may register users for `source_system`.
    pub fn may_use_source_system(&self, source_system: &str) -> Result<(), OutsideBindings> {
        if self.bindings.allows_source_system(source_system) {
            return Ok(());
        }
        tracing::info!(caller = %self.name, key_id = %self.key_id, source_system, "API key not bound to this source system");
        Err(OutsideBindings::SourceSystem)
    }
}

/// A request outside what its key is bound to: 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutsideBindings {
    #[error("the API key may not use this app client")]
    Client,
    #[error("the API key may not use this source system")]
    SourceSystem,
}

impl IntoResponse for OutsideBindings {
    fn into_response(self) -> Response {
        let (slug, detail) = match self {
            OutsideBindings::Client => (
                "client-not-allowed",
                "the API key is not bound to this app client (clientId, the default client, or the token's client)",
            ),
            OutsideBindings::SourceSystem => (
                "source-system-not-allowed",
                "the API key is not bound to this sourceSystem (roster when none is given)",
            ),
        };
        Problem::new(StatusCode::FORBIDDEN, slug, "Forbidden")
            .with_detail(detail)
            .into_response()
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Missing, malformed, unknown, revoked, expired or wrong: one answer for all.
    Unauthorized,
    /// A valid key without the route's scope.
    Forbidden,
    /// The keys cannot be loaded; the guard fails closed.
    Unavailable,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Unauthorized => {
                Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
                    .with_detail("a valid API key is required in the x-api-key header")
                    .into_response()
            }
            Rejection::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
                .with_detail("the API key does not allow this operation")
                .into_response(),
            Rejection::Unavailable => {
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service Unavailable",
                )
                .with_detail("API keys cannot be checked right now; retry shortly")
                .into_response();
                response
                    .headers_mut()
                    .insert("retry-after", axum::http::HeaderValue::from_static("5"));
                response
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct GuardOptions {
    /// How long loaded records are trusted (revocations take effect within this time).
    pub ttl: Duration,
    /// Least time between two reloads caused by unknown key ids.
    pub miss_cooldown: Duration,
}

impl Default for GuardOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            miss_cooldown: Duration::from_secs(5),
        }
    }
}

#[derive(Default)]
struct Cache {
    keys: Arc<HashMap<String, Arc<ApiKeyRecord>>>,
    loaded_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// Last reload caused by an unknown key id.
    last_miss_reload: Option<Instant>,
}

pub struct ApiKeyGuard {
    source: Box<dyn KeySource>,
    options: GuardOptions,
    cache: RwLock<Cache>,
    /// One reload at a time; callers that waited find the fresh cache.
    reload: Mutex<()>,
}

impl ApiKeyGuard {
    pub fn new(source: impl KeySource, options: GuardOptions) -> Self {
        Self {
            source: Box::new(source),
            options,
            cache: RwLock::new(Cache::default()),
            reload: Mutex::new(()),
        }
    }

    /// Checks a presented key for `scope`.
    pub async fn check(&self, presented: Option<&str>, scope: &str) -> Result<Caller, Rejection> {
        let presented = presented.ok_or(Rejection::Unauthorized)?;
        let id = key_id(presented).ok_or(Rejection::Unauthorized)?;
        let record = self.record(id).await?.ok_or(Rejection::Unauthorized)?;
        let digest = Sha256::digest(presented.as_bytes());
        // A stored hash that is not 32 bytes of hex matches no key.
        let mut stored = [0_u8; 32];
        if hex::decode_to_slice(&record.sha256, &mut stored).is_err()
            || !bool::from(digest.as_slice().ct_eq(&stored))
        {
            return Err(Rejection::Unauthorized);
        }
        if let Some(expires_at) = &record.expires_at {
            let expired = chrono::DateTime::parse_from_rfc3339(expires_at)
                .map(|at| at <= chrono::Utc::now())
                // An expiry nobody can read is treated as passed: fail closed.
                .unwrap_or(true);
            if expired {
                return Err(Rejection::Unauthorized);
            }
        }
        if !record.scopes.iter().any(|granted| granted == scope) {
            tracing::info!(caller = %record.caller, key_id = %record.id, scope, "API key lacks the scope");
            return Err(Rejection::Forbidden);
        }
        Ok(Caller {
            key_id: record.id.clone(),
            name: record.caller.clone(),
            scopes: record.scopes.clone(),
            bindings: record.bindings.clone(),
        })
    }

    async fn record(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Rejection> {
        let now = Instant::now();
        let for_a_miss = {
            let cache = self.cache.read().await;
            let fresh = cache
                .loaded_at
                .is_some_and(|at| now.duration_since(at) < self.options.ttl);
            if fresh {
                if let Some(record) = cache.keys.get(id) {
                    return Ok(Some(Arc::clone(record)));
                }
                let cooling = cache
                    .last_miss_reload
                    .is_some_and(|at| now.duration_since(at) < self.options.miss_cooldown);
                if cooling {
                    return Ok(None);
                }
            }
            fresh
        };
        let keys = self.reload(now, for_a_miss).await?;
        Ok(keys.get(id).cloned())
    }

    /// Loads the key set now: at start-up, so that the first request finds it cached.
    pub async fn load(&self) -> Result<(), Rejection> {
        self.reload(Instant::now(), false).await.map(drop)
    }

    /// Reloads unless another caller did so since `asked_at`.
    async fn reload(
        &self,
        asked_at: Instant,
        for_a_miss: bool,
    ) -> Result<Arc<HashMap<String, Arc<ApiKeyRecord>>>, Rejection> {
        let _one_at_a_time = self.reload.lock().await;
        {
            let cache = self.cache.read().await;
            if cache.last_attempt.is_some_and(|at| at >= asked_at) && cache.loaded_at.is_some() {
                return Ok(Arc::clone(&cache.keys));
            }
        }
        let loaded = self.source.load().await;
        let mut cache = self.cache.write().await;
        cache.last_attempt = Some(Instant::now());
        if for_a_miss {
            cache.last_miss_reload = cache.last_attempt;
        }
        match loaded {
            Ok(set) => {
                cache.keys = Arc::new(
                    set.keys
                        .into_iter()
                        .map(|record| (record.id.clone(), Arc::new(record)))
                        .collect(),
                );
                cache.loaded_at = Some(Instant::now());
                Ok(Arc::clone(&cache.keys))
            }
            Err(error) if cache.loaded_at.is_some() => {
                // Keep serving what we had rather than locking every caller out.
                tracing::warn!(%error, "reloading API keys failed; using the previous set");
                Ok(Arc::clone(&cache.keys))
            }
            Err(error) => {
                tracing::error!(%error, "API keys cannot be loaded; refusing S2S calls");
                Err(Rejection::Unavailable)
            }
        }
    }
}

/// Axum middleware: `route_layer(from_fn_with_state(RequiredScope { guard, scope }, require_api_key))`.
/// The checked [`Caller`] is put into the request's extensions.
#[derive(Clone)]
pub struct RequiredScope {
    pub guard: Arc<ApiKeyGuard>,
    pub scope: &'static str,
}

pub async fn require_api_key(
    State(required): State<RequiredScope>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim);
    match required.guard.check(presented, required.scope).await {
        Ok(caller) => {
            tracing::debug!(caller = %caller.name, key_id = %caller.key_id, "API key accepted");
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_keys::issue;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An in-memory key source that counts loads and can be told to fail.
    #[derive(Clone, Default)]
    struct Memory {
        set: Arc<std::sync::Mutex<ApiKeySet>>,
        loads: Arc<AtomicUsize>,
        broken: Arc<std::sync::atomic::AtomicBool>,
    }

    impl KeySource for Memory {
        fn load(&self) -> BoxFuture<'_, Result<ApiKeySet, KeySourceError>> {
            Box::pin(async move {
                self.loads.fetch_add(1, Ordering::SeqCst);
                if self.broken.load(Ordering::SeqCst) {
                    return Err(KeySourceError("down".into()));
                }
                Ok(self.set.lock().unwrap().clone())
            })
        }
    }

    fn guard(memory: &Memory) -> ApiKeyGuard {
        ApiKeyGuard::new(memory.clone(), GuardOptions::default())
    }

    fn add(memory: &Memory, scopes: &[&str]) -> (String, ApiKeyRecord) {
        let issued = issue("bff", scopes, "2026-11-24T00:00:00Z").unwrap();
        memory.set.lock().unwrap().keys.push(issued.record.clone());
        (issued.plaintext, issued.record)
    }

    #[tokio::test]
    async fn a_valid_key_with_the_scope_names_its_caller() {
        let memory = Memory::default();
        let (key, record) = add(&memory, &["users:read"]);
        let caller = guard(&memory)
            .check(Some(&key), "users:read")
            .await
            .unwrap();
        assert_eq!(caller.name, "bff");
        assert_eq!(caller.key_id, record.id);
    }

    #[tokio::test]
    async fn missing_malformed_unknown_and_wrong_keys_are_all_unauthorized() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        let guard = guard(&memory);
        let mut tampered = key.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        let unknown = issue("x", &["auth"], "t").unwrap().plaintext;
        for presented in [
            None,
            Some(""),
            Some("not-a-key"),
            Some(&tampered),
            Some(&unknown),
        ] {
            assert_eq!(
                guard.check(presented, "auth").await,
                Err(Rejection::Unauthorized),
                "{presented:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_key_without_the_scope_is_forbidden() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["users:read"]);
        assert_eq!(
            guard(&memory).check(Some(&key), "users:write").await,
            Err(Rejection::Forbidden)
        );
    }

    #[tokio::test]
    async fn a_bound_key_may_use_only_its_clients_and_source_systems() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        memory.set.lock().unwrap().keys[0].bindings = Bindings {
            clients: Some(vec!["partner-portal-id".into()]),
            source_systems: Some(vec!["partner-bff".into()]),
        };
        let caller = guard(&memory).check(Some(&key), "auth").await.unwrap();
        assert_eq!(caller.may_use_client("partner-portal-id"), Ok(()));
        assert_eq!(
            caller.may_use_client("account-web-id"),
            Err(OutsideBindings::Client)
        );
        assert_eq!(caller.may_use_source_system("partner-bff"), Ok(()));
        for other in ["roster", "web-shop", "PARTNER-BFF"] {
            assert_eq!(
                caller.may_use_source_system(other),
                Err(OutsideBindings::SourceSystem),
                "{other}"
            );
        }
    }

    #[tokio::test]
    async fn a_key_without_bindings_may_use_any_client_and_source_system() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        let caller = guard(&memory).check(Some(&key), "auth").await.unwrap();
        assert!(caller.bindings.is_unrestricted());
        assert_eq!(caller.may_use_client("any-client"), Ok(()));
        assert_eq!(caller.may_use_source_system("any-system"), Ok(()));
    }

    #[tokio::test]
    async fn a_request_outside_the_bindings_is_a_403_problem() {
        for (refusal, kind) in [
            (OutsideBindings::Client, "/problems/client-not-allowed"),
            (
                OutsideBindings::SourceSystem,
                "/problems/source-system-not-allowed",
            ),
        ] {
            let response = refusal.into_response();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(
                response.headers()["content-type"],
                crate::problem::PROBLEM_JSON
            );
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(problem["type"], kind);
            assert_eq!(problem["status"], 403);
        }
    }

    #[tokio::test]
    async fn an_expired_key_is_unauthorized() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        memory.set.lock().unwrap().keys[0].expires_at = Some("2020-01-01T00:00:00Z".into());
        assert_eq!(
            guard(&memory).check(Some(&key), "auth").await,
            Err(Rejection::Unauthorized)
        );
    }

    #[tokio::test]
    async fn records_are_cached_and_a_new_key_is_found_by_one_reload() {
        let memory = Memory::default();
        let (first, _) = add(&memory, &["auth"]);
        let guard = guard(&memory);
        for _ in 0..10 {
            guard.check(Some(&first), "auth").await.unwrap();
        }
        assert_eq!(memory.loads.load(Ordering::SeqCst), 1);
        let (second, _) = add(&memory, &["auth"]);
        guard.check(Some(&second), "auth").await.unwrap();
        assert_eq!(memory.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unknown_ids_reload_at_most_once_per_cooldown_even_concurrently() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        let guard = Arc::new(guard(&memory));
        guard.check(Some(&key), "auth").await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let guard = Arc::clone(&guard);
            let unknown = issue("x", &["auth"], "t").unwrap().plaintext;
            tasks.push(tokio::spawn(async move {
                guard.check(Some(&unknown), "auth").await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err(Rejection::Unauthorized));
        }
        assert_eq!(
            memory.loads.load(Ordering::SeqCst),
            2,
            "one initial load, one miss reload"
        );
    }

    #[tokio::test]
    async fn fails_closed_without_keys_and_keeps_the_last_set_when_a_reload_fails() {
        let memory = Memory::default();
        let (key, _) = add(&memory, &["auth"]);
        memory.broken.store(true, Ordering::SeqCst);
        let cold = guard(&memory);
        assert_eq!(
            cold.check(Some(&key), "auth").await,
            Err(Rejection::Unavailable)
        );

        memory.broken.store(false, Ordering::SeqCst);
        let warm = ApiKeyGuard::new(
            memory.clone(),
            GuardOptions {
                ttl: Duration::ZERO,
                miss_cooldown: Duration::ZERO,
            },
        );
        warm.check(Some(&key), "auth").await.unwrap();
        memory.broken.store(true, Ordering::SeqCst);
        warm.check(Some(&key), "auth").await.unwrap();
    }
}

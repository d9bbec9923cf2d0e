//! The user pool's signing keys (JWKS): fetched over HTTPS, cached, and refetched at most once
//! per cooldown when a token names a key id the cache does not know, or when the keys are old
//! and their last refetch failed. Concurrent misses share one fetch. Only RSA signing keys
//! usable with RS256 are kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::lambda::BoxFuture;

#[derive(Debug, thiserror::Error)]
#[error("the JWKS cannot be had: {0}")]
pub struct JwksError(pub String);

/// Where the JWKS document comes from.
pub trait JwksSource: Send + Sync + 'static {
    /// The raw JWKS JSON.
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>>;
}

/// A JWKS served over HTTP(S), as Cognito serves it at
/// `https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json`.
pub struct HttpJwks {
    url: http::Uri,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

/// A JWKS is a few kilobytes; refuse anything absurd.
const MAX_JWKS_BYTES: usize = 256 * 1024;

impl HttpJwks {
    pub fn new(url: &str) -> Result<Self, JwksError> {
        let url: http::Uri = url
            .parse()
            .map_err(|error| JwksError(format!("invalid JWKS URL {url:?}: {error}")))?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|error| JwksError(format!("no TLS roots: {error}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            url,
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout: Duration::from_secs(5),
        })
    }
}

impl JwksSource for HttpJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async move {
            let fetch = async {
                let response = self
                    .client
                    .get(self.url.clone())
                    .await
                    // With its causes, as the SDK's errors are rendered elsewhere: hyper's own
                    // message says only "client error (Connect)", a certificate's refusal is in
                    // a cause.
                    .map_err(|error| {
                        JwksError(
                            aws_sdk_secretsmanager::error::DisplayErrorContext(&error).to_string(),
                        )
                    })?;
                if !response.status().is_success() {
                    return Err(JwksError(format!("HTTP {}", response.status())));
                }
                let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
                    .collect()
                    .await
                    .map_err(|error| JwksError(error.to_string()))?;
                Ok(body.to_bytes().to_vec())
            };
            tokio::time::timeout(self.timeout, fetch)
                .await
                .map_err(|_| JwksError("timed out".to_owned()))?
        })
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// A signing key, parsed once when the JWKS is fetched: a check costs only the RSA
/// operation itself.
pub type SigningKey = Arc<ParsedPublicKey>;

/// The RS256 signing keys of a JWKS document, by key id.
pub fn signing_keys(document: &[u8]) -> Result<HashMap<String, SigningKey>, JwksError> {
    let set: JwkSet = serde_json::from_slice(document)
        .map_err(|error| JwksError(format!("not a JWKS: {error}")))?;
    let mut keys = HashMap::new();
    for jwk in set.keys {
        let usable = jwk.kty == "RSA"
            && jwk.usage.as_deref().is_none_or(|usage| usage == "sig")
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256");
        if let (true, Some(kid), Some(n), Some(e)) = (usable, jwk.kid, jwk.n, jwk.e)
            && let Some(key) = rsa_key(&n, &e)
        {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

/// An RSA public key from a JWK's base64url modulus and exponent, as PKCS#1 DER parsed for
/// RS256 (2048 to 8192 bits); `None` when it is not one.
fn rsa_key(n: &str, e: &str) -> Option<ParsedPublicKey> {
    let n = URL_SAFE_NO_PAD.decode(n).ok()?;
    let e = URL_SAFE_NO_PAD.decode(e).ok()?;
    let mut body = der_integer(&n);
    body.extend(der_integer(&e));
    let der = der_element(0x30, &body);
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).ok()
}

/// A DER INTEGER of an unsigned big-endian number.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut content = bytes[first..].to_vec();
    if content.first().is_none_or(|&b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    der_element(0x02, &content)
}

fn der_element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut element = vec![tag];
    let length = content.len();
    if length < 0x80 {
        element.push(length as u8);
    } else {
        let bytes: Vec<u8> = length
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        element.push(0x80 | bytes.len() as u8);
        element.extend(bytes);
    }
    element.extend_from_slice(content);
    element
}

#[derive(Debug, Clone, Copy)]
pub struct JwksOptions {
    /// Least time between two fetches caused by unknown key ids, and between two refetches of
    /// old keys that fail.
    pub cooldown: Duration,
    /// Keys older than this are refetched (Cognito rotates rarely; this bounds staleness).
    pub max_age: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
        }
    }
}

#[derive(Default)]
struct Cached {
    keys: Arc<HashMap<String, SigningKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// Why no key could be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookupError {
    Unknown,
    Unavailable,
}

pub struct JwksCache {
    source: Box<dyn JwksSource>,
    options: JwksOptions,
    cached: RwLock<Cached>,
    fetching: Mutex<()>,
}

impl JwksCache {
    pub fn new(source: impl JwksSource, options: JwksOptions) -> Self {
        Self {
            source: Box::new(source),
            options,
            cached: RwLock::new(Cached::default()),
            fetching: Mutex::new(()),
        }
    }

    /// The key `kid` names. Fetches when nothing is cached, when the cache is older than
    /// `max_age`, or when `kid` is unknown; never twice within the cooldown. So while the
    /// JWKS host fails, keys older than `max_age` are refetched once per cooldown and served
    /// as they are in between, instead of every request waiting on a fetch that fails.
    pub async fn key(&self, kid: &str) -> Result<SigningKey, KeyLookupError> {
        let asked_at = Instant::now();
        {
            let cached = self.cached.read().await;
            let young = cached
                .fetched_at
                .is_some_and(|at| asked_at.duration_since(at) < self.options.max_age);
            let cooling = cached
                .last_attempt
                .is_some_and(|at| asked_at.duration_since(at) < self.options.cooldown);
            // Old keys whose refetch failed a moment ago (the last attempt is not the fetch
            // that got them): the ones we have, until the cooldown ends.
            let kept =
                cooling && cached.fetched_at.is_some() && cached.last_attempt != cached.fetched_at;
            if young || kept {
                if let Some(key) = cached.keys.get(kid) {
                    return Ok(key.clone());
                }
                if cooling {
                    return Err(KeyLookupError::Unknown);
                }
            } else if cached.fetched_at.is_none() && cooling {
                // The JWKS could not be had a moment ago: do not hammer its host.
                return Err(KeyLookupError::Unavailable);
            }
        }
        let keys = self.refresh(asked_at).await?;
        keys.get(kid).cloned().ok_or(KeyLookupError::Unknown)
    }

    /// Fetches the key set now: at start-up, so that the first request finds it cached. A
    /// failure leaves the cache as it was, without starting the cooldown: the first token then
    /// fetches again, as it would have without this call.
    pub async fn load(&self) -> Result<(), KeyLookupError> {
        let _single_flight = self.fetching.lock().await;
        match self.source.fetch().await.and_then(|doc| signing_keys(&doc)) {
            Ok(keys) => {
                let mut cached = self.cached.write().await;
                cached.keys = Arc::new(keys);
                cached.last_attempt = Some(Instant::now());
                cached.fetched_at = cached.last_attempt;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "JWKS not loaded at start-up; the first token fetches it");
                Err(KeyLookupError::Unavailable)
            }
        }
    }

    async fn refresh(
        &self,
        asked_at: Instant,
    ) -> Result<Arc<HashMap<String, SigningKey>>, KeyLookupError> {
        let _single_flight = self.fetching.lock().await;
        {
            let cached = self.cached.read().await;
            if cached.last_attempt.is_some_and(|at| at >= asked_at) {
                // Someone fetched while we waited: use their result.
                return if cached.fetched_at.is_some() {
                    Ok(Arc::clone(&cached.keys))
                } else {
                    Err(KeyLookupError::Unavailable)
                };
            }
        }
        let fetched = self.source.fetch().await.and_then(|doc| signing_keys(&doc));
        let mut cached = self.cached.write().await;
        cached.last_attempt = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                cached.keys = Arc::new(keys);
                cached.fetched_at = cached.last_attempt;
                Ok(Arc::clone(&cached.keys))
            }
            Err(error) if cached.fetched_at.is_some() => {
                tracing::warn!(%error, "JWKS refetch failed; keeping the keys we have");
                Ok(Arc::clone(&cached.keys))
            }
            Err(error) => {
                tracing::error!(%error, "no JWKS: every token is refused");
                Err(KeyLookupError::Unavailable)
            }
        }
    }
}

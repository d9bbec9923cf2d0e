//! Local verification of the user pool's JWTs, shared by both APIs (`/auth/token/verify`,
//! `/auth/logout`, `/public/*`), so behaviour is the same behind API Gateway and on a laptop.
//!
//! Rules, in order: at most 8 KiB; three segments; the header says `alg: RS256` exactly (so
//! `none`, `HS256` and friends are refused whatever the key), has a `kid`, and no `crit`;
//! `jku`, `x5u` and an embedded `jwk` are never looked at — keys come only from the pool's
//! JWKS. The signature is checked before any claim. Then: `exp` required (leeway
//! [`DEFAULT_LEEWAY`]), `nbf` and `iat` not in the future, `iss` exactly the pool, `sub`
//! present, `token_use` the one the route expects, and the client (`client_id` of an access
//! token, `aud` of an id token) one of the configured app clients.
//!
//! A token verified in full is kept for a while ([`crate::verified_tokens`]): the same bytes
//! presented again skip the signature check but not the clock, the key or the token use.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::jwks::{JwksCache, KeyLookupError};
use crate::verified_tokens::{self, Hit, VerifiedTokens};

/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Which of the pool's tokens a route expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Id,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

impl std::str::FromStr for TokenUse {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value {
            "access" => Ok(TokenUse::Access),
            "id" => Ok(TokenUse::Id),
            _ => Err(()),
        }
    }
}

/// The claims a verified token vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedToken {
    pub sub: String,
    pub token_use: TokenUse,
    /// The app client the token was issued to.
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// When the token was issued (`iat`), seconds since the epoch; 0 when the token does not
    /// say, which any revocation of its user then covers. Not part of the verify answer.
    #[serde(skip)]
    pub issued_at: i64,
}

/// Why a token was refused. Callers answer every variant but `KeysUnavailable` with one
/// generic 401; the variant is for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("token too large")]
    TooLarge,
    #[error("token malformed")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("no key id")]
    MissingKeyId,
    #[error("critical header present")]
    CriticalHeader,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("required claim missing")]
    MissingClaim,
    #[error("wrong token use")]
    WrongTokenUse,
    #[error("client not allowed")]
    UnknownClient,
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The token's user was signed out, changed or reset the password, or was suspended,
    /// archived or deleted after the token was issued.
    #[error("token revoked")]
    Revoked,
}

#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// `https://cognito-idp.<region>.amazonaws.com/<poolId>`.
    pub issuer: String,
    /// App client ids whose tokens are accepted.
    pub client_ids: Vec<String>,
    pub leeway: Duration,
}

pub struct JwtVerifier {
    keys: JwksCache,
    issuer: String,
    client_ids: HashSet<String>,
    leeway: i64,
    verified: VerifiedTokens,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Claims {
    // Optional here so that a missing claim is reported as such, not as malformed JSON.
    sub: Option<String>,
    /// Checked again here: the library also accepts an array that contains the issuer.
    iss: Option<serde_json::Value>,
    token_use: Option<String>,
    client_id: Option<String>,
    aud: Option<String>,
    iat: Option<i64>,
    nbf: Option<i64>,
    exp: Option<i64>,
    username: Option<String>,
    #[serde(rename = "cognito:username")]
    cognito_username: Option<String>,
    email: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

impl JwtVerifier {
    pub fn new(keys: JwksCache, config: VerifierConfig) -> Self {
        Self {
            keys,
            issuer: config.issuer,
            client_ids: config.client_ids.into_iter().collect(),
            leeway: i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX),
            verified: VerifiedTokens::new(verified_tokens::DEFAULT_CAPACITY),
        }
    }

    /// Keeps at most `capacity` tokens verified in full (0: none, every token is checked in
    /// full each time); [`verified_tokens::DEFAULT_CAPACITY`] unless set.
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.verified = VerifiedTokens::new(capacity);
        self
    }

    /// How many verified tokens are kept now.
    pub fn verified_cached(&self) -> usize {
        self.verified.len()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Fetches the pool's signing keys now (see [`JwksCache::load`]).
    pub async fn load_keys(&self) -> Result<(), KeyLookupError> {
        self.keys.load().await
    }

    /// Verifies `token` as a token of use `expected`.
    pub async fn verify(
        &self,
        token: &str,
        expected: TokenUse,
    ) -> Result<VerifiedToken, TokenRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRejection::TooLarge);
        }
        if let Some(hit) = self.verified.get(token, expected) {
            if hit.verified.exp.saturating_add(self.leeway) < chrono::Utc::now().timestamp() {
                self.verified.remove(token);
                return Err(TokenRejection::Expired);
            }
            match self.keys.key(&hit.kid).await {
                Ok(key) if Arc::ptr_eq(&key, &hit.key) => return Ok(hit.verified),
                // The JWKS was fetched again since, or no longer has the key, or cannot be
                // had: the full verification below decides.
                _ => self.verified.remove(token),
            }
        }
        let segments: Vec<&str> = token.split('.').collect();
        if segments.len() != 3 || segments.iter().any(|segment| segment.is_empty()) {
            return Err(TokenRejection::Malformed);
        }
        let header: Header = URL_SAFE_NO_PAD
            .decode(segments[0])
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenRejection::Malformed)?;
        if header.alg.as_deref() != Some("RS256") {
            return Err(TokenRejection::Algorithm);
        }
        if header.crit.is_some() {
            return Err(TokenRejection::CriticalHeader);
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or(TokenRejection::MissingKeyId)?;
        let key = self.keys.key(&kid).await.map_err(|error| match error {
            KeyLookupError::Unknown => TokenRejection::UnknownKey,
            KeyLookupError::Unavailable => TokenRejection::KeysUnavailable,
        })?;
        // The signature, over the first two segments as sent, before anything of the payload
        // is looked at.
        let signature = URL_SAFE_NO_PAD
            .decode(segments[2])
            .map_err(|_| TokenRejection::BadSignature)?;
        let signed = &token[..segments[0].len() + 1 + segments[1].len()];
        key.verify_sig(signed.as_bytes(), &signature)
            .map_err(|_| TokenRejection::BadSignature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(segments[1])
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenRejection::Malformed)?;
        let (Some(sub), Some(exp), Some(iss)) = (claims.sub, claims.exp, claims.iss) else {
            return Err(TokenRejection::MissingClaim);
        };
        let now = chrono::Utc::now().timestamp();
        if exp.saturating_add(self.leeway) < now {
            return Err(TokenRejection::Expired);
        }
        let future = |at: Option<i64>| at.is_some_and(|at| at > now.saturating_add(self.leeway));
        if future(claims.nbf) || future(claims.iat) {
            return Err(TokenRejection::NotYetValid);
        }
        // Exactly the pool, as a string: not an array that happens to hold it.
        if iss.as_str() != Some(self.issuer.as_str()) {
            return Err(TokenRejection::WrongIssuer);
        }
        if claims.token_use.as_deref() != Some(expected.as_str()) {
            return Err(TokenRejection::WrongTokenUse);
        }
        let client = match expected {
            TokenUse::Access => claims.client_id,
            TokenUse::Id => claims.aud,
        }
        .filter(|client| self.client_ids.contains(client))
        .ok_or(TokenRejection::UnknownClient)?;
        let verified = VerifiedToken {
            sub,
            token_use: expected,
            client_id: client,
            username: claims.username.or(claims.cognito_username),
            email: claims.email,
            groups: claims.groups,
            exp,
            issued_at: claims.iat.unwrap_or(0),
        };
        self.verified.insert(
            token,
            Hit {
                verified: verified.clone(),
                kid: kid.into(),
                key,
            },
            now.saturating_sub(self.leeway),
        );
        Ok(verified)
    }
}

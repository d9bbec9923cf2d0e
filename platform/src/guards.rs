//! Settings of the two request guards every API shares: the Bearer-token verifier (one user
//! pool, its app clients) and the API-key guard (one Secrets Manager secret). Read from the
//! environment on Lambda, built by the local stack on a laptop; no network until first use.

use std::time::Duration;

use aws_config::SdkConfig;

use crate::api_key_guard::{ApiKeyGuard, GuardOptions, SecretsManagerKeys};
use crate::config::{ConfigError, parsed_or, required};
use crate::jwks::{HttpJwks, JwksCache, JwksOptions};
use crate::jwt::{DEFAULT_LEEWAY, JwtVerifier, VerifierConfig};

/// Which tokens a service accepts: those of one pool, issued to one of its app clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub region: String,
    pub user_pool_id: String,
    /// App client ids, the first being the default.
    pub client_ids: Vec<String>,
    /// `https://cognito-idp.<region>.amazonaws.com/<pool>` on AWS.
    pub issuer: String,
    /// The issuer's `/.well-known/jwks.json` on AWS.
    pub jwks_url: String,
    /// How many tokens verified in full an instance keeps, to skip their signature check when
    /// they come again (0: none; see [`crate::verified_tokens`]).
    pub verified_cache: usize,
}

impl TokenSettings {
    /// The settings of a pool on AWS.
    pub fn for_pool(region: &str, user_pool_id: &str, client_ids: Vec<String>) -> Self {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}");
        Self {
            region: region.to_owned(),
            user_pool_id: user_pool_id.to_owned(),
            client_ids,
            jwks_url: format!("{issuer}/.well-known/jwks.json"),
            issuer,
            verified_cache: crate::verified_tokens::DEFAULT_CAPACITY,
        }
    }

    /// `AWS_REGION`, `USER_POOL_ID`, `APP_CLIENT_IDS` (comma-separated, default first), and the
    /// optional overrides `TOKEN_ISSUER`, `JWKS_URL` and `VERIFIED_TOKEN_CACHE` (entries; 0 turns
    /// the cache of verified tokens off).
    pub fn from_env() -> Result<Self, ConfigError> {
        let client_ids: Vec<String> = required("APP_CLIENT_IDS")?
            .split(',')
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        if client_ids.is_empty() {
            return Err(ConfigError::Missing("APP_CLIENT_IDS"));
        }
        let mut settings = Self::for_pool(
            &required("AWS_REGION")?,
            &required("USER_POOL_ID")?,
            client_ids,
        );
        if let Ok(issuer) = std::env::var("TOKEN_ISSUER") {
            settings.jwks_url = format!("{issuer}/.well-known/jwks.json");
            settings.issuer = issuer;
        }
        if let Ok(jwks_url) = std::env::var("JWKS_URL") {
            settings.jwks_url = jwks_url;
        }
        settings.verified_cache = parsed_or("VERIFIED_TOKEN_CACHE", settings.verified_cache)?;
        Ok(settings)
    }

    /// The verifier of these tokens. Fetches nothing yet.
    pub fn verifier(&self) -> Result<JwtVerifier, ConfigError> {
        let jwks = HttpJwks::new(&self.jwks_url).map_err(|error| ConfigError::Invalid {
            name: "JWKS_URL",
            reason: error.to_string(),
        })?;
        Ok(JwtVerifier::new(
            JwksCache::new(jwks, JwksOptions::default()),
            VerifierConfig {
                issuer: self.issuer.clone(),
                client_ids: self.client_ids.clone(),
                leeway: DEFAULT_LEEWAY,
            },
        )
        .with_verified_cache(self.verified_cache))
    }
}

/// Where the API keys live and how long a loaded set is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySettings {
    pub secret_id: String,
    pub ttl: Duration,
}

impl ApiKeySettings {
    pub fn new(secret_id: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            ttl: GuardOptions::default().ttl,
        }
    }

    /// `API_KEY_SECRET` and the optional `API_KEY_CACHE_SECONDS` (60).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            secret_id: required("API_KEY_SECRET")?,
            ttl: Duration::from_secs(parsed_or(
                "API_KEY_CACHE_SECONDS",
                GuardOptions::default().ttl.as_secs(),
            )?),
        })
    }

    /// The guard over these keys. Loads nothing yet.
    pub fn guard(&self, sdk: &SdkConfig) -> ApiKeyGuard {
        ApiKeyGuard::new(
            SecretsManagerKeys::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                self.secret_id.clone(),
            ),
            GuardOptions {
                ttl: self.ttl,
                ..GuardOptions::default()
            },
        )
    }
}

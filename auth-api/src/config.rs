//! The Auth API's configuration on Lambda, from the environment, checked at start-up.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use roster_platform::api_key_guard::{ApiKeyGuard, GuardOptions, SecretsManagerKeys};
use roster_platform::config::{ConfigError, parsed_or, required};
use roster_platform::jwks::{HttpJwks, JwksCache, JwksOptions};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, VerifierConfig};

use crate::events::AuthEvents;
use crate::identity::Cognito;
use crate::registration::Registrar;
use crate::server_key::ServerKey;
use crate::store::AuthTable;
use crate::{AppClients, AuthDeps};
use roster_platform::events::EventPublisher;

/// Settings of the Auth API.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub region: String,
    pub user_pool_id: String,
    /// App client ids, the first being the default.
    pub client_ids: Vec<String>,
    /// Defaults to the pool's Cognito JWKS URL.
    pub jwks_url: String,
    /// Defaults to `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    pub issuer: String,
    pub api_key_secret: String,
    pub api_key_ttl: Duration,
    /// The Auth API's DynamoDB table.
    pub table: String,
    /// The secret holding the Auth API's own key.
    pub server_key_secret: String,
    /// The EventBridge bus of the Auth API's own events.
    pub event_bus: String,
}

impl AuthConfig {
    /// `USER_POOL_ID`, `APP_CLIENT_IDS` (comma-separated, default first), `API_KEY_SECRET`,
    /// `AUTH_TABLE`, `SERVER_KEY_SECRET`, `EVENT_BUS_NAME`, optional `JWKS_URL`, `TOKEN_ISSUER`, `API_KEY_CACHE_SECONDS` (60), and `AWS_REGION`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let region = required("AWS_REGION")?;
        let user_pool_id = required("USER_POOL_ID")?;
        let client_ids: Vec<String> = required("APP_CLIENT_IDS")?
            .split(',')
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        if client_ids.is_empty() {
            return Err(ConfigError::Missing("APP_CLIENT_IDS"));
        }
        let issuer = std::env::var("TOKEN_ISSUER").unwrap_or_else(|_| {
            format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
        });
        let jwks_url =
            std::env::var("JWKS_URL").unwrap_or_else(|_| format!("{issuer}/.well-known/jwks.json"));
        Ok(Self {
            api_key_secret: required("API_KEY_SECRET")?,
            api_key_ttl: Duration::from_secs(parsed_or("API_KEY_CACHE_SECONDS", 60)?),
            table: required("AUTH_TABLE")?,
            server_key_secret: required("SERVER_KEY_SECRET")?,
            event_bus: required("EVENT_BUS_NAME")?,
            region,
            user_pool_id,
            client_ids,
            jwks_url,
            issuer,
        })
    }

    /// Builds the routes' dependencies. No network: the JWKS and the API keys load on first
    /// use.
    pub fn deps(&self, sdk: &SdkConfig) -> Result<AuthDeps, ConfigError> {
        let jwks = HttpJwks::new(&self.jwks_url).map_err(|error| ConfigError::Invalid {
            name: "JWKS_URL",
            reason: error.to_string(),
        })?;
        let verifier = JwtVerifier::new(
            JwksCache::new(jwks, JwksOptions::default()),
            VerifierConfig {
                issuer: self.issuer.clone(),
                client_ids: self.client_ids.clone(),
                leeway: DEFAULT_LEEWAY,
            },
        );
        let api_keys = ApiKeyGuard::new(
            SecretsManagerKeys::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                self.api_key_secret.clone(),
            ),
            GuardOptions {
                ttl: self.api_key_ttl,
                ..GuardOptions::default()
            },
        );
        let identity = Cognito::new(
            aws_sdk_cognitoidentityprovider::Client::new(sdk),
            self.user_pool_id.clone(),
        );
        let registrar = Registrar::new(
            AuthTable::new(aws_sdk_dynamodb::Client::new(sdk), self.table.clone()),
            identity.clone(),
            Arc::new(ServerKey::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                self.server_key_secret.clone(),
            )),
        );
        Ok(AuthDeps {
            identity,
            // The publisher's own bounded retries are the only ones: the SDK's would multiply
            // them and hold a sign-in up for seconds while the bus is failing.
            events: AuthEvents::new(EventPublisher::new(
                aws_sdk_eventbridge::Client::from_conf(
                    aws_sdk_eventbridge::config::Builder::from(sdk)
                        .retry_config(aws_config::retry::RetryConfig::disabled())
                        .build(),
                ),
                self.event_bus.clone(),
            )),
            registrar,
            verifier,
            api_keys: Arc::new(api_keys),
            clients: AppClients::new(self.client_ids[0].clone(), self.client_ids.clone()),
        })
    }
}

//! The Auth API's configuration on Lambda, from the environment, checked at start-up.

use std::sync::Arc;

use aws_config::SdkConfig;
use roster_platform::config::{ConfigError, parsed_or, required};
use roster_platform::guards::{ApiKeySettings, TokenSettings};
use roster_platform::http::CorsSettings;
use roster_platform::openapi::DocsUi;

use crate::account::Account;
use crate::activation::{Activation, ActivationCodes, ResendLimits};
use crate::cognito::CognitoDirectory;
use crate::events::AuthEvents;
use crate::login::Login;
use crate::logout::Logout;
use crate::mailer::{ActivationLink, ActivationMailer, MailSender};
use crate::mfa::{ChallengeHandles, Mfa};
use crate::password_change::PasswordChange;
use crate::password_reset::PasswordReset;
use crate::refresh::Refresh;
use crate::registration::Registrar;
use crate::revocations::RevocationSet;
use crate::store::AuthTable;
use crate::{AppClients, AuthDeps};
use roster_platform::events::EventPublisher;
use roster_platform::secret_key::SecretKey;

/// The Auth API's table and user pool: all the reconciler and the subscriber need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stores {
    pub table: String,
    pub user_pool_id: String,
}

impl Stores {
    /// `AUTH_TABLE` and `USER_POOL_ID`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("AUTH_TABLE")?,
            user_pool_id: required("USER_POOL_ID")?,
        })
    }

    pub fn table(&self, sdk: &SdkConfig) -> AuthTable {
        AuthTable::new(aws_sdk_dynamodb::Client::new(sdk), self.table.clone())
    }

    pub fn pool(&self, sdk: &SdkConfig) -> CognitoDirectory {
        CognitoDirectory::new(
            aws_sdk_cognitoidentityprovider::Client::new(sdk),
            self.user_pool_id.clone(),
        )
    }
}

/// Settings of the `activation-mailer` subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailerConfig {
    pub table: String,
    /// The secret holding the Auth API's own key, from which the codes are derived.
    pub server_key_secret: String,
    /// The sender: an address of the SES identity, optionally with a name.
    pub mail_from: String,
    /// Where the mail's link leads, with `{code}` for the code; none: the code only.
    pub activation_link: Option<ActivationLink>,
}

impl MailerConfig {
    /// `AUTH_TABLE`, `SERVER_KEY_SECRET`, `MAIL_FROM` and the optional `ACTIVATION_LINK`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("AUTH_TABLE")?,
            server_key_secret: required("SERVER_KEY_SECRET")?,
            mail_from: required("MAIL_FROM")?,
            activation_link: ActivationLink::parse(
                &std::env::var("ACTIVATION_LINK").unwrap_or_default(),
            )
            .map_err(|reason| ConfigError::Invalid {
                name: "ACTIVATION_LINK",
                reason,
            })?,
        })
    }

    /// The subscriber, with the SDK configured as `sdk` (no network until the first event).
    pub fn subscriber(
        &self,
        sdk: &SdkConfig,
    ) -> roster_platform::subscriber::EventSubscriber<ActivationMailer> {
        let key = Arc::new(SecretKey::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            self.server_key_secret.clone(),
        ));
        crate::mailer::subscriber(ActivationMailer::new(
            AuthTable::new(aws_sdk_dynamodb::Client::new(sdk), self.table.clone()),
            ActivationCodes::new(key),
            MailSender::new(aws_sdk_sesv2::Client::new(sdk), self.mail_from.clone()),
            self.activation_link.clone(),
        ))
    }
}

/// Settings of the Auth API.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The pool, its app clients (the first being the default) and its tokens.
    pub tokens: TokenSettings,
    pub api_keys: ApiKeySettings,
    /// The Auth API's DynamoDB table.
    pub table: String,
    /// The secret holding the Auth API's own key.
    pub server_key_secret: String,
    /// The EventBridge bus of the Auth API's own events.
    pub event_bus: String,
    /// The frontends' browser origins.
    pub cors: CorsSettings,
    /// Where the docs page loads Swagger UI from (the assets bucket's public URL).
    pub docs_ui: DocsUi,
    /// How often an instance reads new revocation records, at most.
    pub revocation_refresh: std::time::Duration,
    /// How long a sign-in's two-step challenge can be answered (Cognito's sessions last 3
    /// minutes: longer is pointless).
    pub mfa_challenge_lifetime: std::time::Duration,
    /// How often one user's activation code can be sent again.
    pub resend_limits: ResendLimits,
}

impl AuthConfig {
    /// The pool's settings (see [`TokenSettings::from_env`]), the API keys' (see
    /// [`ApiKeySettings::from_env`]), `AUTH_TABLE`, `SERVER_KEY_SECRET`, `EVENT_BUS_NAME`,
    /// `ASSETS_BASE_URL` and the optional `CORS_ALLOWED_ORIGINS`, `REVOCATION_REFRESH_SECONDS`
    /// (1), `MFA_CHALLENGE_SECONDS` (180), `ACTIVATION_RESEND_INTERVAL_SECONDS` (60) and
    /// `ACTIVATION_RESENDS_PER_DAY` (5).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            tokens: TokenSettings::from_env()?,
            api_keys: ApiKeySettings::from_env()?,
            table: required("AUTH_TABLE")?,
            server_key_secret: required("SERVER_KEY_SECRET")?,
            event_bus: required("EVENT_BUS_NAME")?,
            cors: CorsSettings::from_env()?,
            docs_ui: DocsUi::new(&required("ASSETS_BASE_URL")?)?,
            revocation_refresh: std::time::Duration::from_secs(parsed_or(
                "REVOCATION_REFRESH_SECONDS",
                crate::revocations::DEFAULT_INTERVAL.as_secs(),
            )?),
            mfa_challenge_lifetime: std::time::Duration::from_secs(parsed_or(
                "MFA_CHALLENGE_SECONDS",
                crate::mfa::DEFAULT_CHALLENGE_LIFETIME.as_secs(),
            )?),
            resend_limits: ResendLimits {
                min_interval: std::time::Duration::from_secs(parsed_or(
                    "ACTIVATION_RESEND_INTERVAL_SECONDS",
                    ResendLimits::default().min_interval.as_secs(),
                )?),
                per_day: parsed_or(
                    "ACTIVATION_RESENDS_PER_DAY",
                    ResendLimits::default().per_day,
                )?,
            },
        })
    }

    pub fn stores(&self) -> Stores {
        Stores {
            table: self.table.clone(),
            user_pool_id: self.tokens.user_pool_id.clone(),
        }
    }

    /// Builds the routes' dependencies. No network: the JWKS, the API keys, the revocation set
    /// and the key load on first use, or before it with [`AuthDeps::load_before_serving`].
    pub fn deps(&self, sdk: &SdkConfig) -> Result<AuthDeps, ConfigError> {
        let verifier = self.tokens.verifier()?;
        let api_keys = self.api_keys.guard(sdk);
        let stores = self.stores();
        let directory = stores.pool(sdk);
        let server_key = Arc::new(SecretKey::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            self.server_key_secret.clone(),
        ));
        let registrar = Registrar::new(
            stores.table(sdk),
            directory.clone(),
            Arc::clone(&server_key),
        );
        let activation = Activation::new(
            stores.table(sdk),
            ActivationCodes::new(Arc::clone(&server_key)),
            self.resend_limits,
        );
        // The publisher's own bounded retries are the only ones: the SDK's would multiply
        // them and hold a sign-in up for seconds while the bus is failing.
        let events = AuthEvents::new(EventPublisher::new(
            aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(sdk)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .build(),
            ),
            self.event_bus.clone(),
        ));
        let revocations = Arc::new(RevocationSet::new(
            stores.table(sdk),
            self.revocation_refresh,
        ));
        Ok(AuthDeps {
            account: Account::new(
                stores.table(sdk),
                directory.clone(),
                Arc::clone(&revocations),
            ),
            registrar,
            activation,
            login: Login::new(
                directory.clone(),
                events.clone(),
                ChallengeHandles::new(Arc::clone(&server_key), self.mfa_challenge_lifetime),
            ),
            mfa: Mfa::new(directory.clone(), events.clone()),
            refresh: Refresh::new(directory.clone()),
            logout: Logout::new(directory.clone(), Arc::clone(&revocations)),
            password_reset: PasswordReset::new(
                stores.table(sdk),
                directory.clone(),
                Arc::clone(&revocations),
                events.clone(),
            ),
            password_change: PasswordChange::new(directory, Arc::clone(&revocations), events),
            verifier,
            revocations,
            api_keys: Arc::new(api_keys),
            server_key,
            cors: self.cors.clone(),
            docs_ui: self.docs_ui.clone(),
            clients: AppClients::new(
                self.tokens.client_ids[0].clone(),
                self.tokens.client_ids.clone(),
            ),
        })
    }
}

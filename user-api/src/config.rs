//! The User API's configuration on Lambda, from the environment, checked at start-up.

use std::sync::Arc;

use aws_config::SdkConfig;
use roster_platform::config::{ConfigError, required};
use roster_platform::guards::{ApiKeySettings, TokenSettings};
use roster_platform::http::CorsSettings;
use roster_platform::openapi::DocsUi;

use crate::UserDeps;
use crate::assets::Assets;
use crate::listing::ListCursors;
use crate::profiles::Profiles;
use crate::store::UsersTable;
use roster_platform::secret_key::SecretKey;

/// Settings of the User API and its subscribers.
#[derive(Debug, Clone)]
pub struct UserConfig {
    /// The users table.
    pub table: String,
    /// The assets bucket.
    pub bucket: String,
    /// The public URL under which the bucket's keys are served (CloudFront, the bucket's own
    /// URL, or the local endpoint's `<endpoint>/<bucket>`).
    pub assets_base_url: String,
    /// The frontends' browser origins.
    pub cors: CorsSettings,
    /// The secret holding the User API's own key (it seals list cursors); only the API's
    /// function reads it, the subscribers need none.
    pub key_secret: Option<String>,
}

impl UserConfig {
    /// `USERS_TABLE`, `ASSETS_BUCKET`, `ASSETS_BASE_URL` and the optional
    /// `CORS_ALLOWED_ORIGINS` and `USER_KEY_SECRET` (the API needs it: [`Self::deps`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("USERS_TABLE")?,
            bucket: required("ASSETS_BUCKET")?,
            assets_base_url: required("ASSETS_BASE_URL")?,
            cors: CorsSettings::from_env()?,
            key_secret: required("USER_KEY_SECRET").ok(),
        })
    }

    /// The use cases over the table and the bucket.
    pub fn profiles(&self, sdk: &SdkConfig) -> Profiles {
        // A local endpoint (an endpoint override) needs path-style addressing; AWS gets
        // virtual-hosted URLs. Public URLs come from `assets_base_url`, not from the client.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(sdk.endpoint_url().is_some())
                .build(),
        );
        Profiles::new(
            UsersTable::new(aws_sdk_dynamodb::Client::new(sdk), self.table.clone()),
            Assets::new(s3, self.bucket.clone(), self.assets_base_url.clone()),
        )
    }

    /// The routes' dependencies. No network: the JWKS, the API keys and the User API's key
    /// load on first use, or before it with [`UserDeps::load_before_serving`].
    pub fn deps(
        &self,
        sdk: &SdkConfig,
        tokens: &TokenSettings,
        api_keys: &ApiKeySettings,
    ) -> Result<UserDeps, ConfigError> {
        let key_secret = self
            .key_secret
            .clone()
            .ok_or(ConfigError::Missing("USER_KEY_SECRET"))?;
        Ok(UserDeps {
            profiles: self.profiles(sdk),
            cursors: ListCursors::new(SecretKey::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                key_secret,
            )),
            verifier: tokens.verifier()?,
            api_keys: Arc::new(api_keys.guard(sdk)),
            cors: self.cors.clone(),
            docs_ui: DocsUi::new(&self.assets_base_url)?,
        })
    }
}

//! A running stack's two APIs as a caller sees them: `roster-client` with the development API
//! key, for the demo seed, the load run and the tests of the commands; and the wait for a
//! registered user's profile, which the User API makes from `UserRegistered` a moment later.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use reqwest::StatusCode;
use roster_client::{AuthApi, User, UserApi};

use crate::stack::LocalFacts;

impl LocalFacts {
    /// The Auth API of this stack, calling with the development key over `http`.
    pub fn auth_api(&self, http: reqwest::Client) -> Result<AuthApi> {
        Ok(AuthApi::with_http(http, &self.auth_url, &self.api_key)?)
    }

    /// The User API of this stack, calling with the development key over `http`.
    pub fn user_api(&self, http: reqwest::Client) -> Result<UserApi> {
        Ok(UserApi::with_http(http, &self.user_url, &self.api_key)?)
    }
}

/// The profile of user `id`, once the User API has made it from the registration's event; an
/// error if it has not within `within`, or if the User API refuses for another reason than
/// "not found".
pub async fn await_profile(users: &UserApi, id: &str, within: Duration) -> Result<User> {
    let started = Instant::now();
    loop {
        match users.user(id).await {
            Ok(profile) => return Ok(profile.into_inner()),
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => {}
            Err(error) => return Err(error.into()),
        }
        if started.elapsed() > within {
            bail!(
                "no profile for {id} {} s after registering",
                within.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

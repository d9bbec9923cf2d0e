//! Signing in: email and password for an app client's tokens, then `UserLoggedIn` (published
//! with bounded retries; a publication that fails never fails the sign-in).

use roster_events::Timestamp;
use roster_events::auth::UserLoggedIn;

use crate::cognito::{CognitoDirectory, CognitoError, Tokens};
use crate::domain::{Email, PresentedPassword};
use crate::events::AuthEvents;

/// A sign-in, parsed; the app client already checked against the caller's bindings.
#[derive(Debug, Clone)]
pub struct LoginCommand {
    pub email: Email,
    pub password: PresentedPassword,
    pub client_id: String,
}

pub struct Login {
    directory: CognitoDirectory,
    events: AuthEvents,
}

impl Login {
    pub fn new(directory: CognitoDirectory, events: AuthEvents) -> Self {
        Self { directory, events }
    }

    /// The tokens for the credentials. An unknown account and a wrong password are one
    /// outcome ([`CognitoError::NotAuthorized`]).
    pub async fn sign_in(&self, command: &LoginCommand) -> Result<Tokens, CognitoError> {
        let tokens = self
            .directory
            .sign_in(
                &command.client_id,
                command.email.as_str(),
                &command.password,
            )
            .await?;
        match tokens.subject() {
            Some(user_id) => {
                let at = Timestamp::now();
                let identity = [user_id.as_str(), at.as_str()];
                let event = UserLoggedIn {
                    user_id: user_id.clone(),
                    client_id: command.client_id.clone(),
                    logged_in_at: at.clone(),
                };
                self.events.emit(&identity, at.clone(), event).await;
            }
            None => tracing::warn!("the access token has no readable sub; UserLoggedIn not sent"),
        }
        roster_platform::metrics::count(roster_platform::metrics::Count::SignIns, 1);
        Ok(tokens)
    }
}

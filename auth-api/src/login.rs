//! Signing in: email and password for an app client's tokens, then `UserLoggedIn` (published
//! with bounded retries; a publication that fails never fails the sign-in). A user with
//! two-step sign-in on gets a challenge handle instead of tokens, and
//! [`Login::complete`] trades it and a code of the user's authenticator app for the tokens.

use roster_events::Timestamp;
use roster_events::auth::UserLoggedIn;
use roster_platform::api_key_guard::{Caller, OutsideBindings};

use crate::cognito::{CognitoDirectory, CognitoError, SignIn, Tokens};
use crate::domain::{Email, MfaSessionText, PresentedPassword, TotpCode};
use crate::events::AuthEvents;
use crate::mfa::{ChallengeHandles, HandleError};

/// A sign-in, parsed; the app client already checked against the caller's bindings.
#[derive(Debug, Clone)]
pub struct LoginCommand {
    pub email: Email,
    pub password: PresentedPassword,
    pub client_id: String,
}

/// What a sign-in with the right password gives.
#[derive(Debug)]
pub enum LoginOutcome {
    Tokens(Tokens),
    /// Two-step sign-in: send a code with this handle (opaque, sealed) within `expires_in`
    /// seconds.
    MfaRequired {
        session: String,
        expires_in: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Directory(#[from] CognitoError),
    /// The challenge handle is not one this API sealed, has expired, was used already, or
    /// belongs to another API key or app client.
    #[error("the sign-in session is not valid")]
    InvalidSession,
    #[error(transparent)]
    OutsideBindings(#[from] OutsideBindings),
    #[error("challenge handles unavailable: {0}")]
    Handles(String),
}

impl From<HandleError> for LoginError {
    fn from(error: HandleError) -> Self {
        match error {
            HandleError::Refused => LoginError::InvalidSession,
            HandleError::Key(error) => LoginError::Handles(error.to_string()),
        }
    }
}

pub struct Login {
    directory: CognitoDirectory,
    events: AuthEvents,
    handles: ChallengeHandles,
}

impl Login {
    pub fn new(directory: CognitoDirectory, events: AuthEvents, handles: ChallengeHandles) -> Self {
        Self {
            directory,
            events,
            handles,
        }
    }

    /// The tokens for the credentials, or a challenge handle for the API key `caller`. An
    /// unknown account and a wrong password are one outcome ([`CognitoError::NotAuthorized`]).
    pub async fn sign_in(
        &self,
        command: &LoginCommand,
        caller: &Caller,
    ) -> Result<LoginOutcome, LoginError> {
        let outcome = self
            .directory
            .sign_in(
                &command.client_id,
                command.email.as_str(),
                &command.password,
            )
            .await?;
        match outcome {
            SignIn::Tokens(tokens) => {
                self.signed_in(&tokens, &command.client_id).await;
                Ok(LoginOutcome::Tokens(tokens))
            }
            SignIn::TotpRequired(challenge) => {
                let session = self
                    .handles
                    .seal(challenge, &command.client_id, &caller.key_id)
                    .await?;
                Ok(LoginOutcome::MfaRequired {
                    session,
                    expires_in: self.handles.lifetime_seconds(),
                })
            }
        }
    }

    /// Completes a challenged sign-in with a code: the tokens of the sign-in `session`
    /// started. The handle must be one this API sealed for the same API key, unexpired, and
    /// `client_id` (if named) must be the one the sign-in used. A wrong code leaves the
    /// challenge standing (Cognito's), so the right one can follow while it lasts.
    pub async fn complete(
        &self,
        session: &MfaSessionText,
        code: &TotpCode,
        client_id: Option<&str>,
        caller: &Caller,
    ) -> Result<Tokens, LoginError> {
        let open = self.handles.open(session.expose()).await?;
        if open.key_id != caller.key_id {
            tracing::info!(caller = %caller.name, "challenge handle of another API key");
            return Err(LoginError::InvalidSession);
        }
        if client_id.is_some_and(|asked| asked != open.client_id) {
            return Err(LoginError::InvalidSession);
        }
        caller.may_use_client(&open.client_id)?;
        let tokens = match self
            .directory
            .answer_totp_challenge(&open.client_id, &open.challenge, code.expose())
            .await
        {
            Ok(tokens) => tokens,
            // Cognito's session expired, was used, or is not this user's.
            Err(CognitoError::NotAuthorized) => return Err(LoginError::InvalidSession),
            Err(error) => return Err(error.into()),
        };
        self.signed_in(&tokens, &open.client_id).await;
        Ok(tokens)
    }

    async fn signed_in(&self, tokens: &Tokens, client_id: &str) {
        match tokens.subject() {
            Some(user_id) => {
                let at = Timestamp::now();
                let identity = [user_id.as_str(), at.as_str()];
                let event = UserLoggedIn {
                    user_id: user_id.clone(),
                    client_id: client_id.to_owned(),
                    logged_in_at: at.clone(),
                };
                self.events.emit(&identity, at.clone(), event).await;
            }
            None => tracing::warn!("the access token has no readable sub; UserLoggedIn not sent"),
        }
        roster_platform::metrics::count(roster_platform::metrics::Count::SignIns, 1);
    }
}

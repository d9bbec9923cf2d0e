//! Resetting a forgotten password: a request (Cognito emails a code), then its confirmation
//! with the code, which ends every session of the account and publishes `PasswordChanged`.

use std::sync::Arc;

use roster_events::Timestamp;
use roster_events::auth::{PasswordChangeKind, PasswordChanged};

use crate::cognito::{CognitoDirectory, CognitoError};
use crate::domain::{Email, NewPassword, ResetCode};
use crate::events::AuthEvents;
use crate::revocations::RevocationSet;
use crate::store::AuthTable;

/// The confirmation of a reset, parsed; the app client already checked against the caller's
/// bindings.
#[derive(Debug, Clone)]
pub struct ConfirmCommand {
    pub email: Email,
    pub code: ResetCode,
    pub new_password: NewPassword,
    pub client_id: String,
}

pub struct PasswordReset {
    table: AuthTable,
    directory: CognitoDirectory,
    revocations: Arc<RevocationSet>,
    events: AuthEvents,
}

impl PasswordReset {
    pub fn new(
        table: AuthTable,
        directory: CognitoDirectory,
        revocations: Arc<RevocationSet>,
        events: AuthEvents,
    ) -> Self {
        Self {
            table,
            directory,
            revocations,
            events,
        }
    }

    /// Starts a reset for `email`. Never fails, and does the same work whether or not the
    /// account exists: the email's reservation (the Auth API's own table), ForgotPassword
    /// (Cognito hides unknown users), then a request record whose stream INSERT becomes
    /// `PasswordResetRequested` for a user. Cognito's refusals (a throttled or disabled user)
    /// are logged, never told: they would say the account exists.
    pub async fn request(&self, email: &Email, client_id: &str) {
        let user_id = match self.table.user_id_by_email(email.as_str()).await {
            Ok(user_id) => user_id,
            Err(error) => {
                tracing::error!(%error, "reading the email's reservation failed");
                None
            }
        };
        match self.directory.forgot_password(client_id, email).await {
            Ok(()) | Err(CognitoError::NotAuthorized) => {}
            Err(CognitoError::Throttled) => tracing::warn!("a password reset was throttled"),
            // Other failures are ours to fix, not the caller's to learn about.
            Err(error) => tracing::error!(%error, "starting a password reset failed"),
        }
        if let Err(error) = self
            .table
            .record_reset_request(
                email.as_str(),
                user_id.as_deref(),
                Timestamp::now().as_str(),
            )
            .await
        {
            tracing::error!(%error, "recording a password reset request failed");
        }
    }

    /// Sets the new password with the emailed code, and ends every session of the account.
    pub async fn confirm(&self, command: &ConfirmCommand) -> Result<(), CognitoError> {
        let email = &command.email;
        self.directory
            .confirm_forgot_password(
                &command.client_id,
                email,
                command.code.as_str(),
                &command.new_password,
            )
            .await?;
        self.end_every_session(email).await;
        let at = Timestamp::now();
        let event = PasswordChanged {
            user_id: None,
            email: Some(email.clone()),
            kind: PasswordChangeKind::Reset,
            changed_at: at.clone(),
        };
        self.events
            .emit(&[email.as_str(), at.as_str()], at.clone(), event)
            .await;
        roster_platform::metrics::count(roster_platform::metrics::Count::PasswordResets, 1);
        Ok(())
    }

    /// After a reset, every session of the account ends, whoever the account is: a Roster
    /// registration, an operator created outside Roster, a user whose email changed since it
    /// registered. The user is read from the pool (the reset has succeeded, so nothing can be
    /// learnt from that any more), signed out everywhere by its immutable id, and its access
    /// and id tokens revoked. The code is used up by now, so a failure here cannot be retried
    /// by the caller: it is logged as an error for an operator, and the reset still succeeds.
    async fn end_every_session(&self, email: &Email) {
        let sub = match self.directory.user_id(email).await {
            Ok(Some(sub)) => sub,
            // Deleted between the reset and now: nothing left to sign out.
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "after a password reset, the user could not be read: its sessions were not ended");
                return;
            }
        };
        if let Err(error) = self.directory.sign_out_everywhere(&sub).await {
            tracing::error!(user = %sub, %error, "after a password reset, the global sign-out failed");
        }
        if let Err(error) = self.revocations.revoke(&sub, "PASSWORD_RESET").await {
            tracing::error!(user = %sub, %error, "after a password reset, the tokens could not be revoked");
        }
    }
}

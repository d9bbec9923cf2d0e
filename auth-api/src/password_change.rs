//! Changing one's own password: the signed-in user proves the old password, sets the new one,
//! and every session of the user ends, the caller's included (refresh tokens revoked, access
//! and id tokens refused within the revocation bound); then `PasswordChanged`.

use std::sync::Arc;

use roster_events::auth::{PasswordChangeKind, PasswordChanged};
use roster_events::{Timestamp, UserId};
use roster_platform::jwt::VerifiedToken;

use crate::cognito::{CognitoDirectory, CognitoError};
use crate::domain::{NewPassword, PresentedPassword};
use crate::events::AuthEvents;
use crate::revocations::RevocationSet;
use crate::store::StoreError;

/// A password change, parsed.
#[derive(Debug, Clone)]
pub struct ChangeCommand {
    pub old: PresentedPassword,
    pub new: NewPassword,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("wrong current password")]
    WrongPassword,
    #[error(transparent)]
    Directory(#[from] CognitoError),
    #[error("revoking the user's tokens failed: {0}")]
    Revocation(#[from] StoreError),
}

pub struct PasswordChange {
    directory: CognitoDirectory,
    revocations: Arc<RevocationSet>,
    events: AuthEvents,
}

impl PasswordChange {
    pub fn new(
        directory: CognitoDirectory,
        revocations: Arc<RevocationSet>,
        events: AuthEvents,
    ) -> Self {
        Self {
            directory,
            revocations,
            events,
        }
    }

    /// Changes the password of the (verified) access token's user.
    pub async fn change(
        &self,
        user: &VerifiedToken,
        command: &ChangeCommand,
    ) -> Result<(), ChangeError> {
        let username = user.username.as_deref().unwrap_or(&user.sub);
        match self
            .directory
            .check_password(&user.client_id, username, &command.old)
            .await
        {
            Ok(()) => {}
            Err(CognitoError::NotAuthorized) => return Err(ChangeError::WrongPassword),
            Err(error) => return Err(error.into()),
        }
        self.directory.set_password(username, &command.new).await?;
        // Every session ends, this one included: the caller signs in again with the new password.
        self.directory.sign_out_everywhere(username).await?;
        self.revocations
            .revoke(&user.sub, "PASSWORD_CHANGED")
            .await?;
        tracing::info!(sub = %user.sub, "password changed");
        let at = Timestamp::now();
        let event = PasswordChanged {
            // A verified token's `sub` is a user id.
            user_id: UserId::parse(&user.sub).ok(),
            email: None,
            kind: PasswordChangeKind::Change,
            changed_at: at.clone(),
        };
        self.events
            .emit(&[user.sub.as_str(), at.as_str()], at.clone(), event)
            .await;
        Ok(())
    }
}

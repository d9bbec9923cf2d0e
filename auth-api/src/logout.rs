//! Signing out everywhere: the user's refresh tokens are revoked in Cognito (global sign-out),
//! and every access and id token issued until now by a revocation record, which the verify
//! routes and `/public/*` honour within the revocation bound.

use std::sync::Arc;

use roster_platform::jwt::VerifiedToken;

use crate::cognito::{CognitoDirectory, CognitoError};
use crate::revocations::RevocationSet;
use crate::store::StoreError;

/// Why ending a user's sessions failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Directory(#[from] CognitoError),
    #[error("revoking the user's tokens failed: {0}")]
    Revocation(#[from] StoreError),
}

pub struct Logout {
    directory: CognitoDirectory,
    revocations: Arc<RevocationSet>,
}

impl Logout {
    pub fn new(directory: CognitoDirectory, revocations: Arc<RevocationSet>) -> Self {
        Self {
            directory,
            revocations,
        }
    }

    /// Ends every session of the (verified) access token's user.
    pub async fn sign_out_everywhere(&self, user: &VerifiedToken) -> Result<(), SessionError> {
        let username = user.username.as_deref().unwrap_or(&user.sub);
        self.directory.sign_out_everywhere(username).await?;
        // Refresh tokens are revoked by Cognito; access and id tokens by the revocation record.
        self.revocations.revoke(&user.sub, "SIGNED_OUT").await?;
        tracing::info!(sub = %user.sub, "signed out everywhere");
        Ok(())
    }
}

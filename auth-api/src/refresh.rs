//! Refreshing: a refresh token for new access and id tokens (no new refresh token).

use crate::cognito::{CognitoDirectory, CognitoError, Tokens};
use crate::domain::RefreshToken;

pub struct Refresh {
    directory: CognitoDirectory,
}

impl Refresh {
    pub fn new(directory: CognitoDirectory) -> Self {
        Self { directory }
    }

    /// New tokens for `token`, issued to the app client `client_id`. A revoked, expired or
    /// unknown refresh token is [`CognitoError::NotAuthorized`].
    pub async fn refresh(
        &self,
        client_id: &str,
        token: &RefreshToken,
    ) -> Result<Tokens, CognitoError> {
        self.directory.refresh(client_id, token.expose()).await
    }
}

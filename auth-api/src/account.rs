//! The signed-in user's own account, as the Auth API holds it: its data export (the identity
//! record of the auth table and what the user pool holds) and its deletion on request, with the
//! current password proven again. The Auth API never touches the profile: a deletion is
//! recorded on the identity, published as `UserDeletionRequested`, and the User API deletes the
//! profile as any deletion, whose `UserDeleted` brings the Auth API's subscriber to delete the
//! Cognito user and release the identifiers (ADR 7).

use std::sync::Arc;

use roster_events::Timestamp;
use roster_platform::jwt::VerifiedToken;
use serde::Serialize;

use crate::cognito::{CognitoDirectory, CognitoError, PoolRecord};
use crate::domain::PresentedPassword;
use crate::revocations::RevocationSet;
use crate::store::{AuthTable, StoreError};

/// What Roster holds but never exports: secrets, and records that would replay an answer.
pub const WITHHELD: [&str; 4] = [
    "the password: the user pool keeps a verifier, not the password, and nothing reads it",
    "the activation code's SHA-256 (the identity record and the profile keep it until used)",
    "the registration's idempotency record (a replayable copy of the registration's answer, \
     kept 24 hours)",
    "password-reset codes: Cognito keeps them and sends them to the user only",
];

/// Everything the Auth API holds about one user, secrets left out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "exportedAt": "2026-11-25T10:05:00.000Z",
    "userId": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90", "email": "cortney@example.com",
    "name": "cortney_gutkowski67", "handle": "@CortneyGutkowski67", "role": "USER",
    "registeredStatus": "UNCONFIRMED", "appliedStatus": null, "sourceSystem": "account-web",
    "createdAt": "2026-11-25T10:00:00.000Z", "registrationId": "0f0e…",
    "username": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90",
    "reserved": {"email": "cortney@example.com", "name": "cortney_gutkowski67", "handle": "@CortneyGutkowski67"},
    "deletionRequestedAt": null, "deletingSince": null, "identityGoneAt": null,
    "pool": {"username": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90", "enabled": true,
             "userStatus": "CONFIRMED", "createdAt": "2026-11-25T10:00:00.000Z",
             "lastModifiedAt": "2026-11-25T10:00:00.000Z",
             "attributes": {"sub": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90", "email": "cortney@example.com", "email_verified": "false"},
             "mfaMethods": [], "preferredMfa": null},
    "withheld": ["the password: …"]
}))]
pub struct IdentityExport {
    /// RFC 3339: when this document was made.
    pub exported_at: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub handle: String,
    pub role: String,
    /// The status the account was registered with.
    pub registered_status: String,
    /// The User API status last applied to the user pool (SUSPENDED or ARCHIVED disable it).
    pub applied_status: Option<String>,
    pub source_system: String,
    /// RFC 3339.
    pub created_at: String,
    /// The registration that created the identity (also the pool user's marker).
    pub registration_id: String,
    /// The user pool's immutable username of the user.
    pub username: String,
    /// The email, name and handle reserved for the user: no one else can register them.
    pub reserved: Reserved,
    /// RFC 3339: the user asked to delete its account.
    pub deletion_requested_at: Option<String>,
    /// RFC 3339: the deletion of the Cognito user began.
    pub deleting_since: Option<String>,
    /// RFC 3339: Roster found the Cognito user deleted outside Roster.
    pub identity_gone_at: Option<String>,
    /// What the user pool holds; null when the pool has no such user any more.
    pub pool: Option<PoolRecord>,
    /// What Roster holds about the user and does not export, and why.
    pub withheld: Vec<String>,
}

/// The identifiers reserved for a user.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reserved {
    pub email: String,
    pub name: String,
    pub handle: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No identity of this user: an unknown id, an account deleted already, or a pool user
    /// Roster did not register.
    #[error("no such identity")]
    NoIdentity,
    #[error("wrong current password")]
    WrongPassword,
    #[error(transparent)]
    Directory(#[from] CognitoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Account {
    table: AuthTable,
    directory: CognitoDirectory,
    revocations: Arc<RevocationSet>,
}

impl Account {
    pub fn new(
        table: AuthTable,
        directory: CognitoDirectory,
        revocations: Arc<RevocationSet>,
    ) -> Self {
        Self {
            table,
            directory,
            revocations,
        }
    }

    /// Everything the Auth API holds about `user_id` ([`export_identity`]).
    pub async fn export(&self, user_id: &str) -> Result<IdentityExport, AccountError> {
        export_identity(&self.table, &self.directory, user_id).await
    }

    /// Deletes the (verified) access token's user once it proved its current password again:
    /// records the request on the identity (published as `UserDeletionRequested`; the User API
    /// deletes the profile, then `UserDeleted` the Cognito user and the reservations) and ends
    /// every session at once. A second request is the first one's: nothing more happens.
    pub async fn request_deletion(
        &self,
        user: &VerifiedToken,
        password: &PresentedPassword,
    ) -> Result<Timestamp, AccountError> {
        let username = user.username.as_deref().unwrap_or(&user.sub);
        match self
            .directory
            .sign_in(&user.client_id, username, password)
            .await
        {
            Ok(_) => {}
            Err(CognitoError::NotAuthorized) => return Err(AccountError::WrongPassword),
            Err(error) => return Err(error.into()),
        }
        let identity = self
            .table
            .identity(&user.sub)
            .await?
            .ok_or(AccountError::NoIdentity)?;
        let at = Timestamp::now();
        let requested_at = if self
            .table
            .request_deletion(identity.id.as_str(), &at)
            .await?
        {
            at
        } else {
            self.table
                .identity(identity.id.as_str())
                .await?
                .and_then(|identity| identity.deletion_requested_at)
                .unwrap_or(at)
        };
        tracing::info!(sub = %user.sub, "the user asked for its deletion");
        // The sign-in above opened a session too: every one ends, refresh tokens in Cognito,
        // access and id tokens by the revocation record. A user gone from the pool meanwhile
        // has no session left.
        // Found or not, nothing of the user is signed in any more.
        let _presence = self.directory.sign_out_user(username).await?;
        self.revocations.revoke(&user.sub, "DELETED").await?;
        Ok(requested_at)
    }
}

/// Everything the Auth API holds about `user_id`, secrets left out: one GetItem and one
/// AdminGetUser. The routes and `cargo roster users export` call it.
pub async fn export_identity(
    table: &AuthTable,
    directory: &CognitoDirectory,
    user_id: &str,
) -> Result<IdentityExport, AccountError> {
    let identity = table
        .identity(user_id)
        .await?
        .ok_or(AccountError::NoIdentity)?;
    let pool = directory.record(identity.pool_username()).await?;
    let text = |at: &Option<Timestamp>| at.as_ref().map(|at| at.as_str().to_owned());
    Ok(IdentityExport {
        exported_at: Timestamp::now().as_str().to_owned(),
        user_id: identity.id.to_string(),
        email: identity.email.as_str().to_owned(),
        name: identity.name.clone(),
        handle: identity.handle.clone(),
        role: identity.role.as_str().to_owned(),
        registered_status: identity.status.as_str().to_owned(),
        applied_status: identity
            .applied_status
            .map(|status| status.as_str().to_owned()),
        source_system: identity.source_system.clone(),
        created_at: identity.created_at.as_str().to_owned(),
        registration_id: identity.registration_id.clone(),
        username: identity.pool_username().to_owned(),
        reserved: Reserved {
            email: identity.email.as_str().to_owned(),
            name: identity.name.clone(),
            handle: identity.handle.clone(),
        },
        deletion_requested_at: text(&identity.deletion_requested_at),
        deleting_since: text(&identity.deleting_since),
        identity_gone_at: text(&identity.identity_gone_at),
        pool,
        withheld: WITHHELD.iter().map(|line| (*line).to_owned()).collect(),
    })
}

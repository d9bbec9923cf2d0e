//! Whose tokens still open `/public/*`: the signed-in user's own profile, checked on every
//! request (the route reads the profile anyway, so the check costs no extra AWS call).
//!
//! - a deleted account: 401, as for any token that no longer holds;
//! - a SUSPENDED or ARCHIVED account: 403, at once (the User API owns the status);
//! - a token issued at or before the user's sessions were revoked (sign-out, password change
//!   or reset; `SessionsRevoked` from the Auth API, recorded on the profile by the subscriber):
//!   401, once the event has arrived.

use roster_events::UserStatus;
use roster_platform::jwt::{TokenRejection, VerifiedToken};

use crate::domain::Profile;
use crate::domain::UserId;
use crate::error::UserError;
use crate::profiles::Profiles;
use crate::store::{Stored, Updated};

impl Profiles {
    /// The profile of the token's user, if the token still opens it.
    pub async fn own_profile(&self, token: &VerifiedToken) -> Result<Profile, UserError> {
        let id = UserId::parse(&token.sub)?;
        match self.table.get(&id).await? {
            None => Err(UserError::ProfileNotReady),
            Some(Stored::Deleted) => Err(UserError::InvalidToken(TokenRejection::Revoked)),
            Some(Stored::Profile(profile)) => {
                if matches!(profile.status, UserStatus::Suspended | UserStatus::Archived) {
                    return Err(UserError::AccountDisabled);
                }
                if profile
                    .sessions_revoked_before
                    .is_some_and(|revoked| token.issued_at <= revoked)
                {
                    return Err(UserError::InvalidToken(TokenRejection::Revoked));
                }
                Ok(*profile)
            }
        }
    }

    /// Records that the user's tokens issued at or before `revoked_before` are revoked. Only
    /// ever moves forward; a deleted user's needs nothing. Fails while the profile does not
    /// exist yet, so the event is retried.
    pub async fn record_revocation(
        &self,
        id: &UserId,
        revoked_before: i64,
    ) -> Result<bool, UserError> {
        match self.table.record_revocation(id, revoked_before).await? {
            Updated::Done(_) => Ok(true),
            Updated::Refused(Some(_)) => Ok(false),
            Updated::Refused(None) => Err(UserError::ProfileNotReady),
        }
    }
}

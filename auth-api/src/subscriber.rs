//! The Auth API's EventBridge subscriber: User API events that must reach Cognito and the
//! Auth API's table. Every reaction is idempotent.
//!
//! - `UserActivated` → the identity records the activation (no activation mail or resend
//!   after it) and the pool marks the email verified.
//! - `UserStatusChanged` to SUSPENDED or ARCHIVED → the user is disabled and signed out
//!   everywhere (its refresh tokens stop working), and a revocation record makes the verify
//!   routes refuse its access and id tokens; back to CONFIRMED (or UNCONFIRMED) → enabled.
//!   Changes are ordered by the profile version they carry: an older one arriving late is
//!   dropped, and after applying one the subscriber re-reads the latest recorded status and
//!   applies it again if a newer change was claimed meanwhile.
//! - `UserDeleted` → the deletion is recorded on the identity, the Cognito user is deleted and
//!   its tokens revoked, then the identity and the email, name and handle reservations go, so
//!   the same email can register again.
//!
//! Every Cognito call addresses the user by its immutable username (the identity's
//! `username`, else its `sub`), never by the email, which can change in the pool (an
//! operator's update) without the Auth API knowing. A Cognito user that is not there is not
//! "done" by itself: it is only when the auth table says why (a deletion under way before this
//! delivery, or the reconciler's finding that it was deleted outside Roster). Otherwise the
//! delivery fails and is retried: a call that misses its user is never silently a success.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_events::user::{UserActivated, UserDeleted, UserStatus, UserStatusChanged};
use roster_events::{DomainEvent, Timestamp};
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use serde_json::Value;

use crate::cognito::{CognitoDirectory, Presence};
use crate::store::{AuthTable, Identity, StoreError};

/// The events this subscriber acts on. Its rule delivers only these (`AUTH_SUBSCRIBER` in
/// `infra/src/resources.rs`, the template's `AuthSubscriberRule`), and it ignores every other
/// event of its source (`tests/tests/local_aws/events/rule_filters.rs` checks it).
pub const RULE_EVENTS: [&str; 3] = [
    UserActivated::DETAIL_TYPE,
    UserStatusChanged::DETAIL_TYPE,
    UserDeleted::DETAIL_TYPE,
];

#[derive(Clone)]
pub struct AuthEvents {
    table: AuthTable,
    directory: CognitoDirectory,
}

/// The failure of a call that found no Cognito user while nothing in the table explains it.
fn unexplained(identity: &Identity, what: &str) -> HandlerError {
    format!(
        "{what}: the pool has no user {} for identity {}, and the auth table records no \
         deletion of it; left to retry until the reconciler has looked",
        identity.pool_username(),
        identity.id
    )
    .into()
}

impl AuthEvents {
    pub fn new(table: AuthTable, directory: CognitoDirectory) -> Self {
        Self { table, directory }
    }

    /// Whether a Cognito user found missing is explained by the table, read again now
    /// (consistently): a deletion under way, the reconciler's finding, or no identity at all.
    async fn known_gone(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .table
            .identity(user_id)
            .await?
            .is_none_or(|identity| identity.known_gone()))
    }

    async fn apply(&self, event: &EventBridgeEvent<Value>) -> Result<Outcome, HandlerError> {
        if let Some(envelope) = envelope_of::<UserActivated>(event) {
            let activated = envelope?.data;
            let user_id = activated.user_id.as_str();
            let Some(identity) = self.table.identity(user_id).await? else {
                return Ok(Outcome::Ignored);
            };
            if identity.activated_at.is_none() {
                self.table
                    .mark_activated(user_id, &activated.activated_at)
                    .await?;
            }
            if self
                .directory
                .verify_email(identity.pool_username())
                .await?
                == Presence::NotFound
            {
                if self.known_gone(user_id).await? {
                    return Ok(Outcome::Ignored);
                }
                return Err(unexplained(&identity, "email verification"));
            }
            tracing::info!(user = %user_id, "email verified");
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<UserStatusChanged>(event) {
            let change = envelope?.data;
            return self
                .apply_status(change.user_id.as_str(), change.to, change.version)
                .await;
        }
        if let Some(envelope) = envelope_of::<UserDeleted>(event) {
            let user_id = envelope?.data.user_id;
            return self.delete(user_id.as_str()).await;
        }
        Ok(Outcome::Ignored)
    }

    /// The deletion of a user: recorded first, then the Cognito user (one request, so that a
    /// lost answer is an error, not a "no such user" from a retry), the revocation, the
    /// identifiers. A Cognito user that is not there is already deleted only if an earlier
    /// attempt recorded the deletion and sent its delete (which may have landed with its
    /// answer lost), or the reconciler found it gone. Anything else fails the delivery, and
    /// this attempt's record is taken back, so that no later attempt takes it for proof.
    async fn delete(&self, user_id: &str) -> Result<Outcome, HandlerError> {
        let Some(before) = self
            .table
            .begin_deletion(user_id, &Timestamp::now())
            .await?
        else {
            // Released already (a redelivery): nothing left.
            return Ok(Outcome::Handled);
        };
        if self
            .directory
            .delete_user_once(before.pool_username())
            .await?
            == Presence::NotFound
            && !before.known_gone()
        {
            self.table.cancel_deletion(user_id).await?;
            return Err(unexplained(&before, "deletion"));
        }
        self.table
            .revoke(user_id, chrono::Utc::now().timestamp(), "DELETED")
            .await?;
        match self.table.release(&before).await {
            Ok(()) => {}
            // Released by a concurrent delivery in the meantime: done.
            Err(StoreError::Conflict) if self.table.identity(user_id).await?.is_none() => {}
            Err(error) => return Err(error.into()),
        }
        tracing::info!(user = %user_id, "identity deleted and identifiers released");
        Ok(Outcome::Handled)
    }

    async fn apply_status(
        &self,
        user_id: &str,
        to: UserStatus,
        version: u64,
    ) -> Result<Outcome, HandlerError> {
        let Some(identity) = self.table.identity(user_id).await? else {
            return Ok(Outcome::Ignored);
        };
        if !self.table.claim_status(user_id, to, version).await? {
            tracing::info!(user = %user_id, version, "stale status change dropped");
            return Ok(Outcome::Ignored);
        }
        let mut applying = Some(to);
        while let Some(status) = applying {
            if self.apply_to_pool(identity.pool_username(), status).await? == Presence::NotFound
                && !self.known_gone(user_id).await?
            {
                return Err(unexplained(&identity, status.as_str()));
            }
            if matches!(status, UserStatus::Suspended | UserStatus::Archived) {
                // Access and id tokens too, not only the refresh tokens Cognito revokes.
                self.table
                    .revoke(user_id, chrono::Utc::now().timestamp(), status.as_str())
                    .await?;
            }
            // Did a newer change get claimed while this one was applied? Then apply that too.
            let latest = self.table.identity(user_id).await?;
            applying = latest
                .and_then(|latest| latest.applied_status)
                .filter(|latest| *latest != status);
        }
        tracing::info!(user = %user_id, status = to.as_str(), "status applied to the pool");
        Ok(Outcome::Handled)
    }

    /// Applies `status` to the user `username`; [`Presence::NotFound`] if the pool has no such
    /// user (nothing was changed then).
    async fn apply_to_pool(
        &self,
        username: &str,
        status: UserStatus,
    ) -> Result<Presence, HandlerError> {
        Ok(match status {
            UserStatus::Suspended | UserStatus::Archived => {
                match self.directory.set_enabled(username, false).await? {
                    Presence::Found => self.directory.sign_out_user(username).await?,
                    Presence::NotFound => Presence::NotFound,
                }
            }
            UserStatus::Confirmed | UserStatus::Unconfirmed => {
                self.directory.set_enabled(username, true).await?
            }
        })
    }
}

impl EventHandler for AuthEvents {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(self.apply(event))
    }
}

/// The subscriber as deployed: SQS batches in, partial batch failures out.
pub fn subscriber(table: AuthTable, directory: CognitoDirectory) -> EventSubscriber<AuthEvents> {
    EventSubscriber::new("auth-subscriber", AuthEvents::new(table, directory))
}

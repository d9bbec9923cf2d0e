//! The Auth API's EventBridge subscriber: User API events that must reach Cognito and the
//! Auth API's table. Every reaction is idempotent, and a user that is gone is nothing to do.
//!
//! - `UserActivated` → the pool marks the email verified.
//! - `UserStatusChanged` to SUSPENDED or ARCHIVED → the user is disabled and signed out
//!   everywhere (its refresh tokens stop working), and a revocation record makes the verify
//!   routes refuse its access and id tokens; back to CONFIRMED (or UNCONFIRMED) → enabled.
//!   Changes are ordered by the profile version they carry: an older one arriving late is
//!   dropped, and after applying one the subscriber re-reads the latest recorded status and
//!   applies it again if a newer change was claimed meanwhile.
//! - `UserDeleted` → the Cognito user is deleted and its tokens revoked, then the identity and
//!   the email, name and handle reservations go, so the same email can register again.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_events::user::{UserActivated, UserDeleted, UserStatus, UserStatusChanged};
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use serde_json::Value;

use crate::identity::{Cognito, IdentityError};
use crate::store::{AuthTable, StoreError};

#[derive(Clone)]
pub struct AuthEvents {
    table: AuthTable,
    identity: Cognito,
}

/// An identity that is gone (deleted) makes a Cognito call fail as not authorized.
fn gone_is_done(result: Result<(), IdentityError>) -> Result<(), HandlerError> {
    match result {
        Ok(()) | Err(IdentityError::NotAuthorized) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

impl AuthEvents {
    pub fn new(table: AuthTable, identity: Cognito) -> Self {
        Self { table, identity }
    }

    async fn apply(&self, event: &EventBridgeEvent<Value>) -> Result<Outcome, HandlerError> {
        if let Some(envelope) = envelope_of::<UserActivated>(event) {
            let user_id = envelope?.data.user_id;
            let Some(identity) = self.table.identity(&user_id).await? else {
                return Ok(Outcome::Ignored);
            };
            gone_is_done(self.identity.verify_email(&identity.email).await)?;
            tracing::info!(user = %user_id, "email verified");
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<UserStatusChanged>(event) {
            let change = envelope?.data;
            return self
                .apply_status(&change.user_id, change.to, change.version)
                .await;
        }
        if let Some(envelope) = envelope_of::<UserDeleted>(event) {
            let user_id = envelope?.data.user_id;
            let Some(identity) = self.table.identity(&user_id).await? else {
                return Ok(Outcome::Handled);
            };
            self.identity.delete_user(&identity.email).await?;
            self.table
                .revoke(&user_id, chrono::Utc::now().timestamp(), "DELETED")
                .await?;
            match self.table.release(&identity).await {
                Ok(()) => {}
                // Released by a concurrent delivery in the meantime: done.
                Err(StoreError::Conflict) if self.table.identity(&user_id).await?.is_none() => {}
                Err(error) => return Err(error.into()),
            }
            tracing::info!(user = %user_id, "identity deleted and identifiers released");
            return Ok(Outcome::Handled);
        }
        Ok(Outcome::Ignored)
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
        if !self
            .table
            .claim_status(user_id, to.as_str(), version)
            .await?
        {
            tracing::info!(user = %user_id, version, "stale status change dropped");
            return Ok(Outcome::Ignored);
        }
        let mut applying = Some(to);
        while let Some(status) = applying {
            self.apply_to_pool(&identity.email, status).await?;
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
                .and_then(|latest| UserStatus::parse(&latest))
                .filter(|latest| *latest != status);
        }
        tracing::info!(user = %user_id, status = to.as_str(), "status applied to the pool");
        Ok(Outcome::Handled)
    }

    async fn apply_to_pool(&self, username: &str, status: UserStatus) -> Result<(), HandlerError> {
        match status {
            UserStatus::Suspended | UserStatus::Archived => {
                gone_is_done(self.identity.set_enabled(username, false).await)?;
                gone_is_done(self.identity.sign_out_everywhere(username).await)
            }
            UserStatus::Confirmed | UserStatus::Unconfirmed => {
                gone_is_done(self.identity.set_enabled(username, true).await)
            }
        }
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
pub fn subscriber(table: AuthTable, identity: Cognito) -> EventSubscriber<AuthEvents> {
    EventSubscriber::new("auth-subscriber", AuthEvents::new(table, identity))
}

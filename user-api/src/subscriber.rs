//! The User API's EventBridge subscriber: Auth API events that create or touch profiles.
//! Idempotent: `UserRegistered` creates a profile only where no item of that id exists,
//! `UserLoggedIn` only ever moves `lastLoginAt` forward, and `SessionsRevoked` only ever moves
//! the profile's `sessionsRevokedBefore` forward (what `/public/*` checks tokens against), and
//! `ActivationCodeReissued` replaces the unused code's hash only with a newer generation and
//! only while the profile is UNCONFIRMED.
//! `IdentityDeleted` (the user's Cognito user was deleted outside Roster) and
//! `UserDeletionRequested` (the user asked the Auth API to delete its account) delete the profile
//! as `DELETE /user/{id}` does: its uploads, a tombstone, and so `UserDeleted`, on which the
//! Auth API releases the identifiers. A profile deleted already is nothing to do; one that does
//! not exist yet (its `UserRegistered` still on its way) is waited for.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_events::DomainEvent;
use roster_events::auth::{
    ActivationCodeReissued, IdentityDeleted, SessionsRevoked, UserDeletionRequested, UserLoggedIn,
    UserRegistered,
};
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use serde_json::Value;

/// The events this subscriber acts on. Its rule delivers only these (`USER_SUBSCRIBER` in
/// `infra/src/resources.rs`, the template's `UserSubscriberRule`), and it ignores every other
/// event of its source (`tests/tests/local_aws/events/rule_filters.rs` checks it).
pub const RULE_EVENTS: [&str; 6] = [
    UserRegistered::DETAIL_TYPE,
    UserLoggedIn::DETAIL_TYPE,
    ActivationCodeReissued::DETAIL_TYPE,
    SessionsRevoked::DETAIL_TYPE,
    IdentityDeleted::DETAIL_TYPE,
    UserDeletionRequested::DETAIL_TYPE,
];

use crate::error::UserError;
use crate::profiles::{Context, Profiles};
use crate::store::Stored;

/// How long a `SessionsRevoked` waits for its user's profile to be created (it is created
/// seconds after registration) before it is taken to be of a user without one.
const PROFILE_WAIT_SECONDS: i64 = 90;

#[derive(Clone)]
pub struct UserEvents {
    profiles: Profiles,
}

impl UserEvents {
    pub fn new(profiles: Profiles) -> Self {
        Self { profiles }
    }

    async fn apply(&self, event: &EventBridgeEvent<Value>) -> Result<Outcome, HandlerError> {
        if let Some(envelope) = envelope_of::<UserRegistered>(event) {
            let envelope = envelope?;
            let created = self
                .profiles
                .create_from_registration(
                    &envelope.event_id,
                    &envelope.data,
                    envelope.correlation_id.as_deref(),
                )
                .await?;
            tracing::info!(user = %envelope.data.user_id, created, "UserRegistered applied");
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<UserLoggedIn>(event) {
            let envelope = envelope?;
            match self
                .profiles
                .record_login(&envelope.data.user_id, &envelope.data.logged_in_at)
                .await
            {
                // Retried until the profile exists (the sign-in may beat its creation).
                Err(UserError::ProfileNotReady) => {
                    return Err("the profile does not exist yet".into());
                }
                other => {
                    other?;
                }
            }
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<ActivationCodeReissued>(event) {
            let reissued = envelope?.data;
            match self
                .profiles
                .reissue_activation(
                    &reissued.user_id,
                    &reissued.activation_code_hash,
                    reissued.generation,
                    &reissued.expires_at,
                )
                .await
            {
                // Retried until the profile exists (a resend may beat its creation).
                Err(UserError::ProfileNotReady) => {
                    return Err("the profile does not exist yet".into());
                }
                Ok(replaced) => {
                    tracing::info!(
                        user = %reissued.user_id,
                        generation = reissued.generation,
                        replaced,
                        "ActivationCodeReissued applied"
                    );
                }
                Err(error) => return Err(error.into()),
            }
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<SessionsRevoked>(event) {
            let revoked = envelope?.data;
            match self
                .profiles
                .record_revocation(&revoked.user_id, revoked.revoked_before)
                .await
            {
                // A profile moments from creation: retried until it exists, as for sign-ins.
                // A user that never gets one (an operator made in the pool outside Roster) has
                // no `/public/*` to refuse: after a while the event is done, rather than a
                // dead letter per sign-out.
                Err(UserError::ProfileNotReady)
                    if chrono::Utc::now().timestamp() - revoked.revoked_before
                        < PROFILE_WAIT_SECONDS =>
                {
                    return Err("the profile does not exist yet".into());
                }
                Err(UserError::ProfileNotReady) => {
                    tracing::info!(user = %revoked.user_id, "sessions revoked of a user without a profile");
                    return Ok(Outcome::Ignored);
                }
                other => {
                    other?;
                }
            }
            tracing::info!(user = %revoked.user_id, reason = %revoked.reason, "sessions revoked");
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<IdentityDeleted>(event) {
            let envelope = envelope?;
            let id = envelope.data.user_id.clone();
            self.delete_profile(&id, envelope.correlation_id.clone())
                .await?;
            tracing::info!(user = %id.as_str(), "identity deleted outside Roster: profile deleted");
            return Ok(Outcome::Handled);
        }
        if let Some(envelope) = envelope_of::<UserDeletionRequested>(event) {
            let envelope = envelope?;
            let id = envelope.data.user_id.clone();
            self.delete_profile(&id, envelope.correlation_id.clone())
                .await?;
            tracing::info!(user = %id.as_str(), "the user asked for its deletion: profile deleted");
            return Ok(Outcome::Handled);
        }
        Ok(Outcome::Ignored)
    }
}

impl UserEvents {
    /// Deletes the profile as `DELETE /user/{id}` does (uploads, every version; a tombstone,
    /// so `UserDeleted` follows). Fails while the profile does not exist yet, so the event is
    /// retried; a profile deleted already is done.
    async fn delete_profile(
        &self,
        id: &roster_events::UserId,
        correlation_id: Option<String>,
    ) -> Result<(), HandlerError> {
        match self.profiles.table.get(id).await? {
            None => return Err("the profile does not exist yet".into()),
            Some(Stored::Deleted) => return Ok(()),
            Some(Stored::Profile(_)) => {}
        }
        let context = Context {
            correlation_id,
            if_match: None,
        };
        match self.profiles.delete(id, &context).await {
            // Deleted meanwhile by another delivery or a caller: done all the same.
            Ok(_) | Err(UserError::UserNotFound) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

impl EventHandler for UserEvents {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(self.apply(event))
    }

    /// A registration creates the profile every other event of the user needs; a sign-in
    /// (published at once by the Auth API) often arrives in the same batch ahead of it.
    fn comes_first(&self, event: &EventBridgeEvent<Value>) -> bool {
        event.source == UserRegistered::SOURCE && event.detail_type == UserRegistered::DETAIL_TYPE
    }
}

/// The subscriber as deployed: SQS batches in, partial batch failures out.
pub fn subscriber(profiles: Profiles) -> EventSubscriber<UserEvents> {
    EventSubscriber::new("user-subscriber", UserEvents::new(profiles))
}

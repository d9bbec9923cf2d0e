//! The badge rules: the User API's own events that earn a badge.
//!
//! - `UserActivated` → VERIFIED.
//! - `UserProfileUpdated` with an uploaded avatar → PHOTOGENIC.
//!
//! A rule awards through the same conditional write as `POST /user/{id}/badge/{name}`, so a
//! duplicate event, or a rule racing a caller, leaves one badge and one `BadgeAwarded`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_events::user::{UserActivated, UserProfileUpdated};
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use serde_json::Value;

use crate::domain::{PHOTOGENIC, UserId, VERIFIED};
use crate::error::UserError;
use crate::profiles::{Context, Profiles};

/// The detail-types the rules listen to (the bus rule's pattern).
pub const RULE_EVENTS: [&str; 2] = ["UserActivated", "UserProfileUpdated"];

/// A badge an event earns: for whom, which, and the correlation id it carries on.
struct Earned {
    user_id: UserId,
    badge: &'static str,
    correlation_id: Option<String>,
}

#[derive(Clone)]
pub struct BadgeRules {
    profiles: Profiles,
}

impl BadgeRules {
    pub fn new(profiles: Profiles) -> Self {
        Self { profiles }
    }

    /// The badge an event earns, if any.
    fn earned(event: &EventBridgeEvent<Value>) -> Result<Option<Earned>, HandlerError> {
        if let Some(envelope) = envelope_of::<UserActivated>(event) {
            let envelope = envelope?;
            return Ok(Some(Earned {
                user_id: envelope.data.user_id,
                badge: VERIFIED,
                correlation_id: envelope.correlation_id,
            }));
        }
        if let Some(envelope) = envelope_of::<UserProfileUpdated>(event) {
            let envelope = envelope?;
            let data = envelope.data;
            let uploaded = data.profile_data.custom_avatar
                && data.changed.iter().any(|field| field == "avatarUrl");
            return Ok(uploaded.then_some(Earned {
                user_id: data.user_id,
                badge: PHOTOGENIC,
                correlation_id: envelope.correlation_id,
            }));
        }
        Ok(None)
    }

    async fn apply(&self, event: &EventBridgeEvent<Value>) -> Result<Outcome, HandlerError> {
        let Some(Earned {
            user_id,
            badge,
            correlation_id,
        }) = Self::earned(event)?
        else {
            return Ok(Outcome::Ignored);
        };
        let context = Context {
            correlation_id,
            if_match: None,
        };
        match self.profiles.award(&user_id, badge, &context).await {
            Ok((_, awarded)) => {
                tracing::info!(user = %user_id, badge, awarded, "badge rule applied");
                Ok(Outcome::Handled)
            }
            // Deleted since: nothing to award.
            Err(UserError::UserNotFound) => Ok(Outcome::Ignored),
            Err(error) => Err(error.into()),
        }
    }
}

impl EventHandler for BadgeRules {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(self.apply(event))
    }
}

/// The rules as deployed: SQS batches in, partial batch failures out.
pub fn subscriber(profiles: Profiles) -> EventSubscriber<BadgeRules> {
    EventSubscriber::new("badge-rules", BadgeRules::new(profiles))
}

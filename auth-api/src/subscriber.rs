//! The Auth API's EventBridge subscriber: User API events that must reach Cognito.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{EventHandler, EventSubscriber, HandlerError, Outcome};
use serde_json::Value;

/// Reacts to events from `roster.user`. No event is routed here yet: the User API's events
/// (activation, status changes, deletion) arrive with the event contract, and until then every
/// delivered event is acknowledged as ignored.
#[derive(Debug, Clone, Default)]
pub struct AuthEvents;

impl EventHandler for AuthEvents {
    fn handle<'a>(
        &'a self,
        _event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async { Ok(Outcome::Ignored) })
    }
}

/// The subscriber as deployed: SQS batches in, partial batch failures out.
pub fn subscriber() -> EventSubscriber<AuthEvents> {
    EventSubscriber::new("auth-subscriber", AuthEvents)
}

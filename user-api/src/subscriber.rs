//! The User API's EventBridge subscriber: Auth API events that create or touch profiles.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{EventHandler, EventSubscriber, HandlerError, Outcome};
use serde_json::Value;

/// Reacts to events from `roster.auth`. No event is routed here yet: `UserRegistered` and
/// `UserLoggedIn` arrive with the event contract, and until then every delivered event is
/// acknowledged as ignored.
#[derive(Debug, Clone, Default)]
pub struct UserEvents;

impl EventHandler for UserEvents {
    fn handle<'a>(
        &'a self,
        _event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async { Ok(Outcome::Ignored) })
    }
}

/// The subscriber as deployed: SQS batches in, partial batch failures out.
pub fn subscriber() -> EventSubscriber<UserEvents> {
    EventSubscriber::new("user-subscriber", UserEvents)
}

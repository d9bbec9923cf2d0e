//! The Auth API's own events (sign-ins, password flows), published straight to the bus with
//! bounded retries. A publication that still fails is logged and dropped on purpose: it must
//! never fail the user's request. (Registration is different: `UserRegistered` comes from the
//! table's stream, so it cannot be lost.)

use std::time::Duration;

use roster_events::{DomainEvent, Envelope, Timestamp};
use roster_platform::events::{EventPublisher, OutgoingEvent, RetryPolicy};
use sha2::{Digest, Sha256};

/// Three attempts within about a quarter of a second.
pub const RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(25),
    max_delay: Duration::from_millis(200),
};

#[derive(Clone)]
pub struct AuthEvents {
    publisher: EventPublisher,
}

impl AuthEvents {
    pub fn new(publisher: EventPublisher) -> Self {
        Self {
            publisher: publisher.with_retry(RETRIES),
        }
    }

    /// Publishes `data`; `identity` says which change it is (the event id is derived from it,
    /// so a repeat of the same change has the same id).
    pub async fn emit<D: DomainEvent>(&self, identity: &[&str], occurred_at: Timestamp, data: D) {
        let mut hasher = Sha256::new();
        hasher.update(D::DETAIL_TYPE.as_bytes());
        for part in identity {
            hasher.update([0]);
            hasher.update(part.as_bytes());
        }
        let event_id = hex::encode(&hasher.finalize()[..16]);
        let envelope = Envelope::new(event_id.clone(), occurred_at, data);
        let outcome = match OutgoingEvent::from_envelope(&envelope) {
            Ok(event) => self
                .publisher
                .publish(&[event])
                .await
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = outcome {
            tracing::warn!(detail_type = D::DETAIL_TYPE, %event_id, %error, "event not published");
        }
    }
}

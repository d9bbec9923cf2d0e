//! Projection of the Auth API's table (identities, reservations, idempotency records).

use aws_lambda_events::dynamodb::EventRecord;
use roster_platform::events::OutgoingEvent;

use crate::{Projection, ProjectionError};

/// No record of the Auth API's table means an event yet: `UserRegistered` and its friends
/// arrive with the event contract. Reservation and idempotency records never will.
#[derive(Debug, Clone, Default)]
pub struct AuthTableProjection;

impl Projection for AuthTableProjection {
    fn project(&self, _record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
        Ok(Vec::new())
    }
}

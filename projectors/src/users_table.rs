//! Projection of the User API's table (profiles).

use aws_lambda_events::dynamodb::EventRecord;
use roster_platform::events::OutgoingEvent;

use crate::{Projection, ProjectionError};

/// No profile change means an event yet: activation, status, badge, data and deletion events
/// arrive with the event contract, derived from the old and new images.
#[derive(Debug, Clone, Default)]
pub struct UsersTableProjection;

impl Projection for UsersTableProjection {
    fn project(&self, _record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
        Ok(Vec::new())
    }
}

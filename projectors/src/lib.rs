//! DynamoDB Streams projectors: the tables are the outbox, and every change that matters to
//! someone else becomes a domain event on the bus.
//!
//! [`StreamProjector`] is the frame: records are projected and published strictly in order,
//! and the first record whose events cannot be published ends the batch as its batch item
//! failure, so Lambda (or the local poller) retries from that record and nothing after it is
//! skipped. A [`Projection`] decides which events one record yields.

pub mod auth_table;
pub mod users_table;

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::DynamoDbEventResponse;
use roster_platform::events::{EventPublisher, OutgoingEvent};
use roster_platform::lambda::{BoxFuture, StreamBatchHandler, stream_failure_at};

pub type ProjectionError = Box<dyn std::error::Error + Send + Sync>;

/// Turns one stream record into the domain events it means: none for a change nobody needs
/// to hear about. Never the raw item.
pub trait Projection: Send + Sync + 'static {
    fn project(&self, record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError>;
}

pub struct StreamProjector<P> {
    name: &'static str,
    projection: P,
    publisher: EventPublisher,
}

impl<P: Projection> StreamProjector<P> {
    pub fn new(name: &'static str, projection: P, publisher: EventPublisher) -> Self {
        Self {
            name,
            projection,
            publisher,
        }
    }

    async fn handle_batch(&self, event: StreamEvent) -> DynamoDbEventResponse {
        for record in &event.records {
            let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
            let outcome = match self.projection.project(record) {
                Ok(events) if events.is_empty() => Ok(()),
                Ok(events) => self
                    .publisher
                    .publish(&events)
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            if let Err(reason) = outcome {
                tracing::error!(
                    projector = self.name,
                    sequence_number = %sequence_number,
                    event_name = %record.event_name,
                    %reason,
                    "projection failed; the batch resumes at this record"
                );
                return stream_failure_at(sequence_number);
            }
        }
        if let Some(oldest) = event.records.first() {
            let created = oldest.change.approximate_creation_date_time;
            roster_platform::metrics::lag(
                roster_platform::metrics::Lag::Projector,
                self.name,
                created,
            );
        }
        DynamoDbEventResponse::default()
    }
}

impl<P: Projection> StreamBatchHandler for StreamProjector<P> {
    fn handle(&self, event: StreamEvent) -> BoxFuture<'_, DynamoDbEventResponse> {
        Box::pin(self.handle_batch(event))
    }
}

//! The frame of every EventBridge subscriber: rules deliver events into an SQS queue, and the
//! subscriber function takes them in batches. Each message is parsed into an EventBridge
//! envelope and handed to the service's handler; a message that cannot be parsed or handled is
//! reported as a batch item failure, so SQS delivers it again and, after the queue's
//! `maxReceiveCount`, moves it to the dead-letter queue. Nothing is acknowledged unhandled.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use tracing::Instrument;

use crate::lambda::{BoxFuture, QueueBatchHandler, queue_failures};

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a handler did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The event changed, or confirmed, this service's state.
    Handled,
    /// The event is not one this service acts on.
    Ignored,
}

/// A service's reaction to one event. It must be idempotent: the same event can arrive twice.
pub trait EventHandler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>>;
}

/// The envelope of `event` when it is a `D` (by source and detail-type): `None` for another
/// event, an error for a `D` whose detail does not read as one.
pub fn envelope_of<D>(
    event: &EventBridgeEvent<Value>,
) -> Option<Result<roster_events::Envelope<D>, HandlerError>>
where
    D: roster_events::DomainEvent + serde::de::DeserializeOwned,
{
    (event.source == D::SOURCE && event.detail_type == D::DETAIL_TYPE).then(|| {
        serde_json::from_value(event.detail.clone()).map_err(|error| {
            format!("a {} whose detail does not read: {error}", D::DETAIL_TYPE).into()
        })
    })
}

/// Adapts an [`EventHandler`] to SQS batches with partial batch failure reporting.
#[derive(Debug, Clone)]
pub struct EventSubscriber<H> {
    name: &'static str,
    handler: H,
}

impl<H: EventHandler> EventSubscriber<H> {
    pub fn new(name: &'static str, handler: H) -> Self {
        Self { name, handler }
    }

    async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut failed = Vec::new();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let parsed = message
                .body
                .as_deref()
                .ok_or_else(|| "message has no body".to_owned())
                .and_then(|body| {
                    serde_json::from_str::<EventBridgeEvent<Value>>(body)
                        .map_err(|error| format!("not an EventBridge event: {error}"))
                });
            let event = match parsed {
                Ok(event) => event,
                Err(reason) => {
                    tracing::warn!(subscriber = self.name, message_id = %id, %reason, "unreadable message");
                    failed.push(id);
                    continue;
                }
            };
            // The event's own ids, so the handler's log lines can be joined up with the
            // request that caused the event, in the other service.
            let span = tracing::info_span!(
                "event",
                event_id = event.detail["eventId"].as_str().unwrap_or_default(),
                correlation_id = event.detail["correlationId"].as_str().unwrap_or_default(),
            );
            if let Some(time) = event.time {
                crate::metrics::lag(crate::metrics::Lag::Subscriber, self.name, time);
            }
            match self.handler.handle(&event).instrument(span).await {
                Ok(outcome) => tracing::debug!(
                    subscriber = self.name,
                    source = %event.source,
                    detail_type = %event.detail_type,
                    ?outcome,
                    "event consumed"
                ),
                // Retried by the queue, and moved to its dead-letter queue if it keeps failing:
                // a warning here, an alarm on the dead-letter queue.
                Err(error) => {
                    tracing::warn!(
                        subscriber = self.name,
                        message_id = %id,
                        source = %event.source,
                        detail_type = %event.detail_type,
                        %error,
                        "event handling failed; it will be delivered again"
                    );
                    failed.push(id);
                }
            }
        }
        queue_failures(failed)
    }
}

impl<H: EventHandler> QueueBatchHandler for EventSubscriber<H> {
    fn handle(&self, event: SqsEvent) -> BoxFuture<'_, SqsBatchResponse> {
        Box::pin(self.handle_batch(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;
    use std::sync::Mutex;

    /// Records what it saw; fails events whose detail says so.
    #[derive(Default)]
    struct Recording(Mutex<Vec<String>>);

    impl EventHandler for Recording {
        fn handle<'a>(
            &'a self,
            event: &'a EventBridgeEvent<Value>,
        ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
            Box::pin(async move {
                self.0.lock().unwrap().push(event.detail_type.clone());
                if event.detail["fail"] == true {
                    Err("told to fail".into())
                } else {
                    Ok(Outcome::Handled)
                }
            })
        }
    }

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body.to_owned());
        message
    }

    fn envelope(detail_type: &str, detail: Value) -> String {
        serde_json::json!({
            "version": "0", "id": "e1", "detail-type": detail_type, "source": "roster.test",
            "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
        .to_string()
    }

    #[tokio::test]
    async fn reports_exactly_the_unreadable_and_failed_messages() {
        let subscriber = EventSubscriber::new("test", Recording::default());
        let mut batch = SqsEvent::default();
        batch.records = vec![
            message("ok-1", &envelope("First", serde_json::json!({}))),
            message("garbage", "{not json"),
            message(
                "fails",
                &envelope("Second", serde_json::json!({"fail": true})),
            ),
            message("ok-2", &envelope("Third", serde_json::json!({}))),
        ];
        let response = QueueBatchHandler::handle(&subscriber, batch).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["garbage", "fails"]);
        assert_eq!(
            *subscriber.handler.0.lock().unwrap(),
            ["First", "Second", "Third"]
        );
    }
}

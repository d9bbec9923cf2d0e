//! DynamoDB Streams projectors: the tables are the outbox, and every change that matters to
//! someone else becomes a domain event on the bus.
//!
//! [`StreamProjector`] is the frame: the records of a batch are projected in order, and the
//! events of consecutive records go out together, in PutEvents calls of up to 10 entries and
//! 256 KB, in order. The first record with an event that did not go out (or that could not be
//! projected) ends the batch as its batch item failure, so Lambda (or the local poller)
//! retries from that record and nothing after it is skipped. Events of later records that went
//! out in the same call go out again on the retry: every event id names its change, and
//! subscribers deduplicate by it. A [`Projection`] decides which events one record yields.

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

/// A projector as a DynamoDB Streams-triggered Lambda function: logs as configured, publishes
/// to the bus `EVENT_BUS_NAME` with the SDK configured from the environment, and serves the
/// stream's batches until the runtime stops.
pub async fn serve<P: Projection + Send + Sync + 'static>(
    name: &'static str,
    projection: P,
) -> Result<(), lambda_runtime::Error> {
    use roster_platform::telemetry::{self, LogFormat};
    use roster_platform::{aws, config, lambda};

    telemetry::init(LogFormat::from_env());
    let bus = config::required("EVENT_BUS_NAME")?;
    let sdk = aws::from_env().await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    lambda::run_stream_handler(StreamProjector::new(name, projection, publisher)).await
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
        let records = &event.records;
        // Every event of the batch in order, with the index of the record it came from; up
        // to the first record that cannot be projected.
        let mut events = Vec::new();
        let mut origins = Vec::new();
        let mut unprojectable = None;
        for (index, record) in records.iter().enumerate() {
            match self.projection.project(record) {
                Ok(projected) => {
                    origins.extend(std::iter::repeat_n(index, projected.len()));
                    events.extend(projected);
                }
                Err(error) => {
                    unprojectable = Some((index, error.to_string()));
                    break;
                }
            }
        }
        if let Some(oldest) = records.first() {
            let created = oldest.change.approximate_creation_date_time;
            roster_platform::metrics::lag(
                roster_platform::metrics::Lag::Projector,
                self.name,
                created,
            );
        }
        let failure = match self.publisher.publish(&events).await {
            Ok(()) => unprojectable,
            Err(error) => Some((origins[error.first_undelivered()], error.to_string())),
        };
        let Some((index, reason)) = failure else {
            return DynamoDbEventResponse::default();
        };
        let record = &records[index];
        let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
        tracing::error!(
            projector = self.name,
            sequence_number = %sequence_number,
            event_name = %record.event_name,
            %reason,
            "projection failed; the batch resumes at this record"
        );
        stream_failure_at(sequence_number)
    }
}

impl<P: Projection> StreamBatchHandler for StreamProjector<P> {
    fn handle(&self, event: StreamEvent) -> BoxFuture<'_, DynamoDbEventResponse> {
        Box::pin(self.handle_batch(event))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use roster_platform::events::{EntryResults, PutEventsPort, RetryPolicy};
    use serde_json::{Value, json};

    use super::*;

    /// Each record says what it projects to: `events` events (detail `r<seq>-<n>`, padded to
    /// `pad` bytes), or an error if `fail` is set.
    struct Scripted;

    impl Projection for Scripted {
        fn project(&self, record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
            let image: Value = serde_dynamo::from_item(record.change.new_image.clone())?;
            if image["fail"] == true {
                return Err("unreadable image".into());
            }
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            let pad = image["pad"].as_u64().unwrap_or(0) as usize;
            Ok((0..image["events"].as_u64().unwrap_or(0))
                .map(|n| {
                    let mut detail = format!("r{sequence}-{n}");
                    if detail.len() < pad {
                        detail.push_str(&" ".repeat(pad - detail.len()));
                    }
                    OutgoingEvent {
                        source: "roster.test".into(),
                        detail_type: "Projected".into(),
                        detail,
                        resources: Vec::new(),
                    }
                })
                .collect())
        }
    }

    fn record(sequence: usize, image: Value) -> EventRecord {
        let image =
            serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(image).unwrap())
                .unwrap();
        serde_json::from_value(json!({
            "eventID": sequence.to_string(), "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": {"pk": {"S": sequence.to_string()}}, "NewImage": image,
                "SequenceNumber": sequence.to_string(), "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }))
        .unwrap()
    }

    /// A batch whose record `i` projects to `counts[i]` events.
    fn batch(counts: &[u64]) -> StreamEvent {
        let mut event = StreamEvent::default();
        event.records = counts
            .iter()
            .enumerate()
            .map(|(sequence, count)| record(sequence, json!({"events": count})))
            .collect();
        event
    }

    type Answer = dyn Fn(usize, &[&OutgoingEvent]) -> Result<EntryResults, String> + Send + Sync;

    /// Records the details of each call; answers as `answer(call number, entries)`.
    #[derive(Clone)]
    struct Bus {
        calls: Arc<Mutex<Vec<Vec<String>>>>,
        answer: Arc<Answer>,
    }

    impl PutEventsPort for Bus {
        fn put_events<'a>(
            &'a self,
            _bus_name: &'a str,
            events: &'a [&'a OutgoingEvent],
        ) -> BoxFuture<'a, Result<EntryResults, String>> {
            let call = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(
                    events
                        .iter()
                        .map(|e| e.detail.trim_end().to_owned())
                        .collect(),
                );
                calls.len() - 1
            };
            let answer = (self.answer)(call, events);
            Box::pin(async move { answer })
        }
    }

    impl Bus {
        fn new(
            answer: impl Fn(usize, &[&OutgoingEvent]) -> Result<EntryResults, String>
            + Send
            + Sync
            + 'static,
        ) -> Self {
            Self {
                calls: Arc::default(),
                answer: Arc::new(answer),
            }
        }

        fn accepting() -> Self {
            Self::new(|_, events| Ok(vec![None; events.len()]))
        }

        fn projector(&self) -> StreamProjector<Scripted> {
            let publisher =
                EventPublisher::with_port(self.clone(), "bus").with_retry(RetryPolicy {
                    max_attempts: 2,
                    base_delay: Duration::from_millis(1),
                    max_delay: Duration::from_millis(1),
                });
            StreamProjector::new("test-projector", Scripted, publisher)
        }

        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().unwrap().clone()
        }

        fn sizes(&self) -> Vec<usize> {
            self.calls().iter().map(Vec::len).collect()
        }
    }

    async fn failure(projector: &StreamProjector<Scripted>, batch: StreamEvent) -> Option<String> {
        let response = projector.handle_batch(batch).await;
        assert!(response.batch_item_failures.len() <= 1);
        response
            .batch_item_failures
            .first()
            .map(|failure| failure.item_identifier.clone().unwrap())
    }

    /// The details the projection gives records `range` of a batch of `counts`, in order.
    fn expected(counts: &[u64], range: std::ops::Range<usize>) -> Vec<String> {
        range
            .flat_map(|sequence| (0..counts[sequence]).map(move |n| format!("r{sequence}-{n}")))
            .collect()
    }

    #[tokio::test]
    async fn a_hundred_records_go_out_in_ten_calls_in_order() {
        let counts = [1; 100];
        let bus = Bus::accepting();
        assert_eq!(failure(&bus.projector(), batch(&counts)).await, None);
        assert_eq!(bus.sizes(), [10; 10]);
        assert_eq!(bus.calls().concat(), expected(&counts, 0..100));
    }

    #[tokio::test]
    async fn records_with_no_event_or_several_share_calls_in_order() {
        let counts = [0, 3, 0, 4, 5, 0, 2, 0];
        let bus = Bus::accepting();
        assert_eq!(failure(&bus.projector(), batch(&counts)).await, None);
        assert_eq!(bus.sizes(), [10, 4]);
        assert_eq!(bus.calls().concat(), expected(&counts, 0..8));

        let nothing = Bus::accepting();
        assert_eq!(failure(&nothing.projector(), batch(&[0, 0, 0])).await, None);
        assert!(nothing.calls().is_empty(), "no call without an event");
    }

    #[tokio::test]
    async fn a_call_is_filled_to_256_kb_and_no_further() {
        // Each event is 100 KiB: two fit in a call, a third does not.
        let mut event = StreamEvent::default();
        event.records = (0..5)
            .map(|sequence| record(sequence, json!({"events": 1, "pad": 100 * 1024})))
            .collect();
        let bus = Bus::accepting();
        assert_eq!(failure(&bus.projector(), event).await, None);
        assert_eq!(bus.sizes(), [2, 2, 1]);
        assert_eq!(bus.calls().concat(), expected(&[1; 5], 0..5));
    }

    #[tokio::test]
    async fn an_entry_failing_in_the_middle_of_a_call_fails_the_batch_at_its_record() {
        let counts = [1; 30];
        let bus = Bus::new(|_, events| {
            Ok(events
                .iter()
                .map(|e| (e.detail == "r14-0").then(|| "MalformedDetail".to_owned()))
                .collect())
        });
        assert_eq!(
            failure(&bus.projector(), batch(&counts)).await.as_deref(),
            Some("14")
        );
        assert_eq!(
            bus.sizes(),
            [10, 10],
            "no call after the one that failed; records 15 to 19 went out with it"
        );

        // Lambda retries from record 14: the rest goes out, in order.
        let retry = Bus::accepting();
        let mut rest = batch(&counts);
        rest.records.drain(..14);
        assert_eq!(failure(&retry.projector(), rest).await, None);
        assert_eq!(retry.calls().concat(), expected(&counts, 14..30));
    }

    #[tokio::test]
    async fn a_retryable_entry_failure_is_re_sent_alone_and_the_batch_succeeds() {
        let bus = Bus::new(|call, events| {
            Ok(events
                .iter()
                .map(|e| {
                    (call == 0 && e.detail == "r3-1").then(|| "ThrottlingException".to_owned())
                })
                .collect())
        });
        assert_eq!(failure(&bus.projector(), batch(&[2, 2, 2, 2])).await, None);
        assert_eq!(bus.calls()[1], ["r3-1"]);
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_record_whose_events_straddle_it() {
        // 12 events: the first call takes records 0 and 1 and half of record 2.
        let counts = [4, 4, 4];
        let bus = Bus::new(|call, events| {
            if call == 0 {
                Ok(vec![None; events.len()])
            } else {
                Err("connection reset".to_owned())
            }
        });
        assert_eq!(
            failure(&bus.projector(), batch(&counts)).await.as_deref(),
            Some("2")
        );
        assert_eq!(bus.calls()[0], expected(&counts, 0..3)[..10]);
    }

    #[tokio::test]
    async fn an_unprojectable_record_ends_the_batch_after_the_events_before_it() {
        let mut event = batch(&[1, 2, 0]);
        event.records.push(record(3, json!({"fail": true})));
        event.records.push(record(4, json!({"events": 1})));
        let bus = Bus::accepting();
        assert_eq!(failure(&bus.projector(), event).await.as_deref(), Some("3"));
        assert_eq!(bus.calls().concat(), ["r0-0", "r1-0", "r1-1"]);
    }

    #[tokio::test]
    async fn an_event_too_large_for_any_call_ends_the_batch_at_its_record() {
        let mut event = batch(&[1, 1, 1, 1]);
        event.records[2] = record(2, json!({"events": 1, "pad": 300 * 1024}));
        let bus = Bus::accepting();
        assert_eq!(failure(&bus.projector(), event).await.as_deref(), Some("2"));
        assert_eq!(bus.calls().concat(), ["r0-0", "r1-0"]);
    }
}

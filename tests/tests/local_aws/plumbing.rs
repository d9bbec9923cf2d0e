//! The local event source mappings behave like Lambda's: stream records in order with resume
//! at the failed record; queue messages with partial batch failures, redelivery and
//! dead-lettering.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use roster_local::plumbing::queues::{self, QueuePollOptions, QueueSource};
use roster_local::plumbing::streams::{self, StreamPollOptions, StreamSource};
use roster_local::resources::{USER_SUBSCRIBER, USERS_TABLE};
use roster_local::testing::{self, REGION, TestResources};
use roster_platform::events::{EventPublisher, OutgoingEvent};
use roster_platform::lambda::{
    BoxFuture, QueueBatchHandler, StreamBatchHandler, queue_failures, stream_failure_at,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::eventually;

/// What a stream handler saw of one record.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    event_name: String,
    id: String,
    new_image: Value,
    old_image: Value,
}

fn image(item: &serde_dynamo::Item) -> Value {
    serde_dynamo::from_item(item.clone()).unwrap()
}

/// Records the records it handles; fails on the record of `fail_id` while `failures_left` > 0.
#[derive(Default)]
struct RecordingStream {
    handled: Mutex<Vec<Seen>>,
    attempts: Mutex<HashMap<String, u32>>,
    fail_id: Option<String>,
    failures_left: AtomicU32,
}

impl StreamBatchHandler for RecordingStream {
    fn handle(&self, event: StreamEvent) -> BoxFuture<'_, DynamoDbEventResponse> {
        Box::pin(async move {
            for record in event.records {
                let keys = image(&record.change.keys);
                let id = keys["id"].as_str().unwrap().to_owned();
                *self.attempts.lock().unwrap().entry(id.clone()).or_default() += 1;
                if self.fail_id.as_deref() == Some(id.as_str())
                    && self
                        .failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    return stream_failure_at(record.change.sequence_number.unwrap());
                }
                self.handled.lock().unwrap().push(Seen {
                    event_name: record.event_name,
                    id,
                    new_image: image(&record.change.new_image),
                    old_image: image(&record.change.old_image),
                });
            }
            DynamoDbEventResponse::default()
        })
    }
}

fn poll_users_stream(
    stack: &TestResources,
    handler: Arc<dyn StreamBatchHandler>,
) -> CancellationToken {
    let facts = stack.provisioned.table(&USERS_TABLE);
    let shutdown = CancellationToken::new();
    tokio::spawn(streams::run(
        aws_sdk_dynamodbstreams::Client::new(&stack.sdk),
        StreamSource {
            table_name: facts.name.clone(),
            stream_arn: facts.stream_arn.clone(),
            region: REGION.to_owned(),
        },
        handler,
        StreamPollOptions {
            idle_delay: Duration::from_millis(20),
            retry_base: Duration::from_millis(20),
            ..StreamPollOptions::default()
        },
        shutdown.clone(),
    ));
    shutdown
}

async fn put_user(stack: &TestResources, id: &str, name: &str) {
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .put_item()
        .table_name(stack.names.table(&USERS_TABLE))
        .item("id", AttributeValue::S(id.to_owned()))
        .item("name", AttributeValue::S(name.to_owned()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn stream_changes_reach_the_handler_in_order_with_both_images() {
    let stack = testing::provisioned().await;
    let handler = Arc::new(RecordingStream::default());
    let shutdown = poll_users_stream(&stack, handler.clone());
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);

    put_user(&stack, "u1", "first").await;
    put_user(&stack, "u1", "second").await;
    dynamodb
        .delete_item()
        .table_name(stack.names.table(&USERS_TABLE))
        .key("id", AttributeValue::S("u1".into()))
        .send()
        .await
        .unwrap();

    let seen = eventually("three stream records", Duration::from_secs(20), || async {
        let handled = handler.handled.lock().unwrap().clone();
        (handled.len() >= 3).then_some(handled)
    })
    .await;
    shutdown.cancel();
    let names: Vec<_> = seen.iter().map(|s| s.event_name.as_str()).collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    assert!(seen.iter().all(|s| s.id == "u1"));
    assert_eq!(seen[0].new_image, json!({"id": "u1", "name": "first"}));
    assert_eq!(seen[1].old_image, json!({"id": "u1", "name": "first"}));
    assert_eq!(seen[1].new_image, json!({"id": "u1", "name": "second"}));
    assert_eq!(seen[2].old_image, json!({"id": "u1", "name": "second"}));
}

#[tokio::test]
async fn a_failed_stream_record_is_retried_and_nothing_after_it_is_skipped_or_reordered() {
    let stack = testing::provisioned().await;
    let handler = Arc::new(RecordingStream {
        fail_id: Some("b".into()),
        failures_left: AtomicU32::new(2),
        ..RecordingStream::default()
    });
    let shutdown = poll_users_stream(&stack, handler.clone());
    for id in ["a", "b", "c"] {
        put_user(&stack, id, id).await;
    }
    let seen = eventually(
        "all three records handled",
        Duration::from_secs(20),
        || async {
            let handled = handler.handled.lock().unwrap().clone();
            (handled.len() >= 3).then_some(handled)
        },
    )
    .await;
    // Let any wrong redelivery show up before checking there was none.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    let ids: Vec<_> = seen.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(
        handler.handled.lock().unwrap().len(),
        3,
        "nothing handled twice"
    );
    let attempts = handler.attempts.lock().unwrap().clone();
    assert_eq!(attempts["a"], 1);
    assert_eq!(attempts["b"], 3, "two failures, then success");
    assert_eq!(attempts["c"], 1);
}

/// Records event details; fails messages whose detail has `"poison": true`.
#[derive(Default)]
struct RecordingQueue {
    handled: Mutex<Vec<Value>>,
    poison_deliveries: AtomicU32,
}

impl QueueBatchHandler for RecordingQueue {
    fn handle(&self, event: SqsEvent) -> BoxFuture<'_, SqsBatchResponse> {
        Box::pin(async move {
            let mut failed = Vec::new();
            for message in event.records {
                let envelope: Value =
                    serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
                if envelope["detail"]["poison"] == true {
                    self.poison_deliveries.fetch_add(1, Ordering::SeqCst);
                    failed.push(message.message_id.unwrap());
                } else {
                    self.handled
                        .lock()
                        .unwrap()
                        .push(envelope["detail"].clone());
                }
            }
            queue_failures(failed)
        })
    }
}

fn event(source: &str, detail: Value) -> OutgoingEvent {
    OutgoingEvent {
        source: source.to_owned(),
        detail_type: "PlumbingTested".to_owned(),
        detail: detail.to_string(),
        resources: vec![],
    }
}

#[tokio::test]
async fn bus_events_reach_the_subscriber_and_a_poison_message_ends_in_the_dead_letter_queue() {
    let stack = testing::provisioned().await;
    let facts = stack.provisioned.subscriber(&USER_SUBSCRIBER).clone();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let handler = Arc::new(RecordingQueue::default());
    let shutdown = CancellationToken::new();
    tokio::spawn(queues::run(
        sqs.clone(),
        QueueSource {
            queue_url: facts.queue_url.clone(),
            queue_arn: facts.queue_arn.clone(),
            region: REGION.to_owned(),
        },
        handler.clone(),
        QueuePollOptions {
            retry_delay: Duration::ZERO,
            ..QueuePollOptions::default()
        },
        shutdown.clone(),
    ));
    let publisher = EventPublisher::new(
        aws_sdk_eventbridge::Client::new(&stack.sdk),
        stack.provisioned.bus_name.clone(),
    );
    let source = USER_SUBSCRIBER.sources[0];
    publisher
        .publish(&[
            event(source, json!({"n": 1})),
            event(source, json!({"poison": true})),
            event(source, json!({"n": 2})),
        ])
        .await
        .unwrap();

    let dead = eventually(
        "the poison message in the DLQ",
        Duration::from_secs(30),
        || async {
            let received = sqs
                .receive_message()
                .queue_url(&facts.dead_letter_queue_url)
                .send()
                .await
                .unwrap();
            received.messages.unwrap_or_default().into_iter().next()
        },
    )
    .await;
    shutdown.cancel();
    let envelope: Value = serde_json::from_str(dead.body().unwrap()).unwrap();
    assert_eq!(envelope["detail"], json!({"poison": true}));
    assert_eq!(
        handler.poison_deliveries.load(Ordering::SeqCst),
        USER_SUBSCRIBER.max_receive_count,
        "delivered maxReceiveCount times, then dead-lettered"
    );
    let mut handled = handler.handled.lock().unwrap().clone();
    handled.sort_by_key(|detail| detail["n"].as_i64());
    assert_eq!(
        handled,
        [json!({"n": 1}), json!({"n": 2})],
        "each good event once"
    );
}

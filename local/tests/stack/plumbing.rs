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
use roster_infra::resources::{USER_SUBSCRIBER, USERS_TABLE};
use roster_local::plumbing::queues::{self, QueuePollOptions, QueueSource};
use roster_local::plumbing::streams::{
    FailureQueue, FailureRecord, StreamPollOptions, StreamPoller, StreamProgress, StreamSource,
};
use roster_local::plumbing::watch::{WatchOptions, Watchdog, WatchedQueue, WatchedStream};
use roster_platform::events::{EventPublisher, OutgoingEvent};
use roster_platform::lambda::{
    BoxFuture, QueueBatchHandler, StreamBatchHandler, queue_failures, stream_failure_at,
};
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness::{self, REGION, TestResources};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use roster_testkit::probes::eventually;

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

/// Polls the users table's stream into `handler` (through `endpoint`, the shared one unless
/// given), giving up on a record after `max_retry_attempts`; returns the stop switch and the
/// poller's progress.
async fn poll_users_stream_with(
    stack: &TestResources,
    handler: Arc<dyn StreamBatchHandler>,
    max_retry_attempts: u32,
    endpoint: Option<&str>,
) -> (CancellationToken, Arc<StreamProgress>) {
    let facts = stack.provisioned.table(&USERS_TABLE);
    let sdk = match endpoint {
        Some(endpoint) => roster_platform::aws::local(endpoint, REGION).await,
        None => stack.sdk.clone(),
    };
    let shutdown = CancellationToken::new();
    let progress = Arc::new(StreamProgress::default());
    let poller = StreamPoller {
        client: aws_sdk_dynamodbstreams::Client::new(&sdk),
        source: StreamSource {
            table_name: facts.name.clone(),
            stream_arn: facts.stream_arn.clone(),
            region: REGION.to_owned(),
            function_name: "test-projector".to_owned(),
        },
        handler,
        options: StreamPollOptions {
            idle_delay: Duration::from_millis(20),
            // New shards are looked for often: a test waits for a child shard to be taken up.
            shard_refresh: Duration::from_millis(200),
            retry_base: Duration::from_millis(20),
            retry_cap: Duration::from_millis(100),
            max_retry_attempts,
            ..StreamPollOptions::default()
        },
        failures: Some(FailureQueue {
            client: aws_sdk_sqs::Client::new(&stack.sdk),
            queue_url: stack.provisioned.stream_failures_queue_url.clone(),
        }),
        progress: Arc::clone(&progress),
    };
    tokio::spawn(poller.run(shutdown.clone()));
    (shutdown, progress)
}

async fn poll_users_stream(
    stack: &TestResources,
    handler: Arc<dyn StreamBatchHandler>,
) -> CancellationToken {
    poll_users_stream_with(stack, handler, 20, None).await.0
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
    let stack = harness::provisioned().await;
    let handler = Arc::new(RecordingStream::default());
    let shutdown = poll_users_stream(&stack, handler.clone()).await;
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
    let stack = harness::provisioned().await;
    let handler = Arc::new(RecordingStream {
        fail_id: Some("b".into()),
        failures_left: AtomicU32::new(2),
        ..RecordingStream::default()
    });
    let shutdown = poll_users_stream(&stack, handler.clone()).await;
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

/// An event the user subscriber's rule delivers (one of its sources and detail types).
fn event(source: &str, detail: Value) -> OutgoingEvent {
    OutgoingEvent {
        source: source.to_owned(),
        detail_type: USER_SUBSCRIBER.detail_types[0].to_owned(),
        detail: detail.to_string(),
        resources: vec![],
    }
}

#[tokio::test]
async fn bus_events_reach_the_subscriber_and_a_poison_message_ends_in_the_dead_letter_queue() {
    let stack = harness::provisioned().await;
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

fn handled_ids(handler: &RecordingStream) -> Vec<String> {
    handler
        .handled
        .lock()
        .unwrap()
        .iter()
        .map(|seen| seen.id.clone())
        .collect()
}

#[tokio::test]
async fn a_record_that_keeps_failing_goes_to_the_failure_queue_after_the_retry_bound_and_the_stream_moves_on()
 {
    let stack = harness::provisioned().await;
    let handler = Arc::new(RecordingStream {
        fail_id: Some("b".into()),
        failures_left: AtomicU32::new(u32::MAX),
        ..RecordingStream::default()
    });
    let (shutdown, progress) = poll_users_stream_with(&stack, handler.clone(), 3, None).await;
    for id in ["a", "b", "c"] {
        put_user(&stack, id, id).await;
    }
    eventually("a and c handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "c"]).then_some(())
    })
    .await;
    // And the stream keeps flowing after it.
    put_user(&stack, "d", "d").await;
    eventually("d handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "c", "d"]).then_some(())
    })
    .await;
    shutdown.cancel();
    assert_eq!(
        handler.attempts.lock().unwrap()["b"],
        4,
        "the first try and three retries"
    );
    let given_up: u64 = progress.shards().values().map(|shard| shard.given_up).sum();
    assert_eq!(given_up, 1);

    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let received = sqs
        .receive_message()
        .queue_url(&stack.provisioned.stream_failures_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "one record given up on");
    let record: FailureRecord = serde_json::from_str(received[0].body().unwrap()).unwrap();
    assert_eq!(record.request_context.condition, "RetryAttemptsExhausted");
    assert_eq!(record.request_context.approximate_invoke_count, 4);
    assert_eq!(record.batch.batch_size, 1);
    assert_eq!(
        record.batch.start_sequence_number,
        record.batch.end_sequence_number
    );
    assert_eq!(
        record.batch.stream_arn,
        stack.provisioned.table(&USERS_TABLE).stream_arn
    );
    // The coordinates lead back to b's record.
    let records = roster_local::plumbing::streams::read_range(
        &aws_sdk_dynamodbstreams::Client::new(&stack.sdk),
        &record.batch.stream_arn,
        &record.batch.shard_id,
        &record.batch.start_sequence_number,
        &record.batch.end_sequence_number,
    )
    .await
    .unwrap();
    assert_eq!(records.len(), 1);
    let keys = records[0].dynamodb().unwrap().keys().unwrap();
    assert_eq!(keys["id"].as_s().unwrap(), "b");
}

/// Fails each record of `fails` that many times before handling it.
#[derive(Default)]
struct FailingEach {
    fails: Mutex<HashMap<String, u32>>,
    handled: Mutex<Vec<String>>,
}

impl StreamBatchHandler for FailingEach {
    fn handle(&self, event: StreamEvent) -> BoxFuture<'_, DynamoDbEventResponse> {
        Box::pin(async move {
            for record in event.records {
                let id = image(&record.change.keys)["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if let Some(left) = self.fails.lock().unwrap().get_mut(&id)
                    && *left > 0
                {
                    *left -= 1;
                    return stream_failure_at(record.change.sequence_number.unwrap());
                }
                self.handled.lock().unwrap().push(id);
            }
            DynamoDbEventResponse::default()
        })
    }
}

#[tokio::test]
async fn the_retry_bound_counts_the_failures_of_one_record_not_of_the_shard() {
    let stack = harness::provisioned().await;
    // With a bound of 3: b fails 3 times, then c fails 3 times. Neither is past its bound.
    let handler = Arc::new(FailingEach {
        fails: Mutex::new(HashMap::from([("b".to_owned(), 3), ("c".to_owned(), 3)])),
        ..FailingEach::default()
    });
    let (shutdown, progress) = poll_users_stream_with(&stack, handler.clone(), 3, None).await;
    for id in ["a", "b", "c", "d"] {
        put_user(&stack, id, id).await;
    }
    eventually("all four handled", Duration::from_secs(30), || async {
        (handler.handled.lock().unwrap().clone() == ["a", "b", "c", "d"]).then_some(())
    })
    .await;
    shutdown.cancel();
    let given_up: u64 = progress.shards().values().map(|shard| shard.given_up).sum();
    assert_eq!(given_up, 0, "no record reached its own bound");
}

#[tokio::test]
async fn the_stream_poller_leaves_a_dead_or_expired_iterator_chain_and_reads_on_from_its_position()
{
    let stack = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let handler = Arc::new(RecordingStream::default());
    let (shutdown, _) =
        poll_users_stream_with(&stack, handler.clone(), 20, Some(proxy.url())).await;
    put_user(&stack, "a", "a").await;
    eventually("a handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a"]).then_some(())
    })
    .await;

    // From the next read on, the chain the poller follows answers nothing, ever: only a fresh
    // iterator from its position sees b (issue 15's stall, whatever its cause).
    proxy.inject(Fault {
        operation: "GetRecords",
        skip: 0,
        times: 1,
        when: When::Before,
        kind: Kind::DeadIteratorChain,
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    put_user(&stack, "b", "b").await;
    eventually("b handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "b"]).then_some(())
    })
    .await;

    // An iterator past its 15 minutes: a new one is taken from the position at once.
    proxy.clear();
    proxy.take_calls();
    proxy.inject(Fault {
        operation: "GetRecords",
        skip: 0,
        times: 3,
        when: When::Before,
        kind: Kind::Code("ExpiredIteratorException"),
    });
    put_user(&stack, "c", "c").await;
    eventually("c handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "b", "c"]).then_some(())
    })
    .await;
    shutdown.cancel();
    assert!(
        proxy.calls("GetShardIterator") >= 3,
        "a fresh iterator after each expiry"
    );
    let attempts = handler.attempts.lock().unwrap().clone();
    assert!(
        attempts.values().all(|count| *count == 1),
        "nothing handled twice: {attempts:?}"
    );
}

fn attempts(handler: &RecordingStream, id: &str) -> u32 {
    handler
        .attempts
        .lock()
        .unwrap()
        .get(id)
        .copied()
        .unwrap_or(0)
}

/// The stream's shards as `DescribeStream` lists them: id, parent, ending sequence number.
async fn lineage(stack: &TestResources) -> Vec<(String, Option<String>, Option<String>)> {
    let described = aws_sdk_dynamodbstreams::Client::new(&stack.sdk)
        .describe_stream()
        .stream_arn(&stack.provisioned.table(&USERS_TABLE).stream_arn)
        .send()
        .await
        .unwrap();
    described
        .stream_description()
        .unwrap()
        .shards()
        .iter()
        .map(|shard| {
            (
                shard.shard_id().unwrap().to_owned(),
                shard.parent_shard_id().map(ToOwned::to_owned),
                shard
                    .sequence_number_range()
                    .and_then(|range| range.ending_sequence_number())
                    .map(ToOwned::to_owned),
            )
        })
        .collect()
}

/// Waits until the poller has listed the stream's shards `times` more times (each listing
/// would start a shard that is ready to be read).
async fn shard_listings(proxy: &FaultProxy, times: u32) {
    let before = proxy.calls("DescribeStream");
    eventually(
        "the poller to list the shards again",
        Duration::from_secs(20),
        || async { (proxy.calls("DescribeStream") >= before + times).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn a_closed_shard_is_read_to_its_end_before_its_child_and_a_child_that_appears_later_is_read_on()
 {
    let stack = harness::provisioned().await;
    let endpoint = harness::endpoint_url().await;
    let table = stack.names.table(&USERS_TABLE);
    // Listings are counted through the proxy; nothing is faulted.
    let proxy = FaultProxy::start(endpoint).await;
    let handler = Arc::new(RecordingStream {
        fail_id: Some("b".into()),
        failures_left: AtomicU32::new(u32::MAX),
        ..RecordingStream::default()
    });
    let (shutdown, progress) =
        poll_users_stream_with(&stack, handler.clone(), 1_000, Some(proxy.url())).await;
    put_user(&stack, "a", "a").await;
    eventually("a handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a"]).then_some(())
    })
    .await;
    put_user(&stack, "b", "b").await;
    eventually("b failing", Duration::from_secs(20), || async {
        (attempts(&handler, "b") >= 2).then_some(())
    })
    .await;

    // The shard closes with b still unhandled in it; c and d go to its child, which appears
    // while the poller runs. DynamoDB Streams' lineage: the parent closed at its last record.
    let split = roster_local::endpoint::split_stream_shard(endpoint, &table)
        .await
        .unwrap();
    put_user(&stack, "c", "c").await;
    put_user(&stack, "d", "d").await;
    assert_eq!(
        lineage(&stack).await,
        [
            (
                split.closed.clone(),
                None,
                Some(split.ending_sequence_number.clone())
            ),
            (split.opened.clone(), Some(split.closed.clone()), None),
        ]
    );

    // While its parent has a record left, the child is listed again and again and not read.
    shard_listings(&proxy, 3).await;
    assert_eq!(handled_ids(&handler), ["a"]);
    assert!(
        !progress.shards().contains_key(&split.opened),
        "the child was started before its parent was finished: {:?}",
        progress.shards()
    );

    // b goes through: the parent is read to its end, then the child from its start.
    handler.failures_left.store(0, Ordering::SeqCst);
    eventually("b, then c and d", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "b", "c", "d"]).then_some(())
    })
    .await;
    let shards = progress.shards();
    assert!(shards[&split.closed].finished, "{shards:?}");
    assert!(!shards[&split.opened].finished, "{shards:?}");

    // The poller has moved on to the child: what is written next is read from it.
    put_user(&stack, "e", "e").await;
    eventually("e handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "b", "c", "d", "e"]).then_some(())
    })
    .await;

    // A split while the poller is caught up: its chain on the closed shard ends (no
    // NextShardIterator), and the grandchild is read.
    let second = roster_local::endpoint::split_stream_shard(endpoint, &table)
        .await
        .unwrap();
    assert_eq!(second.closed, split.opened);
    put_user(&stack, "f", "f").await;
    eventually("f handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "b", "c", "d", "e", "f"]).then_some(())
    })
    .await;
    shutdown.cancel();
    let shards = progress.shards();
    assert!(shards[&second.closed].finished, "{shards:?}");
    assert!(!shards[&second.opened].finished, "{shards:?}");
    let attempts = handler.attempts.lock().unwrap().clone();
    for id in ["a", "c", "d", "e", "f"] {
        assert_eq!(attempts[id], 1, "{id} handled once: {attempts:?}");
    }
    assert_eq!(handled_ids(&handler).len(), 6, "none lost, none twice");
}

#[tokio::test]
async fn a_parent_shard_trimmed_from_the_stream_is_left_and_its_child_read() {
    let stack = harness::provisioned().await;
    let endpoint = harness::endpoint_url().await;
    let table = stack.names.table(&USERS_TABLE);
    let proxy = FaultProxy::start(endpoint).await;
    // "stuck" fails until its shard is gone: the records of a closed shard live 24 hours.
    let handler = Arc::new(RecordingStream {
        fail_id: Some("stuck".into()),
        failures_left: AtomicU32::new(u32::MAX),
        ..RecordingStream::default()
    });
    let (shutdown, progress) =
        poll_users_stream_with(&stack, handler.clone(), 1_000, Some(proxy.url())).await;
    put_user(&stack, "a", "a").await;
    put_user(&stack, "stuck", "stuck").await;
    eventually("stuck failing", Duration::from_secs(20), || async {
        (attempts(&handler, "stuck") >= 2).then_some(())
    })
    .await;
    let split = roster_local::endpoint::split_stream_shard(endpoint, &table)
        .await
        .unwrap();
    put_user(&stack, "c", "c").await;
    shard_listings(&proxy, 3).await;
    assert_eq!(
        handled_ids(&handler),
        ["a"],
        "the child waits for its parent"
    );

    let trimmed = roster_local::endpoint::trim_closed_shards(endpoint, &table)
        .await
        .unwrap();
    assert_eq!(trimmed, std::slice::from_ref(&split.closed));
    assert_eq!(
        lineage(&stack).await,
        [(split.opened.clone(), Some(split.closed.clone()), None)]
    );
    eventually("c handled", Duration::from_secs(20), || async {
        (handled_ids(&handler) == ["a", "c"]).then_some(())
    })
    .await;
    let shards = progress.shards();
    assert!(
        shards[&split.closed].finished,
        "the reader of the gone shard stopped: {shards:?}"
    );
    assert_eq!(shards[&split.closed].given_up, 0, "trimmed, not given up");
    shutdown.cancel();
}

#[tokio::test]
async fn the_watchdog_reports_a_stalled_stream_and_a_dead_letter_and_sees_the_recovery() {
    let stack = harness::provisioned().await;
    let handler = Arc::new(RecordingStream {
        fail_id: Some("stuck".into()),
        failures_left: AtomicU32::new(u32::MAX),
        ..RecordingStream::default()
    });
    let (poller, progress) = poll_users_stream_with(&stack, handler.clone(), 1_000, None).await;
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let dead_letters = stack
        .provisioned
        .subscriber(&USER_SUBSCRIBER)
        .dead_letter_queue_url
        .clone();
    let status = Arc::default();
    let watchdog = Watchdog {
        streams_client: aws_sdk_dynamodbstreams::Client::new(&stack.sdk),
        sqs: sqs.clone(),
        streams: vec![WatchedStream {
            table: "users".to_owned(),
            stream_arn: stack.provisioned.table(&USERS_TABLE).stream_arn.clone(),
            progress,
        }],
        queues: vec![],
        dead_letter_queues: vec![WatchedQueue {
            name: "user-subscriber-dlq".to_owned(),
            url: dead_letters.clone(),
        }],
        options: WatchOptions {
            interval: Duration::from_millis(200),
            stall_after: Duration::from_secs(2),
            repeat: Duration::from_secs(30),
        },
        status: Arc::clone(&status),
        file: None,
    };
    let watching = CancellationToken::new();
    tokio::spawn(watchdog.run(watching.clone()));
    let current = || status.read().unwrap().clone();

    put_user(&stack, "ok", "ok").await;
    put_user(&stack, "stuck", "stuck").await;
    let stalled = eventually("the stall reported", Duration::from_secs(20), || async {
        let now: roster_local::plumbing::watch::PlumbingStatus = current();
        (!now.stalls().is_empty()).then_some(now)
    })
    .await;
    assert!(
        stalled.stalls()[0].contains("users table's stream has had unprocessed records"),
        "{:?}",
        stalled.stalls()
    );
    assert_eq!(handled_ids(&handler), ["ok"]);

    sqs.send_message()
        .queue_url(&dead_letters)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    eventually(
        "the dead letter counted",
        Duration::from_secs(20),
        || async { (current().dead_letters_waiting().len() == 1).then_some(()) },
    )
    .await;

    // The cause is fixed (here: the record stops failing): the lag goes away.
    handler.failures_left.store(0, Ordering::SeqCst);
    eventually("the recovery", Duration::from_secs(20), || async {
        let now = current();
        (now.stalls().is_empty()
            && now.streams[0].oldest_unprocessed_seconds.is_none()
            && handled_ids(&handler) == ["ok", "stuck"])
        .then_some(())
    })
    .await;
    poller.cancel();
    watching.cancel();
}

//! The event path's throughput with a fixed latency per AWS call, side by side in one run.
//!
//! - **Projector**: a DynamoDB Streams batch through `StreamProjector` (the events of
//!   consecutive records in PutEvents calls of up to 10 entries) against the projector as it
//!   was (each record's events in a PutEvents call of their own, one record after the other).
//!   Both publish through the real `EventPublisher` and AWS SDK client to a local endpoint
//!   that answers like EventBridge after the injected latency.
//! - **Subscriber**: SQS batches through `EventSubscriber`, concurrently across users, against
//!   the same subscriber one message at a time (`with_concurrency(1)`). The handler reads each
//!   event as the User API's does and then waits the injected latency, the one call
//!   (`UpdateItem`) a sign-in costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use axum::http::header;
use roster_events::auth::UserLoggedIn;
use roster_platform::events::EventPublisher;
use roster_platform::lambda::{BoxFuture, QueueBatchHandler, StreamBatchHandler};
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use roster_projectors::auth_table::AuthTableProjection;
use roster_projectors::users_table::UsersTableProjection;
use roster_projectors::{Projection, StreamProjector};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";

/// A local endpoint that answers every PutEvents like EventBridge, after `latency`. Counts
/// calls and entries.
struct FakeEventBridge {
    url: String,
    calls: Arc<AtomicUsize>,
    entries: Arc<AtomicUsize>,
}

async fn fake_event_bridge(latency: Duration) -> Result<FakeEventBridge> {
    let calls = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    let (call_count, entry_count) = (Arc::clone(&calls), Arc::clone(&entries));
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let (calls, entries) = (Arc::clone(&call_count), Arc::clone(&entry_count));
        async move {
            tokio::time::sleep(latency).await;
            let request: Value = serde_json::from_slice(&body).unwrap_or_default();
            let count = request["Entries"].as_array().map_or(0, Vec::len);
            let call = calls.fetch_add(1, Ordering::Relaxed);
            entries.fetch_add(count, Ordering::Relaxed);
            let results: Vec<Value> = (0..count)
                .map(|n| json!({"EventId": format!("{call}-{n}")}))
                .collect();
            (
                [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
                json!({"FailedEntryCount": 0, "Entries": results}).to_string(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(FakeEventBridge {
        url,
        calls,
        entries,
    })
}

fn stream_record(sequence: usize, event_name: &str, old: Option<Value>, new: Value) -> EventRecord {
    let mut change = json!({
        "Keys": {"pk": new["pk"].clone()},
        "NewImage": new,
        "SequenceNumber": format!("{:021}", sequence + 1),
        "SizeBytes": 400,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    serde_json::from_value(json!({
        "eventID": sequence.to_string(), "eventName": event_name, "awsRegion": REGION,
        "dynamodb": change,
    }))
    .expect("a stream record")
}

/// The auth table's INSERT of a committed identity: one `UserRegistered` each.
fn registration(sequence: usize) -> EventRecord {
    let id = format!("00000000-0000-4000-8000-{sequence:012}");
    let image = json!({
        "pk": {"S": format!("USER#{id}")}, "sk": {"S": "IDENTITY"}, "id": {"S": id},
        "email": {"S": format!("user{sequence}@example.com")}, "name": {"S": format!("user{sequence}")},
        "handle": {"S": format!("@user{sequence}")}, "role": {"S": "USER"},
        "status": {"S": "UNCONFIRMED"}, "sourceSystem": {"S": "bench"},
        "createdAt": {"S": "2026-11-29T10:00:00.000Z"},
        "activationCodeHash": {"S": "0".repeat(64)}, "registrationId": {"S": "r"},
    });
    stream_record(sequence, "INSERT", None, image)
}

/// The users table's MODIFY of an activation: `UserStatusChanged` and `UserActivated`.
fn activation(sequence: usize) -> EventRecord {
    let id = format!("00000000-0000-4000-8000-{sequence:012}");
    let profile = |status: &str, version: u64| {
        json!({
            "pk": {"S": id.clone()}, "id": {"S": id.clone()},
            "email": {"S": format!("user{sequence}@example.com")},
            "emailKey": {"S": format!("user{sequence}@example.com")},
            "name": {"S": format!("user{sequence}")}, "nameKey": {"S": format!("user{sequence}")},
            "handle": {"S": format!("@user{sequence}")}, "handleKey": {"S": format!("@user{sequence}")},
            "role": {"S": "USER"}, "status": {"S": status}, "sourceSystem": {"S": "bench"},
            "createdAt": {"S": "2026-11-29T10:00:00.000Z"},
            "profileData": {"M": {"lang": {"S": "en_us"}, "currency": {"S": "USD"},
                "avatarUrl": {"S": "https://example.com/a.png"}}},
            "badges": {"M": {}}, "data": {"S": "{}"}, "version": {"N": version.to_string()},
            "updatedAt": {"S": "2026-11-29T10:00:01.000Z"},
            "registeredEventId": {"S": format!("UserRegistered-{id}")},
        })
    };
    stream_record(
        sequence,
        "MODIFY",
        Some(profile("UNCONFIRMED", 1)),
        profile("CONFIRMED", 2),
    )
}

/// The projector as it was before events were batched across records: each record's events
/// in a call of their own, one record after the other, stopping at the first failure.
async fn serial<P: Projection>(
    projection: &P,
    publisher: &EventPublisher,
    batch: &StreamEvent,
) -> Result<()> {
    for record in &batch.records {
        let events = projection
            .project(record)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        if !events.is_empty() {
            publisher.publish(&events).await?;
        }
    }
    Ok(())
}

/// One projector scenario: records per second, serial and batched, `runs` times each.
async fn projector_scenario<P: Projection + Clone>(
    name: &str,
    projection: P,
    records: impl Fn(usize) -> EventRecord,
    batch_size: usize,
    latency: Duration,
    runs: usize,
) -> Result<()> {
    let endpoint = fake_event_bridge(latency).await?;
    let sdk = roster_platform::aws::local(&endpoint.url, REGION).await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), "bench-bus");
    let projector = StreamProjector::new("bench-projector", projection.clone(), publisher.clone());
    let mut batch = StreamEvent::default();
    batch.records = (0..batch_size).map(records).collect();
    let events: usize = batch
        .records
        .iter()
        .map(|record| projection.project(record).map_or(0, |events| events.len()))
        .sum();
    // Warm-up: the connection pool and the SDK's first-call set-up.
    serial(&projection, &publisher, &batch).await?;

    let (mut serial_rates, mut batched_rates) = (Vec::new(), Vec::new());
    let (mut serial_calls, mut batched_calls) = (0, 0);
    for _ in 0..runs {
        let calls = endpoint.calls.load(Ordering::Relaxed);
        let started = Instant::now();
        serial(&projection, &publisher, &batch).await?;
        serial_rates.push(batch_size as f64 / started.elapsed().as_secs_f64());
        serial_calls = endpoint.calls.load(Ordering::Relaxed) - calls;

        let (calls, entries) = (
            endpoint.calls.load(Ordering::Relaxed),
            endpoint.entries.load(Ordering::Relaxed),
        );
        let started = Instant::now();
        let response = StreamBatchHandler::handle(&projector, batch.clone()).await;
        batched_rates.push(batch_size as f64 / started.elapsed().as_secs_f64());
        if !response.batch_item_failures.is_empty() {
            bail!("the batched projector failed a record: {response:?}");
        }
        batched_calls = endpoint.calls.load(Ordering::Relaxed) - calls;
        let sent = endpoint.entries.load(Ordering::Relaxed) - entries;
        if sent != events {
            bail!("the batched projector sent {sent} entries for {events} events");
        }
    }
    row(
        &format!("projector, {name}: {batch_size} records, {events} events"),
        "records/s per shard",
        (&serial_rates, serial_calls),
        (&batched_rates, batched_calls),
    );
    Ok(())
}

/// Reads each event as the User API's subscriber does, then waits `latency`: the one call a
/// sign-in costs. Counts the events it saw.
struct DelayedHandler {
    latency: Duration,
    handled: AtomicUsize,
}

impl EventHandler for DelayedHandler {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let Some(envelope) = envelope_of::<UserLoggedIn>(event) else {
                return Ok(Outcome::Ignored);
            };
            let _user = envelope?.data.user_id;
            tokio::time::sleep(self.latency).await;
            self.handled.fetch_add(1, Ordering::Relaxed);
            Ok(Outcome::Handled)
        })
    }
}

/// An SQS batch of `size` sign-ins, message `n` of user `n % users`.
fn sign_ins(batch: usize, size: usize, users: usize) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = (0..size)
        .map(|n| {
            let user = format!("00000000-0000-4000-8000-{:012}", n % users);
            let at = roster_events::Timestamp::parse(&format!(
                "2026-11-29T10:00:{:02}.{:03}Z",
                n % 60,
                batch % 1000
            ))
            .expect("a timestamp");
            let detail = roster_events::Envelope::new(
                format!("UserLoggedIn-{user}-{batch}-{n}"),
                at.clone(),
                UserLoggedIn {
                    user_id: roster_events::UserId::parse(&user).expect("a user id"),
                    client_id: "bench".to_owned(),
                    logged_in_at: at,
                },
            );
            let body = json!({
                "version": "0", "id": format!("{batch}-{n}"), "detail-type": "UserLoggedIn",
                "source": "roster.auth", "time": "2026-11-29T10:00:00Z", "region": REGION,
                "resources": [], "detail": detail,
            });
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("{batch}-{n}"));
            message.body = Some(body.to_string());
            message
        })
        .collect();
    event
}

async fn subscriber_scenario(
    size: usize,
    users: usize,
    batches: usize,
    latency: Duration,
    runs: usize,
) -> Result<()> {
    let handler = || DelayedHandler {
        latency,
        handled: AtomicUsize::new(0),
    };
    let concurrent = EventSubscriber::new("bench-subscriber", handler());
    let one_at_a_time = EventSubscriber::new("bench-subscriber", handler()).with_concurrency(1);
    let input: Vec<SqsEvent> = (0..batches).map(|b| sign_ins(b, size, users)).collect();
    let messages = (size * batches) as f64;
    let drive = |subscriber: &EventSubscriber<DelayedHandler>| {
        let subscriber = subscriber.clone();
        let input = input.clone();
        async move {
            let started = Instant::now();
            for batch in input {
                let response = QueueBatchHandler::handle(&subscriber, batch).await;
                if !response.batch_item_failures.is_empty() {
                    bail!("the subscriber failed messages: {response:?}");
                }
            }
            Ok(messages / started.elapsed().as_secs_f64())
        }
    };
    let (mut serial_rates, mut concurrent_rates) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        serial_rates.push(drive(&one_at_a_time).await?);
        concurrent_rates.push(drive(&concurrent).await?);
    }
    row(
        &format!("subscriber: batches of {size} messages over {users} users, {batches} batches"),
        "messages/s per instance",
        (&serial_rates, 0),
        (&concurrent_rates, 0),
    );
    Ok(())
}

fn spread(rates: &[f64]) -> String {
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    let runs: Vec<String> = rates.iter().map(|rate| format!("{rate:.1}")).collect();
    format!("{} (min {min:.1}, max {max:.1})", runs.join(" / "))
}

fn median(rates: &[f64]) -> f64 {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// One table row: the scenario, the baseline's and the new path's runs, and the ratio of the
/// medians with the range of ratios (worst new run over best baseline run, and back).
fn row(scenario: &str, unit: &str, baseline: (&[f64], usize), new: (&[f64], usize)) {
    let (before, before_calls) = baseline;
    let (after, after_calls) = new;
    let calls = if before_calls + after_calls > 0 {
        format!(" | {before_calls} → {after_calls}")
    } else {
        " | —".to_owned()
    };
    let worst = after.iter().copied().fold(f64::INFINITY, f64::min)
        / before.iter().copied().fold(0.0, f64::max);
    let best = after.iter().copied().fold(0.0, f64::max)
        / before.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "| {scenario} ({unit}) | {} | {} | {:.1}× ({worst:.1}× to {best:.1}×){calls} |",
        spread(before),
        spread(after),
        median(after) / median(before),
    );
}

pub(crate) async fn compare(latency_ms: u64, runs: usize) -> Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let latency = Duration::from_millis(latency_ms);
    println!(
        "{latency_ms} ms per AWS call, {runs} runs each, the baseline and the new path alternating"
    );
    println!();
    println!(
        "| Scenario | Before: each run | After: each run | After / before: medians (range) | AWS calls per batch |"
    );
    println!("|---|---|---|---|---|");
    projector_scenario(
        "auth table, registrations (1 event each)",
        AuthTableProjection,
        registration,
        100,
        latency,
        runs,
    )
    .await
    .context("projector, registrations")?;
    projector_scenario(
        "users table, activations (2 events each)",
        UsersTableProjection,
        activation,
        100,
        latency,
        runs,
    )
    .await
    .context("projector, activations")?;
    subscriber_scenario(10, 10, 20, latency, runs)
        .await
        .context("subscriber, distinct users")?;
    subscriber_scenario(10, 3, 20, latency, runs)
        .await
        .context("subscriber, three users")?;
    Ok(())
}

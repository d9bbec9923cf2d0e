//! The frame of every EventBridge subscriber: rules deliver events into an SQS queue, and the
//! subscriber function takes them in batches. Each message is parsed into an EventBridge
//! envelope and handed to the service's handler; a message that cannot be parsed or handled is
//! reported as a batch item failure, so SQS delivers it again and, after the queue's
//! `maxReceiveCount`, moves it to the dead-letter queue. Nothing is acknowledged unhandled.
//!
//! A batch is handled concurrently across users and in order for each user. Its messages are
//! grouped by the user they are about (the SQS message group when the queue has one, else the
//! event's `data.userId`); groups run concurrently, at most [`DEFAULT_CONCURRENCY`] at once,
//! and each group's messages run one after the other in the order of the batch. A group stops
//! at its first failure: that message and every later one of the group are reported, so a
//! user's events are never applied out of order within a batch. A message that names no user
//! is a group of its own.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;
use tokio::task::JoinSet;
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

    /// Whether `event` comes before every other event of its user in a batch, whatever their
    /// order there: an event a user's life starts with (a registration), which nothing else of
    /// that user can causally precede. Without it, an event delivered ahead of it (a sign-in
    /// published at once, while the registration still travels through the table's stream)
    /// fails ("no profile yet") and holds it back, in every redelivery of the same batch,
    /// until both reach the dead-letter queue.
    fn comes_first(&self, _event: &EventBridgeEvent<Value>) -> bool {
        false
    }
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

/// How many users' events a subscriber handles at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// Adapts an [`EventHandler`] to SQS batches with partial batch failure reporting.
#[derive(Debug)]
pub struct EventSubscriber<H> {
    name: &'static str,
    handler: Arc<H>,
    concurrency: usize,
}

impl<H> Clone for EventSubscriber<H> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            handler: Arc::clone(&self.handler),
            concurrency: self.concurrency,
        }
    }
}

/// One message of a batch, read: its position in the batch and its event.
struct Delivery {
    position: usize,
    event: EventBridgeEvent<Value>,
}

/// The key that orders a message against others: its SQS message group if it has one, else
/// the user its event is about, else nothing (it is ordered against no other message).
fn group_key(message: &SqsMessage, event: Option<&EventBridgeEvent<Value>>) -> Option<String> {
    if let Some(group) = message.attributes.get("MessageGroupId") {
        return Some(format!("group:{group}"));
    }
    event
        .and_then(|event| event.detail["data"]["userId"].as_str())
        .map(|user| format!("user:{user}"))
}

fn read(message: &SqsMessage) -> Result<EventBridgeEvent<Value>, String> {
    message
        .body
        .as_deref()
        .ok_or_else(|| "message has no body".to_owned())
        .and_then(|body| {
            serde_json::from_str::<EventBridgeEvent<Value>>(body)
                .map_err(|error| format!("not an EventBridge event: {error}"))
        })
}

impl<H: EventHandler> EventSubscriber<H> {
    pub fn new(name: &'static str, handler: H) -> Self {
        Self {
            name,
            handler: Arc::new(handler),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// At most `concurrency` users' events at once (at least one: one at a time).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    async fn handle_batch(&self, event: SqsEvent) -> SqsBatchResponse {
        let ids: Arc<[String]> = event
            .records
            .iter()
            .map(|message| message.message_id.clone().unwrap_or_default())
            .collect();
        // Positions of the messages that failed, in any order.
        let mut failed: Vec<usize> = Vec::new();
        // Groups in the order of their first message; each in the order of the batch. A
        // group is a list of deliveries, or the position of an unreadable message that
        // stops it.
        let mut groups: Vec<Vec<Result<Delivery, usize>>> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for (position, message) in event.records.into_iter().enumerate() {
            let parsed = read(&message);
            let key = group_key(&message, parsed.as_ref().ok());
            let member = match parsed {
                Ok(event) => Ok(Delivery { position, event }),
                Err(reason) => {
                    tracing::warn!(subscriber = self.name, message_id = %ids[position], %reason, "unreadable message");
                    Err(position)
                }
            };
            match key {
                Some(key) => {
                    let next = groups.len();
                    let group = *group_of.entry(key).or_insert(next);
                    if group == next {
                        groups.push(Vec::new());
                    }
                    groups[group].push(member);
                }
                None => groups.push(vec![member]),
            }
        }

        // What starts a user's life goes first in its group (a stable sort: the rest keeps the
        // batch's order).
        for group in &mut groups {
            group.sort_by_key(|member| {
                !matches!(member, Ok(delivery) if self.handler.comes_first(&delivery.event))
            });
        }

        let mut running = JoinSet::new();
        let mut positions_of = HashMap::new();
        let mut pending = groups.into_iter();
        loop {
            while running.len() < self.concurrency {
                let Some(group) = pending.next() else { break };
                let positions: Vec<usize> = group.iter().map(position_of).collect();
                let task = running.spawn(
                    handle_group(
                        self.name,
                        Arc::clone(&self.handler),
                        group,
                        Arc::clone(&ids),
                    )
                    .in_current_span(),
                );
                positions_of.insert(task.id(), positions);
            }
            let Some(finished) = running.join_next_with_id().await else {
                break;
            };
            match finished {
                Ok((_, group_failed)) => failed.extend(group_failed),
                // A handler that panicked: its whole group is delivered again (handlers are
                // idempotent, so what it did apply is applied once).
                Err(error) => {
                    tracing::error!(subscriber = self.name, %error, "a group of events panicked; it will be delivered again");
                    failed.extend(positions_of.get(&error.id()).into_iter().flatten());
                }
            }
        }
        failed.sort_unstable();
        failed.dedup();
        queue_failures(failed.into_iter().map(|position| ids[position].clone()))
    }
}

/// One group's messages one after the other; the positions of the first that failed and of
/// every later one.
async fn handle_group<H: EventHandler>(
    name: &'static str,
    handler: Arc<H>,
    group: Vec<Result<Delivery, usize>>,
    ids: Arc<[String]>,
) -> Vec<usize> {
    let mut members = group.into_iter();
    while let Some(member) = members.next() {
        let delivery = match member {
            Ok(delivery) => delivery,
            Err(position) => {
                // Unreadable: it and the rest of its group are delivered again.
                return std::iter::once(position)
                    .chain(members.as_slice().iter().map(position_of))
                    .collect();
            }
        };
        let event = &delivery.event;
        // The event's own ids, so the handler's log lines can be joined up with the request
        // that caused the event, in the other service.
        let span = tracing::info_span!(
            "event",
            event_id = event.detail["eventId"].as_str().unwrap_or_default(),
            correlation_id = event.detail["correlationId"].as_str().unwrap_or_default(),
        );
        if let Some(time) = event.time {
            crate::metrics::lag(crate::metrics::Lag::Subscriber, name, time);
        }
        match handler.handle(event).instrument(span).await {
            Ok(outcome) => tracing::debug!(
                subscriber = name,
                source = %event.source,
                detail_type = %event.detail_type,
                ?outcome,
                "event consumed"
            ),
            // Retried by the queue, and moved to its dead-letter queue if it keeps failing:
            // a warning here, an alarm on the dead-letter queue.
            Err(error) => {
                let later: Vec<usize> = members.as_slice().iter().map(position_of).collect();
                tracing::warn!(
                    subscriber = name,
                    message_id = %ids[delivery.position],
                    source = %event.source,
                    detail_type = %event.detail_type,
                    %error,
                    held_back = later.len(),
                    "event handling failed; it and the later events of its user will be delivered again"
                );
                return std::iter::once(delivery.position).chain(later).collect();
            }
        }
    }
    Vec::new()
}

fn position_of(member: &Result<Delivery, usize>) -> usize {
    match member {
        Ok(delivery) => delivery.position,
        Err(position) => *position,
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
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Records what it saw (the detail's `name`); fails events whose detail says so, panics on
    /// those that say that; each event takes `pause`.
    #[derive(Default)]
    struct Recording {
        seen: Mutex<Vec<String>>,
        pause: Duration,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl EventHandler for Recording {
        fn handle<'a>(
            &'a self,
            event: &'a EventBridgeEvent<Value>,
        ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(self.pause).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                let name = event.detail["name"].as_str().unwrap_or_default().to_owned();
                self.seen.lock().unwrap().push(name);
                if event.detail["panic"] == true {
                    panic!("told to panic");
                }
                if event.detail["fail"] == true {
                    Err("told to fail".into())
                } else {
                    Ok(Outcome::Handled)
                }
            })
        }
    }

    impl Recording {
        fn seen(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }

        /// What it saw of `user`'s events (their names start with the user), in order.
        fn seen_of(&self, user: &str) -> Vec<String> {
            self.seen()
                .into_iter()
                .filter(|name| name.starts_with(user))
                .collect()
        }
    }

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body.to_owned());
        message
    }

    fn envelope(detail: Value) -> String {
        serde_json::json!({
            "version": "0", "id": "e1", "detail-type": "Tested", "source": "roster.test",
            "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
        .to_string()
    }

    /// A message about `user` named `name` (also its message id), failing if `fail`.
    fn of_user(user: &str, name: &str, fail: bool) -> SqsMessage {
        message(
            name,
            &envelope(serde_json::json!({
                "eventId": name, "name": name, "fail": fail, "data": {"userId": user}
            })),
        )
    }

    fn batch(records: Vec<SqsMessage>) -> SqsEvent {
        let mut batch = SqsEvent::default();
        batch.records = records;
        batch
    }

    fn failed(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn reports_exactly_the_unreadable_and_failed_messages() {
        let subscriber = EventSubscriber::new("test", Recording::default());
        let response = QueueBatchHandler::handle(
            &subscriber,
            batch(vec![
                message("ok-1", &envelope(serde_json::json!({"name": "First"}))),
                message("garbage", "{not json"),
                message(
                    "fails",
                    &envelope(serde_json::json!({"name": "Second", "fail": true})),
                ),
                message("ok-2", &envelope(serde_json::json!({"name": "Third"}))),
            ]),
        )
        .await;
        assert_eq!(failed(&response), ["garbage", "fails"]);
        // Events about no user are ordered against nothing: each is handled on its own.
        let mut seen = subscriber.handler.seen();
        seen.sort();
        assert_eq!(seen, ["First", "Second", "Third"]);
    }

    /// Fails an event of a user until that user's `first` event was handled; `first` events
    /// come first.
    #[derive(Default)]
    struct NeedsItsStart {
        started: Mutex<Vec<String>>,
        seen: Mutex<Vec<String>>,
    }

    impl EventHandler for NeedsItsStart {
        fn handle<'a>(
            &'a self,
            event: &'a EventBridgeEvent<Value>,
        ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
            Box::pin(async move {
                let user = event.detail["data"]["userId"].as_str().unwrap_or_default();
                let name = event.detail["name"].as_str().unwrap_or_default().to_owned();
                self.seen.lock().unwrap().push(name);
                if self.comes_first(event) {
                    self.started.lock().unwrap().push(user.to_owned());
                    Ok(Outcome::Handled)
                } else if self.started.lock().unwrap().iter().any(|u| u == user) {
                    Ok(Outcome::Handled)
                } else {
                    Err("the user does not exist yet".into())
                }
            })
        }

        fn comes_first(&self, event: &EventBridgeEvent<Value>) -> bool {
            event.detail["first"] == true
        }
    }

    #[tokio::test]
    async fn a_users_first_event_is_handled_before_the_events_delivered_ahead_of_it() {
        let subscriber = EventSubscriber::new("test", NeedsItsStart::default());
        let first = |user: &str, name: &str| {
            message(
                name,
                &envelope(serde_json::json!({
                    "eventId": name, "name": name, "first": true, "data": {"userId": user}
                })),
            )
        };
        let response = QueueBatchHandler::handle(
            &subscriber,
            batch(vec![
                of_user("a", "a-login", false),
                of_user("b", "b-login", false),
                first("a", "a-registered"),
                of_user("a", "a-later", false),
            ]),
        )
        .await;
        // b never started: its event fails alone; a's registration went first.
        assert_eq!(failed(&response), ["b-login"]);
        let seen = subscriber.handler.seen.lock().unwrap().clone();
        let of_a: Vec<&String> = seen.iter().filter(|name| name.starts_with('a')).collect();
        assert_eq!(of_a, ["a-registered", "a-login", "a-later"]);
    }

    #[tokio::test]
    async fn a_users_events_run_in_order_and_stop_at_its_first_failure_while_others_go_on() {
        let subscriber = EventSubscriber::new(
            "test",
            Recording {
                pause: Duration::from_millis(5),
                ..Recording::default()
            },
        );
        let response = QueueBatchHandler::handle(
            &subscriber,
            batch(vec![
                of_user("a", "a1", false),
                of_user("b", "b1", false),
                of_user("a", "a2", true),
                of_user("b", "b2", false),
                of_user("a", "a3", false),
                of_user("c", "c1", true),
                of_user("b", "b3", false),
            ]),
        )
        .await;
        assert_eq!(failed(&response), ["a2", "a3", "c1"]);
        let handler = &subscriber.handler;
        assert_eq!(handler.seen_of("a"), ["a1", "a2"], "a3 is held back");
        assert_eq!(handler.seen_of("b"), ["b1", "b2", "b3"]);
        assert_eq!(handler.seen_of("c"), ["c1"]);
    }

    #[tokio::test]
    async fn users_are_handled_concurrently_up_to_the_bound() {
        let users: Vec<SqsMessage> = (0..10)
            .flat_map(|user| {
                let user = format!("u{user}");
                [
                    of_user(&user, &format!("{user}-1"), false),
                    of_user(&user, &format!("{user}-2"), false),
                ]
            })
            .collect();
        for (concurrency, expected) in [
            (4, 4),
            (1, 1),
            (DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY.min(10)),
        ] {
            let subscriber = EventSubscriber::new(
                "test",
                Recording {
                    pause: Duration::from_millis(20),
                    ..Recording::default()
                },
            )
            .with_concurrency(concurrency);
            let response = QueueBatchHandler::handle(&subscriber, batch(users.clone())).await;
            assert!(response.batch_item_failures.is_empty());
            let handler = &subscriber.handler;
            assert_eq!(handler.seen().len(), 20);
            assert_eq!(
                handler.most_in_flight.load(Ordering::SeqCst),
                expected,
                "concurrency {concurrency}"
            );
            for user in 0..10 {
                let user = format!("u{user}-");
                assert_eq!(
                    handler.seen_of(&user),
                    [format!("{user}1"), format!("{user}2")]
                );
            }
        }
    }

    #[tokio::test]
    async fn a_message_group_orders_messages_and_an_unreadable_one_stops_its_group() {
        let in_group = |mut message: SqsMessage| {
            message
                .attributes
                .insert("MessageGroupId".to_owned(), "g1".to_owned());
            message
        };
        let subscriber = EventSubscriber::new("test", Recording::default());
        let response = QueueBatchHandler::handle(
            &subscriber,
            batch(vec![
                in_group(message(
                    "g-1",
                    &envelope(serde_json::json!({"name": "g-1"})),
                )),
                in_group(message("g-2", "{not json")),
                in_group(message(
                    "g-3",
                    &envelope(serde_json::json!({"name": "g-3"})),
                )),
                of_user("z", "z1", false),
            ]),
        )
        .await;
        assert_eq!(failed(&response), ["g-2", "g-3"]);
        let mut seen = subscriber.handler.seen();
        seen.sort();
        assert_eq!(seen, ["g-1", "z1"]);
    }

    #[tokio::test]
    async fn a_handler_that_panics_has_its_users_events_delivered_again() {
        let subscriber = EventSubscriber::new("test", Recording::default());
        let panics = message(
            "p1",
            &envelope(serde_json::json!({"name": "p1", "panic": true, "data": {"userId": "p"}})),
        );
        let response = QueueBatchHandler::handle(
            &subscriber,
            batch(vec![
                panics,
                of_user("q", "q1", false),
                of_user("p", "p2", false),
            ]),
        )
        .await;
        assert_eq!(failed(&response), ["p1", "p2"]);
        assert_eq!(subscriber.handler.seen_of("q"), ["q1"]);
    }
}

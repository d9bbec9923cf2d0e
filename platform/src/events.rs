//! Publishing to the EventBridge bus without losing anything.
//!
//! PutEvents is not all-or-nothing: a call can succeed while some entries fail
//! (`FailedEntryCount`). The publisher sends its events in order, in calls of at most 10
//! entries and 256 KB, re-sends only the failed entries with exponential backoff, and on giving
//! up says which event was the first not delivered, so a caller that published the events of
//! several records together (a projector) knows from which record to be retried.
//!
//! The call itself is behind [`PutEventsPort`]: the AWS SDK in production and locally, a fake
//! in unit tests, a slowed-down endpoint in the benchmarks.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::lambda::BoxFuture;

/// PutEvents limits: entries per call and bytes per call (and per entry).
pub const MAX_ENTRIES_PER_CALL: usize = 10;
pub const MAX_BYTES_PER_CALL: usize = 256 * 1024;

/// One event to put on the bus. `detail` is the JSON document subscribers receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    pub source: String,
    pub detail_type: String,
    pub detail: String,
    pub resources: Vec<String>,
}

impl OutgoingEvent {
    /// A domain event in its envelope, addressed by its own source and detail-type.
    pub fn from_envelope<D: roster_events::DomainEvent>(
        envelope: &roster_events::Envelope<D>,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            source: D::SOURCE.to_owned(),
            detail_type: D::DETAIL_TYPE.to_owned(),
            detail: serde_json::to_string(envelope)?,
            resources: Vec::new(),
        })
    }

    /// The size of its PutEvents entry as EventBridge counts it against the 256 KB limit
    /// ("Calculating PutEvents event entry size"): source, detail-type, detail and each
    /// resource in UTF-8 bytes, and 14 bytes for `Time` when it is set. The publisher never
    /// sets `Time` (EventBridge stamps the event when it receives it), so it is not counted.
    pub fn size(&self) -> usize {
        self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Event `index` can never be put: its entry alone is above the limit. The events before
    /// it were delivered.
    #[error("event {index} is {size} bytes, above the PutEvents limit of {MAX_BYTES_PER_CALL}")]
    TooLarge { index: usize, size: usize },
    /// Event `first` and possibly others after it were not delivered. The events before
    /// `first` were delivered; events after it may or may not have been.
    #[error("{undelivered} event(s) were not delivered, the first being event {first}: {reason}")]
    Undelivered {
        first: usize,
        undelivered: usize,
        reason: String,
    },
}

impl PublishError {
    /// The index of the first event that was not delivered: every event before it was.
    pub fn first_undelivered(&self) -> usize {
        match self {
            Self::TooLarge { index, .. } => *index,
            Self::Undelivered { first, .. } => *first,
        }
    }
}

/// Retry policy of the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        backoff(attempt, self.base_delay, self.max_delay)
    }
}

/// Exponential backoff with a cap: `base` doubled `attempt` times, at most `cap`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << attempt.min(16)).min(cap)
}

/// "Full jitter": a random delay between zero and [`backoff`], so that writers that collided
/// once do not collide again in lockstep.
pub fn jittered_backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let mut bytes = [0u8; 4];
    let fraction = match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    };
    backoff(attempt, base, cap).mul_f64(fraction)
}

/// The answer of one PutEvents call, one item per entry sent and in the same order: `None`
/// for an entry EventBridge accepted, its error code for one it did not.
pub type EntryResults = Vec<Option<String>>;

/// The error code given to an entry that a partial failure left without a code of its own.
pub const NO_ERROR_CODE: &str = "NoErrorCode";

/// One PutEvents call. `Err` is a call that failed as a whole (nothing is known delivered).
pub trait PutEventsPort: Send + Sync + 'static {
    fn put_events<'a>(
        &'a self,
        bus_name: &'a str,
        events: &'a [&'a OutgoingEvent],
    ) -> BoxFuture<'a, Result<EntryResults, String>>;
}

/// [`PutEventsPort`] through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkPutEvents(pub Client);

impl PutEventsPort for SdkPutEvents {
    fn put_events<'a>(
        &'a self,
        bus_name: &'a str,
        events: &'a [&'a OutgoingEvent],
    ) -> BoxFuture<'a, Result<EntryResults, String>> {
        Box::pin(async move {
            let entries: Vec<PutEventsRequestEntry> =
                events.iter().map(|event| entry(bus_name, event)).collect();
            let output = self
                .0
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| {
                    let error = aws_sdk_eventbridge::error::DisplayErrorContext(error);
                    format!("PutEvents call failed: {error}")
                })?;
            if output.failed_entry_count() == 0 {
                return Ok(vec![None; events.len()]);
            }
            // Results are positional: result i answers entry i. An accepted entry has an
            // event id; one without (or a missing result) was not accepted.
            let mut results: EntryResults = (0..events.len())
                .map(|i| match output.entries().get(i) {
                    Some(result) if result.error_code().is_some() => {
                        result.error_code().map(str::to_owned)
                    }
                    Some(result) if result.event_id().is_some() => None,
                    _ => Some(NO_ERROR_CODE.to_owned()),
                })
                .collect();
            if results.iter().all(Option::is_none) {
                // FailedEntryCount > 0 and yet every entry looks accepted: trust the count,
                // and re-send everything rather than lose one.
                results = vec![Some(NO_ERROR_CODE.to_owned()); events.len()];
            }
            Ok(results)
        })
    }
}

/// The PutEvents entry of `event`, carrying the invocation's X-Ray trace header.
fn entry(bus_name: &str, event: &OutgoingEvent) -> PutEventsRequestEntry {
    entry_traced(
        bus_name,
        event,
        trace_header(std::env::var(TRACE_VARIABLE).ok()),
    )
}

fn entry_traced(
    bus_name: &str,
    event: &OutgoingEvent,
    trace: Option<String>,
) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .set_trace_header(trace)
        .event_bus_name(bus_name)
        .source(&event.source)
        .detail_type(&event.detail_type)
        .detail(&event.detail)
        .set_resources(if event.resources.is_empty() {
            None
        } else {
            Some(event.resources.clone())
        })
        .build()
}

#[derive(Clone)]
pub struct EventPublisher {
    port: Arc<dyn PutEventsPort>,
    bus_name: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher")
            .field("bus_name", &self.bus_name)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl EventPublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self::with_port(SdkPutEvents(client), bus_name)
    }

    /// A publisher whose PutEvents calls go through `port`.
    pub fn with_port(port: impl PutEventsPort, bus_name: impl Into<String>) -> Self {
        Self {
            port: Arc::new(port),
            bus_name: bus_name.into(),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    /// Delivers every event, in order, or says which was the first not delivered. On
    /// success, each event was accepted by EventBridge at least once. Calls are made one
    /// after the other, and a call is made only once every call before it succeeded: on an
    /// error, every event before [`PublishError::first_undelivered`] was delivered and no
    /// call holding only later events was made.
    pub async fn publish(&self, events: &[OutgoingEvent]) -> Result<(), PublishError> {
        let plan = plan_calls(events);
        for call in plan.calls {
            self.publish_call(events, call).await?;
        }
        match plan.too_large {
            Some(index) => Err(PublishError::TooLarge {
                index,
                size: events[index].size(),
            }),
            None => Ok(()),
        }
    }

    /// One call of `events[call]`, then re-sends of its failed entries only, in order.
    async fn publish_call(
        &self,
        events: &[OutgoingEvent],
        call: Range<usize>,
    ) -> Result<(), PublishError> {
        let mut pending: Vec<usize> = call.collect();
        let mut attempt = 0;
        loop {
            let entries: Vec<&OutgoingEvent> = pending.iter().map(|&i| &events[i]).collect();
            let reason = match self.port.put_events(&self.bus_name, &entries).await {
                Ok(results) if results.len() != pending.len() => format!(
                    "PutEvents answered {} results for {} entries",
                    results.len(),
                    pending.len()
                ),
                Ok(results) => {
                    let failed: Vec<(usize, String)> = pending
                        .iter()
                        .zip(results)
                        .filter_map(|(&index, code)| code.map(|code| (index, code)))
                        .collect();
                    let Some((first, code)) = failed.first().cloned() else {
                        return Ok(());
                    };
                    if let Some((_, code)) = failed.iter().find(|(_, code)| !is_retryable(code)) {
                        return Err(PublishError::Undelivered {
                            first,
                            undelivered: failed.len(),
                            reason: format!("non-retryable error {code}"),
                        });
                    }
                    pending = failed.into_iter().map(|(index, _)| index).collect();
                    format!("entry error {code}")
                }
                Err(reason) => reason,
            };
            attempt += 1;
            if attempt >= self.retry.max_attempts {
                tracing::error!(
                    bus = %self.bus_name,
                    undelivered = pending.len(),
                    %reason,
                    "giving up on events after {attempt} attempts"
                );
                return Err(PublishError::Undelivered {
                    first: pending[0],
                    undelivered: pending.len(),
                    reason,
                });
            }
            tracing::warn!(bus = %self.bus_name, pending = pending.len(), %reason, attempt, "retrying PutEvents");
            tokio::time::sleep(self.retry.delay(attempt)).await;
        }
    }
}

/// Where the Lambda runtime puts the X-Ray trace header of the invocation being handled
/// (lambda_runtime sets it per invocation; absent off Lambda and in its concurrent mode).
pub const TRACE_VARIABLE: &str = "_X_AMZN_TRACE_ID";

/// PutEvents' `TraceHeader` for the invocation's trace header `value`: EventBridge carries the
/// X-Ray trace on to the rules' targets. `None` for no value or one EventBridge would refuse
/// (empty, or over its 500 characters), which must not fail the publication.
pub fn trace_header(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 500 && value.contains("Root="))
}

fn is_retryable(code: &str) -> bool {
    matches!(
        code,
        "InternalFailure"
            | "InternalException"
            | "ThrottlingException"
            | "ServiceUnavailable"
            | NO_ERROR_CODE
    )
}

/// How a run of events goes out: consecutive ranges of at most 10 events and 256 KB each,
/// in order, ending before the first event that is too large to go out at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    pub calls: Vec<Range<usize>>,
    pub too_large: Option<usize>,
}

/// Splits events into PutEvents calls of at most 10 entries and 256 KB, keeping their order.
/// An event whose entry alone is above 256 KB ends the plan: nothing after it goes out.
pub fn plan_calls(events: &[OutgoingEvent]) -> CallPlan {
    let mut calls = Vec::new();
    let mut start = 0;
    let mut current_size = 0;
    let mut too_large = None;
    for (index, event) in events.iter().enumerate() {
        let size = event.size();
        if size > MAX_BYTES_PER_CALL {
            too_large = Some(index);
            break;
        }
        if index - start == MAX_ENTRIES_PER_CALL || current_size + size > MAX_BYTES_PER_CALL {
            calls.push(start..index);
            start = index;
            current_size = 0;
        }
        current_size += size;
    }
    let end = too_large.unwrap_or(events.len());
    if start < end {
        calls.push(start..end);
    }
    CallPlan { calls, too_large }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    const TRACE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn entries_carry_the_invocations_trace_header() {
        let traced = entry_traced("bus", &event(3), trace_header(Some(TRACE.to_owned())));
        assert_eq!(traced.trace_header(), Some(TRACE));
        assert_eq!(traced.event_bus_name(), Some("bus"));
        let untraced = entry_traced("bus", &event(3), trace_header(None));
        assert_eq!(untraced.trace_header(), None);
    }

    #[test]
    fn a_trace_header_eventbridge_would_refuse_is_left_out() {
        assert_eq!(trace_header(Some(String::new())), None);
        assert_eq!(trace_header(Some("  ".to_owned())), None);
        assert_eq!(trace_header(Some("not a trace".to_owned())), None);
        let long = format!("{TRACE};{}", "x".repeat(500));
        assert_eq!(trace_header(Some(long)), None);
        assert_eq!(
            trace_header(Some(format!("{TRACE}\n"))).as_deref(),
            Some(TRACE)
        );
    }

    fn event(detail_len: usize) -> OutgoingEvent {
        OutgoingEvent {
            source: "roster.test".into(),
            detail_type: "Tested".into(),
            detail: "x".repeat(detail_len),
            resources: vec![],
        }
    }

    /// The bytes of an [`event`] besides its detail.
    const OVERHEAD: usize = "roster.test".len() + "Tested".len();

    fn numbered(count: usize) -> Vec<OutgoingEvent> {
        (0..count)
            .map(|n| OutgoingEvent {
                detail: format!("{{\"n\":{n}}}"),
                ..event(0)
            })
            .collect()
    }

    #[test]
    fn entry_size_is_counted_as_eventbridge_does() {
        let event = OutgoingEvent {
            source: "roster.test".into(),
            detail_type: "Tested".into(),
            // "é" is two bytes in UTF-8, "€" three.
            detail: r#"{"é":"€"}"#.into(),
            resources: vec!["arn:a".into(), "arn:bc".into()],
        };
        assert_eq!(event.size(), 11 + 6 + (7 + 2 + 3) + 5 + 6);
    }

    #[test]
    fn splits_by_count_keeping_order() {
        let events: Vec<_> = (0..23).map(|i| event(i + 1)).collect();
        let plan = plan_calls(&events);
        assert_eq!(plan.calls, [0..10, 10..20, 20..23]);
        assert_eq!(plan.too_large, None);
    }

    #[test]
    fn a_call_takes_up_to_exactly_256_kb_and_not_a_byte_more() {
        let half = MAX_BYTES_PER_CALL / 2 - OVERHEAD;
        let fits = vec![event(half), event(half), event(1)];
        assert_eq!(plan_calls(&fits).calls, [0..2, 2..3]);
        let over = vec![event(half), event(half + 1), event(1)];
        assert_eq!(plan_calls(&over).calls, [0..1, 1..3]);
        let three = vec![event(100 * 1024), event(100 * 1024), event(100 * 1024)];
        assert_eq!(plan_calls(&three).calls, [0..2, 2..3]);
    }

    #[test]
    fn an_event_above_the_limit_ends_the_plan_after_the_events_before_it() {
        let largest = MAX_BYTES_PER_CALL - OVERHEAD;
        assert_eq!(plan_calls(&[event(largest)]).too_large, None);
        let events = vec![event(10), event(20), event(largest + 1), event(10)];
        let plan = plan_calls(&events);
        assert_eq!(plan.calls, [Range { start: 0, end: 2 }]);
        assert_eq!(plan.too_large, Some(2));
        assert_eq!(plan_calls(&events[2..]).calls, Vec::<Range<usize>>::new());
    }

    type Answer =
        Box<dyn Fn(usize, &[&OutgoingEvent]) -> Result<EntryResults, String> + Send + Sync>;

    /// Records each call's entries (their details); answers as `answer(call number, entries)`.
    struct Scripted {
        calls: Arc<Mutex<Vec<Vec<String>>>>,
        answer: Answer,
    }

    impl PutEventsPort for Scripted {
        fn put_events<'a>(
            &'a self,
            _bus_name: &'a str,
            events: &'a [&'a OutgoingEvent],
        ) -> BoxFuture<'a, Result<EntryResults, String>> {
            let call = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(events.iter().map(|e| e.detail.clone()).collect());
                calls.len() - 1
            };
            let answer = (self.answer)(call, events);
            Box::pin(async move { answer })
        }
    }

    fn publisher(
        answer: impl Fn(usize, &[&OutgoingEvent]) -> Result<EntryResults, String>
        + Send
        + Sync
        + 'static,
    ) -> (EventPublisher, Arc<Mutex<Vec<Vec<String>>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let port = Scripted {
            calls: Arc::clone(&calls),
            answer: Box::new(answer),
        };
        let publisher = EventPublisher::with_port(port, "bus").with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        });
        (publisher, calls)
    }

    fn all_accepted(_: usize, events: &[&OutgoingEvent]) -> Result<EntryResults, String> {
        Ok(vec![None; events.len()])
    }

    fn details(events: &[OutgoingEvent]) -> Vec<String> {
        events.iter().map(|e| e.detail.clone()).collect()
    }

    #[tokio::test]
    async fn publishes_in_order_in_calls_of_ten() {
        let events = numbered(25);
        let (publisher, calls) = publisher(all_accepted);
        publisher.publish(&events).await.unwrap();
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(calls.concat(), details(&events));
    }

    #[tokio::test]
    async fn a_partial_failure_re_sends_only_the_failed_entries_in_order() {
        let events = numbered(10);
        let (publisher, calls) = publisher(|call, events| {
            Ok(events
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    (call == 0 && (i == 2 || i == 5)).then(|| "ThrottlingException".into())
                })
                .collect())
        });
        publisher.publish(&events).await.unwrap();
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            calls[1],
            [events[2].detail.clone(), events[5].detail.clone()]
        );
    }

    #[tokio::test]
    async fn a_non_retryable_entry_error_names_the_first_failed_event_and_stops() {
        let events = numbered(25);
        let (publisher, calls) = publisher(|call, events| {
            Ok(events
                .iter()
                .enumerate()
                .map(|(i, _)| (call == 1 && (i == 3 || i == 7)).then(|| "MalformedDetail".into()))
                .collect())
        });
        let error = publisher.publish(&events).await.unwrap_err();
        assert_eq!(error.first_undelivered(), 13);
        assert!(matches!(
            error,
            PublishError::Undelivered { undelivered: 2, .. }
        ));
        assert_eq!(calls.lock().unwrap().len(), 2, "the third call is not made");
    }

    #[tokio::test]
    async fn a_call_failing_every_attempt_names_its_first_event_and_stops() {
        let events = numbered(25);
        let (publisher, calls) = publisher(|call, events| {
            if call == 0 {
                all_accepted(call, events)
            } else {
                Err("connection reset".to_owned())
            }
        });
        let error = publisher.publish(&events).await.unwrap_err();
        assert_eq!(error.first_undelivered(), 10);
        let calls = calls.lock().unwrap().clone();
        assert_eq!(
            calls.len(),
            4,
            "the first call, then three attempts of the second; never the third"
        );
        assert!(
            calls[1..]
                .iter()
                .all(|call| call[..] == details(&events[10..20]))
        );
    }

    #[tokio::test]
    async fn retried_entries_that_keep_failing_name_the_first_of_them() {
        let events = numbered(10);
        let (publisher, _) = publisher(|_, events| {
            Ok(events
                .iter()
                .map(|e| {
                    (e.detail.contains(":4}") || e.detail.contains(":8}"))
                        .then(|| "InternalFailure".into())
                })
                .collect())
        });
        let error = publisher.publish(&events).await.unwrap_err();
        assert_eq!(error.first_undelivered(), 4);
        assert!(matches!(
            error,
            PublishError::Undelivered { undelivered: 2, .. }
        ));
    }

    #[tokio::test]
    async fn an_event_above_the_limit_is_refused_after_the_events_before_it_went_out() {
        let mut events = numbered(3);
        events.insert(2, event(MAX_BYTES_PER_CALL));
        let (publisher, calls) = publisher(all_accepted);
        let error = publisher.publish(&events).await.unwrap_err();
        assert!(matches!(error, PublishError::TooLarge { index: 2, .. }));
        assert_eq!(calls.lock().unwrap().concat(), details(&events[..2]));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(1) < policy.delay(2));
        assert_eq!(policy.delay(30), policy.max_delay);
    }
}

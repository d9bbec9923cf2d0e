//! Publishing to the EventBridge bus without losing anything.
//!
//! PutEvents is not all-or-nothing: a call can succeed while some entries fail
//! (`FailedEntryCount`). The publisher sends batches of at most 10 entries and 256 KB,
//! re-sends only the failed entries with exponential backoff, and reports every entry it could
//! not deliver, so the caller (a projector) can fail its batch and be retried.

use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

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

    /// The size EventBridge charges against the 256 KB limit: source, detail-type, detail and
    /// resources in UTF-8 bytes, plus 14 bytes for the timestamp.
    pub fn size(&self) -> usize {
        14 + self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("event {index} is {size} bytes, above the PutEvents limit of {MAX_BYTES_PER_CALL}")]
    TooLarge { index: usize, size: usize },
    #[error("{undelivered} event(s) were not delivered: {reason}")]
    Undelivered { undelivered: usize, reason: String },
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

#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: Client,
    bus_name: String,
    retry: RetryPolicy,
}

impl EventPublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
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

    /// Delivers every event or says how many were not delivered. On success, each event was
    /// accepted by EventBridge at least once.
    pub async fn publish(&self, events: &[OutgoingEvent]) -> Result<(), PublishError> {
        for batch in batches(events)? {
            self.publish_batch(batch).await?;
        }
        Ok(())
    }

    async fn publish_batch(&self, batch: Vec<&OutgoingEvent>) -> Result<(), PublishError> {
        let mut pending = batch;
        let mut attempt = 0;
        loop {
            let entries: Vec<PutEventsRequestEntry> =
                pending.iter().map(|event| self.entry(event)).collect();
            let outcome = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await;
            let reason = match outcome {
                Ok(output) if output.failed_entry_count() == 0 => return Ok(()),
                Ok(output) => {
                    // Results are positional: entry i answers pending[i].
                    let mut retry = Vec::new();
                    let mut reason = String::new();
                    for (event, result) in pending.iter().zip(output.entries()) {
                        if let Some(code) = result.error_code() {
                            if !is_retryable(code) {
                                return Err(PublishError::Undelivered {
                                    undelivered: output.failed_entry_count() as usize,
                                    reason: format!("non-retryable error {code}"),
                                });
                            }
                            reason = format!("entry error {code}");
                            retry.push(*event);
                        }
                    }
                    if retry.is_empty() {
                        // FailedEntryCount > 0 without per-entry codes: re-send everything.
                        reason = "failed entries without error codes".to_owned();
                    } else {
                        pending = retry;
                    }
                    reason
                }
                Err(error) => {
                    let error = aws_sdk_eventbridge::error::DisplayErrorContext(error);
                    format!("PutEvents call failed: {error}")
                }
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
                    undelivered: pending.len(),
                    reason,
                });
            }
            tracing::warn!(bus = %self.bus_name, pending = pending.len(), %reason, attempt, "retrying PutEvents");
            tokio::time::sleep(self.retry.delay(attempt)).await;
        }
    }

    fn entry(&self, event: &OutgoingEvent) -> PutEventsRequestEntry {
        self.entry_traced(event, trace_header(std::env::var(TRACE_VARIABLE).ok()))
    }

    fn entry_traced(&self, event: &OutgoingEvent, trace: Option<String>) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .set_trace_header(trace)
            .event_bus_name(&self.bus_name)
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
        "InternalFailure" | "InternalException" | "ThrottlingException" | "ServiceUnavailable"
    )
}

/// Splits events into PutEvents calls of at most 10 entries and 256 KB, keeping their order.
pub fn batches(events: &[OutgoingEvent]) -> Result<Vec<Vec<&OutgoingEvent>>, PublishError> {
    let mut batches = Vec::new();
    let mut current: Vec<&OutgoingEvent> = Vec::new();
    let mut current_size = 0;
    for (index, event) in events.iter().enumerate() {
        let size = event.size();
        if size > MAX_BYTES_PER_CALL {
            return Err(PublishError::TooLarge { index, size });
        }
        if current.len() == MAX_ENTRIES_PER_CALL || current_size + size > MAX_BYTES_PER_CALL {
            batches.push(std::mem::take(&mut current));
            current_size = 0;
        }
        current.push(event);
        current_size += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn entries_carry_the_invocations_trace_header() {
        let client = Client::from_conf(
            aws_sdk_eventbridge::Config::builder()
                .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
                .build(),
        );
        let publisher = EventPublisher::new(client, "bus");
        let traced = publisher.entry_traced(&event(3), trace_header(Some(TRACE.to_owned())));
        assert_eq!(traced.trace_header(), Some(TRACE));
        assert_eq!(traced.event_bus_name(), Some("bus"));
        let untraced = publisher.entry_traced(&event(3), trace_header(None));
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

    #[test]
    fn splits_by_count_keeping_order() {
        let events: Vec<_> = (0..23).map(|i| event(i + 1)).collect();
        let batches = batches(&events).unwrap();
        let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let flattened: Vec<_> = batches.into_iter().flatten().collect();
        assert!(
            flattened
                .iter()
                .zip(&events)
                .all(|(a, b)| std::ptr::eq(*a, b))
        );
    }

    #[test]
    fn splits_by_bytes() {
        let events = vec![event(100 * 1024), event(100 * 1024), event(100 * 1024)];
        let sizes: Vec<_> = batches(&events).unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1]);
    }

    #[test]
    fn rejects_an_event_above_the_limit_by_index() {
        let events = vec![event(10), event(MAX_BYTES_PER_CALL)];
        assert!(matches!(
            batches(&events),
            Err(PublishError::TooLarge { index: 1, .. })
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(1) < policy.delay(2));
        assert_eq!(policy.delay(30), policy.max_delay);
    }
}

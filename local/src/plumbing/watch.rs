//! The plumbing's watchdog: makes a stall visible within seconds.
//!
//! Every [`WatchOptions::interval`] it measures, independently of the pollers' own view:
//! - each stream's oldest unhandled record, read with a fresh iterator from the poller's last
//!   processed sequence number (a poller stuck on a dead iterator chain cannot hide it);
//! - how long each subscriber queue has had messages waiting that nobody took;
//! - the depth of every dead-letter queue and of the stream-failures queue.
//!
//! A lag past [`WatchOptions::stall_after`] is logged as a warning (again every
//! [`WatchOptions::repeat`] while it lasts), its end as information, and every new dead letter
//! as a warning. The latest [`PlumbingStatus`] is kept for `status()` and written to a file
//! that `cargo roster status` reads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::streams::{StreamProgress, oldest_unprocessed};

/// A stream the watchdog measures.
#[derive(Debug, Clone)]
pub struct WatchedStream {
    pub table: String,
    pub stream_arn: String,
    pub progress: Arc<StreamProgress>,
}

/// A queue the watchdog measures: a subscriber's (lag) or a dead-letter one (depth).
#[derive(Debug, Clone)]
pub struct WatchedQueue {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    pub interval: Duration,
    /// A lag longer than this is a stall worth a warning.
    pub stall_after: Duration,
    /// How often a lasting stall is logged again.
    pub repeat: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            stall_after: Duration::from_secs(5),
            repeat: Duration::from_secs(30),
        }
    }
}

/// What the watchdog last measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlumbingStatus {
    /// When this was measured (RFC 3339).
    pub checked_at: String,
    /// Seconds a lag may last before it counts as a stall.
    pub stall_after_seconds: f64,
    pub streams: Vec<StreamLag>,
    pub queues: Vec<QueueLag>,
    pub dead_letters: Vec<QueueDepth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamLag {
    pub table: String,
    /// Age of the oldest record not yet handled; `None` when caught up.
    pub oldest_unprocessed_seconds: Option<f64>,
    /// Records given up on (sent to the stream-failures queue) since the stack started.
    pub given_up: u64,
    /// Why it could not be measured, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLag {
    pub queue: String,
    /// Messages waiting to be received.
    pub waiting: u64,
    /// Messages received and not yet deleted (in a handler, or waiting for a retry).
    pub in_flight: u64,
    /// How long messages have been waiting without a break; `None` when none wait.
    pub waiting_for_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub queue: String,
    pub messages: u64,
}

impl PlumbingStatus {
    /// Every lag longer than the stall bound, as sentences.
    pub fn stalls(&self) -> Vec<String> {
        let bound = self.stall_after_seconds;
        let mut stalls: Vec<String> = self
            .streams
            .iter()
            .filter_map(|stream| {
                let age = stream
                    .oldest_unprocessed_seconds
                    .filter(|age| *age > bound)?;
                Some(format!(
                    "the {} table's stream has had unprocessed records for {age:.0} s",
                    stream.table
                ))
            })
            .collect();
        stalls.extend(self.queues.iter().filter_map(|queue| {
            let age = queue.waiting_for_seconds.filter(|age| *age > bound)?;
            Some(format!(
                "queue {} has had {} message(s) waiting for {age:.0} s",
                queue.queue, queue.waiting
            ))
        }));
        stalls
    }

    /// Dead-letter queues that hold messages.
    pub fn dead_letters_waiting(&self) -> Vec<&QueueDepth> {
        self.dead_letters
            .iter()
            .filter(|q| q.messages > 0)
            .collect()
    }
}

/// Watches the plumbing until `shutdown`; the latest status is in `status`, and in `file`.
pub struct Watchdog {
    pub streams_client: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub streams: Vec<WatchedStream>,
    pub queues: Vec<WatchedQueue>,
    pub dead_letter_queues: Vec<WatchedQueue>,
    pub options: WatchOptions,
    pub status: Arc<RwLock<PlumbingStatus>>,
    pub file: Option<PathBuf>,
}

impl Watchdog {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut waiting_since: BTreeMap<String, Instant> = BTreeMap::new();
        let mut warned: BTreeMap<String, Instant> = BTreeMap::new();
        let mut depths: BTreeMap<String, u64> = BTreeMap::new();
        loop {
            let status = self.measure(&mut waiting_since).await;
            self.report(&status, &mut warned, &mut depths);
            if let Some(file) = &self.file
                && let Ok(text) = serde_json::to_string_pretty(&status)
                && let Err(error) = std::fs::write(file, text)
            {
                tracing::debug!(%error, "writing the plumbing status");
            }
            *self
                .status
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = status;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.options.interval) => {}
            }
        }
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }

    async fn measure(&self, waiting_since: &mut BTreeMap<String, Instant>) -> PlumbingStatus {
        let mut streams = Vec::new();
        for stream in &self.streams {
            let given_up = stream.progress.shards().values().map(|s| s.given_up).sum();
            let (age, error) = match oldest_unprocessed(
                &self.streams_client,
                &stream.stream_arn,
                &stream.progress,
            )
            .await
            {
                Ok(age) => (age.map(|age| age.as_secs_f64()), None),
                Err(error) => (None, Some(format!("{error:#}"))),
            };
            streams.push(StreamLag {
                table: stream.table.clone(),
                oldest_unprocessed_seconds: age,
                given_up,
                error,
            });
        }
        let mut queues = Vec::new();
        for queue in &self.queues {
            let (waiting, in_flight) = counts(&self.sqs, &queue.url).await.unwrap_or_default();
            let since = if waiting > 0 {
                Some(
                    *waiting_since
                        .entry(queue.name.clone())
                        .or_insert_with(Instant::now),
                )
            } else {
                waiting_since.remove(&queue.name);
                None
            };
            queues.push(QueueLag {
                queue: queue.name.clone(),
                waiting,
                in_flight,
                waiting_for_seconds: since.map(|since| since.elapsed().as_secs_f64()),
            });
        }
        let mut dead_letters = Vec::new();
        for queue in &self.dead_letter_queues {
            let (waiting, in_flight) = counts(&self.sqs, &queue.url).await.unwrap_or_default();
            dead_letters.push(QueueDepth {
                queue: queue.name.clone(),
                messages: waiting + in_flight,
            });
        }
        PlumbingStatus {
            checked_at: chrono::Utc::now().to_rfc3339(),
            stall_after_seconds: self.options.stall_after.as_secs_f64(),
            streams,
            queues,
            dead_letters,
        }
    }

    fn report(
        &self,
        status: &PlumbingStatus,
        warned: &mut BTreeMap<String, Instant>,
        depths: &mut BTreeMap<String, u64>,
    ) {
        let stalls = status.stalls();
        for stall in &stalls {
            let key = stall.split(" has had ").next().unwrap_or(stall).to_owned();
            let due = warned
                .get(&key)
                .is_none_or(|at| at.elapsed() >= self.options.repeat);
            if due {
                tracing::warn!(
                    "STALL: {stall}; `cargo roster status` shows every poller's lag and every \
                     dead-letter queue"
                );
                warned.insert(key, Instant::now());
            }
        }
        warned.retain(|key, _| {
            let still = stalls.iter().any(|stall| stall.starts_with(key.as_str()));
            if !still {
                tracing::info!("recovered: {key} is caught up");
            }
            still
        });
        for stream in &status.streams {
            if let Some(error) = &stream.error {
                tracing::debug!(table = %stream.table, %error, "could not measure the stream");
            }
        }
        for queue in &status.dead_letters {
            let before = depths
                .insert(queue.queue.clone(), queue.messages)
                .unwrap_or(0);
            if queue.messages > before {
                tracing::warn!(
                    queue = %queue.queue,
                    messages = queue.messages,
                    "new dead letters; `cargo roster dlq list` shows them"
                );
            }
        }
    }
}

/// Messages waiting and in flight on a queue.
pub async fn counts(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, u64)> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .with_context(|| format!("reading the attributes of {url}"))?;
    let count = |name: QueueAttributeName| {
        attributes
            .attributes()
            .and_then(|all| all.get(&name))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}

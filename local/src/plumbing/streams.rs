//! Local event source mapping for DynamoDB Streams.
//!
//! Like Lambda's (the template's `Stream` events):
//! - records of a shard reach the handler in order, in batches; a child shard is read only
//!   once its parent has been read to its end (shards split and close on AWS);
//! - when the handler names a failed record, the shard is read again from that record after a
//!   backoff, so nothing after a failure is handled out of order;
//! - a record that still fails after [`StreamPollOptions::max_retry_attempts`] retries (the
//!   template's `MaximumRetryAttempts`) has its coordinates sent to the stream-failures queue,
//!   as Lambda's on-failure destination does, and the shard moves on past it. As with
//!   `BisectBatchOnFunctionError`, only the failing record is given up, not its whole batch.
//!   If that queue cannot take the record, nothing is skipped: the record is retried.
//!
//! The position in each shard is the last processed sequence number, not the iterator chain:
//! an iterator is re-acquired from it when it expires (AWS: after 15 minutes), after any
//! error, and whenever the chain is older than [`StreamPollOptions::iterator_lifetime`]. A
//! chain that silently stops seeing records (moto did, after a cancelled transaction) costs
//! at most that long. [`StreamProgress`] tells a watchdog where each shard stands.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use roster_platform::lambda::StreamBatchHandler;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use roster_platform::events::backoff;

/// The stream of one table, and the function that reads it.
#[derive(Debug, Clone)]
pub struct StreamSource {
    pub table_name: String,
    pub stream_arn: String,
    pub region: String,
    /// The function the mapping invokes (named in the records sent to the failure queue).
    pub function_name: String,
}

#[derive(Debug, Clone, Copy)]
pub struct StreamPollOptions {
    pub batch_size: i32,
    /// Pause after an empty read.
    pub idle_delay: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How often new shards are looked for.
    pub shard_refresh: Duration,
    /// How long an iterator chain is followed before a fresh iterator is taken from the last
    /// processed sequence number.
    pub iterator_lifetime: Duration,
    /// Retries of a failing record before it goes to the failure queue.
    pub max_retry_attempts: u32,
}

impl Default for StreamPollOptions {
    fn default() -> Self {
        let mapping = roster_infra::resources::STREAM_MAPPING;
        Self {
            batch_size: mapping.batch_size,
            idle_delay: Duration::from_millis(100),
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_secs(5),
            shard_refresh: Duration::from_secs(2),
            iterator_lifetime: Duration::from_secs(1),
            max_retry_attempts: mapping.maximum_retry_attempts,
        }
    }
}

/// Where a mapping records what it gave up on: Lambda's on-failure destination.
#[derive(Debug, Clone)]
pub struct FailureQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// Where each shard of one stream stands, shared with whoever watches the poller.
#[derive(Debug, Default)]
pub struct StreamProgress {
    shards: Mutex<BTreeMap<String, ShardProgress>>,
}

/// One shard's position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardProgress {
    /// The last sequence number handled (or given up on); `None` before the first.
    pub last_processed: Option<String>,
    /// Read to its end: the shard is closed.
    pub finished: bool,
    /// Records sent to the failure queue.
    pub given_up: u64,
}

impl StreamProgress {
    /// Every shard the poller has started, by id.
    pub fn shards(&self) -> BTreeMap<String, ShardProgress> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ShardProgress>> {
        self.shards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, shard: &str, change: impl FnOnce(&mut ShardProgress)) {
        change(self.lock().entry(shard.to_owned()).or_default());
    }

    fn finished(&self, shard: &str) -> bool {
        self.lock()
            .get(shard)
            .is_some_and(|progress| progress.finished)
    }
}

/// One table's event source mapping.
pub struct StreamPoller {
    pub client: Client,
    pub source: StreamSource,
    pub handler: Arc<dyn StreamBatchHandler>,
    pub options: StreamPollOptions,
    pub failures: Option<FailureQueue>,
    pub progress: Arc<StreamProgress>,
}

/// A shard as `DescribeStream` lists it.
#[derive(Debug, Clone)]
struct Shard {
    id: String,
    parent: Option<String>,
}

impl StreamPoller {
    /// Polls the stream until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut started = HashSet::new();
        let mut readers = JoinSet::new();
        loop {
            match shards(&this.client, &this.source.stream_arn).await {
                Ok(shards) => {
                    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
                    for shard in &shards {
                        // A child waits for its parent to be read to its end, unless the
                        // parent is gone from the stream (trimmed after 24 hours).
                        let parent_pending = shard.parent.as_deref().is_some_and(|parent| {
                            listed.contains(parent) && !this.progress.finished(parent)
                        });
                        if parent_pending || !started.insert(shard.id.clone()) {
                            continue;
                        }
                        readers.spawn(
                            Arc::clone(&this).read_shard(shard.id.clone(), shutdown.clone()),
                        );
                    }
                }
                Err(error) => tracing::warn!(table = %this.source.table_name, "{error:#}"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(this.options.shard_refresh) => {}
            }
        }
        readers.join_all().await;
    }

    async fn read_shard(self: Arc<Self>, shard_id: String, shutdown: CancellationToken) {
        let (source, options) = (&self.source, self.options);
        self.progress.update(&shard_id, |_| {});
        let mut position = Position::TrimHorizon;
        let mut iterator: Option<(String, Instant)> = None;
        // The failures of one record in a row: another record failing starts from one again.
        let mut failures = 0u32;
        let mut failing: Option<String> = None;
        while !shutdown.is_cancelled() {
            let (current, acquired) = match iterator.take() {
                Some((iterator, acquired)) if acquired.elapsed() < options.iterator_lifetime => {
                    (iterator, acquired)
                }
                _ => match self.shard_iterator(&shard_id, &position).await {
                    Ok(Some(iterator)) => (iterator, Instant::now()),
                    Ok(None) => {
                        tracing::warn!(table = %source.table_name, shard = %shard_id, "the shard is gone; it is no longer read");
                        self.progress.update(&shard_id, |p| p.finished = true);
                        return;
                    }
                    Err(IteratorError::Trimmed) => {
                        tracing::error!(
                            table = %source.table_name,
                            shard = %shard_id,
                            ?position,
                            "records past the last processed one were trimmed (older than the \
                             stream's retention) before they were read; reading from the oldest \
                             record left"
                        );
                        position = Position::TrimHorizon;
                        continue;
                    }
                    Err(IteratorError::Other(error)) => {
                        tracing::warn!(table = %source.table_name, "{error:#}");
                        pause(&shutdown, options.retry_cap).await;
                        continue;
                    }
                },
            };
            let page = match self
                .client
                .get_records()
                .shard_iterator(current)
                .limit(options.batch_size)
                .send()
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    match error.as_service_error() {
                        // An iterator lives 15 minutes; take a new one from the position.
                        Some(GetRecordsError::ExpiredIteratorException(_)) => {
                            tracing::debug!(table = %source.table_name, "iterator expired");
                        }
                        Some(GetRecordsError::TrimmedDataAccessException(_)) => {
                            tracing::error!(table = %source.table_name, shard = %shard_id, "records were trimmed before they were read; reading from the oldest record left");
                            position = Position::TrimHorizon;
                        }
                        _ => {
                            let error = DisplayErrorContext(error);
                            tracing::warn!(table = %source.table_name, %error, "GetRecords failed");
                            pause(&shutdown, options.retry_base).await;
                        }
                    }
                    continue;
                }
            };
            let next = page.next_shard_iterator().map(ToOwned::to_owned);
            let records = page.records();
            if records.is_empty() {
                let Some(next) = next else {
                    tracing::debug!(table = %source.table_name, shard = %shard_id, "shard closed and read to its end");
                    self.progress.update(&shard_id, |p| p.finished = true);
                    return;
                };
                iterator = Some((next, acquired));
                pause(&shutdown, options.idle_delay).await;
                continue;
            }
            let sequence_numbers: Vec<String> = records
                .iter()
                .filter_map(|record| record.dynamodb()?.sequence_number().map(ToOwned::to_owned))
                .collect();
            let event = match lambda_event(records, source) {
                Ok(event) => event,
                Err(error) => {
                    // Cannot happen with records DynamoDB produced; retrying keeps the record.
                    tracing::error!(table = %source.table_name, "{error:#}");
                    pause(&shutdown, options.retry_cap).await;
                    continue;
                }
            };
            let response = self.handler.handle(event).await;
            let failed_at = response
                .batch_item_failures
                .first()
                .map(|failure| failure.item_identifier.clone().unwrap_or_default());
            let Some(failed) = failed_at else {
                failures = 0;
                failing = None;
                if let Some(last) = sequence_numbers.last() {
                    position = Position::After(last.clone());
                    self.progress
                        .update(&shard_id, |p| p.last_processed = Some(last.clone()));
                }
                iterator = next.map(|next| (next, acquired));
                continue;
            };
            // An identifier outside the batch fails the whole batch, as on Lambda.
            let index = sequence_numbers
                .iter()
                .position(|sequence| *sequence == failed)
                .unwrap_or(0);
            let Some(resume) = sequence_numbers.get(index).cloned() else {
                continue;
            };
            if index > 0 {
                let done = sequence_numbers[index - 1].clone();
                self.progress
                    .update(&shard_id, |p| p.last_processed = Some(done));
            }
            if failing.as_ref() != Some(&resume) {
                failures = 0;
                failing = Some(resume.clone());
            }
            failures += 1;
            if failures > options.max_retry_attempts {
                match self.give_up(&shard_id, &records[index], failures).await {
                    Ok(()) => {
                        tracing::error!(
                            table = %source.table_name,
                            shard = %shard_id,
                            sequence_number = %resume,
                            attempts = failures,
                            "retries exhausted; the record's coordinates are on the stream-failures \
                             queue (`cargo roster dlq list`) and the shard moves on"
                        );
                        failures = 0;
                        position = Position::After(resume.clone());
                        self.progress.update(&shard_id, |p| {
                            p.last_processed = Some(resume);
                            p.given_up += 1;
                        });
                        continue;
                    }
                    Err(error) => tracing::error!(
                        table = %source.table_name,
                        "{error:#}; the record is retried instead"
                    ),
                }
            }
            let delay = backoff(failures, options.retry_base, options.retry_cap);
            tracing::warn!(
                table = %source.table_name,
                sequence_number = %resume,
                attempt = failures,
                "batch failed; retrying from the failed record in {delay:?}"
            );
            position = Position::At(resume);
            pause(&shutdown, delay).await;
        }
    }

    /// A fresh iterator at `position`; `None` when the shard is no longer in the stream.
    async fn shard_iterator(
        &self,
        shard_id: &str,
        position: &Position,
    ) -> Result<Option<String>, IteratorError> {
        match shard_iterator(&self.client, &self.source.stream_arn, shard_id, position).await {
            Ok(iterator) => Ok(Some(iterator)),
            Err(error) => match error.as_service_error() {
                Some(GetShardIteratorError::ResourceNotFoundException(_)) => Ok(None),
                Some(GetShardIteratorError::TrimmedDataAccessException(_)) => {
                    Err(IteratorError::Trimmed)
                }
                _ => Err(IteratorError::Other(anyhow::anyhow!(
                    "getting a shard iterator: {}",
                    DisplayErrorContext(error)
                ))),
            },
        }
    }

    /// Sends the record's coordinates to the failure queue, in the shape Lambda's on-failure
    /// destination gets for a stream (`DDBStreamBatchInfo`).
    async fn give_up(&self, shard_id: &str, record: &Record, attempts: u32) -> Result<()> {
        let failures = self
            .failures
            .as_ref()
            .context("no stream-failures queue is configured")?;
        let change = record
            .dynamodb()
            .context("a stream record without a change")?;
        let sequence = change.sequence_number().unwrap_or_default();
        let arrival = change
            .approximate_creation_date_time()
            .and_then(|time| SystemTime::try_from(*time).ok())
            .map(|time| chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339());
        let body = FailureRecord {
            request_context: RequestContext {
                request_id: uuid::Uuid::new_v4().to_string(),
                function_arn: self.source.function_name.clone(),
                condition: "RetryAttemptsExhausted".to_owned(),
                approximate_invoke_count: attempts,
            },
            version: "1.0".to_owned(),
            timestamp: chrono::Utc::now().to_rfc3339(),
            batch: BatchInfo {
                shard_id: shard_id.to_owned(),
                start_sequence_number: sequence.to_owned(),
                end_sequence_number: sequence.to_owned(),
                approximate_arrival_of_first_record: arrival.clone(),
                approximate_arrival_of_last_record: arrival,
                batch_size: 1,
                stream_arn: self.source.stream_arn.clone(),
            },
        };
        failures
            .client
            .send_message()
            .queue_url(&failures.queue_url)
            .message_body(serde_json::to_string(&body)?)
            .send()
            .await
            .context("sending a record's coordinates to the stream-failures queue")?;
        Ok(())
    }
}

enum IteratorError {
    Trimmed,
    Other(anyhow::Error),
}

/// What Lambda sends a stream mapping's on-failure destination, in the fields Roster reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
    pub version: String,
    pub timestamp: String,
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: BatchInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    pub request_id: String,
    pub function_arn: String,
    pub condition: String,
    pub approximate_invoke_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    #[serde(default)]
    pub approximate_arrival_of_first_record: Option<String>,
    #[serde(default)]
    pub approximate_arrival_of_last_record: Option<String>,
    pub batch_size: u32,
    pub stream_arn: String,
}

async fn shards(client: &Client, stream_arn: &str) -> Result<Vec<Shard>> {
    let mut shards = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start)
            .send()
            .await
            .context("describing the stream")?;
        let description = page.stream_description();
        shards.extend(
            description
                .map(|d| d.shards())
                .unwrap_or_default()
                .iter()
                .filter_map(|shard| {
                    Some(Shard {
                        id: shard.shard_id()?.to_owned(),
                        parent: shard.parent_shard_id().map(ToOwned::to_owned),
                    })
                }),
        );
        start = description
            .and_then(|d| d.last_evaluated_shard_id())
            .map(ToOwned::to_owned);
        if start.is_none() {
            return Ok(shards);
        }
    }
}

/// The shard ids of a stream.
pub async fn shard_ids(client: &Client, stream_arn: &str) -> Result<Vec<String>> {
    Ok(shards(client, stream_arn)
        .await?
        .into_iter()
        .map(|shard| shard.id)
        .collect())
}

/// Where to read a shard from.
#[derive(Debug, Clone)]
pub enum Position {
    TrimHorizon,
    At(String),
    After(String),
}

/// A fresh iterator of `shard_id` at `position`.
pub async fn shard_iterator(
    client: &Client,
    stream_arn: &str,
    shard_id: &str,
    position: &Position,
) -> Result<String, SdkError<GetShardIteratorError>> {
    let request = client
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard_id);
    let request = match position {
        Position::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        Position::At(sequence) => request
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(sequence),
        Position::After(sequence) => request
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence),
    };
    Ok(request
        .send()
        .await?
        .shard_iterator()
        .map(ToOwned::to_owned)
        .unwrap_or_default())
}

/// How long the oldest record the poller has not yet handled has been waiting, read with a
/// fresh iterator from each shard's position (so a reader stuck on a dead iterator chain
/// cannot hide it). `None` when every record has been handled.
pub async fn oldest_unprocessed(
    client: &Client,
    stream_arn: &str,
    progress: &StreamProgress,
) -> Result<Option<Duration>> {
    let known = progress.shards();
    let mut oldest: Option<Duration> = None;
    for shard in shard_ids(client, stream_arn).await? {
        let position = match known.get(&shard) {
            Some(ShardProgress { finished: true, .. }) => continue,
            Some(ShardProgress {
                last_processed: Some(last),
                ..
            }) => Position::After(last.clone()),
            _ => Position::TrimHorizon,
        };
        let iterator = shard_iterator(client, stream_arn, &shard, &position)
            .await
            .context("getting a shard iterator")?;
        let page = client
            .get_records()
            .shard_iterator(iterator)
            .limit(1)
            .send()
            .await
            .context("reading the stream")?;
        let waiting = page
            .records()
            .first()
            .and_then(|record| record.dynamodb()?.approximate_creation_date_time())
            .and_then(|created| SystemTime::try_from(*created).ok())
            .map(|created| created.elapsed().unwrap_or_default());
        oldest = oldest.max(waiting);
    }
    Ok(oldest)
}

async fn pause(shutdown: &CancellationToken, delay: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(delay) => {}
    }
}

/// Reads the records from `start` to `end` (inclusive) of one shard, for a replay.
pub async fn read_range(
    client: &Client,
    stream_arn: &str,
    shard_id: &str,
    start: &str,
    end: &str,
) -> Result<Vec<Record>> {
    let end_number: u128 = end.parse().context("a sequence number")?;
    let mut iterator = Some(
        shard_iterator(client, stream_arn, shard_id, &Position::At(start.to_owned()))
            .await
            .context("getting a shard iterator (the records may be older than the stream's 24-hour retention)")?,
    );
    let mut records = Vec::new();
    while let Some(current) = iterator.take() {
        let page = client
            .get_records()
            .shard_iterator(current)
            .send()
            .await
            .context("reading the stream")?;
        if page.records().is_empty() {
            break;
        }
        for record in page.records() {
            let number: u128 = record
                .dynamodb()
                .and_then(|change| change.sequence_number())
                .unwrap_or_default()
                .parse()
                .unwrap_or(u128::MAX);
            if number > end_number {
                return Ok(records);
            }
            records.push(record.clone());
            if number == end_number {
                return Ok(records);
            }
        }
        iterator = page.next_shard_iterator().map(ToOwned::to_owned);
    }
    Ok(records)
}

/// The event Lambda would deliver for these records, built as Lambda's JSON and parsed by
/// `aws_lambda_events`, so handlers see exactly what they see on AWS.
pub fn lambda_event(records: &[Record], source: &StreamSource) -> Result<StreamEvent> {
    let records: Vec<Value> = records
        .iter()
        .map(|record| lambda_record(record, source))
        .collect::<Result<_>>()?;
    Ok(serde_json::from_value(json!({ "Records": records }))?)
}

fn lambda_record(record: &Record, source: &StreamSource) -> Result<Value> {
    let change = record
        .dynamodb()
        .context("stream record without a change")?;
    let image = |image: Option<&std::collections::HashMap<String, _>>| -> Result<Option<Value>> {
        image
            .map(|image| {
                let item = serde_dynamo::Item::from(image.clone());
                serde_json::to_value(item).context("converting an image")
            })
            .transpose()
    };
    let mut dynamodb = json!({
        // Lambda sends whole seconds; moto sends fractions (see shared/notes/local-aws.md).
        "ApproximateCreationDateTime": change
            .approximate_creation_date_time()
            .map(|time| time.secs())
            .unwrap_or_default(),
        "SequenceNumber": change.sequence_number(),
        "SizeBytes": change.size_bytes().unwrap_or_default(),
        "StreamViewType": change.stream_view_type().map(|view| view.as_str()),
    });
    for (field, value) in [
        ("Keys", image(change.keys())?),
        ("NewImage", image(change.new_image())?),
        ("OldImage", image(change.old_image())?),
    ] {
        if let Some(value) = value {
            dynamodb[field] = value;
        }
    }
    Ok(json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": source.region,
        "eventSourceARN": source.stream_arn,
        "dynamodb": dynamodb,
    }))
}

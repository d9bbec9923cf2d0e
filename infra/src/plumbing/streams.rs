//! Local event source mapping for DynamoDB Streams.
//!
//! Like Lambda's: records of a shard reach the handler in order, in batches; when the handler
//! names a failed record, the shard is read again from that record after a backoff, so nothing
//! is skipped and nothing after a failure is handled out of order. Retries go on until the
//! handler succeeds (Lambda's default for streams); every retry is logged.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use roster_platform::lambda::StreamBatchHandler;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use roster_platform::events::backoff;

/// The stream of one table.
#[derive(Debug, Clone)]
pub struct StreamSource {
    pub table_name: String,
    pub stream_arn: String,
    pub region: String,
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
}

impl Default for StreamPollOptions {
    fn default() -> Self {
        Self {
            batch_size: 100,
            idle_delay: Duration::from_millis(100),
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_secs(5),
            shard_refresh: Duration::from_secs(10),
        }
    }
}

/// Polls the stream until `shutdown` is cancelled.
pub async fn run(
    client: Client,
    source: StreamSource,
    handler: Arc<dyn StreamBatchHandler>,
    options: StreamPollOptions,
    shutdown: CancellationToken,
) {
    let mut started = HashSet::new();
    let mut readers = JoinSet::new();
    loop {
        match shard_ids(&client, &source.stream_arn).await {
            Ok(shards) => {
                for shard in shards {
                    if started.insert(shard.clone()) {
                        readers.spawn(read_shard(
                            client.clone(),
                            source.clone(),
                            shard,
                            Arc::clone(&handler),
                            options,
                            shutdown.clone(),
                        ));
                    }
                }
            }
            Err(error) => tracing::warn!(table = %source.table_name, "{error:#}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(options.shard_refresh) => {}
        }
    }
    readers.join_all().await;
}

async fn shard_ids(client: &Client, stream_arn: &str) -> Result<Vec<String>> {
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
                .filter_map(|shard| shard.shard_id().map(ToOwned::to_owned)),
        );
        start = description
            .and_then(|d| d.last_evaluated_shard_id())
            .map(ToOwned::to_owned);
        if start.is_none() {
            return Ok(shards);
        }
    }
}

/// Where to read a shard from.
#[derive(Debug, Clone)]
enum Position {
    TrimHorizon,
    At(String),
    After(String),
}

async fn read_shard(
    client: Client,
    source: StreamSource,
    shard_id: String,
    handler: Arc<dyn StreamBatchHandler>,
    options: StreamPollOptions,
    shutdown: CancellationToken,
) {
    let mut position = Position::TrimHorizon;
    let mut iterator: Option<String> = None;
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        let current = match iterator.take() {
            Some(iterator) => iterator,
            None => match shard_iterator(&client, &source, &shard_id, &position).await {
                Ok(iterator) => iterator,
                Err(error) => {
                    tracing::warn!(table = %source.table_name, "{error:#}");
                    pause(&shutdown, options.retry_cap).await;
                    continue;
                }
            },
        };
        let page = match client
            .get_records()
            .shard_iterator(current)
            .limit(options.batch_size)
            .send()
            .await
        {
            Ok(page) => page,
            Err(error) => {
                let error = aws_sdk_dynamodbstreams::error::DisplayErrorContext(error);
                tracing::warn!(table = %source.table_name, %error, "GetRecords failed");
                pause(&shutdown, options.retry_base).await;
                continue;
            }
        };
        let next = page.next_shard_iterator().map(ToOwned::to_owned);
        let records = page.records();
        if records.is_empty() {
            let Some(next) = next else {
                tracing::debug!(table = %source.table_name, shard = %shard_id, "shard closed");
                return;
            };
            iterator = Some(next);
            pause(&shutdown, options.idle_delay).await;
            continue;
        }
        let sequence_numbers: Vec<String> = records
            .iter()
            .filter_map(|record| record.dynamodb()?.sequence_number().map(ToOwned::to_owned))
            .collect();
        let event = match lambda_event(records, &source) {
            Ok(event) => event,
            Err(error) => {
                // Cannot happen with records DynamoDB produced; retrying keeps the record.
                tracing::error!(table = %source.table_name, "{error:#}");
                pause(&shutdown, options.retry_cap).await;
                continue;
            }
        };
        let response = handler.handle(event).await;
        let failed_at = response
            .batch_item_failures
            .first()
            .map(|failure| failure.item_identifier.clone().unwrap_or_default());
        match failed_at {
            None => {
                failures = 0;
                if let Some(last) = sequence_numbers.last() {
                    position = Position::After(last.clone());
                }
                iterator = next;
            }
            Some(failed) => {
                failures += 1;
                // An identifier outside the batch fails the whole batch, as on Lambda.
                let resume = if sequence_numbers.contains(&failed) {
                    failed
                } else {
                    sequence_numbers.first().cloned().unwrap_or(failed)
                };
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
    }
}

async fn shard_iterator(
    client: &Client,
    source: &StreamSource,
    shard_id: &str,
    position: &Position,
) -> Result<String> {
    let request = client
        .get_shard_iterator()
        .stream_arn(&source.stream_arn)
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
    request
        .send()
        .await
        .context("getting a shard iterator")?
        .shard_iterator()
        .map(ToOwned::to_owned)
        .context("GetShardIterator returned no iterator")
}

async fn pause(shutdown: &CancellationToken, delay: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(delay) => {}
    }
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

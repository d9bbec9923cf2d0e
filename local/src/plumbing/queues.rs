//! Local event source mapping for SQS: drains a subscriber's queue into its handler.
//!
//! Like Lambda's: messages arrive in batches of up to 10; those the handler reports as failed
//! stay on the queue and come back (here after a short backoff instead of the full visibility
//! timeout); the rest are deleted. A message that keeps failing moves to the dead-letter queue
//! through the queue's redrive policy after `maxReceiveCount` receives.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use roster_platform::lambda::QueueBatchHandler;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One subscriber's queue.
#[derive(Debug, Clone)]
pub struct QueueSource {
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
}

#[derive(Debug, Clone, Copy)]
pub struct QueuePollOptions {
    pub batch_size: i32,
    /// Long-poll wait of each ReceiveMessage.
    pub wait: Duration,
    /// How long a failed message stays invisible before it is delivered again.
    pub retry_delay: Duration,
}

impl Default for QueuePollOptions {
    fn default() -> Self {
        Self {
            batch_size: 10,
            wait: Duration::from_secs(1),
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// Drains the queue until `shutdown` is cancelled.
pub async fn run(
    client: Client,
    source: QueueSource,
    handler: Arc<dyn QueueBatchHandler>,
    options: QueuePollOptions,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let received = tokio::select! {
            () = shutdown.cancelled() => break,
            received = client
                .receive_message()
                .queue_url(&source.queue_url)
                .max_number_of_messages(options.batch_size)
                .wait_time_seconds(options.wait.as_secs().try_into().unwrap_or(1))
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send() => received,
        };
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                let error = aws_sdk_sqs::error::DisplayErrorContext(error);
                tracing::warn!(queue = %source.queue_url, %error, "ReceiveMessage failed");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if messages.is_empty() {
            continue;
        }
        if let Err(error) = deliver(&client, &source, handler.as_ref(), options, messages).await {
            tracing::warn!(queue = %source.queue_url, "{error:#}");
        }
    }
}

async fn deliver(
    client: &Client,
    source: &QueueSource,
    handler: &dyn QueueBatchHandler,
    options: QueuePollOptions,
    messages: Vec<Message>,
) -> Result<()> {
    let event = lambda_event(&messages, source)?;
    let response = handler.handle(event).await;
    let ids: HashSet<&str> = messages.iter().filter_map(|m| m.message_id()).collect();
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    // An identifier that names no message of the batch fails the whole batch, as on Lambda.
    let whole_batch_failed = failed.iter().any(|id| !ids.contains(id));
    let mut done = Vec::new();
    for message in &messages {
        let id = message.message_id().unwrap_or_default();
        let receipt = message.receipt_handle().unwrap_or_default();
        if whole_batch_failed || failed.contains(id) {
            client
                .change_message_visibility()
                .queue_url(&source.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(options.retry_delay.as_secs().try_into().unwrap_or(1))
                .send()
                .await
                .context("scheduling a failed message for redelivery")?;
        } else {
            done.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(receipt)
                    .build()?,
            );
        }
    }
    if !done.is_empty() {
        let deleted = client
            .delete_message_batch()
            .queue_url(&source.queue_url)
            .set_entries(Some(done))
            .send()
            .await
            .context("deleting handled messages")?;
        if !deleted.failed().is_empty() {
            // They come back and are handled again: subscribers are idempotent.
            tracing::warn!(queue = %source.queue_url, failed = deleted.failed().len(), "some handled messages were not deleted");
        }
    }
    Ok(())
}

/// The event Lambda would deliver for these messages, built as Lambda's JSON and parsed by
/// `aws_lambda_events`.
pub fn lambda_event(messages: &[Message], source: &QueueSource) -> Result<SqsEvent> {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: serde_json::Map<String, Value> = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.as_str())))
                .collect();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "md5OfBody": message.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": source.queue_arn,
                "awsRegion": source.region,
            })
        })
        .collect();
    Ok(serde_json::from_value(json!({ "Records": records }))?)
}

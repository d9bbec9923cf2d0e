//! The subscribers' dead-letter queues on a stack: what is in them, and sending it back.
//!
//! A message lands in a dead-letter queue after its subscriber failed it `maxReceiveCount`
//! times. Once the cause is fixed, a redrive moves each message back to its subscriber's
//! queue (send, then delete: a crash in between delivers it twice, never loses it).

use anyhow::{Context, Result};
use aws_sdk_sqs::Client;
use serde::Serialize;
use serde_json::Value;

use crate::resources::{Names, SUBSCRIBERS, SubscriberSpec};

/// One dead letter, as much of it as is safe to show: which event it is, never its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub subscriber: &'static str,
    pub message_id: String,
    pub source: Option<String>,
    pub detail_type: Option<String>,
    pub event_id: Option<String>,
}

async fn queue_url(sqs: &Client, name: &str) -> Result<String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .with_context(|| format!("finding queue {name}"))?
        .queue_url
        .with_context(|| format!("queue {name} has no URL"))
}

/// Up to ten messages of a queue, hidden from other readers for 30 s.
async fn receive(sqs: &Client, url: &str) -> Result<Vec<aws_sdk_sqs::types::Message>> {
    Ok(sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(30)
        .send()
        .await
        .context("reading a dead-letter queue")?
        .messages
        .unwrap_or_default())
}

fn chosen(only: Option<&str>) -> Result<Vec<&'static SubscriberSpec>> {
    let chosen: Vec<_> = SUBSCRIBERS
        .into_iter()
        .filter(|spec| only.is_none_or(|name| name == spec.name))
        .collect();
    if chosen.is_empty() {
        let known: Vec<_> = SUBSCRIBERS.iter().map(|spec| spec.name).collect();
        anyhow::bail!(
            "no subscriber {:?}; one of {known:?}",
            only.unwrap_or_default()
        );
    }
    Ok(chosen)
}

/// Every dead letter of the stack (or of one subscriber). A peek: the messages are hidden
/// while they are read and made visible again right after.
pub async fn list(sqs: &Client, names: &Names, only: Option<&str>) -> Result<Vec<DeadLetter>> {
    let mut letters = Vec::new();
    for spec in chosen(only)? {
        let url = queue_url(sqs, &names.dead_letter_queue(spec)).await?;
        let mut receipts = Vec::new();
        loop {
            let messages = receive(sqs, &url).await?;
            if messages.is_empty() {
                break;
            }
            for message in &messages {
                let event: Value = message
                    .body()
                    .and_then(|body| serde_json::from_str(body).ok())
                    .unwrap_or_default();
                receipts.extend(message.receipt_handle().map(ToOwned::to_owned));
                let text = |value: &Value| value.as_str().map(ToOwned::to_owned);
                letters.push(DeadLetter {
                    subscriber: spec.name,
                    message_id: message.message_id().unwrap_or_default().to_owned(),
                    source: text(&event["source"]),
                    detail_type: text(&event["detail-type"]),
                    event_id: text(&event["detail"]["eventId"]),
                });
            }
        }
        for receipt in receipts {
            sqs.change_message_visibility()
                .queue_url(&url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await
                .context("showing a peeked dead letter again")?;
        }
    }
    Ok(letters)
}

/// Moves every dead letter (of one subscriber, or all) back to its subscriber's queue.
/// Returns how many moved.
pub async fn redrive(sqs: &Client, names: &Names, only: Option<&str>) -> Result<usize> {
    let mut moved = 0;
    for spec in chosen(only)? {
        let dead = queue_url(sqs, &names.dead_letter_queue(spec)).await?;
        let live = queue_url(sqs, &names.queue(spec)).await?;
        loop {
            let messages = receive(sqs, &dead).await?;
            if messages.is_empty() {
                break;
            }
            for message in &messages {
                sqs.send_message()
                    .queue_url(&live)
                    .message_body(message.body().unwrap_or_default())
                    .send()
                    .await
                    .context("sending a dead letter back")?;
                sqs.delete_message()
                    .queue_url(&dead)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .context("deleting a redriven dead letter")?;
                moved += 1;
            }
        }
    }
    Ok(moved)
}

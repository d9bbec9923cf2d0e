//! What the event plumbing gave up on, and sending it back once the cause is fixed.
//!
//! - A subscriber's dead-letter queue holds a message its subscriber failed `maxReceiveCount`
//!   times. A redrive moves each back to the subscriber's queue (send, then delete: a crash in
//!   between delivers it twice, never loses it).
//! - The stream-failures queue holds the coordinates of a stream record a projector failed
//!   after its mapping's `MaximumRetryAttempts` (Lambda's on-failure destination; the local
//!   poller writes the same). A replay reads the record back from the stream and runs it
//!   through the same projector; the message goes once its events are out. Stream records
//!   live 24 hours: an older one cannot be replayed, and the replay says so.

use anyhow::{Context, Result};
use aws_sdk_sqs::Client;
use serde::Serialize;
use serde_json::Value;

use roster_infra::resources::{
    AUTH_TABLE, Names, SUBSCRIBERS, SubscriberSpec, TableSpec, USERS_TABLE,
};
use roster_local::plumbing::streams::{FailureRecord, StreamSource, lambda_event, read_range};

/// The projectors, by the table whose stream they read: names for `dlq list|redrive`.
pub const PROJECTORS: [Projector; 2] = [
    ("auth-projector", &AUTH_TABLE),
    ("users-projector", &USERS_TABLE),
];

/// One dead letter, as much of it as is safe to show: which event it is, never its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub subscriber: &'static str,
    pub message_id: String,
    pub source: Option<String>,
    pub detail_type: Option<String>,
    pub event_id: Option<String>,
    /// For a projector's failure: where the record is in its stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamCoordinates>,
}

/// Where a record a projector gave up on sits in its table's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamCoordinates {
    pub table: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub batch_size: u32,
    /// When the projector gave up (RFC 3339).
    pub given_up_at: String,
}

/// The URL of the queue `name`.
pub(crate) async fn queue_url(sqs: &Client, name: &str) -> Result<String> {
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

/// A projector: its name, and the table whose stream it reads.
type Projector = (&'static str, &'static TableSpec);

/// The subscribers and projectors `only` names (all of them without it).
fn chosen(only: Option<&str>) -> Result<(Vec<&'static SubscriberSpec>, Vec<Projector>)> {
    let subscribers: Vec<_> = SUBSCRIBERS
        .into_iter()
        .filter(|spec| only.is_none_or(|name| name == spec.name))
        .collect();
    let projectors: Vec<_> = PROJECTORS
        .into_iter()
        .filter(|(name, _)| only.is_none_or(|only| only == *name))
        .collect();
    if subscribers.is_empty() && projectors.is_empty() {
        let known: Vec<_> = SUBSCRIBERS
            .iter()
            .map(|spec| spec.name)
            .chain(PROJECTORS.iter().map(|(name, _)| *name))
            .collect();
        anyhow::bail!(
            "no subscriber or projector {:?}; one of {known:?}",
            only.unwrap_or_default()
        );
    }
    Ok((subscribers, projectors))
}

/// The projector of the table a stream ARN belongs to, if it is one of this stack's.
fn projector_of(names: &Names, stream_arn: &str) -> Option<Projector> {
    // arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
    let table = stream_arn.split(":table/").nth(1)?.split('/').next()?;
    PROJECTORS
        .into_iter()
        .find(|(_, spec)| names.table(spec) == table)
}

/// The stream failure a message records, with its projector, if it is one of `projectors`'.
fn failure_of(
    message: &aws_sdk_sqs::types::Message,
    names: &Names,
    projectors: &[Projector],
) -> Option<(FailureRecord, Projector)> {
    let Some(record) = message
        .body()
        .and_then(|body| serde_json::from_str::<FailureRecord>(body).ok())
    else {
        tracing::warn!(message = ?message.message_id(), "not a stream failure record");
        return None;
    };
    let projector =
        projector_of(names, &record.batch.stream_arn).filter(|found| projectors.contains(found))?;
    Some((record, projector))
}

/// Shows a peeked message again.
async fn show_again(sqs: &Client, url: &str, receipts: Vec<String>) -> Result<()> {
    for receipt in receipts {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .context("showing a peeked message again")?;
    }
    Ok(())
}

/// The stream failures of the chosen projectors. A peek, like [`list`].
async fn stream_failures(
    sqs: &Client,
    names: &Names,
    projectors: &[Projector],
) -> Result<Vec<DeadLetter>> {
    if projectors.is_empty() {
        return Ok(Vec::new());
    }
    let url = queue_url(sqs, &names.stream_failures_queue()).await?;
    let mut letters = Vec::new();
    for message in &peek(sqs, &url).await? {
        let Some((record, (projector, spec))) = failure_of(message, names, projectors) else {
            continue;
        };
        letters.push(DeadLetter {
            subscriber: projector,
            message_id: message.message_id().unwrap_or_default().to_owned(),
            source: None,
            detail_type: None,
            event_id: None,
            stream: Some(StreamCoordinates {
                table: names.table(spec),
                shard_id: record.batch.shard_id,
                start_sequence_number: record.batch.start_sequence_number,
                end_sequence_number: record.batch.end_sequence_number,
                batch_size: record.batch.batch_size,
                given_up_at: record.timestamp,
            }),
        });
    }
    Ok(letters)
}

/// Every message of the queue at `url`, read and made visible again right after: a peek.
async fn peek(sqs: &Client, url: &str) -> Result<Vec<aws_sdk_sqs::types::Message>> {
    let mut all = Vec::new();
    loop {
        let messages = receive(sqs, url).await?;
        if messages.is_empty() {
            break;
        }
        all.extend(messages);
    }
    let receipts = all
        .iter()
        .filter_map(|message| message.receipt_handle().map(ToOwned::to_owned))
        .collect();
    show_again(sqs, url, receipts).await?;
    Ok(all)
}

/// Every dead letter of the stack (or of one subscriber). A peek: the messages are hidden
/// while they are read and made visible again right after.
pub async fn list(sqs: &Client, names: &Names, only: Option<&str>) -> Result<Vec<DeadLetter>> {
    let (subscribers, projectors) = chosen(only)?;
    let mut letters = Vec::new();
    for spec in subscribers {
        let url = queue_url(sqs, &names.dead_letter_queue(spec)).await?;
        for message in &peek(sqs, &url).await? {
            let event: Value = message
                .body()
                .and_then(|body| serde_json::from_str(body).ok())
                .unwrap_or_default();
            let text = |value: &Value| value.as_str().map(ToOwned::to_owned);
            letters.push(DeadLetter {
                subscriber: spec.name,
                message_id: message.message_id().unwrap_or_default().to_owned(),
                source: text(&event["source"]),
                detail_type: text(&event["detail-type"]),
                event_id: text(&event["detail"]["eventId"]),
                stream: None,
            });
        }
    }
    letters.extend(stream_failures(sqs, names, &projectors).await?);
    Ok(letters)
}

/// Moves every dead letter (of one subscriber, or all) back to its subscriber's queue, and
/// replays every stream failure (of one projector, or all) through its projector with `sdk`.
/// Returns how many went back, and the stream failures that could not be replayed.
pub async fn redrive(
    sdk: &aws_config::SdkConfig,
    names: &Names,
    only: Option<&str>,
) -> Result<Redriven> {
    let sqs = &Client::new(sdk);
    let (subscribers, projectors) = chosen(only)?;
    let mut moved = 0;
    for spec in subscribers {
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
    let (replayed, failed) = if projectors.is_empty() {
        (0, Vec::new())
    } else {
        replay_stream_failures(sdk, names, &projectors).await?
    };
    Ok(Redriven {
        moved: moved + replayed,
        failed,
    })
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redriven {
    /// Dead letters sent back, and stream records replayed.
    pub moved: usize,
    /// Stream failures left on the queue, each with the reason.
    pub failed: Vec<String>,
}

/// Replays the stream failures of `projectors`: each record is read back from its stream and
/// run through its projector, publishing to the stack's bus; a replayed failure leaves the
/// queue, one that fails again stays.
async fn replay_stream_failures(
    sdk: &aws_config::SdkConfig,
    names: &Names,
    projectors: &[Projector],
) -> Result<(usize, Vec<String>)> {
    use roster_platform::events::EventPublisher;
    use roster_platform::lambda::StreamBatchHandler;
    use roster_projectors::StreamProjector;

    let sqs = Client::new(sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(sdk), names.bus());
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let url = queue_url(&sqs, &names.stream_failures_queue()).await?;
    let (mut replayed, mut failed, mut receipts) = (0, Vec::new(), Vec::new());
    loop {
        let messages = receive(&sqs, &url).await?;
        if messages.is_empty() {
            break;
        }
        for message in &messages {
            let receipt = message.receipt_handle().unwrap_or_default().to_owned();
            let Some((record, (projector, spec))) = failure_of(message, names, projectors) else {
                receipts.push(receipt);
                continue;
            };
            let batch = &record.batch;
            let what = format!(
                "{projector} {}..{}",
                batch.start_sequence_number, batch.end_sequence_number
            );
            let outcome = async {
                let records = read_range(
                    &streams,
                    &batch.stream_arn,
                    &batch.shard_id,
                    &batch.start_sequence_number,
                    &batch.end_sequence_number,
                )
                .await?;
                anyhow::ensure!(
                    !records.is_empty(),
                    "the records are gone from the stream (older than its 24-hour retention)"
                );
                let source = StreamSource {
                    table_name: names.table(spec),
                    stream_arn: batch.stream_arn.clone(),
                    region: region.clone(),
                    function_name: projector.to_owned(),
                };
                let event = lambda_event(&records, &source)?;
                let response = if spec.name == AUTH_TABLE.name {
                    StreamProjector::new(
                        "auth-projector",
                        roster_projectors::auth_table::AuthTableProjection,
                        publisher.clone(),
                    )
                    .handle(event)
                    .await
                } else {
                    StreamProjector::new(
                        "users-projector",
                        roster_projectors::users_table::UsersTableProjection,
                        publisher.clone(),
                    )
                    .handle(event)
                    .await
                };
                anyhow::ensure!(
                    response.batch_item_failures.is_empty(),
                    "the projector failed it again (its log says why)"
                );
                Ok(())
            }
            .await;
            match outcome {
                Ok(()) => {
                    sqs.delete_message()
                        .queue_url(&url)
                        .receipt_handle(&receipt)
                        .send()
                        .await
                        .context("deleting a replayed stream failure")?;
                    replayed += 1;
                }
                Err(error) => {
                    failed.push(format!("{what}: {error:#}"));
                    receipts.push(receipt);
                }
            }
        }
    }
    show_again(&sqs, &url, receipts).await?;
    Ok((replayed, failed))
}

//! Contracts of the batch-driven functions and their Lambda hosting.
//!
//! A stream projector takes a DynamoDB Streams batch and answers which record the batch failed
//! at; a subscriber takes an SQS batch of EventBridge events and answers which messages failed.
//! The same handler value runs under the Lambda runtime and under the local stack's pollers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{LambdaEvent, service_fn};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Consumes one DynamoDB Streams batch. Records are handled in order; the answer names the
/// first record that failed, so the poller resumes there and nothing after it is skipped.
pub trait StreamBatchHandler: Send + Sync + 'static {
    fn handle(&self, event: StreamEvent) -> BoxFuture<'_, DynamoDbEventResponse>;
}

/// Consumes one SQS batch; the answer lists the messages to be delivered again.
pub trait QueueBatchHandler: Send + Sync + 'static {
    fn handle(&self, event: SqsEvent) -> BoxFuture<'_, SqsBatchResponse>;
}

/// A stream answer that retries from `sequence_number` on.
pub fn stream_failure_at(sequence_number: impl Into<String>) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number.into());
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(failure);
    response
}

/// A queue answer that has these message ids delivered again.
pub fn queue_failures(message_ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in message_ids {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Runs a stream handler under the Lambda runtime.
pub async fn run_stream_handler<H: StreamBatchHandler>(
    handler: H,
) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, lambda_runtime::Error>(handler.handle(event.payload).await) }
    }))
    .await
}

/// Runs a queue handler under the Lambda runtime.
pub async fn run_queue_handler<H: QueueBatchHandler>(
    handler: H,
) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, lambda_runtime::Error>(handler.handle(event.payload).await) }
    }))
    .await
}

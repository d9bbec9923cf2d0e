//! What AWS runs between the functions, done locally with the same APIs Lambda uses:
//! a DynamoDB Streams poller feeding each table's projector (the event source mapping), and an
//! SQS poller feeding each subscriber. Both build the exact JSON Lambda would deliver, parse it
//! with `aws_lambda_events`, and honour the handlers' partial batch failures. A watchdog
//! makes any stall of them visible within seconds.

pub mod queues;
pub mod streams;
pub mod watch;

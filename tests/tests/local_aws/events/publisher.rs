//! The EventBridge publisher against the local endpoint: every event arrives, on the queue of
//! the rule that matches its source and on no other.

use std::collections::BTreeSet;
use std::time::Duration;

use roster_infra::resources::{AUTH_SUBSCRIBER, USER_SUBSCRIBER};
use roster_platform::events::{EventPublisher, OutgoingEvent};
use roster_testkit::harness;
use serde_json::{Value, json};

use crate::support::receive_bodies;

#[tokio::test]
async fn publishes_every_event_across_several_calls_to_the_matching_rule_only() {
    let stack = harness::provisioned().await;
    let publisher = EventPublisher::new(
        aws_sdk_eventbridge::Client::new(&stack.sdk),
        stack.provisioned.bus_name.clone(),
    );
    let events: Vec<_> = (0..25)
        .map(|n| OutgoingEvent {
            source: USER_SUBSCRIBER.sources[0].to_owned(),
            // A detail type the rule delivers (the rule filters by detail type).
            detail_type: USER_SUBSCRIBER.detail_types[0].to_owned(),
            detail: json!({ "n": n }).to_string(),
            resources: vec![],
        })
        .collect();
    publisher.publish(&events).await.unwrap();

    let queue = &stack.provisioned.subscriber(&USER_SUBSCRIBER).queue_url;
    let bodies = receive_bodies(&stack.sdk, queue, 25, Duration::from_secs(20)).await;
    let mut received = BTreeSet::new();
    for body in &bodies {
        let envelope: Value = serde_json::from_str(body).unwrap();
        assert_eq!(envelope["detail-type"], USER_SUBSCRIBER.detail_types[0]);
        assert_eq!(envelope["source"], USER_SUBSCRIBER.sources[0]);
        received.insert(envelope["detail"]["n"].as_i64().unwrap());
    }
    assert_eq!(bodies.len(), 25, "each event once");
    assert_eq!(received, (0..25).collect::<BTreeSet<_>>());

    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let other = sqs
        .receive_message()
        .queue_url(&stack.provisioned.subscriber(&AUTH_SUBSCRIBER).queue_url)
        .send()
        .await
        .unwrap();
    assert!(
        other.messages().is_empty(),
        "the other subscriber's rule does not match"
    );
}

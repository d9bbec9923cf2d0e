//! `roster-local dlq` against a running local stack: a dead letter is listed (which event,
//! never its data), redriven to its subscriber, and gone from the dead-letter queue.

use std::path::Path;
use std::process::Command;

use roster_local::resources::{BADGE_RULES, Names};
use roster_local::testing;
use serde_json::{Value, json};

fn dlq(state_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_roster-local"))
        .arg("dlq")
        .args(args)
        .env("ROSTER_STATE_DIR", state_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn lists_and_redrives_dead_letters() {
    let (stack, state_dir) = testing::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sqs = aws_sdk_sqs::Client::new(&testing::sdk().await);
    let dead = sqs
        .get_queue_url()
        .queue_name(Names::new(facts.prefix.clone()).dead_letter_queue(&BADGE_RULES))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // An activation of a user that no longer exists: the rules ignore it once it is redriven.
    let event = json!({
        "version": "0", "id": "e-1", "detail-type": "UserActivated", "source": "roster.user",
        "time": "2026-11-25T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventId": "UserActivated-gone-v2", "version": 1, "occurredAt": "t",
                   "data": {"userId": "gone", "email": "gone@example.com", "activatedAt": "t", "version": 2}}
    });
    sqs.send_message()
        .queue_url(&dead)
        .message_body(event.to_string())
        .send()
        .await
        .unwrap();

    let listed: Value = serde_json::from_str(&dlq(&state_dir, &["list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["subscriber"], "badge-rules");
    assert_eq!(listed[0]["detailType"], "UserActivated");
    assert_eq!(listed[0]["eventId"], "UserActivated-gone-v2");
    assert!(
        !listed.to_string().contains("gone@example.com"),
        "no event data"
    );

    assert!(dlq(&state_dir, &["redrive", "badge-rules"]).contains("Sent 1"));
    let listed: Value = serde_json::from_str(&dlq(&state_dir, &["list", "--json"])).unwrap();
    assert_eq!(listed, json!([]));

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

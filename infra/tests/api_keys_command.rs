//! `roster-api-keys` against a running local stack: create prints a key once, list shows its
//! record without it, rotate and revoke change the stored set.

use std::path::Path;
use std::process::Command;

use roster_local::testing;
use serde_json::Value;

fn keys(state_dir: &Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_roster-api-keys"))
        .arg("--local")
        .arg(state_dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn create_list_rotate_and_revoke_against_the_local_stack() {
    let (stack, state_dir) = testing::running_stack().await.unwrap();

    let created = keys(
        &state_dir,
        &[
            "create",
            "--caller",
            "cli-test",
            "--scopes",
            "auth,users:read",
        ],
    );
    let key = created["apiKey"].as_str().unwrap().to_owned();
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    assert!(key.contains(&id));

    let listed = keys(&state_dir, &["list"]).to_string();
    assert!(listed.contains(&id), "list shows the new record");
    assert!(
        listed.contains("local-developer"),
        "and the stack's development key"
    );
    assert!(!listed.contains(&key), "but never a key");

    let rotated = keys(
        &state_dir,
        &["rotate", "--caller", "cli-test", "--grace-hours", "2"],
    );
    assert_eq!(
        rotated["record"]["scopes"],
        serde_json::json!(["auth", "users:read"])
    );

    let revoked = keys(&state_dir, &["revoke", &id]);
    assert_eq!(revoked["id"], id.as_str());
    let listed = keys(&state_dir, &["list"]).to_string();
    assert!(!listed.contains(&id));

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

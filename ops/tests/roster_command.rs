//! The `roster` operations command against a running local stack, as an operator runs it:
//! - `api-keys`: create prints a key once, list shows its record without it, rotate and
//!   revoke change the stored set; `--clients` and `--source-systems` bind a key (frontends by
//!   name), keys without bindings are listed as `any` with a warning, a rotation keeps them;
//! - `users`: list pages through a listing with `GET /users`'s filters and refusals, get and
//!   find show a profile, delete removes it and (by event) its sign-in;
//! - `events tail`: every event on the bus is printed live, and its rule and queue are gone
//!   once it stops;
//! - `dlq`: a dead letter is listed (which event, never its data), redriven to its
//!   subscriber, and gone from the dead-letter queue; a stream record a projector gave up on
//!   is listed by its coordinates and replayed through the projector;
//! - `status`: each poller's lag and each dead-letter queue's depth; a stall fails it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roster_client::{AuthApi, LoginRequest, RegisterRequest, UserApi};
use roster_infra::resources::{BADGE_RULES, Names};
use roster_local::clients::await_profile;
use roster_local::stack::LocalFacts;
use roster_testkit::{harness, probes};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

fn roster(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("--local")
        .arg(state_dir)
        .args(args)
        .output()
        .unwrap()
}

/// A command that succeeds, and what it printed.
fn succeed(state_dir: &Path, args: &[&str]) -> String {
    let output = roster(state_dir, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Both APIs of the stack, as a caller with the development key sees them.
fn clients(facts: &LocalFacts) -> (AuthApi, UserApi) {
    let http = reqwest::Client::new();
    (
        facts.auth_api(http.clone()).unwrap(),
        facts.user_api(http).unwrap(),
    )
}

/// Registers a user and waits for the profile; returns the id and the activation code its
/// mail carries.
async fn register(
    (auth, users): &(AuthApi, UserApi),
    facts: &LocalFacts,
    email: &str,
    name: &str,
    password: &str,
) -> (String, String) {
    let request = RegisterRequest::new(email, name, password);
    let registered = auth.register(&request, None).await.unwrap();
    await_profile(users, &registered.id, Duration::from_secs(20))
        .await
        .unwrap();
    let code = roster_local::mailbox::activation_code(facts, email, Duration::from_secs(20))
        .await
        .unwrap();
    (registered.id, code)
}

fn keys(state_dir: &Path, args: &[&str]) -> Value {
    let args = [&["--json", "api-keys"], args].concat();
    serde_json::from_str(&succeed(state_dir, &args)).unwrap()
}

#[tokio::test]
async fn create_list_rotate_and_revoke_against_the_local_stack() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();

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

#[tokio::test]
async fn api_keys_are_created_bound_to_frontends_and_source_systems() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let (account_web, partner) = (
        facts.client_ids["account-web"].clone(),
        facts.client_ids["partner-portal"].clone(),
    );

    // Frontends by name (or a client id), and source systems: stored as given, no warning.
    let args = [
        "--json",
        "api-keys",
        "create",
        "--caller",
        "bound-cli",
        "--scopes",
        "auth",
        "--clients",
        &format!("partner-portal,{account_web}"),
        "--source-systems",
        "web-bff",
    ];
    let output = roster(&state_dir, &args);
    assert!(output.status.success(), "{output:?}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("warning"),
        "{output:?}"
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["record"]["clients"], json!([partner, account_web]));
    assert_eq!(created["record"]["sourceSystems"], json!(["web-bff"]));
    let key = created["apiKey"].as_str().unwrap().to_owned();
    let id = created["record"]["id"].as_str().unwrap().to_owned();

    // The key the command made is held to its bindings by the running Auth API.
    let http = reqwest::Client::new();
    let register = |source: &'static str| {
        http.post(format!("{}/auth/register", facts.auth_url))
            .header("x-api-key", &key)
            .json(&json!({"email": format!("{source}@example.com"), "name": format!("from_{}", source.replace('-', "_")), "password": "Bound-Cli-Secret-1", "sourceSystem": source}))
            .send()
    };
    let refused = register("web-shop").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        register("web-bff").await.unwrap().status(),
        StatusCode::CREATED
    );

    // A name that is no frontend, and an empty list, are refused; nothing is created.
    for (clients, reason) in [
        ("acount-web", "not an app client of this target"),
        ("", "needs at least one value"),
    ] {
        let output = roster(
            &state_dir,
            &[
                "api-keys",
                "create",
                "--caller",
                "typo",
                "--scopes",
                "auth",
                "--clients",
                clients,
            ],
        );
        assert!(!output.status.success(), "{clients:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{clients:?}: {stderr}");
    }

    // Without bindings: created, with a warning that says what the key may do.
    let output = roster(
        &state_dir,
        &[
            "api-keys", "create", "--caller", "free-cli", "--scopes", "auth",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("unrestricted"),
        "{stderr}"
    );

    // The list names frontends, shows unrestricted keys as `any` and warns about them (the
    // development key among them).
    let output = roster(&state_dir, &["api-keys", "list"]);
    assert!(output.status.success(), "{output:?}");
    let listed = String::from_utf8_lossy(&output.stdout);
    let bound_line = listed.lines().find(|line| line.starts_with(&id)).unwrap();
    assert!(
        bound_line.contains("partner-portal,account-web") && bound_line.contains("web-bff"),
        "{bound_line}"
    );
    let developer_line = listed
        .lines()
        .find(|line| line.contains("local-developer-unrestricted"))
        .unwrap();
    assert!(developer_line.contains("any"), "{developer_line}");
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(
        warnings.contains("local-developer-unrestricted") && warnings.contains("free-cli"),
        "{warnings}"
    );
    assert!(!warnings.contains("bound-cli"), "{warnings}");

    // A rotation keeps the bindings.
    let rotated = keys(&state_dir, &["rotate", "--caller", "bound-cli"]);
    assert_eq!(rotated["record"]["clients"], json!([partner, account_web]));
    assert_eq!(rotated["record"]["sourceSystems"], json!(["web-bff"]));

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn users_get_find_and_delete_against_the_local_stack() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let client = clients(&facts);
    let (id, _) = register(
        &client,
        &facts,
        "Ops.User@Example.com",
        "ops_user",
        "Ops-Password-1",
    )
    .await;

    let by_id: Value =
        serde_json::from_str(&succeed(&state_dir, &["users", "get", &id, "--json"])).unwrap();
    assert_eq!(by_id["email"], "ops.user@example.com");
    assert_eq!(by_id["status"], "UNCONFIRMED");
    let handle = by_id["handle"].as_str().unwrap().to_owned();
    for (flag, value) in [
        ("--email", "OPS.USER@example.com"),
        ("--name", "OPS_USER"),
        ("--handle", handle.as_str()),
    ] {
        let found: Value = serde_json::from_str(&succeed(
            &state_dir,
            &["--json", "users", "find", flag, value],
        ))
        .unwrap();
        assert_eq!(found["id"], id.as_str(), "{flag} {value}");
    }
    let human = succeed(&state_dir, &["users", "get", &id]);
    assert!(
        human.contains(&format!("ops_user ({handle})")) && human.contains("UNCONFIRMED"),
        "{human}"
    );

    // The export: both parts, one JSON document; nothing secret in it.
    let export: Value =
        serde_json::from_str(&succeed(&state_dir, &["users", "export", &id])).unwrap();
    assert_eq!(export["profile"]["user"]["id"], id.as_str());
    assert_eq!(export["profile"]["uploads"], json!([]));
    assert_eq!(export["profile"]["statusHistory"]["kept"], false);
    assert_eq!(export["identity"]["userId"], id.as_str());
    assert_eq!(export["identity"]["email"], "ops.user@example.com");
    assert_eq!(export["identity"]["pool"]["attributes"]["sub"], id.as_str());
    let text = export.to_string();
    assert!(
        !text.contains("Ops-Password-1") && !text.contains("activationCodeHash"),
        "{text}"
    );
    let missing_export = roster(
        &state_dir,
        &["users", "export", "5a0c0a8e-0000-4000-8000-0000000000ff"],
    );
    assert!(!missing_export.status.success());
    assert!(String::from_utf8_lossy(&missing_export.stderr).contains("no user"));
    assert!(
        !roster(&state_dir, &["users", "export", "not an id"])
            .status
            .success()
    );

    // Refusals: unknown user, bad input, and a delete without --yes.
    let missing = roster(&state_dir, &["users", "get", "no-such-user"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no user no-such-user"));
    let bad = roster(&state_dir, &["users", "find", "--email", "not-an-email"]);
    assert!(!bad.status.success());
    let unconfirmed = roster(&state_dir, &["users", "delete", &id]);
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("add --yes"));
    client.1.user(&id).await.unwrap();

    let deleted = succeed(&state_dir, &["users", "delete", &id, "--yes"]);
    assert!(
        deleted.starts_with(&format!("deleted {id} (ops_user, ops.user@example.com)")),
        "{deleted}"
    );
    let gone = client.1.user(&id).await.unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::NOT_FOUND), "{gone}");
    // The Auth API's subscriber removes the sign-in: the password no longer works.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let login = LoginRequest::new("ops.user@example.com", "Ops-Password-1");
        let status = client
            .0
            .login(&login)
            .await
            .err()
            .and_then(|error| error.status());
        if status == Some(StatusCode::UNAUTHORIZED) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sign-in outlived the deleted user: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn users_list_lists_and_searches_as_get_users_does_against_the_local_stack() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let client = clients(&facts);
    let mut ids = Vec::new();
    for n in 0..4 {
        let (id, _) = register(
            &client,
            &facts,
            &format!("lister{n}@example.com"),
            &format!("lister_{n}"),
            "Ops-Password-1",
        )
        .await;
        ids.push(id);
    }
    client
        .1
        .set_status(&ids[2], roster_client::Status::Suspended, None)
        .await
        .unwrap();

    let list = |args: &[&str]| -> Vec<Value> {
        let args = [&["--json", "users", "list"], args].concat();
        serde_json::from_str(&succeed(&state_dir, &args)).unwrap()
    };
    let listed_ids = |users: &[Value]| -> Vec<String> {
        users
            .iter()
            .map(|user| user["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // By creation, oldest first, and newest first.
    assert_eq!(listed_ids(&list(&[])), ids);
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed_ids(&list(&["--desc"])), newest_first);
    // A limit, with a word on stderr that more follow; --all pages through everyone.
    let output = roster(&state_dir, &["--json", "users", "list", "--limit", "3"]);
    assert!(output.status.success());
    let first: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed_ids(&first), ids[..3]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("more users follow"));
    assert_eq!(listed_ids(&list(&["--all"])), ids);
    // Filters.
    let suspended = list(&["--status", "SUSPENDED"]);
    assert_eq!(listed_ids(&suspended), ids[2..3]);
    assert_eq!(suspended[0]["email"], "lister2@example.com");
    assert_eq!(listed_ids(&list(&["--name-prefix", "LISTER_1"])), ids[1..2]);
    assert_eq!(
        listed_ids(&list(&["--email-prefix", "lister3@"])),
        ids[3..4]
    );
    assert_eq!(
        listed_ids(&list(&["--handle-prefix", "@lister0"])),
        ids[..1]
    );
    let created = suspended[0]["createdAt"].as_str().unwrap();
    assert_eq!(
        listed_ids(&list(&["--created-after", created])),
        ids[3..],
        "strictly after"
    );
    let human = succeed(&state_dir, &["users", "list", "--status", "SUSPENDED"]);
    assert!(
        human.starts_with("ID") && human.contains("lister_2") && human.contains("SUSPENDED"),
        "{human}"
    );
    assert_eq!(
        succeed(&state_dir, &["users", "list", "--name-prefix", "nobody"]).trim(),
        "No users."
    );
    // The API's refusals are the command's.
    for (args, says) in [
        (
            &["--name-prefix", "lister", "--status", "CONFIRMED"][..],
            "combine",
        ),
        (&["--status", "asleep"], "unknown status"),
        (&["--created-after", "yesterday"], "RFC 3339"),
        (&["--limit", "0"], "invalid value"),
        (&["--all", "--limit", "5"], "cannot be used with"),
    ] {
        let output = roster(&state_dir, &[&["users", "list"], args].concat());
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn events_tail_prints_each_event_live_and_cleans_up_when_stopped() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    // The stack runs on this test's thread: everything here waits asynchronously.
    let mut tail = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("--local")
        .arg(&state_dir)
        .args(["events", "tail", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait for "Tailing": the rule exists from then on.
    let mut stderr = BufReader::new(tail.stderr.take().unwrap()).lines();
    let banner = stderr.next_line().await.unwrap().unwrap_or_default();
    assert!(banner.starts_with("Tailing the bus"), "{banner}");
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();

    let client = clients(&facts);
    let (id, code) = register(
        &client,
        &facts,
        "tail@example.com",
        "tail_user",
        "Tail-Password-1",
    )
    .await;
    let (id, code) = (id.as_str(), code.as_str());
    client.1.activate_in_path(code).await.unwrap();

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !["UserRegistered", "UserActivated"].iter().all(|kind| {
        seen.iter()
            .any(|event: &Value| event["detail-type"] == *kind && event.to_string().contains(id))
    }) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = tokio::time::timeout(left, lines.next_line())
            .await
            .ok()
            .and_then(|line| line.unwrap())
            .unwrap_or_else(|| panic!("no UserRegistered and UserActivated in time: {seen:#?}"));
        seen.push(serde_json::from_str(&line).unwrap());
    }
    assert!(
        !seen.iter().any(|event| event.to_string().contains(code)),
        "no activation code in any event"
    );

    // SIGTERM: the tail removes its rule and queue, and exits cleanly.
    let pid = tail.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let exit = tail.wait().await.unwrap();
    let mut said = Vec::new();
    while let Ok(Some(line)) = stderr.next_line().await {
        said.push(line);
    }
    assert!(exit.success(), "{exit:?}: {said:?}");
    assert!(said.is_empty(), "it stopped without complaint: {said:?}");
    let sdk = harness::sdk().await;
    let rules = aws_sdk_eventbridge::Client::new(&sdk)
        .list_rules()
        .event_bus_name(&facts.event_bus)
        .send()
        .await
        .unwrap()
        .rules
        .unwrap_or_default();
    let names: Vec<_> = rules.iter().filter_map(|rule| rule.name.clone()).collect();
    assert!(
        !names.iter().any(|name| name.contains("-tail-")),
        "{names:?}"
    );
    let queues = aws_sdk_sqs::Client::new(&sdk)
        .list_queues()
        .queue_name_prefix(format!("{}-tail-", facts.prefix))
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    assert!(queues.is_empty(), "{queues:?}");

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn dlq_lists_and_redrives_dead_letters() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sqs = aws_sdk_sqs::Client::new(&harness::sdk().await);
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

    let listed: Value =
        serde_json::from_str(&succeed(&state_dir, &["dlq", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["subscriber"], "badge-rules");
    assert_eq!(listed[0]["detailType"], "UserActivated");
    assert_eq!(listed[0]["eventId"], "UserActivated-gone-v2");
    assert!(
        !listed.to_string().contains("gone@example.com"),
        "no event data"
    );
    let human = succeed(&state_dir, &["dlq", "list"]);
    assert!(
        human.contains("badge-rules") && human.contains("UserActivated-gone-v2"),
        "{human}"
    );

    assert!(succeed(&state_dir, &["dlq", "redrive", "badge-rules"]).contains("Sent 1"));
    let listed: Value =
        serde_json::from_str(&succeed(&state_dir, &["dlq", "list", "--json"])).unwrap();
    assert_eq!(listed, json!([]));

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

/// The first record of the users table's stream: its shard and sequence number.
async fn first_users_record(stream_arn: &str) -> (String, String) {
    let streams = aws_sdk_dynamodbstreams::Client::new(&harness::sdk().await);
    let shard = roster_local::plumbing::streams::shard_ids(&streams, stream_arn)
        .await
        .unwrap()
        .remove(0);
    let iterator = roster_local::plumbing::streams::shard_iterator(
        &streams,
        stream_arn,
        &shard,
        &roster_local::plumbing::streams::Position::TrimHorizon,
    )
    .await
    .unwrap();
    let page = streams
        .get_records()
        .shard_iterator(iterator)
        .limit(1)
        .send()
        .await
        .unwrap();
    let sequence = page.records()[0]
        .dynamodb()
        .unwrap()
        .sequence_number()
        .unwrap()
        .to_owned();
    (shard, sequence)
}

fn failure_record(stream_arn: &str, shard: &str, sequence: &str) -> String {
    json!({
        "requestContext": {"requestId": "r-1", "functionArn": "users-projector",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 21},
        "version": "1.0",
        "timestamp": "2026-11-29T10:00:00Z",
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": sequence,
                               "endSequenceNumber": sequence, "batchSize": 1,
                               "streamArn": stream_arn}
    })
    .to_string()
}

#[tokio::test]
async fn status_reports_the_plumbing_and_dlq_replays_a_stream_record_a_projector_gave_up_on() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let client = clients(&facts);
    let sdk = harness::sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    // A healthy stack: every stream caught up, every queue drained, no dead letter.
    let (id, _) = register(
        &client,
        &facts,
        "status@example.com",
        "status_user",
        "Status-Secret-1",
    )
    .await;
    let status = eventually_json(&state_dir, &["--json", "status"]).await;
    assert_eq!(status["streams"].as_array().unwrap().len(), 2, "{status}");
    assert_eq!(status["queues"].as_array().unwrap().len(), 4, "{status}");
    assert_eq!(
        status["deadLetters"].as_array().unwrap().len(),
        5,
        "{status}"
    );
    assert!(succeed(&state_dir, &["status"]).contains("No stall."));
    // What `status` prints for a stage on AWS: the queues' depths, read the same way.
    let ops = roster_ops::targets::Target::Local(state_dir.clone())
        .connect()
        .await
        .unwrap();
    let depths = roster_ops::targets::queue_status(&ops).await.unwrap();
    assert_eq!(depths.queues.len(), 4, "{depths:?}");
    assert_eq!(depths.dead_letters.len(), 5, "{depths:?}");
    assert!(depths.dead_letters.iter().all(|queue| queue.messages == 0));

    // The projector gave up on the users table's first record (the profile's creation).
    let stream_arn = stack
        .provisioned()
        .table(&roster_infra::resources::USERS_TABLE)
        .stream_arn
        .clone();
    let (shard, sequence) = first_users_record(&stream_arn).await;
    let failures_queue = stack.provisioned().stream_failures_queue_url.clone();
    for sequence in [sequence.as_str(), "99999999999999999999999"] {
        sqs.send_message()
            .queue_url(&failures_queue)
            .message_body(failure_record(&stream_arn, &shard, sequence))
            .send()
            .await
            .unwrap();
    }
    let listed: Value = serde_json::from_str(&succeed(
        &state_dir,
        &["dlq", "list", "users-projector", "--json"],
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed[0]["subscriber"], "users-projector");
    assert_eq!(
        listed[0]["stream"]["startSequenceNumber"],
        sequence.as_str()
    );
    assert_eq!(listed[0]["stream"]["shardId"], shard.as_str());
    assert!(
        !listed.to_string().contains("status@example.com"),
        "coordinates only"
    );

    // A tap on the bus sees what the replay publishes.
    let tap = probes::tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-replay-tap", facts.prefix),
        json!({"source": [{"prefix": "roster."}]}),
    )
    .await;
    let output = roster(&state_dir, &["dlq", "redrive", "users-projector"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the record past the stream's end is not replayable"
    );
    assert!(stdout.contains("Sent 1"), "{stdout}");
    assert!(
        stdout.contains("Not replayed") && stdout.contains("gone from the stream"),
        "{stdout}"
    );
    let replayed = probes::next_message(&sdk, &tap).await;
    assert_eq!(replayed["source"], "roster.user");
    assert_eq!(
        replayed["detail"]["data"]["userId"],
        id.as_str(),
        "{replayed}"
    );
    let listed: Value =
        serde_json::from_str(&succeed(&state_dir, &["dlq", "list", "--json"])).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the unreplayable one stays: {listed}"
    );

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

/// Runs a `--json` command until it succeeds (the watchdog's first report takes a second).
async fn eventually_json(state_dir: &Path, args: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = roster(state_dir, args);
        if output.status.success() {
            return serde_json::from_slice(&output.stdout).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn status_fails_on_a_stall_and_on_a_stack_that_stopped_reporting() {
    let dir = std::env::temp_dir().join(format!("roster-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = roster_local::stack::status_file(&dir);
    let now = chrono::Utc::now().to_rfc3339();
    let stalled = json!({
        "checkedAt": now, "stallAfterSeconds": 5.0,
        "streams": [{"table": "dev-auth", "oldestUnprocessedSeconds": 42.0, "givenUp": 0}],
        "queues": [], "deadLetters": [{"queue": "dev-badge-rules-dlq", "messages": 2}]
    });
    std::fs::write(&file, stalled.to_string()).unwrap();
    let output = roster(&dir, &["status"]);
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("42.0 s behind") && stdout.contains("2 message(s)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("stalled: the dev-auth table's stream"),
        "{stderr}"
    );

    let old = json!({"checkedAt": "2026-01-01T00:00:00Z", "stallAfterSeconds": 5.0,
                     "streams": [], "queues": [], "deadLetters": []});
    std::fs::write(&file, old.to_string()).unwrap();
    let output = roster(&dir, &["status"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is the stack still running"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_invocations_are_refused_with_a_reason() {
    let dir = std::env::temp_dir().join("roster-no-stack-here");
    for (args, reason) in [
        (&["users"][..], "Usage: roster users"),
        (&["frobnicate"][..], "unrecognized subcommand 'frobnicate'"),
        (&["users", "search"][..], "unrecognized subcommand 'search'"),
        (
            &["users", "find", "--email", "a@b.c", "--name", "x"][..],
            "cannot be used with",
        ),
        (&["--stage", "dev", "status"][..], "cannot be used with"),
        (&["--profile", "p", "users", "get", "x"][..], "add --stage"),
        (&["api-keys", "list"][..], "no running local stack"),
    ] {
        let output = roster(&dir, args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["events", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("tail"));
}

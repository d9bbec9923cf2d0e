//! The stack as a whole, in process: both APIs answer, the facts file says where everything
//! is, the subscribers drain their queues, and stopping it stops everything.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use roster_infra::resources::USER_SUBSCRIBER;
use roster_local::stack::LocalFacts;
use roster_testkit::harness;
use serde_json::Value;

use roster_testkit::probes::{eventually, queue_attributes};

#[tokio::test]
async fn stack_serves_both_apis_writes_its_facts_runs_the_plumbing_and_stops() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();

    let written = LocalFacts::read(&state_dir).expect("local.json");
    assert_eq!(written, facts);
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(state_dir.join("local.json")).unwrap())
            .unwrap();
    for field in [
        "auth_url",
        "user_url",
        "aws_endpoint",
        "region",
        "user_pool_id",
        "client_ids",
        "api_key",
    ] {
        assert!(
            raw.get(field).is_some_and(|value| !value.is_null()),
            "local.json lacks {field}"
        );
    }
    assert_eq!(facts.client_ids.len(), 2);
    // The development key is a real key with every scope.
    let sdk = harness::sdk().await;
    let guard = roster_platform::api_key_guard::ApiKeyGuard::new(
        roster_platform::api_key_guard::SecretsManagerKeys::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            facts.api_key_secret.clone(),
        ),
        Default::default(),
    );
    for scope in roster_local::stack::DEV_KEY_SCOPES {
        guard.check(Some(&facts.api_key), scope).await.unwrap();
    }

    for (url, service) in [(&facts.auth_url, "auth-api"), (&facts.user_url, "user-api")] {
        let response = reqwest::get(format!("{url}/health")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["service"], service);
    }

    // An event for the User API's subscriber (a registration's UserRegistered, from the Auth
    // API's table stream) reaches it through its rule and queue, and is consumed: the profile
    // appears.
    let auth = facts.auth_api(reqwest::Client::new()).unwrap();
    let users = facts.user_api(reqwest::Client::new()).unwrap();
    let registered = auth
        .register(
            &roster_client::RegisterRequest::new(
                "running@example.com",
                "running_user",
                "Running-Secret-1",
            ),
            None,
        )
        .await
        .unwrap();
    roster_local::clients::await_profile(&users, &registered.id, Duration::from_secs(20))
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = stack.provisioned().subscriber(&USER_SUBSCRIBER).clone();
    eventually(
        "the subscriber to drain its queue",
        Duration::from_secs(20),
        || async {
            let attributes = queue_attributes(&sqs, &queue.queue_url).await;
            let count = |name| attributes[&name].parse::<u32>().unwrap();
            let drained = count(QueueAttributeName::ApproximateNumberOfMessages) == 0
                && count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible) == 0;
            drained.then_some(())
        },
    )
    .await;
    let dead = sqs
        .receive_message()
        .queue_url(&queue.dead_letter_queue_url)
        .send()
        .await
        .unwrap();
    assert!(dead.messages().is_empty(), "consumed, not dead-lettered");

    stack.stop().await;
    assert!(LocalFacts::read(&state_dir).is_none(), "local.json removed");
    for url in [&facts.auth_url, &facts.user_url] {
        assert!(
            reqwest::get(format!("{url}/health")).await.is_err(),
            "{url} still answers"
        );
    }
    let _ = std::fs::remove_dir_all(state_dir);
}

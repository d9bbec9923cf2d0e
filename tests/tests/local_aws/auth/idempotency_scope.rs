//! An `Idempotency-Key` belongs to the API key that used it (issue 14, part 5): on one running
//! stack, another API key sending the same value gets no replay of the first registration (no
//! answer that depends on the password it sends), while the first key
//! still gets its replay after each refusal; the other key's own use of the value is a
//! registration of its own.

use reqwest::StatusCode;
use roster_client::{AuthApi, RegisterRequest};
use roster_platform::api_keys::KeyAdmin;
use roster_testkit::harness;

const PASSWORD: &str = "Replayed-Secret-12";

#[tokio::test]
async fn an_idempotency_key_replays_only_for_the_api_key_that_used_it() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = roster_platform::aws::local(&facts.aws_endpoint, &facts.region).await;
    let other_key = KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        facts.api_key_secret.clone(),
    )
    .create("other-bff", &["auth"], None)
    .await
    .unwrap()
    .plaintext;
    let first = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let other = AuthApi::new(&facts.auth_url, &other_key).unwrap();
    let idempotency_key = "signup-42";
    let request = RegisterRequest::new("replayed@example.com", "replayed_user", PASSWORD);
    let original = first
        .register(&request, Some(idempotency_key))
        .await
        .unwrap();

    // Another key sending the same Idempotency-Key: with a wrong password and with the right
    // one, the same answer (the email is taken), never the first registration's answer.
    let mut answers = Vec::new();
    for password in ["Guessed-Wrong-1", PASSWORD] {
        let attempt = RegisterRequest {
            password: password.to_owned(),
            ..request.clone()
        };
        let error = other
            .register(&attempt, Some(idempotency_key))
            .await
            .expect_err("another key gets no replay");
        assert_eq!(error.status(), Some(StatusCode::CONFLICT), "{error}");
        assert_eq!(error.problem_type(), Some("/problems/conflict"), "{error}");
        answers.push(error.to_string());
        // The first key's replay still works after each refusal.
        let replay = first
            .register(&request, Some(idempotency_key))
            .await
            .expect("the first key's replay");
        assert_eq!(replay, original);
    }
    assert_eq!(
        answers[0], answers[1],
        "the answer does not depend on the password"
    );

    // The other key's own use of the same Idempotency-Key is a registration of its own.
    let own = RegisterRequest::new("separate@example.com", "separate_user", PASSWORD);
    let registered = other
        .register(&own, Some(idempotency_key))
        .await
        .expect("the same Idempotency-Key under another API key");
    assert_ne!(registered.id, original.id);
    let replay = other.register(&own, Some(idempotency_key)).await.unwrap();
    assert_eq!(replay.id, registered.id);

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

//! A password-reset request does not tell whether the account exists (issue 14, part 5):
//! through the counting proxy, an existing and an unknown account make the same AWS calls in
//! the same order and get byte-identical answers, also when Cognito throttles the existing
//! one. Afterwards the real reset still works. An activation resend likewise (issue 18).

use reqwest::StatusCode;
use roster_client::{AuthApi, ConfirmRequest, LoginRequest, RegisterRequest};
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness;
use serde_json::{Value, json};

use crate::support::Api;

/// The Auth API through `proxy`: through `roster-client`, and raw for the answers compared
/// byte for byte.
async fn counted(resources: &harness::TestResources, proxy: &FaultProxy) -> (AuthApi, Api) {
    let url = harness::auth_api_for_counting(resources, proxy.url())
        .await
        .0;
    let key = harness::test_key(resources).await;
    (AuthApi::new(&url, &key).unwrap(), Api::new(&url, &key))
}

/// Status and body bytes of `POST /auth/password/forgot` for `email` (raw: the bytes are
/// compared).
async fn forgot(api: &Api, email: &str) -> (StatusCode, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/password/forgot", api.url))
        .header("x-api-key", &api.key)
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_reset_of_an_existing_and_of_an_unknown_account_makes_the_same_calls_and_answer() {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (client, auth) = counted(&resources, &proxy).await;
    client
        .register(
            &RegisterRequest::new("exists@example.com", "exists_user", "Exists-Secret-1"),
            None,
        )
        .await
        .unwrap();
    // Warm up (API keys, the server key).
    forgot(&auth, "warm@example.com").await;
    proxy.take_journal();

    let mut answers = Vec::new();
    // Each in both orders, so neither is measured only warm.
    for email in [
        "exists@example.com",
        "nobody@example.com",
        "nobody@example.com",
        "exists@example.com",
    ] {
        let answer = forgot(&auth, email).await;
        answers.push((email, answer, proxy.take_journal()));
    }
    // Cognito's per-user limit on the existing account must not show either.
    proxy.inject(Fault {
        operation: "ForgotPassword",
        skip: 0,
        times: 1,
        when: When::Before,
        kind: Kind::Code("LimitExceededException"),
    });
    let answer = forgot(&auth, "exists@example.com").await;
    answers.push((
        "exists@example.com (throttled)",
        answer,
        proxy.take_journal(),
    ));

    let (_, first, calls) = &answers[0];
    assert_eq!(first.0, StatusCode::ACCEPTED);
    assert_eq!(
        calls,
        &["GetItem", "ForgotPassword", "PutItem"],
        "the reservation, the reset, the request record"
    );
    for (email, answer, journal) in &answers {
        assert_eq!(answer, first, "{email}: the same status and bytes");
        assert_eq!(journal, calls, "{email}: the same calls in the same order");
    }

    // The records differ only where nobody outside sees: an unknown address leaves its hash.
    let resets: Vec<Value> = crate::support::auth_items(&resources)
        .await
        .into_iter()
        .filter(|item| item["pk"].as_str().unwrap().starts_with("RESET#"))
        .collect();
    assert!(
        resets
            .iter()
            .filter(|item| item.get("userId").is_none())
            .all(|item| item.get("email").is_none()),
        "no address of a non-user is stored: {resets:?}"
    );
    assert!(
        !resets
            .iter()
            .any(|item| item.to_string().contains("nobody@")),
        "{resets:?}"
    );

    // And the happy path after all that: the real reset goes through, and so does the sign-in.
    client
        .confirm_password(&ConfirmRequest {
            email: "exists@example.com".to_owned(),
            code: "112233".to_owned(),
            new_password: "Exists-Secret-2".to_owned(),
            client_id: None,
        })
        .await
        .unwrap();
    client
        .login(&LoginRequest::new("exists@example.com", "Exists-Secret-2"))
        .await
        .unwrap();
}

/// Status and body bytes of `POST /auth/activation/resend` for `email` (raw: the bytes are
/// compared).
async fn resend(api: &Api, email: &str) -> (StatusCode, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/activation/resend", api.url))
        .header("x-api-key", &api.key)
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_resend_for_a_user_awaiting_activation_and_for_an_unknown_address_makes_the_same_calls_and_answer()
 {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (client, auth) = counted(&resources, &proxy).await;
    let registered = client
        .register(
            &RegisterRequest::new("waiting@example.com", "waiting_user", "Waiting-Secret-1"),
            None,
        )
        .await
        .unwrap();
    // Warm up (API keys, the server key).
    resend(&auth, "warm@example.com").await;
    proxy.take_attributed();

    let mut answers = Vec::new();
    for email in ["waiting@example.com", "nobody@example.com"] {
        let answer = resend(&auth, email).await;
        answers.push((email, answer, proxy.take_attributed()));
    }
    let (_, first, calls) = &answers[0];
    assert_eq!(first.0, StatusCode::ACCEPTED);
    let operations = |calls: &[roster_testkit::faults::Call]| {
        calls
            .iter()
            .map(|call| call.operation.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        operations(calls),
        ["GetItem", "GetItem", "GetItem", "TransactWriteItems"],
        "the email's reservation, the identity, the resend record, the one write"
    );
    for (email, answer, journal) in &answers {
        assert_eq!(answer, first, "{email}: the same status and bytes");
        assert_eq!(
            operations(journal),
            operations(calls),
            "{email}: the same calls in the same order"
        );
    }
    // Only the user awaiting activation got a new code (the write's second item).
    assert_eq!(calls[3].items, ["Put", "Update"]);
    assert_eq!(answers[1].2[3].items, ["Put"]);

    // Within the minute both are refused alike, and the new code is the user's.
    assert_eq!(
        resend(&auth, "waiting@example.com").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        resend(&auth, "nobody@example.com").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let id = registered.id.as_str();
    let identity = crate::support::auth_items(&resources)
        .await
        .into_iter()
        .find(|item| item["pk"] == format!("USER#{id}"))
        .unwrap();
    assert_eq!(identity["activationGeneration"], 1);
    let code = crate::support::derived_activation_code(&resources, id, 1).await;
    assert_eq!(
        identity["activationCodeHash"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(code.as_bytes()))
    );
}

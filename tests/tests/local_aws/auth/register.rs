//! Registration against the local stack's resources: all or nothing, unique identifiers under
//! concurrency, idempotent retries, rollback when a step fails, and the reconciler.

use reqwest::StatusCode;
use roster_auth_api::cognito::CognitoDirectory;
use roster_auth_api::registration::reconcile;
use roster_auth_api::store::{AuthTable, PendingRegistration};
use roster_infra::resources::AUTH_TABLE;
use roster_testkit::harness;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use roster_client::{AuthApi, LoginRequest, RegisterRequest};

use crate::support::{Api, auth_client, auth_items, cognito_emails, refused};

const PASSWORD: &str = "Correct-Horse-9-Battery";

fn body(email: &str, name: &str) -> Value {
    json!({"email": email, "name": name, "password": PASSWORD, "sourceSystem": "web-shop"})
}

/// [`body`] as `roster-client` sends it.
fn request(email: &str, name: &str) -> RegisterRequest {
    RegisterRequest {
        source_system: Some("web-shop".to_owned()),
        ..RegisterRequest::new(email, name, PASSWORD)
    }
}

async fn client(resources: &harness::TestResources) -> AuthApi {
    auth_client(resources).await.0
}

fn pks(items: &[Value]) -> Vec<String> {
    let mut pks: Vec<String> = items
        .iter()
        .map(|item| item["pk"].as_str().unwrap().to_owned())
        .collect();
    pks.sort();
    pks
}

#[tokio::test]
async fn registers_once_with_the_activation_code_neither_answered_nor_stored() {
    let resources = harness::provisioned().await;
    // Raw for the registration: the answer's shape is the point (no `activationCode` member,
    // which a typed answer would drop unseen).
    let api = Api::from(harness::auth_api(&resources).await);
    let response = api
        .register(body("Cortney@Example.com", "cortney_gutkowski67"), None)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], "cortney@example.com");
    assert_eq!(user["name"], "cortney_gutkowski67");
    assert_eq!(user["handle"], "@CortneyGutkowski67");
    assert_eq!(user["role"], "USER");
    assert_eq!(user["status"], "UNCONFIRMED");
    assert_eq!(user["sourceSystem"], "web-shop");
    let id = user["id"].as_str().unwrap();
    assert!(
        user.get("activationCode").is_none(),
        "the code goes to the address, never to the caller: {user}"
    );

    let items = auth_items(&resources).await;
    assert_eq!(
        pks(&items),
        [
            "EMAIL#cortney@example.com".to_owned(),
            "HANDLE#@cortneygutkowski67".to_owned(),
            "NAME#cortney_gutkowski67".to_owned(),
            format!("USER#{id}"),
        ]
    );
    let identity = items.iter().find(|item| item["sk"] == "IDENTITY").unwrap();
    // Whoever holds the server key derives the code again: generation 0 of the registration.
    let code = crate::support::derived_activation_code(&resources, id, 0).await;
    assert_eq!(code.len(), 32);
    assert_eq!(
        identity["activationCodeHash"],
        hex::encode(Sha256::digest(code.as_bytes()))
    );
    let everything = serde_json::to_string(&items).unwrap();
    assert!(
        !everything.contains(&code),
        "the code itself is stored nowhere"
    );
    assert!(!everything.contains(PASSWORD));
    for reservation in items.iter().filter(|item| item["sk"] == "RESERVATION") {
        assert_eq!(reservation["state"], "COMMITTED");
        assert_eq!(reservation["userId"], id);
    }

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk);
    let groups = cognito
        .admin_list_groups_for_user()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .username("cortney@example.com")
        .send()
        .await
        .unwrap();
    let groups: Vec<_> = groups
        .groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(groups, ["USER"]);
    AuthApi::new(&api.url, &api.key)
        .unwrap()
        .login(&LoginRequest::new("cortney@example.com", PASSWORD))
        .await
        .expect("the password is permanent");
}

#[tokio::test]
async fn a_taken_email_name_or_handle_is_a_409_naming_it_and_leaves_nothing_behind() {
    let resources = harness::provisioned().await;
    let api = client(&resources).await;
    api.register(&request("john@example.com", "john_doe"), None)
        .await
        .unwrap();
    let before = pks(&auth_items(&resources).await);
    for (email, name, field) in [
        ("JOHN@example.com", "someone_else", "email"),
        ("other@example.com", "John_Doe", "name"),
        ("third@example.com", "john.doe", "handle"),
    ] {
        let problem = refused(
            api.register(&request(email, name), None).await,
            StatusCode::CONFLICT,
        );
        assert_eq!(problem.extensions["field"], field, "{field}");
    }
    assert_eq!(pks(&auth_items(&resources).await), before);
    assert_eq!(cognito_emails(&resources).await, ["john@example.com"]);
}

/// Runs the registrations at once; checks that exactly one succeeded, every other one got
/// 409, and the table and the pool hold that one registration and nothing else. Returns the
/// pool's emails.
async fn exactly_one_of(requests: Vec<RegisterRequest>) -> Vec<String> {
    let resources = harness::provisioned().await;
    let api = client(&resources).await;
    let attempts: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let api = api.clone();
            tokio::spawn(async move {
                // `Ok` for the registration made, the status of a refusal otherwise.
                api.register(&request, None)
                    .await
                    .map(drop)
                    .map_err(|error| error.status())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| s.is_ok()).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| s.is_ok() || *s == Err(Some(StatusCode::CONFLICT))),
        "{statuses:?}"
    );
    let items = auth_items(&resources).await;
    assert_eq!(items.iter().filter(|i| i["sk"] == "IDENTITY").count(), 1);
    assert_eq!(items.iter().filter(|i| i["sk"] == "RESERVATION").count(), 3);
    assert!(items.iter().all(|i| i["sk"] != "REGISTRATION"));
    cognito_emails(&resources).await
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_exactly_one_user() {
    let bodies = (0..8)
        .map(|n| request("race@example.com", &format!("racer_{n}")))
        .collect();
    assert_eq!(exactly_one_of(bodies).await, ["race@example.com"]);
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_in_any_case_create_exactly_one_user() {
    let names = [
        "same_name",
        "Same_Name",
        "SAME_NAME",
        "same_NAME",
        "sAme_name",
        "same_namE",
    ];
    let bodies = names
        .iter()
        .enumerate()
        .map(|(n, name)| request(&format!("racer{n}@example.com"), name))
        .collect();
    assert_eq!(exactly_one_of(bodies).await.len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_refuses_another_body() {
    let resources = harness::provisioned().await;
    let api = client(&resources).await;
    let first = api
        .register(&request("idem@example.com", "idem_user"), Some("key-1"))
        .await
        .unwrap();
    let again = api
        .register(&request("idem@example.com", "idem_user"), Some("key-1"))
        .await
        .unwrap();
    assert_eq!(again, first, "the same response");
    assert_eq!(cognito_emails(&resources).await, ["idem@example.com"]);

    refused(
        api.register(&request("else@example.com", "someone_else"), Some("key-1"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let other_password = RegisterRequest {
        password: "Another-Password-1".to_owned(),
        ..request("idem@example.com", "idem_user")
    };
    refused(
        api.register(&other_password, Some("key-1")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let resources = harness::provisioned().await;
    // Raw: every request here is malformed on purpose.
    let api = Api::from(harness::auth_api(&resources).await);
    for request in [
        json!({"email": "x@example.com", "name": "ok_name", "password": "weak"}),
        json!({"email": "not-an-email", "name": "ok_name", "password": PASSWORD}),
        json!({"email": "x@example.com", "name": "_bad", "password": PASSWORD}),
        json!({"email": "x@example.com", "name": "ok_name", "password": PASSWORD, "sourceSystem": "a b"}),
        json!({"email": "x@example.com", "name": "ok_name"}),
    ] {
        let response = api.register(request.clone(), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{request}");
    }
    let bad_key = api
        .register(body("x@example.com", "ok_name"), Some("with space"))
        .await;
    assert_eq!(bad_key.status(), StatusCode::BAD_REQUEST);
    assert!(auth_items(&resources).await.is_empty());
    assert!(cognito_emails(&resources).await.is_empty());
}

#[tokio::test]
async fn a_failing_cognito_step_rolls_everything_back_and_a_retry_succeeds() {
    let resources = harness::provisioned().await;
    let api = client(&resources).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk);
    let pool = &resources.provisioned.user_pool_id;
    // The fault: the USER group is gone, so adding the new user to it fails after the user
    // was created.
    cognito
        .delete_group()
        .user_pool_id(pool)
        .group_name("USER")
        .send()
        .await
        .unwrap();
    refused(
        api.register(
            &request("fault@example.com", "fault_user"),
            Some("retry-me"),
        )
        .await,
        StatusCode::INTERNAL_SERVER_ERROR,
    );
    assert!(
        auth_items(&resources).await.is_empty(),
        "no reservation, no pending record"
    );
    assert!(
        cognito_emails(&resources).await.is_empty(),
        "no orphan Cognito user"
    );

    cognito
        .create_group()
        .user_pool_id(pool)
        .group_name("USER")
        .send()
        .await
        .unwrap();
    api.register(
        &request("fault@example.com", "fault_user"),
        Some("retry-me"),
    )
    .await
    .unwrap();
    assert_eq!(cognito_emails(&resources).await, ["fault@example.com"]);
}

#[tokio::test]
async fn the_reconciler_rolls_back_a_registration_whose_process_died() {
    let resources = harness::provisioned().await;
    let table = AuthTable::new(
        aws_sdk_dynamodb::Client::new(&resources.sdk),
        resources.names.table(&AUTH_TABLE),
    );
    let directory = CognitoDirectory::new(
        aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk),
        resources.provisioned.user_pool_id.clone(),
    );
    // A registration that reserved its identifiers and created its Cognito user, then died.
    let pending = PendingRegistration {
        registration_id: "dead-registration".into(),
        email: roster_events::Email::parse("ghost@example.com").unwrap(),
        name: "ghost".into(),
        handle: "@Ghost".into(),
        name_key: "ghost".into(),
        handle_key: "@ghost".into(),
        source_system: "roster".into(),
        pending_since: roster_events::Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap(),
        idempotency_key: None,
    };
    table.reserve(&pending).await.unwrap();
    directory
        .create_user(
            &roster_auth_api::domain::Email::parse("ghost@example.com").unwrap(),
            "ghost",
            "@Ghost",
            "dead-registration",
        )
        .await
        .unwrap();
    assert_eq!(auth_items(&resources).await.len(), 4);

    let report = reconcile(&table, &directory, chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(report.rolled_back, 1);
    assert!(auth_items(&resources).await.is_empty());
    assert!(cognito_emails(&resources).await.is_empty());
    let again = reconcile(&table, &directory, chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(again.rolled_back, 0, "nothing left to do");
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_run_once() {
    let resources = harness::provisioned().await;
    // Raw: a 409 in progress must carry Retry-After, a header `roster-client`'s error drops.
    let api = std::sync::Arc::new(Api::from(harness::auth_api(&resources).await));
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let api = std::sync::Arc::clone(&api);
            tokio::spawn(async move {
                let response = api
                    .register(body("once@example.com", "once_only"), Some("same-key"))
                    .await;
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body: Value = response.json().await.unwrap();
                (status, retry_after, body)
            })
        })
        .collect();
    let mut created = Vec::new();
    for attempt in attempts {
        let (status, retry_after, body) = attempt.await.unwrap();
        match status {
            201 => created.push(body),
            409 => {
                assert_eq!(body["type"], "/problems/in-progress");
                assert!(retry_after);
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!created.is_empty());
    assert!(
        created.windows(2).all(|pair| pair[0] == pair[1]),
        "one response"
    );
    assert_eq!(cognito_emails(&resources).await, ["once@example.com"]);
    let items = auth_items(&resources).await;
    assert_eq!(items.iter().filter(|i| i["sk"] == "IDENTITY").count(), 1);
}

//! The roles in the transformed template allow what the functions really call (issue 16):
//! the Auth API and the User API each send their AWS calls through a counting proxy of their
//! own (so each call is attributed to its function), over a representative flow (registration,
//! sign-in, every route that takes a token, and each way sessions end); every
//! operation seen must be allowed by that function's role after the SAM transform, and every
//! action the role grants must be seen or listed below with its reason. moto enforces no IAM,
//! so without this a missing action shows only on AWS (a forgot-password that never sends a
//! code: `AdminGetUser`).
//!
//! Not covered here: the subscribers, projectors, the reconciler and the avatar sweeper (their
//! calls are made by the local plumbing, not through a per-function proxy), and the item
//! actions inside a `TransactWriteItems` (the proxy records the operation only).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use roster_infra::sam::{granted_actions, not_allowed, required_actions, template_path, transform};
use roster_testkit::faults::FaultProxy;
use roster_testkit::harness;
use serde_json::{Value, json};

use crate::support::Api;

/// Actions a role grants that the flow below does not call, each with its reason.
const GRANTED_FOR_OTHER_PATHS: [(&str, &str); 10] = [
    (
        "UserApiFunction dynamodb:PutItem",
        "a deletion's tombstone and idempotent writes of an existing profile (erasure.rs)",
    ),
    (
        "UserApiFunction dynamodb:UpdateItem",
        "profile, status, badge and data changes (users.rs)",
    ),
    (
        "UserApiFunction s3:ListBucketVersions",
        "DELETE /user/{id} of a profile that exists (erasure.rs)",
    ),
    (
        "AuthApiFunction cognito-idp:AdminDeleteUser",
        "a registration's rollback (faults.rs)",
    ),
    (
        "AuthApiFunction dynamodb:DeleteItem",
        "inside registration transactions and rollbacks (faults.rs)",
    ),
    (
        "AuthApiFunction dynamodb:UpdateItem",
        "inside registration transactions (register.rs)",
    ),
    (
        "UserApiFunction s3:PutObject",
        "signs the presigned upload URL; the browser's PUT goes to S3 directly (users.rs)",
    ),
    (
        "UserApiFunction s3:DeleteObject",
        "deleting a user's avatars (erasure.rs)",
    ),
    (
        "UserApiFunction s3:DeleteObjectVersion",
        "deleting a user's avatar versions (erasure.rs)",
    ),
    (
        "UserApiFunction s3:ListBucket",
        "granted with ListBucketVersions on the avatars prefix; DELETE /user/{id} lists versions (erasure.rs)",
    ),
];

fn transformed(name: &str, edit: impl FnOnce(String) -> String) -> Value {
    let dir = std::env::temp_dir().join(format!("roster-iam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &source,
        edit(std::fs::read_to_string(template_path()).unwrap()),
    )
    .unwrap();
    transform(&source, &dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test]
async fn each_api_function_s_calls_are_allowed_by_its_role_and_its_role_grants_only_what_is_used() {
    let resources = harness::provisioned().await;
    let auth_proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let user_proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let key = harness::test_key(&resources).await;
    let auth = Api::new(
        &harness::auth_api_through(&resources, auth_proxy.url())
            .await
            .0,
        &key,
    );
    let users = Api::new(
        &harness::user_api_through(&resources, user_proxy.url())
            .await
            .0,
        &key,
    );

    let person =
        json!({"email": "iam@example.com", "name": "iam_user", "password": "Iam-Secret-42"});
    let (status, registered) = auth
        .json(Method::POST, "/auth/register", person.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let (status, _) = auth.json(Method::POST, "/auth/register", person).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, tokens) = auth
        .json(
            Method::POST,
            "/auth/login",
            json!({"email": "iam@example.com", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/password/forgot",
            json!({"email": "iam@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // The routes that take a token: the verify route reads the revocation records (Query);
    // `/public/*` reads the profile (none exists here: no plumbing runs, so 404).
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/token/verify",
            json!({"token": access, "tokenType": "access"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (method, path, body) in [
        (Method::GET, "/public/user/me", None),
        (
            Method::PATCH,
            "/public/user/me/profile",
            Some(json!({"lang": "de_de"})),
        ),
    ] {
        let (status, body) = users.bearer(method, path, &access, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // Each way sessions end: a password change, a reset, a sign-out (global sign-out, the
    // identity read, the revocation record; the reset reads the user from the pool).
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/password/change",
            &access,
            Some(json!({"oldPassword": "Iam-Secret-42", "newPassword": "Iam-Secret-43"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/password/confirm",
            json!({"email": "iam@example.com", "code": "123456", "newPassword": "Iam-Secret-44"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, tokens) = auth
        .json(
            Method::POST,
            "/auth/login",
            json!({"email": "iam@example.com", "password": "Iam-Secret-44"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/logout",
            tokens["accessToken"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The email of a user made in the pool out of band: registration looks the user up
    // (AdminGetUser) before answering 409.
    aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk)
        .admin_create_user()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .username("operator@example.com")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "operator@example.com", "name": "not_operator", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let id = registered["id"]
        .as_str()
        .or(registered["user"]["id"].as_str())
        .unwrap_or("00000000-0000-4000-8000-000000000000")
        .to_owned();
    for path in [
        format!("/user/{id}"),
        "/user/email/iam@example.com".to_owned(),
        "/user/name/iam_user".to_owned(),
    ] {
        users.json(Method::GET, &path, Value::Null).await;
    }
    users
        .json(Method::DELETE, &format!("/user/{id}"), Value::Null)
        .await;

    let calls = [
        ("AuthApiFunction", auth_proxy.take_journal()),
        ("UserApiFunction", user_proxy.take_journal()),
    ];
    let template = transformed("committed", |text| text);
    let mut unused = Vec::new();
    for (function, journal) in &calls {
        assert!(!journal.is_empty(), "{function} made no call");
        assert_eq!(
            not_allowed(&template, function, journal),
            Vec::<String>::new()
        );
        let used: BTreeSet<String> = journal.iter().flat_map(|op| required_actions(op)).collect();
        for action in granted_actions(&template, function) {
            let entry = format!("{function} {action}");
            let explained = GRANTED_FOR_OTHER_PATHS
                .iter()
                .any(|(listed, _)| *listed == entry);
            if !used.contains(&action) && !explained {
                unused.push(entry);
            }
        }
    }
    assert_eq!(
        unused,
        Vec::<String>::new(),
        "granted, never called, and no reason listed"
    );

    // The fault this check exists for: without AdminGetUser, a forgot-password (and a
    // registration) fails on AWS; here the check fails.
    let without = transformed("without-admin-get-user", |text| {
        text.replacen("                - cognito-idp:AdminGetUser\n", "", 1)
    });
    assert_eq!(
        not_allowed(&without, "AuthApiFunction", &calls[0].1),
        ["AuthApiFunction: AdminGetUser needs cognito-idp:AdminGetUser"]
    );
}

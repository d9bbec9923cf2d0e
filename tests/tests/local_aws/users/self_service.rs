//! The user's own data, on a running local stack: its export (`GET /public/user/me/export`
//! with `GET /auth/me/export`, and the server-to-server `GET /user/{id}/export` with
//! `GET /auth/users/{id}/export`) and its deletion of its own account (`DELETE /auth/me`).
//!
//! - The export holds the profile, its data, badges, status and timestamps, every stored
//!   version of the user's uploads with a presigned GET that works (15 minutes), the identity
//!   record and the user pool's attributes; nothing about another user, and no secret (the
//!   password, the activation code or its hash, the idempotency record).
//! - A wrong password deletes nothing, a correct one after it deletes the account: the same
//!   deletion as `DELETE /user/{id}` (no object version and no personal item left, checked as
//!   `erasure` checks), every token of the user is refused, the email registers again.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, DeleteAccountRequest, Error, LoginRequest, Status, UserApi, export_my_data,
    export_user,
};
use roster_testkit::harness;
use roster_user_api::assets::Assets;
use serde_json::{Value, json};
use sha2::Digest;

use super::erasure::{
    PASSWORD, Person, assert_nothing_personal_left, items, png, put, register, upload_url,
    versions_under,
};
use crate::support::{eventually, next_message, tap};

fn status_of<T: std::fmt::Debug>(result: Result<T, Error>) -> StatusCode {
    result
        .expect_err("refused")
        .status()
        .expect("an HTTP answer")
}

fn problem_of<T: std::fmt::Debug>(result: Result<T, Error>) -> (StatusCode, String) {
    let error = result.expect_err("refused");
    (
        error.status().expect("an HTTP answer"),
        error.problem_type().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_users_data_export_holds_everything_about_it_and_no_secret_and_nobody_else() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();

    let ada = register(&auth, &users, "ada.export@example.com", "ada.export", None).await;
    let bob = register(&auth, &users, "bob.export@example.com", "bob.export", None).await;
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, &ada.email, 1).await;
    users.activate(&code).await.unwrap();
    users
        .merge_data(
            &ada.id,
            &json!({"theme": "dark"}).as_object().unwrap().clone(),
            None,
        )
        .await
        .unwrap();
    users.award_badge(&ada.id, "EARLY_ADOPTER").await.unwrap();
    users
        .merge_data(
            &bob.id,
            &json!({"bobs": "secret-of-bob"})
                .as_object()
                .unwrap()
                .clone(),
            None,
        )
        .await
        .unwrap();
    // Two uploads of one avatar: two stored versions, one current.
    let picture = png();
    let upload = upload_url(&users, &ada.id, &picture).await;
    assert!(put(&upload, &picture).await.is_success());
    assert!(put(&upload, &picture).await.is_success());
    // email_verified arrives in the pool by event.
    eventually(
        "the activation in the pool",
        Duration::from_secs(15),
        || async {
            let tokens = auth
                .login(&LoginRequest::new(&ada.email, PASSWORD))
                .await
                .ok()?;
            let export = auth.export_me(&tokens.access_token).await.unwrap();
            let pool = export.pool?;
            (pool.attributes.get("email_verified").map(String::as_str) == Some("true"))
                .then_some(())
        },
    )
    .await;
    let tokens = auth
        .login(&LoginRequest::new(&ada.email, PASSWORD))
        .await
        .unwrap();

    let export = export_my_data(&auth, &users, &tokens.access_token)
        .await
        .unwrap();
    // The profile part.
    let profile = &export.profile;
    assert_eq!(profile.user.id, ada.id);
    assert_eq!(profile.user.email, ada.email);
    assert_eq!(profile.user.status, "CONFIRMED");
    assert_eq!(profile.user.profile.data["theme"], "dark");
    let badges: Vec<&str> = profile
        .user
        .profile
        .badges
        .iter()
        .map(|badge| badge.name.as_str())
        .collect();
    assert!(
        badges.contains(&"NEW_MEMBER") && badges.contains(&"EARLY_ADOPTER"),
        "{badges:?}"
    );
    assert!(profile.account.activated_at.is_some());
    assert_eq!(
        profile.account.activation_expires_at, None,
        "the code is used"
    );
    assert!(!profile.status_history.kept);
    assert!(profile.identity.contains("/auth/me/export"));
    // Every stored version, each link serving its bytes; links of 15 minutes.
    assert_eq!(profile.uploads.len(), 2, "{:?}", profile.uploads);
    assert_eq!(
        profile
            .uploads
            .iter()
            .filter(|upload| upload.current)
            .count(),
        1
    );
    for link in &profile.uploads {
        assert!(link.key.starts_with(&Assets::upload_prefix(&ada.id)));
        assert!(link.url.contains("X-Amz-Expires=900"), "{}", link.url);
        let served = reqwest::get(&link.url).await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{}", link.url);
        assert_eq!(served.bytes().await.unwrap().as_ref(), picture.as_slice());
    }
    let expires = chrono::DateTime::parse_from_rfc3339(&profile.links_expire_at).unwrap();
    let exported = chrono::DateTime::parse_from_rfc3339(&profile.exported_at).unwrap();
    assert_eq!((expires - exported).num_seconds(), 900);
    // The identity part: the identity record and the pool's attributes.
    let identity = &export.identity;
    assert_eq!(identity.user_id, ada.id);
    assert_eq!(identity.email, ada.email);
    assert_eq!(identity.reserved.handle, ada.handle);
    assert_eq!(identity.deletion_requested_at, None);
    let pool = identity.pool.as_ref().expect("the pool's record");
    assert!(pool.enabled);
    assert_eq!(pool.attributes["sub"], ada.id);
    assert_eq!(pool.attributes["email"], ada.email);
    assert!(pool.attributes.contains_key("custom:registrationId"));

    // No secret, nothing of Bob.
    let text = serde_json::to_string(&export).unwrap();
    let code_hash = hex::encode(sha2::Sha256::digest(code.as_bytes()));
    for (what, secret) in [
        ("the password", PASSWORD),
        ("the activation code", code.as_str()),
        ("the activation code's hash", code_hash.as_str()),
        ("the access token", tokens.access_token.as_str()),
        ("Bob's id", bob.id.as_str()),
        ("Bob's email", bob.email.as_str()),
        ("Bob's name", bob.name.as_str()),
        ("Bob's data", "secret-of-bob"),
    ] {
        assert!(!text.contains(secret), "the export holds {what}: {text}");
    }
    for field in [
        "activationCodeHash",
        "idempotencyRecord",
        "passwordHash",
        "lastWriteId",
    ] {
        assert!(!text.contains(field), "the export names {field}");
    }

    // Server to server: the same user's export, by id, with users:read.
    let by_id = export_user(&auth, &users, &ada.id).await.unwrap();
    assert_eq!(by_id.profile.user, export.profile.user);
    assert_eq!(by_id.profile.uploads.len(), 2);
    assert_eq!(by_id.identity.pool, export.identity.pool);

    // Bad input and the wrong callers.
    let unknown = "5a0c0a8e-0000-4000-8000-0000000000ff";
    assert_eq!(
        status_of(users.export(unknown).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(auth.export_user(unknown).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(users.export("not an id").await),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(auth.export_user("not an id").await),
        StatusCode::BAD_REQUEST
    );
    for garbage in ["", "not.a.token", tokens.id_token.as_str()] {
        assert_eq!(
            status_of(users.export_me(garbage).await),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(auth.export_me(garbage).await),
            StatusCode::UNAUTHORIZED
        );
    }
    let auth_only = roster_platform::api_keys::KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        stack.provisioned().api_key_secret.clone(),
    )
    .create("auth-only", &["auth"], None)
    .await
    .unwrap()
    .plaintext;
    let auth_only = AuthApi::new(&facts.auth_url, &auth_only).unwrap();
    assert_eq!(
        status_of(auth_only.export_user(&ada.id).await),
        StatusCode::FORBIDDEN
    );
    let keyless = reqwest::get(format!("{}/user/{}/export", facts.user_url, ada.id))
        .await
        .unwrap();
    assert_eq!(keyless.status(), StatusCode::UNAUTHORIZED);
    assert!(
        keyless.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );

    // A suspended account exports nothing with its tokens: 403 at once from the User API, 401
    // from the Auth API once the suspension revoked them; an operator still can.
    users
        .set_status(&ada.id, Status::Suspended, None)
        .await
        .unwrap();
    assert_eq!(
        status_of(users.export_me(&tokens.access_token).await),
        StatusCode::FORBIDDEN
    );
    eventually(
        "the suspension's revocation",
        Duration::from_secs(15),
        || async {
            (auth.export_me(&tokens.access_token).await.err()?.status()
                == Some(StatusCode::UNAUTHORIZED))
            .then_some(())
        },
    )
    .await;
    let suspended = export_user(&auth, &users, &ada.id).await.unwrap();
    assert_eq!(suspended.profile.user.status, "SUSPENDED");
    assert_eq!(
        suspended.identity.applied_status.as_deref(),
        Some("SUSPENDED")
    );
    assert_eq!(
        suspended.identity.pool.map(|pool| pool.enabled),
        Some(false)
    );

    // Deleted: 404 by id from both.
    users.delete(&bob.id, None).await.unwrap();
    assert_eq!(
        status_of(users.export(&bob.id).await),
        StatusCode::NOT_FOUND
    );
    eventually(
        "Bob's identity released",
        Duration::from_secs(15),
        || async {
            (auth.export_user(&bob.id).await.err()?.status() == Some(StatusCode::NOT_FOUND))
                .then_some(())
        },
    )
    .await;

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn a_user_deletes_its_own_account_with_its_password_and_leaves_nothing_behind() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let events = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-self-deletion", facts.prefix),
        json!({"detail-type": ["UserDeletionRequested", "UserDeleted"]}),
    )
    .await;

    // With an Idempotency-Key: its record keeps the registration's answer until the deletion.
    let carol = register(
        &auth,
        &users,
        "carol.leaves@example.com",
        "carol.leaves",
        Some("self-deletion-key-1"),
    )
    .await;
    let dave = register(&auth, &users, "dave.stays@example.com", "dave.stays", None).await;
    let person = Person::of(&carol);
    let prefix = Assets::upload_prefix(&carol.id);
    let picture = png();
    let upload = upload_url(&users, &carol.id, &picture).await;
    assert!(put(&upload, &picture).await.is_success());
    assert!(put(&upload, &picture).await.is_success());
    let tokens = auth
        .login(&LoginRequest::new(&carol.email, PASSWORD))
        .await
        .unwrap();
    let dave_tokens = auth
        .login(&LoginRequest::new(&dave.email, PASSWORD))
        .await
        .unwrap();
    let request = |password: &str| DeleteAccountRequest {
        password: password.to_owned(),
    };

    // Refused: no token, another kind of token, no password, a wrong one. Nothing changes.
    assert_eq!(
        status_of(auth.delete_me("", &request(PASSWORD)).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(auth.delete_me(&tokens.id_token, &request(PASSWORD)).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        problem_of(auth.delete_me(&tokens.access_token, &request("")).await),
        (
            StatusCode::BAD_REQUEST,
            "/problems/invalid-input".to_owned()
        )
    );
    assert_eq!(
        problem_of(
            auth.delete_me(&tokens.access_token, &request("Not-The-Password-9"))
                .await
        ),
        (StatusCode::FORBIDDEN, "/problems/wrong-password".to_owned())
    );
    // Another user's password does not open this account either.
    assert_eq!(
        status_of(
            auth.delete_me(&tokens.access_token, &request("Erasure-Secret-2"))
                .await
        ),
        StatusCode::FORBIDDEN
    );
    let http = reqwest::Client::new();
    for (body, content_type, expected) in [
        (
            "{\"password\": 7}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"password\": \"x\", \"id\": \"someone\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("not json", "application/json", StatusCode::BAD_REQUEST),
        (
            "{\"password\": \"x\"}",
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let answer = http
            .delete(format!("{}/auth/me", facts.auth_url))
            .bearer_auth(&tokens.access_token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "{body} as {content_type}");
    }
    assert_eq!(users.me(&tokens.access_token).await.unwrap().id, carol.id);
    assert_eq!(versions_under(&sdk, &facts.bucket, &prefix).await.len(), 2);

    // The right password, after the wrong ones: the deletion is under way.
    let requested = auth
        .delete_me(&tokens.access_token, &request(PASSWORD))
        .await
        .unwrap();
    assert_eq!(requested.user_id, carol.id);
    // Every session ended at once on the Auth API.
    assert_eq!(
        status_of(auth.export_me(&tokens.access_token).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(
            auth.delete_me(&tokens.access_token, &request(PASSWORD))
                .await
        ),
        StatusCode::UNAUTHORIZED
    );
    // UserDeletionRequested, and the User API's deletion: UserDeleted.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event: Value = next_message(&sdk, &events).await;
        assert_eq!(
            event["detail"]["data"]["userId"],
            carol.id.as_str(),
            "{event}"
        );
        seen.push(event["detail-type"].as_str().unwrap().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["UserDeleted", "UserDeletionRequested"]);

    // The same deletion as DELETE /user/{id}: the profile, every version of the uploads, the
    // sign-in, the identity and its reservations.
    assert_eq!(
        status_of(users.user(&carol.id).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(users.me(&tokens.access_token).await),
        StatusCode::UNAUTHORIZED
    );
    let auth_table = facts.tables["auth"].clone();
    eventually("the identity released", Duration::from_secs(15), || async {
        let identity = format!("USER#{}", carol.id);
        items(&sdk, &auth_table)
            .await
            .iter()
            .all(|item| item["pk"] != identity.as_str())
            .then_some(())
    })
    .await;
    let left = versions_under(&sdk, &facts.bucket, &prefix).await;
    assert!(left.is_empty(), "left under {prefix}: {left:?}");
    assert_nothing_personal_left(&stack, &sdk, &person).await;
    assert_eq!(
        status_of(auth.login(&LoginRequest::new(&carol.email, PASSWORD)).await),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(
            auth.refresh(&roster_client::RefreshRequest {
                refresh_token: tokens.refresh_token.clone().unwrap(),
                client_id: None,
            })
            .await
        ),
        StatusCode::UNAUTHORIZED
    );

    // Nobody else was touched.
    assert_eq!(
        users.me(&dave_tokens.access_token).await.unwrap().id,
        dave.id
    );
    assert!(auth.export_me(&dave_tokens.access_token).await.is_ok());

    // The same email, name and handle register again: a new account.
    let again = register(&auth, &users, &carol.email, &carol.name, None).await;
    assert_ne!(again.id, carol.id);
    let fresh = auth
        .login(&LoginRequest::new(&carol.email, PASSWORD))
        .await
        .unwrap();
    assert_eq!(users.me(&fresh.access_token).await.unwrap().id, again.id);

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

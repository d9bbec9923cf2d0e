//! Users cannot change their identity behind the system's back (issue 14, part 2).
//!
//! Every access token carries `aws.cognito.signin.user.admin`, so its holder may call
//! Cognito's `UpdateUserAttributes` and `DeleteUser` directly, and an operator may change or
//! delete a user in the pool. So:
//! - no app client may write an identity attribute (email, name, handle, the registration
//!   marker): `WriteAttributes` lists one harmless attribute, and an email change waits for
//!   its verification;
//! - the Auth API addresses every admin call by the user's immutable username (its `sub`), so
//!   an email changed out of band does not make a suspension miss the user;
//! - a Cognito user that is gone is not "done" unless the auth table shows why (a deletion
//!   under way, or the reconciler's finding), and the reconciler turns such a finding into the
//!   normal deletion of the profile (`IdentityDeleted` → the User API deletes the profile →
//!   `UserDeleted` → the Auth API releases the identifiers).
//!
//! Each refusal or fault is followed by the happy path on the same stack.

use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_cognitoidentityprovider::Client as Pool;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use reqwest::StatusCode;
use roster_auth_api::registration::{IdentitySlice, reconcile_with};
use roster_client::{
    AuthApi, LoginRequest, RefreshRequest, RegisterRequest, Status, TokenUse, UserApi,
    VerifyRequest,
};
use roster_events::user::{UserDeleted, UserStatus, UserStatusChanged};
use roster_events::{DomainEvent, Envelope, Timestamp, UserId};
use roster_infra::resources::{USER_POOL, WRITE_ATTRIBUTES};
use roster_local::provision::Provisioned;
use roster_local::stack::auth_stores;
use roster_platform::subscriber::{EventHandler, Outcome};
use roster_testkit::harness::{self, REGION, TestResources};
use serde_json::{Value, json};

use crate::support::{auth_items, eventually, receive_bodies, tap};

const PASSWORD: &str = "Identity-Secret-1";

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}

/// The value of `name` on the pool's user `username`, if it has one.
async fn pool_attribute(pool: &Pool, pool_id: &str, username: &str, name: &str) -> Option<String> {
    let user = pool
        .admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .unwrap();
    user.user_attributes()
        .iter()
        .find(|attribute| attribute.name() == name)
        .and_then(|attribute| attribute.value().map(ToOwned::to_owned))
}

/// Whether the pool's user `username` exists and is enabled.
async fn enabled(pool: &Pool, pool_id: &str, username: &str) -> Option<bool> {
    pool.admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .ok()
        .map(|user| user.enabled())
}

/// The Auth API's reconciler run over every identity at once, as the tests call it.
async fn reconcile_all(sdk: &aws_config::SdkConfig, provisioned: &Provisioned) -> Value {
    let stores = auth_stores(provisioned);
    let report = reconcile_with(
        &stores.table(sdk),
        &stores.pool(sdk),
        chrono::Duration::minutes(5),
        IdentitySlice::WHOLE,
    )
    .await
    .unwrap();
    serde_json::to_value(report).unwrap()
}

/// A domain event as a subscriber receives it from the bus.
fn bus_event<D: DomainEvent>(event_id: &str, data: D) -> EventBridgeEvent<Value> {
    let envelope = Envelope::new(
        event_id.to_owned(),
        Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
        data,
    );
    serde_json::from_value(json!({
        "version": "0", "id": event_id, "detail-type": D::DETAIL_TYPE, "source": D::SOURCE,
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": REGION,
        "resources": [], "detail": envelope
    }))
    .unwrap()
}

/// Registers a user through the Auth API and waits for its profile.
async fn register(auth: &AuthApi, users: &UserApi, email: &str, name: &str) -> String {
    let registered = auth
        .register(&RegisterRequest::new(email, name, PASSWORD), None)
        .await
        .unwrap();
    eventually("the profile", Duration::from_secs(20), || async {
        users.user(&registered.id).await.ok()
    })
    .await;
    registered.id
}

#[tokio::test]
async fn app_clients_write_no_identity_attribute_and_an_email_change_waits_for_verification() {
    let resources = harness::provisioned().await;
    let (url, key) = harness::auth_api(&resources).await;
    let auth = AuthApi::new(&url, &key).unwrap();
    let pool = Pool::new(&resources.sdk);
    let pool_id = resources.provisioned.user_pool_id.as_str();
    let registered = auth
        .register(
            &RegisterRequest::new("ada@example.com", "ada_lovelace", PASSWORD),
            None,
        )
        .await
        .unwrap();
    let username = registered.id.as_str();
    let login = LoginRequest::new("ada@example.com", PASSWORD);
    let tokens = auth.login(&login).await.unwrap();

    // With its own access token, the user may write no identity attribute: not the email (a
    // sign-in name), the name, the handle, `email_verified` or the registration marker.
    let identity_attributes = [
        ("email", "mallory@example.com"),
        ("email_verified", "true"),
        ("name", "mallory"),
        ("preferred_username", "@Mallory"),
        ("custom:registrationId", "forged"),
    ];
    for (n, (name, value)) in identity_attributes.into_iter().enumerate() {
        let before = pool_attribute(&pool, pool_id, username, name).await;
        let refused = pool
            .update_user_attributes()
            .access_token(&tokens.access_token)
            .user_attributes(attribute(name, value))
            .send()
            .await
            .expect_err(name);
        assert!(
            refused
                .as_service_error()
                .is_some_and(|error| error.is_not_authorized_exception()),
            "{name}: {refused:?}"
        );
        assert_eq!(
            pool_attribute(&pool, pool_id, username, name).await,
            before,
            "{name} unchanged"
        );
        // The happy path after the refusal: the one writable attribute, and a sign-in.
        let zone = format!("Europe/Zone{n}");
        pool.update_user_attributes()
            .access_token(&tokens.access_token)
            .user_attributes(attribute("zoneinfo", &zone))
            .send()
            .await
            .unwrap();
        assert_eq!(
            pool_attribute(&pool, pool_id, username, "zoneinfo").await,
            Some(zone)
        );
        auth.login(&login).await.unwrap();
    }

    // An operator's email change waits for the new address to be verified: the user keeps
    // signing in with the old one, and the pool still holds it.
    pool.admin_update_user_attributes()
        .user_pool_id(pool_id)
        .username(username)
        .user_attributes(attribute("email", "unverified@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pool_attribute(&pool, pool_id, username, "email").await,
        Some("ada@example.com".to_owned()),
        "an unverified email does not take effect"
    );
    auth.login(&login).await.unwrap();

    // How the pool and its clients are provisioned says so too.
    for (frontend, client_id) in &resources.provisioned.client_ids {
        let client = pool
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .send()
            .await
            .unwrap();
        let client = client.user_pool_client().unwrap();
        assert_eq!(client.write_attributes(), WRITE_ATTRIBUTES, "{frontend}");
    }
    let described = pool
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .unwrap();
    let described = described.user_pool().unwrap();
    let waits: Vec<&str> = described
        .user_attribute_update_settings()
        .map(|settings| settings.attributes_require_verification_before_update())
        .unwrap_or_default()
        .iter()
        .map(|attribute| attribute.as_str())
        .collect();
    assert_eq!(waits, ["email"]);
    assert!(
        described
            .auto_verified_attributes()
            .iter()
            .any(|attribute| attribute.as_str() == "email")
    );
    assert_eq!(
        USER_POOL.clients.len(),
        resources.provisioned.client_ids.len()
    );
}

#[tokio::test]
async fn after_an_out_of_band_email_change_a_suspension_still_disables_and_signs_out_the_user() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let pool = Pool::new(&sdk);
    let pool_id = facts.user_pool_id.as_str();
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let id = register(&auth, &users, "grace@example.com", "grace_hopper").await;
    let tokens = auth
        .login(&LoginRequest::new("grace@example.com", PASSWORD))
        .await
        .unwrap();
    let refresh = RefreshRequest {
        refresh_token: tokens.refresh_token.clone().unwrap(),
        client_id: None,
    };

    // An operator changes the email straight in the pool, verified, so it takes effect: the
    // user signs in with the new address, and the session survives it, as on Cognito.
    pool.admin_update_user_attributes()
        .user_pool_id(pool_id)
        .username(&id)
        .user_attributes(attribute("email", "moved@example.com"))
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pool_attribute(&pool, pool_id, &id, "email")
            .await
            .as_deref(),
        Some("moved@example.com")
    );
    let moved = LoginRequest::new("moved@example.com", PASSWORD);
    auth.login(&moved).await.unwrap();
    auth.refresh(&refresh).await.unwrap();

    // The suspension reaches the user all the same: disabled, signed out everywhere, refused.
    users
        .set_status(&id, Status::Suspended, None)
        .await
        .unwrap();
    eventually("the user disabled", Duration::from_secs(20), || async {
        (enabled(&pool, pool_id, &id).await == Some(false)).then_some(())
    })
    .await;
    let refused = auth.refresh(&refresh).await.map(drop).unwrap_err();
    assert_eq!(
        refused.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{refused}"
    );
    let refused = auth.login(&moved).await.map(drop).unwrap_err();
    assert_eq!(
        refused.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{refused}"
    );
    let verify = VerifyRequest::new(&tokens.access_token, TokenUse::Access);
    eventually("the old token refused", Duration::from_secs(20), || async {
        auth.verify(&verify).await.is_err().then_some(())
    })
    .await;

    // The happy path on the same stack: the user confirmed again signs in with the new
    // address, and a new registration gets its profile.
    users
        .set_status(&id, Status::Confirmed, None)
        .await
        .unwrap();
    eventually("the user enabled", Duration::from_secs(20), || async {
        auth.login(&moved).await.ok()
    })
    .await;
    let fresh = register(&auth, &users, "newcomer@example.com", "newcomer").await;
    assert_ne!(fresh, id);
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn after_an_out_of_band_deletion_one_reconciler_run_deletes_the_profile_and_frees_the_identifiers()
 {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let provisioned = stack.provisioned().clone();
    let sdk = harness::sdk().await;
    let pool = Pool::new(&sdk);
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let downstream = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-deletions", facts.prefix),
        json!({"detail-type": ["IdentityDeleted", "UserDeleted"]}),
    )
    .await;
    let gone = register(&auth, &users, "gone@example.com", "gone_user").await;
    let stays = register(&auth, &users, "stays@example.com", "stays_user").await;

    // The user deletes itself (or an operator does): the pool forgets it, Roster does not.
    pool.admin_delete_user()
        .user_pool_id(&facts.user_pool_id)
        .username(&gone)
        .send()
        .await
        .unwrap();
    assert!(users.user(&gone).await.is_ok(), "the profile is left");

    // The stack's own reconciler runs once a minute too; it may have been first.
    let table = auth_stores(&provisioned).table(&sdk);
    let found_before = table
        .identity(&gone)
        .await
        .unwrap()
        .is_some_and(|identity| identity.identity_gone_at.is_some());
    let report = reconcile_all(&sdk, &provisioned).await;
    assert_eq!(report["failed"], 0, "{report}");
    if !found_before {
        assert_eq!(report["identitiesGone"], 1, "{report}");
    }
    let refused = eventually("the profile deleted", Duration::from_secs(20), || async {
        users.user(&gone).await.err()
    })
    .await;
    assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND), "{refused}");
    let resources = TestResources {
        sdk: sdk.clone(),
        names: roster_infra::resources::Names::new(facts.prefix.clone()),
        provisioned: provisioned.clone(),
    };
    eventually(
        "the identifiers released",
        Duration::from_secs(20),
        || async {
            let items = auth_items(&resources).await;
            let held = items.iter().any(|item| {
                item["pk"] == format!("USER#{gone}") || item["userId"].as_str() == Some(&gone)
            });
            (!held).then_some(())
        },
    )
    .await;
    let bodies = receive_bodies(&sdk, &downstream, 2, Duration::from_secs(20)).await;
    let events: Vec<(String, String)> = bodies
        .iter()
        .map(|body| serde_json::from_str::<Value>(body).unwrap())
        .map(|event| {
            (
                event["detail-type"].as_str().unwrap().to_owned(),
                event["detail"]["data"]["userId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("IdentityDeleted".to_owned(), gone.clone()),
            ("UserDeleted".to_owned(), gone.clone())
        ],
        "the finding, then the normal deletion"
    );

    // Nothing else was touched, and nothing is left to do.
    assert!(users.user(&stays).await.is_ok());
    auth.login(&LoginRequest::new("stays@example.com", PASSWORD))
        .await
        .unwrap();
    let again = reconcile_all(&sdk, &provisioned).await;
    assert_eq!(again["identitiesGone"], 0, "{again}");

    // The happy path: the freed email and name register again, with a profile.
    let back = register(&auth, &users, "gone@example.com", "gone_user").await;
    assert_ne!(back, gone);
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn a_user_missing_from_the_pool_is_done_only_when_the_auth_table_says_why() {
    let resources = harness::provisioned().await;
    let (url, key) = harness::auth_api(&resources).await;
    let auth = AuthApi::new(&url, &key).unwrap();
    let pool = Pool::new(&resources.sdk);
    let pool_id = resources.provisioned.user_pool_id.as_str();
    let stores = auth_stores(&resources.provisioned);
    let subscriber = roster_auth_api::subscriber::AuthEvents::new(
        stores.table(&resources.sdk),
        stores.pool(&resources.sdk),
    );
    let id = auth
        .register(
            &RegisterRequest::new("vanished@example.com", "vanished", PASSWORD),
            None,
        )
        .await
        .unwrap()
        .id;
    pool.admin_delete_user()
        .user_pool_id(pool_id)
        .username(&id)
        .send()
        .await
        .unwrap();

    // Nothing in the auth table explains the missing user: a suspension or a deletion of it
    // is not silently "done", it stays to be retried.
    let suspended = bus_event(
        &format!("UserStatusChanged-{id}-v2"),
        UserStatusChanged {
            user_id: UserId::parse(&id).unwrap(),
            from: UserStatus::Unconfirmed,
            to: UserStatus::Suspended,
            changed_at: Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
            version: 2,
        },
    );
    assert!(subscriber.handle(&suspended).await.is_err(), "suspension");
    let deleted = bus_event(
        &format!("UserDeleted-{id}"),
        UserDeleted {
            user_id: UserId::parse(&id).unwrap(),
            deleted_at: Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
        },
    );
    assert!(subscriber.handle(&deleted).await.is_err(), "deletion");
    assert!(
        auth_items(&resources)
            .await
            .iter()
            .any(|item| item["pk"] == format!("USER#{id}")),
        "the identity is kept"
    );

    // The reconciler records the finding; now both are done, and the identifiers are free.
    let report = reconcile_all(&resources.sdk, &resources.provisioned).await;
    assert_eq!(report["identitiesGone"], 1, "{report}");
    assert_eq!(
        subscriber.handle(&suspended).await.unwrap(),
        Outcome::Handled
    );
    assert_eq!(subscriber.handle(&deleted).await.unwrap(), Outcome::Handled);
    assert!(
        !auth_items(&resources)
            .await
            .iter()
            .any(|item| item["pk"] == format!("USER#{id}") || item["userId"] == id.as_str()),
        "identity and reservations released"
    );
    // A redelivery finds nothing left to do.
    assert_eq!(subscriber.handle(&deleted).await.unwrap(), Outcome::Handled);

    // The happy path: the email registers again, and the new user signs in.
    auth.register(
        &RegisterRequest::new("vanished@example.com", "vanished", PASSWORD),
        None,
    )
    .await
    .unwrap();
    auth.login(&LoginRequest::new("vanished@example.com", PASSWORD))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_reconciler_checks_each_identity_once_per_round_of_slices() {
    let resources = harness::provisioned().await;
    let (url, key) = harness::auth_api(&resources).await;
    let auth = AuthApi::new(&url, &key).unwrap();
    let mut ids = Vec::new();
    for n in 0..6 {
        let registered = auth
            .register(
                &RegisterRequest::new(
                    format!("sliced{n}@example.com"),
                    format!("sliced_{n}"),
                    PASSWORD,
                ),
                None,
            )
            .await
            .unwrap();
        ids.push(registered.id);
    }
    let stores = auth_stores(&resources.provisioned);
    let (table, identity) = (stores.table(&resources.sdk), stores.pool(&resources.sdk));
    let segments = 4;
    let mut checked = 0;
    for segment in 0..segments {
        let report = reconcile_with(
            &table,
            &identity,
            chrono::Duration::minutes(5),
            IdentitySlice { segment, segments },
        )
        .await
        .unwrap();
        assert_eq!(report.identities_gone, 0);
        checked += report.identities_checked;
    }
    assert_eq!(checked, ids.len(), "each identity once in a round");
    // The slice of a minute: one round every `segments` minutes.
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let slices: Vec<u32> = (0..segments)
        .map(|m| IdentitySlice::of_minute(start + chrono::Duration::minutes(m.into()), segments))
        .map(|slice| slice.segment)
        .collect();
    let mut sorted = slices.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3], "{slices:?}");
}

/// A pool that lost every user at once (a wrong, replaced or restored pool) is not a wave of
/// self-deletions: one reconciler run that finds more than 5% (and more than 3) of its
/// identities gone records none, so no profile is deleted, and says so in its report. Found in
/// review: before, such a run deleted up to 100 profiles a minute.
#[tokio::test]
async fn a_pool_that_lost_every_user_at_once_deletes_no_profile() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let provisioned = stack.provisioned().clone();
    let sdk = harness::sdk().await;
    let pool = Pool::new(&sdk);
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            register(
                &auth,
                &users,
                &format!("lost{n}@example.com"),
                &format!("lost_{n}"),
            )
            .await,
        );
    }
    for id in &ids {
        pool.admin_delete_user()
            .user_pool_id(&facts.user_pool_id)
            .username(id)
            .send()
            .await
            .unwrap();
    }
    let report = reconcile_all(&sdk, &provisioned).await;
    assert_eq!(report["identitiesGone"], 0, "{report}");
    assert_eq!(report["identitiesGoneRefused"], 4, "{report}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for id in &ids {
        assert!(users.user(id).await.is_ok(), "the profile of {id} stays");
    }
    // The happy path on the same stack: a new registration works.
    register(&auth, &users, "after-lost@example.com", "after_lost").await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

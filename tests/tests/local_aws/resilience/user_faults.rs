//! The User API's writes under injected faults: a fault proxy between the User API (or its
//! subscriber) and the local AWS endpoint fails chosen DynamoDB calls before they reach it
//! (nothing happened) or after (it happened, the answer is lost). Whatever fails, the profile
//! ends with each change applied exactly once, and nothing is lost.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use reqwest::Method;
use roster_events::auth::UserRegistered;
use roster_events::{Email, Envelope, Role, Timestamp, UserStatus};
use roster_platform::subscriber::{EventHandler, Outcome};
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness::{self, REGION};
use roster_user_api::domain::UserId;
use roster_user_api::profiles::{Context, Profiles, SettingsChange};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use roster_client::{Status, UserApi};

use crate::support::Api;
use crate::support::{profiles_of, seed_profile};

const ID: &str = "fa017000-0000-4000-8000-000000000001";

struct Setup {
    proxy: FaultProxy,
    api: UserApi,
    direct: Profiles,
}

async fn setup() -> Setup {
    let resources = harness::provisioned().await;
    let direct = profiles_of(&resources);
    seed_profile(&direct, ID, "fault_user", "hash-f").await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (url, key) = harness::user_api_through(&resources, proxy.url()).await;
    Setup {
        proxy,
        api: UserApi::new(&url, &key).unwrap(),
        direct,
    }
}

/// Fails the next call of `operation` after it was applied: the change lands, its answer
/// is lost, and the SDK retries.
fn answer_lost(operation: &'static str) -> Fault {
    Fault {
        operation,
        skip: 0,
        times: 1,
        when: When::After,
        kind: Kind::Error,
    }
}

#[tokio::test]
async fn a_merge_whose_answer_is_lost_is_neither_lost_nor_applied_twice() {
    let setup = setup().await;
    setup.proxy.inject(answer_lost("UpdateItem"));
    setup
        .api
        .merge_data(
            ID,
            json!({"a": 1, "b": {"c": 2}}).as_object().unwrap(),
            None,
        )
        .await
        .unwrap();
    let stored = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&stored.data).unwrap(),
        json!({"a": 1, "b": {"c": 2}})
    );
    assert!(
        setup.proxy.calls("UpdateItem") >= 2,
        "the lost answer was retried"
    );
}

#[tokio::test]
async fn an_award_whose_answer_is_lost_awards_the_badge_once() {
    let setup = setup().await;
    let before = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    setup.proxy.inject(answer_lost("UpdateItem"));
    setup.api.award_badge(ID, "EARLY_ADOPTER").await.unwrap();
    let after = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(after.badges.contains_key("EARLY_ADOPTER"));
    assert_eq!(
        after.version,
        before.version + 1,
        "one write: one BadgeAwarded"
    );
}

#[tokio::test]
async fn a_status_change_whose_answer_is_lost_is_applied_once() {
    let setup = setup().await;
    let before = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    setup.proxy.inject(answer_lost("UpdateItem"));
    setup
        .api
        .set_status(ID, Status::Suspended, None)
        .await
        .unwrap();
    let after = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status, UserStatus::Suspended);
    assert_eq!(
        after.version,
        before.version + 1,
        "one write: one UserStatusChanged"
    );
}

#[tokio::test]
async fn a_lookup_whose_profile_read_fails_is_refused_and_the_next_lookup_finds_the_user() {
    let setup = setup().await;
    // The index answers with the id; reading the profile by it fails on every attempt.
    setup.proxy.inject(Fault::always("GetItem", When::Before));
    let error = setup
        .api
        .user_by_name("fault_user")
        .await
        .expect_err("no profile read, no answer");
    // DynamoDB's 500, retried and still failing: a 500 that says it is safe to retry.
    assert!(
        error
            .status()
            .is_some_and(|status| status.is_server_error()),
        "{error}"
    );
    assert!(setup.proxy.calls("Query") >= 1, "the index was read first");
    setup.proxy.clear();
    for found in [
        setup.api.user_by_name("FAULT_USER").await,
        setup.api.user_by_email("fault_user@example.com").await,
        setup.api.user_by_handle("@faultuser").await,
    ] {
        assert_eq!(found.unwrap().id, ID);
    }
}

#[tokio::test]
async fn a_delete_that_cannot_write_its_tombstone_keeps_the_profile_and_a_retry_finishes() {
    let setup = setup().await;
    setup.proxy.inject(Fault::always("PutItem", When::Before));
    let error = setup
        .api
        .delete(ID, None)
        .await
        .expect_err("no tombstone, no deletion");
    assert!(
        error
            .status()
            .is_some_and(|status| status.is_server_error()),
        "{error}"
    );
    assert!(
        setup
            .direct
            .table
            .profile(&UserId::parse(ID).unwrap())
            .await
            .unwrap()
            .is_some(),
        "nothing half-deleted"
    );
    setup.proxy.clear();
    setup.api.delete(ID, None).await.unwrap();
    assert!(
        setup
            .direct
            .table
            .profile(&UserId::parse(ID).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        setup
            .direct
            .table
            .get(&UserId::parse(ID).unwrap())
            .await
            .unwrap()
            .is_some(),
        "the tombstone stays"
    );
}

#[tokio::test]
async fn a_profile_creation_whose_answer_is_lost_creates_one_profile() {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let through = roster_platform::aws::local(proxy.url(), REGION).await;
    let profiles =
        roster_local::stack::user_config(&resources.provisioned, "http://assets.invalid")
            .profiles(&through);
    let subscriber = roster_user_api::subscriber::UserEvents::new(profiles);
    let id = "fa017000-0000-4000-8000-000000000002";
    let envelope = Envelope::new(
        format!("UserRegistered-{id}"),
        Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
        UserRegistered {
            user_id: UserId::parse(id).unwrap(),
            email: Email::parse("created@example.com").unwrap(),
            name: "created".to_owned(),
            handle: "@Created".to_owned(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: "tests".to_owned(),
            // Recent: a registration older than a tombstone lives creates no profile.
            created_at: Timestamp::now(),
            activation_code_hash: "hash-c".to_owned(),
        },
    );
    let event: EventBridgeEvent<Value> = serde_json::from_value(json!({
        "version": "0", "id": "e", "detail-type": "UserRegistered", "source": "roster.auth",
        "time": "2026-11-25T10:00:00Z", "region": REGION, "resources": [], "detail": envelope
    }))
    .unwrap();
    proxy.inject(answer_lost("PutItem"));
    assert_eq!(subscriber.handle(&event).await.unwrap(), Outcome::Handled);
    let created = profiles_of(&resources)
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.badges.len(), 1);
    assert!(proxy.calls("PutItem") >= 2, "the lost answer was retried");
}

/// Closes the connection of the next call of `operation` through `proxy` after it was
/// applied: the change lands, the caller hears nothing, and the SDK retries.
fn hang_up_next(proxy: &FaultProxy, operation: &'static str) {
    proxy.inject(Fault {
        skip: proxy.calls(operation),
        kind: Kind::Hangup,
        ..answer_lost(operation)
    });
}

/// Every User API write, each with its connection dropped after the change landed: each is
/// answered as a success and applied exactly once (the version moves by one, so the
/// projector publishes one event).
#[tokio::test]
async fn every_write_whose_connection_drops_after_it_landed_is_applied_once() {
    let resources = harness::provisioned().await;
    let direct = profiles_of(&resources);
    let id = "fa017000-0000-4000-8000-000000000003";
    let code = "fa0170000000400080000000000000ac";
    seed_profile(
        &direct,
        id,
        "hangup_user",
        &hex::encode(Sha256::digest(code.as_bytes())),
    )
    .await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (url, key) = harness::user_api_through(&resources, proxy.url()).await;
    // Raw for the table of writes: each sends If-Match, which `roster-client` takes only on
    // data, status and deletion (not on activation, badges or avatars).
    let api = Api::new(&url, &key);
    let client = UserApi::new(&url, &key).unwrap();
    let version = || async {
        direct
            .table
            .profile(&UserId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap()
            .version
    };

    let writes: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "activation",
            Method::GET,
            format!("/user/activate/{code}"),
            None,
        ),
        (
            "data PUT",
            Method::PUT,
            format!("/user/{id}/data/update"),
            Some(json!({"a": 1})),
        ),
        (
            "data PATCH",
            Method::PATCH,
            format!("/user/{id}/data/update"),
            Some(json!({"b": 2})),
        ),
        (
            "suspend",
            Method::PATCH,
            format!("/user/{id}/status/SUSPENDED"),
            None,
        ),
        (
            "confirm",
            Method::PATCH,
            format!("/user/{id}/status/CONFIRMED"),
            None,
        ),
        (
            "award",
            Method::POST,
            format!("/user/{id}/badge/EARLY_ADOPTER"),
            None,
        ),
        (
            "revoke",
            Method::DELETE,
            format!("/user/{id}/badge/EARLY_ADOPTER"),
            None,
        ),
        (
            "default avatar",
            Method::POST,
            format!("/user/{id}/avatar"),
            Some(json!({"default": "04"})),
        ),
        (
            "avatar upload",
            Method::POST,
            format!("/user/{id}/avatar"),
            Some(json!({"contentType": "image/png", "contentLength": 1024})),
        ),
    ];
    for (what, method, path, body) in writes {
        let before = version().await;
        let calls = proxy.calls("UpdateItem");
        hang_up_next(&proxy, "UpdateItem");
        let mut request = api
            .request(method, &path)
            .header("if-match", format!("\"{before}\""));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = crate::support::answer(request.send().await.unwrap()).await;
        proxy.clear();
        assert!(status.is_success(), "{what}: {status} {body}");
        assert!(proxy.calls("UpdateItem") >= calls + 2, "{what}: retried");
        assert_eq!(version().await, before + 1, "{what}: applied once");
    }
    let stored = direct
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, UserStatus::Confirmed);
    assert!(stored.activation_code_hash.is_none());
    assert_eq!(
        serde_json::from_str::<Value>(&stored.data).unwrap(),
        json!({"a": 1, "b": 2})
    );
    assert!(!stored.badges.contains_key("EARLY_ADOPTER"));
    assert!(stored.settings.avatar_key.is_some());

    // The self-service settings change, through the same use case `/public/user/me` calls.
    let through = roster_platform::aws::local(proxy.url(), REGION).await;
    let profiles =
        roster_local::stack::user_config(&resources.provisioned, "http://assets.invalid")
            .profiles(&through);
    let before = version().await;
    hang_up_next(&proxy, "UpdateItem");
    let settings = SettingsChange {
        lang: Some("de_de".to_owned()),
        currency: Some("EUR".to_owned()),
        default_avatar: None,
    };
    let context = Context {
        correlation_id: None,
        if_match: Some(before),
    };
    let changed = profiles
        .update_settings(&UserId::parse(id).unwrap(), &settings, &context)
        .await
        .unwrap();
    proxy.clear();
    assert_eq!(changed.version, before + 1);
    assert_eq!(version().await, before + 1, "settings: applied once");

    // The delete: its tombstone lands, the answer is lost, and the retry knows its own.
    hang_up_next(&proxy, "PutItem");
    client.delete(id, None).await.unwrap();
    assert!(
        direct
            .table
            .profile(&UserId::parse(id).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// A write whose answer comes later than the SDK's attempt timeout: the SDK gives up on it
/// and retries, the retry recognises the change as its own, and it is applied once.
#[tokio::test]
async fn a_write_answered_after_the_attempt_timeout_is_applied_once() {
    let setup = setup().await;
    let before = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    setup.proxy.inject(Fault {
        kind: Kind::Delay(
            roster_platform::aws::ATTEMPT_TIMEOUT + std::time::Duration::from_secs(1),
        ),
        ..answer_lost("UpdateItem")
    });
    let user = setup
        .api
        .set_status(ID, Status::Archived, None)
        .await
        .unwrap();
    assert_eq!(user.status, "ARCHIVED");
    assert_eq!(
        setup.proxy.calls("UpdateItem"),
        2,
        "timed out once, retried once"
    );
    let after = setup
        .direct
        .table
        .profile(&UserId::parse(ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, before.version + 1, "applied once");
}

//! The User API's writes under injected faults: a fault proxy between the User API (or its
//! subscriber) and the local AWS endpoint fails chosen DynamoDB calls before they reach it
//! (nothing happened) or after (it happened, the answer is lost). Whatever fails, the profile
//! ends with each change applied exactly once, and nothing is lost.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use reqwest::{Method, StatusCode};
use roster_events::Envelope;
use roster_events::auth::UserRegistered;
use roster_local::faults::{Fault, FaultProxy, Kind, When};
use roster_local::testing::{self, REGION};
use roster_platform::subscriber::{EventHandler, Outcome};
use roster_user_api::profiles::Profiles;
use serde_json::{Value, json};

use crate::support::Api;
use crate::user_input::{profiles_of, seed_profile};

const ID: &str = "fa017000-0000-4000-8000-000000000001";

struct Setup {
    proxy: FaultProxy,
    api: Api,
    direct: Profiles,
}

async fn setup() -> Setup {
    let resources = testing::provisioned().await;
    let direct = profiles_of(&resources);
    seed_profile(&direct, ID, "fault_user", "hash-f").await;
    let proxy = FaultProxy::start(testing::endpoint_url().await).await;
    let (url, key) = testing::user_api_through(&resources, proxy.url()).await;
    Setup {
        proxy,
        api: Api::new(&url, &key),
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
    let (status, body) = setup
        .api
        .merge_patch(
            &format!("/user/{ID}/data/update"),
            json!({"a": 1, "b": {"c": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = setup.direct.table.profile(ID).await.unwrap().unwrap();
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
    let before = setup.direct.table.profile(ID).await.unwrap().unwrap();
    setup.proxy.inject(answer_lost("UpdateItem"));
    let response = setup
        .api
        .send(Method::POST, &format!("/user/{ID}/badge/EARLY_ADOPTER"))
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let after = setup.direct.table.profile(ID).await.unwrap().unwrap();
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
    let before = setup.direct.table.profile(ID).await.unwrap().unwrap();
    setup.proxy.inject(answer_lost("UpdateItem"));
    let (status, body) = setup
        .api
        .call(Method::PATCH, &format!("/user/{ID}/status/SUSPENDED"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = setup.direct.table.profile(ID).await.unwrap().unwrap();
    assert_eq!(after.status, "SUSPENDED");
    assert_eq!(
        after.version,
        before.version + 1,
        "one write: one UserStatusChanged"
    );
}

#[tokio::test]
async fn a_delete_that_cannot_write_its_tombstone_keeps_the_profile_and_a_retry_finishes() {
    let setup = setup().await;
    setup.proxy.inject(Fault::always("PutItem", When::Before));
    let (status, _) = setup
        .api
        .call(Method::DELETE, &format!("/user/{ID}"), None)
        .await;
    assert!(status.is_server_error(), "{status}");
    assert!(
        setup.direct.table.profile(ID).await.unwrap().is_some(),
        "nothing half-deleted"
    );
    setup.proxy.clear();
    assert_eq!(
        setup
            .api
            .call(Method::DELETE, &format!("/user/{ID}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert!(setup.direct.table.profile(ID).await.unwrap().is_none());
    assert!(
        setup.direct.table.get(ID).await.unwrap().is_some(),
        "the tombstone stays"
    );
}

#[tokio::test]
async fn a_profile_creation_whose_answer_is_lost_creates_one_profile() {
    let resources = testing::provisioned().await;
    let proxy = FaultProxy::start(testing::endpoint_url().await).await;
    let through = roster_platform::aws::local(proxy.url(), REGION).await;
    let profiles =
        roster_local::stack::user_config(&resources.provisioned, "http://assets.invalid")
            .profiles(&through);
    let subscriber = roster_user_api::subscriber::UserEvents::new(profiles);
    let id = "fa017000-0000-4000-8000-000000000002";
    let envelope = Envelope::new(
        format!("UserRegistered-{id}"),
        "2026-11-25T10:00:00.000Z".to_owned(),
        UserRegistered {
            user_id: id.to_owned(),
            email: "created@example.com".to_owned(),
            name: "created".to_owned(),
            handle: "@Created".to_owned(),
            role: "USER".to_owned(),
            status: "UNCONFIRMED".to_owned(),
            source_system: "tests".to_owned(),
            created_at: "2026-11-25T10:00:00.000Z".to_owned(),
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
        .profile(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.badges.len(), 1);
    assert!(proxy.calls("PutItem") >= 2, "the lost answer was retried");
}

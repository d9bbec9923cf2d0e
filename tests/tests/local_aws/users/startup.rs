//! The User API loads at start-up what its first requests need (`UserDeps::load_before_serving`,
//! run by the Lambda entry point during init): the API keys and its own key (the cursors of
//! `GET /users`). After it, a first read makes only its own table call; without it, that
//! request reads the API keys itself. A load that fails does not stop the start, and the first
//! request then loads what it needs.

use roster_client::{ListUsers, UserApi};
use roster_testkit::faults::{Fault, FaultProxy, When};
use roster_testkit::harness;

use crate::support::{profiles_of, seed_profile};

const FIRST: &str = "57a27000-0000-4000-8000-000000000001";
const SECOND: &str = "57a27000-0000-4000-8000-000000000002";

/// A User API whose AWS calls go through `proxy`; loaded at start-up or not.
async fn user_api(resources: &harness::TestResources, proxy: &FaultProxy, load: bool) -> UserApi {
    // The key first: one made after the start-up load would be missing from the loaded keys.
    let key = harness::test_key(resources).await;
    let deps = harness::user_deps_through(resources, proxy.url()).await;
    if load {
        Box::pin(deps.load_before_serving()).await;
    }
    let url = harness::spawn_router(roster_user_api::router(deps)).await;
    UserApi::new(&url, &key).unwrap()
}

/// Two profiles, so that a listing of one per page has a next page (a sealed cursor).
async fn two_profiles(resources: &harness::TestResources) {
    let profiles = profiles_of(resources);
    seed_profile(&profiles, FIRST, "startup_first", "hash-s1").await;
    seed_profile(&profiles, SECOND, "startup_second", "hash-s2").await;
}

fn one_per_page() -> ListUsers {
    ListUsers {
        limit: Some(1),
        ..Default::default()
    }
}

#[tokio::test]
async fn after_loading_at_start_up_the_first_requests_read_no_secret() {
    let resources = harness::provisioned().await;
    two_profiles(&resources).await;

    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let loaded = user_api(&resources, &proxy, true).await;
    let at_start = proxy.take_calls();
    // The API keys and the User API's key.
    assert_eq!(at_start.get("GetSecretValue"), Some(&2), "{at_start:?}");
    assert_eq!(loaded.user(FIRST).await.unwrap().id, FIRST);
    let first_request = proxy.take_calls();
    assert_eq!(
        first_request.keys().collect::<Vec<_>>(),
        ["GetItem"],
        "{first_request:?}"
    );
    // A listing seals its cursor with the key loaded at start-up, and opens it again.
    let page = loaded.list_users(&one_per_page(), None).await.unwrap();
    let cursor = page.next_cursor.expect("a second page");
    let next = loaded
        .list_users(&one_per_page(), Some(&cursor))
        .await
        .unwrap();
    let listed: Vec<_> = page
        .users
        .iter()
        .chain(&next.users)
        .map(|u| u.id.as_str())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let listing = proxy.take_calls();
    assert!(!listing.contains_key("GetSecretValue"), "{listing:?}");

    // The same API started without the step: its first read does the reading.
    let cold = FaultProxy::start(harness::endpoint_url().await).await;
    let unloaded = user_api(&resources, &cold, false).await;
    assert!(
        cold.take_calls().is_empty(),
        "nothing read before the first request"
    );
    assert_eq!(unloaded.user(FIRST).await.unwrap().id, FIRST);
    let first_request = cold.take_calls();
    assert_eq!(
        first_request.get("GetSecretValue"),
        Some(&1),
        "{first_request:?}"
    );
}

#[tokio::test]
async fn a_load_that_fails_at_start_up_is_left_to_the_first_request() {
    let resources = harness::provisioned().await;
    two_profiles(&resources).await;

    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    proxy.inject(Fault::always("GetSecretValue", When::Before));
    // Starts all the same (each load gives up, logged), and within its bound.
    let users = user_api(&resources, &proxy, true).await;
    // While Secrets Manager still fails, the first request cannot check its key: refused.
    let refused = users.user(FIRST).await.unwrap_err();
    assert_eq!(
        refused.status().map(|s| s.as_u16()),
        Some(503),
        "{refused:?}"
    );

    // Once AWS answers, the next requests load what start-up could not, and pass: the read,
    // and a listing whose cursor needs the User API's key.
    proxy.clear();
    proxy.take_calls();
    assert_eq!(users.user(FIRST).await.unwrap().id, FIRST);
    let page = users.list_users(&one_per_page(), None).await.unwrap();
    let cursor = page.next_cursor.expect("a second page");
    users
        .list_users(&one_per_page(), Some(&cursor))
        .await
        .unwrap();
    let loaded_late = proxy.take_calls();
    assert_eq!(
        loaded_late.get("GetSecretValue"),
        Some(&2),
        "{loaded_late:?}"
    );
}

//! Concurrent writers on one profile, over HTTP on the real adapters: nothing is lost and
//! nothing happens twice.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::UserApi;
use roster_testkit::harness;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{profiles_of, seed_profile};
use crate::support::{receive_bodies, refusal_status, tap};

async fn all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn fifty_concurrent_merges_of_distinct_keys_keep_all_fifty() {
    let resources = harness::provisioned().await;
    let (url, key) = harness::user_api(&resources).await;
    let id = "c0c0c0c0-0000-4000-8000-000000000001";
    seed_profile(&profiles_of(&resources), id, "merge_user", "hash-m").await;
    let api = UserApi::new(&url, &key).unwrap();
    let tasks = (0..50)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                let patch = json!({ format!("k{i:02}"): i });
                api.merge_data(id, patch.as_object().unwrap(), None)
                    .await
                    .map(drop)
                    .map_err(|error| error.to_string())
            })
        })
        .collect();
    let results = all(tasks).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let user = api.user(id).await.unwrap();
    let data = &user.profile.data;
    assert_eq!(data.len(), 50);
    for i in 0..50 {
        assert_eq!(data[&format!("k{i:02}")], i);
    }
}

#[tokio::test]
async fn parallel_activations_of_one_code_confirm_the_user_once() {
    let resources = harness::provisioned().await;
    let (url, key) = harness::user_api(&resources).await;
    let id = "c0c0c0c0-0000-4000-8000-000000000002";
    let code = "0123456789abcdef0123456789abcdef";
    let hash = hex::encode(Sha256::digest(code.as_bytes()));
    seed_profile(&profiles_of(&resources), id, "activation_user", &hash).await;
    let api = UserApi::new(&url, &key).unwrap();
    let tasks = (0..20)
        .map(|_| {
            let api = api.clone();
            // `None` for the activation, the status of a refusal otherwise.
            tokio::spawn(async move { refusal_status(api.activate_in_path(code).await) })
        })
        .collect();
    let statuses = all(tasks).await;
    let confirmed = statuses.iter().filter(|status| status.is_none()).count();
    let used = statuses
        .iter()
        .filter(|status| **status == Some(StatusCode::NOT_FOUND))
        .count();
    assert_eq!((confirmed, used), (1, 19), "{statuses:?}");
    assert_eq!(api.user(id).await.unwrap().status, "CONFIRMED");
}

#[tokio::test]
async fn fifty_concurrent_awards_of_one_badge_leave_one_badge_and_publish_one_event() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let downstream = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-awards", facts.prefix),
        json!({"source": ["roster.user"], "detail-type": ["BadgeAwarded"]}),
    )
    .await;
    let profiles =
        roster_local::stack::user_config(stack.provisioned(), &facts.aws_endpoint).profiles(&sdk);
    let id = "c0c0c0c0-0000-4000-8000-000000000003";
    seed_profile(&profiles, id, "badge_user", "hash-b").await;
    let api = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let tasks = (0..50)
        .map(|_| {
            let api = api.clone();
            // Whether the award was new (201) or held already (200); a refusal's status.
            tokio::spawn(async move {
                api.award_badge(id, "EARLY_ADOPTER")
                    .await
                    .map(|award| award.awarded_now)
                    .map_err(|error| error.status())
            })
        })
        .collect();
    let statuses = all(tasks).await;
    let created = statuses
        .iter()
        .filter(|status| **status == Ok(true))
        .count();
    let already = statuses
        .iter()
        .filter(|status| **status == Ok(false))
        .count();
    assert_eq!((created, already), (1, 49), "{statuses:?}");
    let user = api.user(id).await.unwrap();
    let held: Vec<_> = user
        .profile
        .badges
        .iter()
        .filter(|badge| badge.name == "EARLY_ADOPTER")
        .collect();
    assert_eq!(held.len(), 1);
    // Give the projector time to publish any duplicate, then count.
    let bodies = receive_bodies(&sdk, &downstream, 2, Duration::from_secs(5)).await;
    let awards: Vec<_> = bodies
        .iter()
        .map(|body| serde_json::from_str::<serde_json::Value>(body).unwrap())
        .filter(|event| event["detail"]["data"]["badge"] == "EARLY_ADOPTER")
        .collect();
    assert_eq!(awards.len(), 1, "{bodies:?}");
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

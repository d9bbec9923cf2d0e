//! `--seed-demo` against a running stack: five demo users made through the APIs, each in the
//! state the README describes (the badge rules add theirs), and a second run changes nothing.

use std::time::{Duration, Instant};

use roster_local::demo::{DEMO_PASSWORD, seed};
use roster_testkit::harness;
use serde_json::{Value, json};

async fn profile(http: &reqwest::Client, url: &str, key: &str, email: &str) -> Value {
    http.get(format!("{url}/user/email/{email}"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn badges(profile: &Value) -> Vec<String> {
    profile["profile"]["badges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|badge| badge["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn seeds_five_demo_users_once() {
    let (stack, _) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let made = seed(&facts).await.unwrap();
    assert_eq!(made.len(), 5);
    assert!(made.iter().all(|user| user.created));

    let http = reqwest::Client::new();
    let (url, key) = (facts.user_url.as_str(), facts.api_key.as_str());
    // The badge rules award VERIFIED on activation and PHOTOGENIC on the uploaded photo.
    let started = Instant::now();
    loop {
        let ada = badges(&profile(&http, url, key, "ada@example.com").await);
        let grace = badges(&profile(&http, url, key, "grace@example.com").await);
        if ada.contains(&"VERIFIED".to_owned()) && grace.contains(&"PHOTOGENIC".to_owned()) {
            assert!(ada.contains(&"EARLY_ADOPTER".to_owned()), "{ada:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "ada {ada:?}, grace {grace:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = |email: &'static str| {
        let http = http.clone();
        async move { profile(&http, url, key, email).await["status"].clone() }
    };
    assert_eq!(status("alan@example.com").await, "UNCONFIRMED");
    assert_eq!(status("katherine@example.com").await, "SUSPENDED");
    assert_eq!(status("linus@example.com").await, "CONFIRMED");
    let grace = profile(&http, url, key, "grace@example.com").await;
    let avatar = grace["profile"]["profileData"]["avatarUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        http.get(&avatar).send().await.unwrap().status(),
        200,
        "{avatar}"
    );

    // The demo password signs ada in.
    let login = http
        .post(format!("{}/auth/login", facts.auth_url))
        .header("x-api-key", key)
        .json(&json!({"email": "ada@example.com", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    // Again: nothing new, the same users.
    let again = seed(&facts).await.unwrap();
    assert!(again.iter().all(|user| !user.created));
    assert_eq!(
        again.iter().map(|user| &user.id).collect::<Vec<_>>(),
        made.iter().map(|user| &user.id).collect::<Vec<_>>()
    );
    stack.stop().await;
}

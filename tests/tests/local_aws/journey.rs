//! The Auth API end to end on a running local stack, as a BFF would use it: register (and see
//! `UserRegistered` published), log in, verify both tokens, refresh, log out, and find the
//! refresh token refused.

use reqwest::Client;
use roster_local::testing;
use serde_json::{Value, json};

use crate::support::{next_message, tap};

#[tokio::test]
async fn register_login_verify_refresh_logout_on_the_local_stack() {
    let (stack, state_dir) = testing::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = testing::sdk().await;
    let tap_queue = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-tap", facts.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["UserRegistered"]}),
    )
    .await;
    let http = Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", facts.auth_url))
            .header("x-api-key", &facts.api_key)
            .json(&body)
            .send()
    };

    let registered = post(
        "/auth/register",
        json!({"email": "journey@example.com", "name": "journey_user", "password": "Journey-Secret-1"}),
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), 201);
    let registered: Value = registered.json().await.unwrap();

    // The stack's plumbing publishes the committed identity as UserRegistered.
    let event = next_message(&sdk, &tap_queue).await;
    assert_eq!(event["detail-type"], "UserRegistered");
    assert_eq!(event["detail"]["data"]["userId"], registered["id"]);
    assert_eq!(event["detail"]["data"]["handle"], "@JourneyUser");
    assert!(
        !event
            .to_string()
            .contains(registered["activationCode"].as_str().unwrap())
    );

    let tokens: Value = post(
        "/auth/login",
        json!({"email": "journey@example.com", "password": "Journey-Secret-1"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = tokens["accessToken"].as_str().unwrap();
    let id = tokens["idToken"].as_str().unwrap();
    let refresh = tokens["refreshToken"].as_str().unwrap();

    let verify = |token: &str, token_type: &str| {
        post(
            "/auth/token/verify",
            json!({"token": token, "tokenType": token_type}),
        )
    };
    let claims: Value = verify(access, "access")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims["sub"], registered["id"]);
    assert_eq!(claims["groups"], json!(["USER"]));
    let id_claims = verify(id, "id").await.unwrap();
    assert_eq!(id_claims.status(), 200);
    assert_eq!(verify(id, "access").await.unwrap().status(), 401);

    let refreshed = post("/auth/token/refresh", json!({"refreshToken": refresh}))
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);

    let logout = http
        .post(format!("{}/auth/logout", facts.auth_url))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let refused = post("/auth/token/refresh", json!({"refreshToken": refresh}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

//! The forged-token corpus (`platform/tests/support/forged.rs`, 40+ tokens) over HTTP, against
//! both Auth API verify routes and the User API's `GET /public/user/me`: every one is a 401.
//! The APIs verify against a JWKS served by this test (moto's signing key is public, so it
//! cannot stand for a pool's); a flood of unknown key ids fetches that JWKS at most once more.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use roster_platform::guards::{ApiKeySettings, TokenSettings};
use roster_platform::jwt::TokenUse;
use roster_testkit::harness::{self, spawn_router};
use serde_json::json;

use crate::forged::{
    CLIENT, ISSUER, access_claims, corpus, pool_jwks, pool_key, rs256, signed, token,
};
use crate::support::Api;

/// Serves the pool's JWKS and counts the fetches; returns its URL.
async fn jwks_server(fetches: Arc<AtomicUsize>) -> String {
    let router = Router::new().route(
        "/jwks.json",
        get(move || {
            fetches.fetch_add(1, Ordering::SeqCst);
            async { ([("content-type", "application/json")], pool_jwks()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

fn kind(token_use: TokenUse) -> &'static str {
    match token_use {
        TokenUse::Access => "access",
        TokenUse::Id => "id",
    }
}

fn percent_encoded(token: &str) -> String {
    token
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_forged_token_is_refused_by_every_route_that_takes_one() {
    let resources = harness::provisioned().await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let mut tokens = TokenSettings::for_pool(
        "us-east-1",
        "us-east-1_TestPool",
        vec![CLIENT.to_owned(), "partner-client".to_owned()],
    );
    tokens.issuer = ISSUER.to_owned();
    tokens.jwks_url = jwks_server(Arc::clone(&fetches)).await;
    let endpoint = harness::endpoint_url().await;

    let mut auth_config = roster_local::stack::auth_config(&resources.provisioned, endpoint);
    auth_config.tokens = tokens.clone();
    let auth_url = spawn_router(roster_auth_api::router(
        auth_config.deps(&resources.sdk).unwrap(),
    ))
    .await;
    let user_deps = roster_local::stack::user_config(&resources.provisioned, endpoint)
        .deps(
            &resources.sdk,
            &tokens,
            &ApiKeySettings::new(resources.provisioned.api_key_secret.clone()),
        )
        .unwrap();
    let user_url = spawn_router(roster_user_api::router(user_deps)).await;
    let key = harness::test_key(&resources).await;
    // Raw for the forged tokens (some empty, some only percent-encoded fit a path); the
    // control goes through `roster-client`.
    let auth = Api::new(&auth_url, &key);
    let users = Api::new(&user_url, &key);

    // The control: a real token is accepted by all three.
    let good = token(&access_claims());
    let client = roster_client::AuthApi::new(&auth_url, &key).unwrap();
    client
        .verify_in_path(roster_client::TokenUse::Access, &good)
        .await
        .unwrap();
    client
        .verify(&roster_client::VerifyRequest::new(
            &good,
            roster_client::TokenUse::Access,
        ))
        .await
        .unwrap();
    let me = roster_client::UserApi::new(&user_url, &key)
        .unwrap()
        .me(&good)
        .await
        .expect_err("this user has no profile");
    assert_eq!(
        me.status(),
        Some(StatusCode::NOT_FOUND),
        "accepted; this user has no profile: {me}"
    );

    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for (name, forged, token_use, _) in corpus {
        let (status, body) = auth
            .json(
                Method::POST,
                "/auth/token/verify",
                json!({"tokenType": kind(token_use), "token": forged}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "POST verify, {name}: {body}"
        );
        assert_eq!(body["type"], "/problems/invalid-token", "{name}");
        // An empty path segment is no route at all.
        if !forged.is_empty() {
            let path = format!(
                "/auth/token/{}/verify/{}",
                kind(token_use),
                percent_encoded(&forged)
            );
            let (status, body) = auth.get(&path).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "GET verify, {name}: {body}"
            );
        }
        // `/public/user/me` takes access tokens, so the one entry that is a valid access token
        // (forged only in being presented as an id token) is no forgery there.
        let (status, body) = users
            .bearer(Method::GET, "/public/user/me", &forged, None)
            .await;
        if name != "access token used as id" {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "GET /public/user/me, {name}: {body}"
            );
        }
    }

    // A flood of tokens naming keys the JWKS lacks: one more fetch at most, then the cooldown.
    let before = fetches.load(Ordering::SeqCst);
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let users = users.clone();
            let forged = signed(
                &rs256(&format!("rotated-{n}")),
                &access_claims(),
                &pool_key(),
            );
            tokio::spawn(async move {
                users
                    .bearer(Method::GET, "/public/user/me", &forged, None)
                    .await
                    .0
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let flood_fetches = fetches.load(Ordering::SeqCst) - before;
    assert!(
        flood_fetches <= 1,
        "100 unknown kids fetched the JWKS {flood_fetches} times"
    );
}

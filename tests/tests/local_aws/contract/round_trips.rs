//! AWS round trips per route: every call both APIs make to AWS passes through a proxy that
//! counts them by operation (`roster_testkit::faults`). Each route is called once, warm (API
//! keys, the server key and the JWKS already loaded), and must make exactly the calls of the
//! table below: the minimum for what it does, or more with the reason written next to it.
//! The same table, as measured, is in `BENCHMARKS.md`; `UPDATE_BENCHMARKS=1` rewrites it there.
//! The Auth API's revocation set is refreshed at most once a second per instance (one Query per
//! shard, whatever the traffic); that amortised read is not a route's and is left out here by
//! refreshing it once an hour in this test.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use roster_testkit::faults::FaultProxy;
use roster_testkit::harness;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::Api;
use crate::support::{profiles_of, seed_profile};

/// Route, the calls it makes (operation × count), its minimum, and why it makes more.
const EXPECTED: [(&str, &str, u32, &str); 25] = [
    ("POST /auth/token/verify", "", 0, ""),
    ("GET /auth/token/{type}/verify/{token}", "", 0, ""),
    (
        "POST /auth/register",
        "AdminAddUserToGroup, AdminCreateUser, AdminSetUserPassword, TransactWriteItems × 2",
        4,
        "Cognito needs three calls (create, permanent password, role group for `cognito:groups`). The email, name and handle are reserved in one transaction before the Cognito user exists, and the identity is committed in a second after it; that ordering leaves no orphan on any failure and refuses a taken name before a Cognito user is made (ADR 1)",
    ),
    (
        "POST /auth/login",
        "AdminInitiateAuth, PutEvents",
        1,
        "`UserLoggedIn` is published inline (ADR 2): a sign-in writes nothing to a table whose stream could carry it",
    ),
    ("POST /auth/token/refresh", "AdminInitiateAuth", 1, ""),
    (
        "POST /auth/password/forgot",
        "ForgotPassword, GetItem, PutItem",
        1,
        "the same calls whether or not the account exists (`enumeration.rs`): the email's reservation gives the user id `PasswordResetRequested` names, and a request record's stream INSERT publishes it (for a user only)",
    ),
    (
        "POST /auth/password/confirm",
        "AdminGetUser, AdminUserGlobalSignOut, ConfirmForgotPassword, GetItem, PutEvents, PutItem",
        1,
        "a reset ends every session of the account, whoever it is: the user's id is read from the pool once the reset succeeded, then a global sign-out (refresh tokens) and a revocation record (access and id tokens), which notes whether the user is a Roster registration (the identity's GetItem). `PasswordChanged` is published inline (ADR 2)",
    ),
    (
        "POST /auth/password/change",
        "AdminInitiateAuth, AdminSetUserPassword, AdminUserGlobalSignOut, GetItem, PutEvents, PutItem",
        1,
        "the old password is proven by a sign-in, then the new one set; Cognito's ChangePassword with the caller's access token would do both in one call (not done yet). Every session ends: a global sign-out and a revocation record (with the identity's GetItem, as for sign-out). `PasswordChanged` is published inline (ADR 2)",
    ),
    (
        "POST /auth/logout",
        "AdminUserGlobalSignOut, GetItem, PutItem",
        1,
        "the global sign-out revokes refresh tokens only; the revocation record makes access and id tokens refused too, and notes whether the user is a Roster registration (the identity's GetItem: only those have a profile to tell)",
    ),
    ("GET /user/{id}", "GetItem", 1, ""),
    ("GET /user/name/{name}", "Query", 1, ""),
    ("GET /user/email/{email}", "Query", 1, ""),
    ("GET /user/handle/{handle}", "Query", 1, ""),
    (
        "GET /user/activate/{code}",
        "Query, UpdateItem",
        2,
        "the code is found through its index, and an index cannot be written through",
    ),
    ("PATCH /user/{id}/status/{status}", "UpdateItem", 1, ""),
    ("POST /user/{id}/badge/{name}", "UpdateItem", 1, ""),
    ("DELETE /user/{id}/badge/{name}", "UpdateItem", 1, ""),
    ("PUT /user/{id}/data/update", "UpdateItem", 1, ""),
    (
        "PATCH /user/{id}/data/update",
        "GetItem, UpdateItem",
        2,
        "a merge patch is applied to the stored data, so it is read first; the write is conditional on the version read",
    ),
    ("POST /user/{id}/avatar (upload)", "UpdateItem", 1, ""),
    ("POST /user/{id}/avatar (default)", "UpdateItem", 1, ""),
    ("GET /public/user/me", "GetItem", 1, ""),
    (
        "PATCH /public/user/me/profile",
        "GetItem, UpdateItem",
        2,
        "the profile is read first: a suspended, archived or deleted account, or a token issued before the user's sessions were revoked, is refused before anything changes",
    ),
    (
        "DELETE /user/{id}",
        "DeleteObjects, GetItem, ListObjectVersions, PutItem",
        3,
        "every version and delete marker under the user's upload prefix is listed and deleted in one batch (the bucket is versioned) before the tombstone is written, so no upload, nor an old version of one, outlives its profile; the profile is read first for the version its tombstone and `UserDeleted` carry and for `If-Match`",
    ),
    ("GET /health (both APIs)", "", 0, ""),
];

fn calls_text(calls: &BTreeMap<String, u32>) -> String {
    calls
        .iter()
        .map(|(operation, count)| match count {
            1 => operation.clone(),
            _ => format!("{operation} × {count}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(measured: &BTreeMap<String, BTreeMap<String, u32>>) -> String {
    let mut table = String::from(
        "| Route | AWS calls (warm) | Calls | Minimum | Why above the minimum |\n|---|---|---|---|---|\n",
    );
    for (route, _, minimum, why) in EXPECTED {
        let calls = &measured[route];
        let total: u32 = calls.values().sum();
        let text = calls_text(calls);
        table.push_str(&format!(
            "| `{route}` | {} | {total} | {minimum} | {why} |\n",
            if text.is_empty() { "none" } else { &text }
        ));
    }
    table
}

const START: &str = "<!-- round-trips:start -->\n";
const END: &str = "<!-- round-trips:end -->";

#[tokio::test]
async fn every_route_makes_the_aws_calls_of_its_table_row() {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let auth = Api::new(
        &harness::auth_api_for_counting(&resources, proxy.url())
            .await
            .0,
        &harness::test_key(&resources).await,
    );
    let users = Api::new(
        &harness::user_api_through(&resources, proxy.url()).await.0,
        &auth.key,
    );

    // Warm up: the API keys, the server key and the JWKS load on first use.
    let warm =
        json!({"email": "warm@example.com", "name": "warm_user", "password": "Warm-Secret-1"});
    assert_eq!(
        auth.json(Method::POST, "/auth/register", warm).await.0,
        StatusCode::CREATED
    );
    assert_eq!(users.get("/user/warm-up").await.0, StatusCode::NOT_FOUND);
    proxy.take_calls();

    let mut measured: Vec<(String, BTreeMap<String, u32>)> = Vec::new();
    let mut take = |route: &str, (status, body): (StatusCode, Value), expected: StatusCode| {
        assert_eq!(status, expected, "{route}: {body}");
        measured.push((route.to_owned(), proxy.take_calls()));
        body
    };
    let password = "Trips-Secret-1";
    let registered = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "trips_user@example.com", "name": "trips_user", "password": password}),
        )
        .await;
    let registered = take("POST /auth/register", registered, StatusCode::CREATED);
    let id = registered["id"].as_str().unwrap().to_owned();
    // The code the user's mail would carry, and the profile, as the User API's subscriber
    // makes it (no plumbing runs in this test, so no mailer either).
    let code = crate::support::derived_activation_code(&resources, &id, 0).await;
    seed_profile(
        &profiles_of(&resources),
        &id,
        "trips_user",
        &hex::encode(Sha256::digest(code.as_bytes())),
    )
    .await;
    proxy.take_calls();

    let login = json!({"email": "trips_user@example.com", "password": password});
    let tokens = take(
        "POST /auth/login",
        auth.json(Method::POST, "/auth/login", login).await,
        StatusCode::OK,
    );
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    // The User API's verifier loads the JWKS (directly, not through the proxy) on first use,
    // and the Auth API's revocation set its records.
    users
        .bearer(Method::GET, "/public/user/me", &access, None)
        .await;
    let verify = json!({"token": access, "tokenType": "access"});
    auth.json(Method::POST, "/auth/token/verify", verify).await;
    proxy.take_calls();

    let verify = json!({"token": access, "tokenType": "access"});
    take(
        "POST /auth/token/verify",
        auth.json(Method::POST, "/auth/token/verify", verify).await,
        StatusCode::OK,
    );
    take(
        "GET /auth/token/{type}/verify/{token}",
        auth.get(&format!("/auth/token/access/verify/{access}"))
            .await,
        StatusCode::OK,
    );
    take(
        "POST /auth/token/refresh",
        auth.json(
            Method::POST,
            "/auth/token/refresh",
            json!({"refreshToken": refresh}),
        )
        .await,
        StatusCode::OK,
    );
    take(
        "POST /auth/password/forgot",
        auth.json(
            Method::POST,
            "/auth/password/forgot",
            json!({"email": "trips_user@example.com"}),
        )
        .await,
        StatusCode::ACCEPTED,
    );
    let confirm = json!({"email": "trips_user@example.com", "code": "123456", "newPassword": "Trips-Secret-2"});
    take(
        "POST /auth/password/confirm",
        auth.json(Method::POST, "/auth/password/confirm", confirm)
            .await,
        StatusCode::NO_CONTENT,
    );
    let login = json!({"email": "trips_user@example.com", "password": "Trips-Secret-2"});
    let tokens = auth.json(Method::POST, "/auth/login", login).await.1;
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    proxy.take_calls();
    let change = json!({"oldPassword": "Trips-Secret-2", "newPassword": "Trips-Secret-3"});
    take(
        "POST /auth/password/change",
        auth.bearer(Method::POST, "/auth/password/change", &access, Some(change))
            .await,
        StatusCode::NO_CONTENT,
    );
    // The change ended every session, this one's too: sign in again.
    let login = json!({"email": "trips_user@example.com", "password": "Trips-Secret-3"});
    let tokens = auth.json(Method::POST, "/auth/login", login).await.1;
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    proxy.take_calls();

    take(
        "GET /user/{id}",
        users.get(&format!("/user/{id}")).await,
        StatusCode::OK,
    );
    take(
        "GET /user/name/{name}",
        users.get("/user/name/trips_user").await,
        StatusCode::OK,
    );
    take(
        "GET /user/email/{email}",
        users.get("/user/email/trips_user@example.com").await,
        StatusCode::OK,
    );
    take(
        "GET /user/handle/{handle}",
        users.get("/user/handle/tripsuser").await,
        StatusCode::OK,
    );
    take(
        "GET /user/activate/{code}",
        users.get(&format!("/user/activate/{code}")).await,
        StatusCode::OK,
    );
    take(
        "PATCH /user/{id}/status/{status}",
        users
            .call(Method::PATCH, &format!("/user/{id}/status/SUSPENDED"), None)
            .await,
        StatusCode::OK,
    );
    users
        .call(Method::PATCH, &format!("/user/{id}/status/CONFIRMED"), None)
        .await;
    proxy.take_calls();
    take(
        "POST /user/{id}/badge/{name}",
        users
            .call(
                Method::POST,
                &format!("/user/{id}/badge/EARLY_ADOPTER"),
                None,
            )
            .await,
        StatusCode::CREATED,
    );
    take(
        "DELETE /user/{id}/badge/{name}",
        users
            .call(
                Method::DELETE,
                &format!("/user/{id}/badge/EARLY_ADOPTER"),
                None,
            )
            .await,
        StatusCode::OK,
    );
    take(
        "PUT /user/{id}/data/update",
        users
            .json(
                Method::PUT,
                &format!("/user/{id}/data/update"),
                json!({"a": 1}),
            )
            .await,
        StatusCode::OK,
    );
    take(
        "PATCH /user/{id}/data/update",
        users
            .merge_patch(&format!("/user/{id}/data/update"), json!({"b": 2}))
            .await,
        StatusCode::OK,
    );
    let upload = users
        .json(
            Method::POST,
            &format!("/user/{id}/avatar"),
            json!({"contentType": "image/png", "contentLength": 64}),
        )
        .await;
    let upload = take(
        "POST /user/{id}/avatar (upload)",
        upload,
        StatusCode::CREATED,
    );
    take(
        "POST /user/{id}/avatar (default)",
        users
            .json(
                Method::POST,
                &format!("/user/{id}/avatar"),
                json!({"default": "02"}),
            )
            .await,
        StatusCode::OK,
    );
    take(
        "GET /public/user/me",
        users
            .bearer(Method::GET, "/public/user/me", &access, None)
            .await,
        StatusCode::OK,
    );
    take(
        "PATCH /public/user/me/profile",
        users
            .bearer(
                Method::PATCH,
                "/public/user/me/profile",
                &access,
                Some(json!({"lang": "de_de"})),
            )
            .await,
        StatusCode::OK,
    );
    take(
        "POST /auth/logout",
        auth.bearer(Method::POST, "/auth/logout", &access, None)
            .await,
        StatusCode::NO_CONTENT,
    );
    // An uploaded avatar, so the delete has an upload to remove.
    let put = reqwest::Client::new()
        .put(upload["uploadUrl"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(vec![0_u8; 64])
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    proxy.take_calls();
    take(
        "DELETE /user/{id}",
        users
            .call(Method::DELETE, &format!("/user/{id}"), None)
            .await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(auth.get("/health").await.0, StatusCode::OK);
    take(
        "GET /health (both APIs)",
        users.get("/health").await,
        StatusCode::OK,
    );

    let measured: BTreeMap<String, BTreeMap<String, u32>> = measured.into_iter().collect();
    assert_eq!(
        measured.len(),
        EXPECTED.len(),
        "every route of the table, once"
    );
    let mut wrong = Vec::new();
    for (route, expected_calls, _, _) in EXPECTED {
        let made = calls_text(
            measured
                .get(route)
                .expect("every route of the table is called"),
        );
        if made != expected_calls {
            wrong.push(format!(
                "{route}: made {made:?}, the table says {expected_calls:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
    let page = std::fs::read_to_string(path).unwrap();
    let (before, rest) = page
        .split_once(START)
        .expect("BENCHMARKS.md has the round-trips markers");
    let (_, after) = rest.split_once(END).expect("the end marker");
    let updated = format!("{before}{START}{}{END}{after}", render(&measured));
    if std::env::var_os("UPDATE_BENCHMARKS").is_some() {
        std::fs::write(path, updated).unwrap();
    } else {
        assert!(
            updated == page,
            "BENCHMARKS.md's round-trip table is out of date: run UPDATE_BENCHMARKS=1 cargo test round_trips"
        );
    }
}

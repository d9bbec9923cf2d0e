//! AWS round trips per route: every call both APIs make to AWS passes through a proxy that
//! counts them by operation (`roster_testkit::faults`). Each route is called once, warm (API
//! keys, the server key and the JWKS already loaded), and must make exactly the calls of the
//! table below: the minimum for what it does, or more with the reason written next to it.
//! The same table, as measured, is in `BENCHMARKS.md`; `UPDATE_BENCHMARKS=1` rewrites it there.
//! The Auth API's revocation set is refreshed at most once a second per instance (one Query per
//! shard, whatever the traffic); that amortised read is not a route's and is left out here by
//! refreshing it once an hour in this test.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, AvatarChange, AvatarRequest, ChangeRequest, ConfirmRequest, DefaultAvatar,
    ForgotRequest, LoginRequest, ProfileUpdate, RefreshRequest, RegisterRequest, Status, TokenUse,
    UploadRequest, UserApi, VerifyRequest,
};
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
    (
        "GET /user/name/{name}",
        "GetItem, Query",
        1,
        "the lookup indexes hold only the keys, so a profile write that leaves name, email and handle alone writes none of them (a sign-in, a badge, data or settings: 1 WRU instead of 4). The id found is then read, strongly consistent, so the answer is the profile as it is now and its ETag current (Cost per request and per user, Waste)",
    ),
    (
        "GET /user/email/{email}",
        "GetItem, Query",
        1,
        "as for `GET /user/name/{name}`",
    ),
    (
        "GET /user/handle/{handle}",
        "GetItem, Query",
        1,
        "as for `GET /user/name/{name}`",
    ),
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

/// The answer of `route`'s call, which must have succeeded, with the AWS calls it made noted.
fn take<T>(
    proxy: &FaultProxy,
    measured: &mut Vec<(String, BTreeMap<String, u32>)>,
    route: &str,
    result: Result<T, roster_client::Error>,
) -> T {
    let answer = result.unwrap_or_else(|error| panic!("{route}: {error}"));
    measured.push((route.to_owned(), proxy.take_calls()));
    answer
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

const START: &str = "<!-- round-trips:start -->\n";
const END: &str = "<!-- round-trips:end -->";

#[tokio::test]
async fn every_route_makes_the_aws_calls_of_its_table_row() {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let auth_url = harness::auth_api_for_counting(&resources, proxy.url())
        .await
        .0;
    let key = harness::test_key(&resources).await;
    let user_url = harness::user_api_through(&resources, proxy.url()).await.0;
    let auth = AuthApi::new(&auth_url, &key).unwrap();
    let users = UserApi::new(&user_url, &key).unwrap();

    // Warm up: the API keys, the server key and the JWKS load on first use.
    auth.register(
        &RegisterRequest::new("warm@example.com", "warm_user", "Warm-Secret-1"),
        None,
    )
    .await
    .unwrap();
    let unknown = users.user("warm-up").await.expect_err("no such user");
    assert_eq!(unknown.status(), Some(StatusCode::NOT_FOUND), "{unknown}");
    proxy.take_calls();

    let mut measured: Vec<(String, BTreeMap<String, u32>)> = Vec::new();
    let password = "Trips-Secret-1";
    let registered = auth
        .register(
            &RegisterRequest::new("trips_user@example.com", "trips_user", password),
            None,
        )
        .await;
    let registered = take(&proxy, &mut measured, "POST /auth/register", registered);
    let id = registered.id;
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

    let login = LoginRequest::new("trips_user@example.com", password);
    let tokens = take(
        &proxy,
        &mut measured,
        "POST /auth/login",
        auth.login(&login).await,
    );
    let access = tokens.access_token;
    let refresh = tokens.refresh_token.unwrap();
    // The User API's verifier loads the JWKS (directly, not through the proxy) on first use,
    // and the Auth API's revocation set its records.
    let _ = users.me(&access).await;
    let verify = VerifyRequest::new(&access, TokenUse::Access);
    let _ = auth.verify(&verify).await;
    proxy.take_calls();

    take(
        &proxy,
        &mut measured,
        "POST /auth/token/verify",
        auth.verify(&verify).await,
    );
    take(
        &proxy,
        &mut measured,
        "GET /auth/token/{type}/verify/{token}",
        auth.verify_in_path(TokenUse::Access, &access).await,
    );
    take(
        &proxy,
        &mut measured,
        "POST /auth/token/refresh",
        auth.refresh(&RefreshRequest {
            refresh_token: refresh,
            client_id: None,
        })
        .await,
    );
    take(
        &proxy,
        &mut measured,
        "POST /auth/password/forgot",
        auth.forgot_password(&ForgotRequest {
            email: "trips_user@example.com".to_owned(),
            client_id: None,
        })
        .await,
    );
    let confirm = ConfirmRequest {
        email: "trips_user@example.com".to_owned(),
        code: "123456".to_owned(),
        new_password: "Trips-Secret-2".to_owned(),
        client_id: None,
    };
    take(
        &proxy,
        &mut measured,
        "POST /auth/password/confirm",
        auth.confirm_password(&confirm).await,
    );
    let login = LoginRequest::new("trips_user@example.com", "Trips-Secret-2");
    let access = auth.login(&login).await.unwrap().access_token;
    proxy.take_calls();
    let change = ChangeRequest {
        old_password: "Trips-Secret-2".to_owned(),
        new_password: "Trips-Secret-3".to_owned(),
    };
    take(
        &proxy,
        &mut measured,
        "POST /auth/password/change",
        auth.change_password(&access, &change).await,
    );
    // The change ended every session, this one's too: sign in again.
    let login = LoginRequest::new("trips_user@example.com", "Trips-Secret-3");
    let access = auth.login(&login).await.unwrap().access_token;
    proxy.take_calls();

    take(
        &proxy,
        &mut measured,
        "GET /user/{id}",
        users.user(&id).await,
    );
    take(
        &proxy,
        &mut measured,
        "GET /user/name/{name}",
        users.user_by_name("trips_user").await,
    );
    take(
        &proxy,
        &mut measured,
        "GET /user/email/{email}",
        users.user_by_email("trips_user@example.com").await,
    );
    take(
        &proxy,
        &mut measured,
        "GET /user/handle/{handle}",
        users.user_by_handle("tripsuser").await,
    );
    take(
        &proxy,
        &mut measured,
        "GET /user/activate/{code}",
        users.activate_in_path(&code).await,
    );
    take(
        &proxy,
        &mut measured,
        "PATCH /user/{id}/status/{status}",
        users.set_status(&id, Status::Suspended, None).await,
    );
    let _ = users.set_status(&id, Status::Confirmed, None).await;
    proxy.take_calls();
    let award = take(
        &proxy,
        &mut measured,
        "POST /user/{id}/badge/{name}",
        users.award_badge(&id, "EARLY_ADOPTER").await,
    );
    assert!(award.awarded_now, "201: a new award");
    take(
        &proxy,
        &mut measured,
        "DELETE /user/{id}/badge/{name}",
        users.revoke_badge(&id, "EARLY_ADOPTER").await,
    );
    take(
        &proxy,
        &mut measured,
        "PUT /user/{id}/data/update",
        users
            .replace_data(&id, &object(json!({"a": 1})), None)
            .await,
    );
    take(
        &proxy,
        &mut measured,
        "PATCH /user/{id}/data/update",
        users.merge_data(&id, &object(json!({"b": 2})), None).await,
    );
    let upload = users
        .avatar(
            &id,
            &AvatarRequest::Upload(UploadRequest {
                content_type: "image/png".to_owned(),
                content_length: 64,
            }),
        )
        .await;
    // An upload is the 201 answer, a default avatar the 200.
    let AvatarChange::Upload(upload) = take(
        &proxy,
        &mut measured,
        "POST /user/{id}/avatar (upload)",
        upload,
    ) else {
        panic!("POST /user/{{id}}/avatar (upload): no upload URL");
    };
    let chosen = take(
        &proxy,
        &mut measured,
        "POST /user/{id}/avatar (default)",
        users
            .avatar(
                &id,
                &AvatarRequest::Default(DefaultAvatar {
                    default: "02".to_owned(),
                }),
            )
            .await,
    );
    assert!(matches!(chosen, AvatarChange::Chosen(_)), "{chosen:?}");
    take(
        &proxy,
        &mut measured,
        "GET /public/user/me",
        users.me(&access).await,
    );
    take(
        &proxy,
        &mut measured,
        "PATCH /public/user/me/profile",
        users
            .update_my_profile(
                &access,
                &ProfileUpdate {
                    lang: Some("de_de".to_owned()),
                    ..Default::default()
                },
            )
            .await,
    );
    take(
        &proxy,
        &mut measured,
        "POST /auth/logout",
        auth.logout(&access).await,
    );
    // An uploaded avatar, so the delete has an upload to remove.
    let put = reqwest::Client::new()
        .put(&upload.upload_url)
        .header("content-type", "image/png")
        .body(vec![0_u8; 64])
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    proxy.take_calls();
    take(
        &proxy,
        &mut measured,
        "DELETE /user/{id}",
        users.delete(&id, None).await,
    );
    // Raw: `/health` is no operation of either API's document, so `roster-client` has no
    // method for it.
    assert_eq!(
        Api::new(&auth_url, &key).get("/health").await.0,
        StatusCode::OK
    );
    let (status, body) = Api::new(&user_url, &key).get("/health").await;
    assert_eq!(status, StatusCode::OK, "GET /health (both APIs): {body}");
    measured.push(("GET /health (both APIs)".to_owned(), proxy.take_calls()));

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

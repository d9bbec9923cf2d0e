//! `GET /users` on the real adapters against the local endpoint: every filter alone and
//! combined lists exactly its users in its order (deleted users never); paging while users are
//! created and deleted lists every user that existed throughout once; each refusal (limits,
//! parameters, combinations, forged, altered and other queries' cursors, keys without
//! `users:read`, no key) is a problem, and the listing goes on after it; a page takes one Query
//! per shard that is not finished, and a throttled Query is a 503 the next call gets past.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration as TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use roster_client::{ListUsers, Status, UserApi, UserSummary};
use roster_events::auth::UserRegistered;
use roster_events::{Email, Role, Timestamp, UserId, UserStatus};
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness::{self, TestResources};
use roster_user_api::profiles::Profiles;
use roster_user_api::store::LIST_SHARDS;
use serde_json::Value;

use crate::support::{Api, profiles_of, refused};

/// A user as the test made it, and what a listing must show of it.
#[derive(Debug, Clone)]
struct Made {
    id: String,
    name: String,
    email: String,
    handle: String,
    status: &'static str,
    created: DateTime<Utc>,
}

impl Made {
    fn created_key(&self) -> String {
        format!(
            "{}#{}",
            self.created
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.id
        )
    }
}

/// Creates a profile as the user subscriber does from `UserRegistered`, created at `created`.
async fn make(profiles: &Profiles, name: &str, email: &str, created: DateTime<Utc>) -> Made {
    let id = uuid::Uuid::new_v4().to_string();
    let handle = format!(
        "@{}",
        name.replace('_', "")
            .char_indices()
            .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
            .collect::<String>()
    );
    let registered = UserRegistered {
        user_id: UserId::parse(&id).unwrap(),
        email: Email::parse(email).unwrap(),
        name: name.to_owned(),
        handle: handle.clone(),
        role: Role::User,
        status: UserStatus::Unconfirmed,
        source_system: "tests".to_owned(),
        created_at: Timestamp::from_datetime(created),
        activation_code_hash: format!("hash-{id}"),
    };
    assert!(
        profiles
            .create_from_registration(&format!("UserRegistered-{id}"), &registered, None)
            .await
            .unwrap()
    );
    Made {
        id,
        name: name.to_owned(),
        email: email.to_owned(),
        handle,
        status: "UNCONFIRMED",
        created: Timestamp::from_datetime(created).to_datetime(),
    }
}

async fn set_status(users: &UserApi, made: &mut Made, status: Status) {
    users.set_status(&made.id, status, None).await.unwrap();
    made.status = status.as_str();
}

async fn delete(users: &UserApi, id: &str) {
    users.delete(id, None).await.unwrap();
}

fn summary(made: &Made) -> UserSummary {
    UserSummary {
        id: made.id.clone(),
        name: made.name.clone(),
        handle: made.handle.clone(),
        email: made.email.clone(),
        status: made.status.to_owned(),
        created_at: made
            .created
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// Every page of `query` through the client's pager; fails on a page larger than the limit.
async fn list_all(users: &UserApi, query: &ListUsers) -> Vec<UserSummary> {
    let mut pages = users.pages(query.clone());
    let mut listed = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= query.limit.unwrap_or(50) as usize);
        listed.extend(page);
    }
    listed
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn every_filter_alone_and_combined_lists_exactly_its_users_in_order() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let (url, key) = harness::user_api(&resources).await;
    let users = UserApi::new(&url, &key).unwrap();

    // To the millisecond, as the API compares.
    let base = Timestamp::from_datetime(Utc::now() - TimeDelta::hours(2)).to_datetime();
    let mut made = Vec::new();
    for i in 0..30_i64 {
        let stem = ["ada", "adam", "bob"][i as usize % 3];
        let name = format!("{stem}_{i:02}");
        let domain = if i % 2 == 0 {
            "example.com"
        } else {
            "corp.example.org"
        };
        // Users 10 and 11 were created in the same millisecond: their ids order them.
        let second = if i == 11 { 100 } else { i * 10 };
        let created = base + TimeDelta::seconds(second);
        made.push(make(&profiles, &name, &format!("{name}@{domain}"), created).await);
    }
    for (i, user) in made.iter_mut().enumerate() {
        match i % 5 {
            1 => set_status(&users, user, Status::Confirmed).await,
            2 => set_status(&users, user, Status::Suspended).await,
            3 => set_status(&users, user, Status::Archived).await,
            _ => {}
        }
    }
    // Deleted users leave tombstones, which no listing shows; one was suspended first.
    for i in [7, 8, 12] {
        delete(&users, &made[i].id).await;
    }
    let live: Vec<Made> = made
        .iter()
        .enumerate()
        .filter(|(i, _)| ![7, 8, 12].contains(i))
        .map(|(_, user)| user.clone())
        .collect();

    let by_created = |filter: &dyn Fn(&Made) -> bool, descending: bool| {
        let mut expected: Vec<&Made> = live.iter().filter(|user| filter(user)).collect();
        expected.sort_by_key(|user| user.created_key());
        if descending {
            expected.reverse();
        }
        expected.into_iter().map(summary).collect::<Vec<_>>()
    };
    let by_key = |key: &dyn Fn(&Made) -> String, prefix: &str, descending: bool| {
        let mut expected: Vec<&Made> = live
            .iter()
            .filter(|user| key(user).starts_with(prefix))
            .collect();
        expected.sort_by_key(|user| (key(user), user.id.clone()));
        if descending {
            expected.reverse();
        }
        expected.into_iter().map(summary).collect::<Vec<_>>()
    };
    let after = base + TimeDelta::seconds(55);
    let before = base + TimeDelta::seconds(200);
    let tie = base + TimeDelta::seconds(100);

    let mut cases: Vec<(&str, ListUsers, Vec<UserSummary>)> = vec![
        (
            "everyone",
            ListUsers::default(),
            by_created(&|_| true, false),
        ),
        (
            "everyone, newest first",
            ListUsers {
                descending: true,
                ..Default::default()
            },
            by_created(&|_| true, true),
        ),
        (
            "created after",
            ListUsers {
                created_after: Some(rfc3339(after)),
                ..Default::default()
            },
            by_created(&|user| user.created > after, false),
        ),
        (
            "created before",
            ListUsers {
                created_before: Some(rfc3339(before)),
                ..Default::default()
            },
            by_created(&|user| user.created < before, false),
        ),
        (
            "a window, newest first",
            ListUsers {
                created_after: Some(rfc3339(after)),
                created_before: Some(rfc3339(before)),
                descending: true,
                ..Default::default()
            },
            by_created(&|user| user.created > after && user.created < before, true),
        ),
        (
            "after the instant two users share: neither",
            ListUsers {
                created_after: Some(rfc3339(tie)),
                created_before: Some(rfc3339(tie + TimeDelta::seconds(30))),
                ..Default::default()
            },
            by_created(
                &|user| user.created > tie && user.created < tie + TimeDelta::seconds(30),
                false,
            ),
        ),
        (
            "a window with a status",
            ListUsers {
                status: Some(Status::Confirmed),
                created_after: Some(rfc3339(after)),
                created_before: Some(rfc3339(before)),
                ..Default::default()
            },
            by_created(
                &|user| user.status == "CONFIRMED" && user.created > after && user.created < before,
                false,
            ),
        ),
        (
            "a name prefix in capitals",
            ListUsers {
                name_prefix: Some("ADA".to_owned()),
                ..Default::default()
            },
            by_key(&|user| user.name.clone(), "ada", false),
        ),
        (
            "a longer name prefix, Z to A",
            ListUsers {
                name_prefix: Some("adam".to_owned()),
                descending: true,
                ..Default::default()
            },
            by_key(&|user| user.name.clone(), "adam", true),
        ),
        (
            "an email prefix",
            ListUsers {
                email_prefix: Some("Bob_".to_owned()),
                ..Default::default()
            },
            by_key(&|user| user.email.clone(), "bob_", false),
        ),
        (
            "a handle prefix with its @",
            ListUsers {
                handle_prefix: Some("@adam".to_owned()),
                ..Default::default()
            },
            by_key(&|user| user.handle.to_lowercase(), "@adam", false),
        ),
        (
            "a handle prefix without it",
            ListUsers {
                handle_prefix: Some("ADA".to_owned()),
                ..Default::default()
            },
            by_key(&|user| user.handle.to_lowercase(), "@ada", false),
        ),
        (
            "a prefix nobody has",
            ListUsers {
                email_prefix: Some("zed".to_owned()),
                ..Default::default()
            },
            Vec::new(),
        ),
    ];
    for status in ["UNCONFIRMED", "CONFIRMED", "SUSPENDED", "ARCHIVED"] {
        let parsed: Status = serde_json::from_value(Value::String(status.to_owned())).unwrap();
        cases.push((
            status,
            ListUsers {
                status: Some(parsed),
                ..Default::default()
            },
            by_created(&|user| user.status == status, false),
        ));
    }
    for (what, query, expected) in cases {
        assert!(
            expected.len() >= 2 || what.contains("nobody") || what.contains("neither"),
            "{what}: a case needs users to order"
        );
        // In one page, and in pages of 4 across the shards: the same users in the same order.
        let whole = list_all(
            &users,
            &ListUsers {
                limit: Some(100),
                ..query.clone()
            },
        )
        .await;
        assert_eq!(whole, expected, "{what}");
        let paged = list_all(
            &users,
            &ListUsers {
                limit: Some(4),
                ..query.clone()
            },
        )
        .await;
        assert_eq!(paged, expected, "{what}, pages of 4");
    }
    // No listing shows a deleted user.
    let everyone: BTreeSet<String> = list_all(&users, &ListUsers::default())
        .await
        .into_iter()
        .map(|user| user.id)
        .collect();
    for i in [7, 8, 12] {
        assert!(!everyone.contains(&made[i].id));
    }
}

#[tokio::test]
async fn paging_while_users_are_created_and_deleted_lists_everyone_who_existed_throughout_once() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let (url, key) = harness::user_api(&resources).await;
    let users = UserApi::new(&url, &key).unwrap();

    let base = Utc::now() - TimeDelta::hours(3);
    let mut serial = 0;
    let mut made_during = BTreeSet::<String>::new();
    let mut initial = Vec::new();
    for i in 0..90_i64 {
        let name = format!("pager_{i:03}");
        let created = base + TimeDelta::seconds(i * 60);
        initial.push(make(&profiles, &name, &format!("{name}@example.com"), created).await);
    }

    for (query, what) in [
        (
            ListUsers {
                limit: Some(7),
                ..Default::default()
            },
            "by creation",
        ),
        (
            ListUsers {
                limit: Some(5),
                descending: true,
                name_prefix: Some("pager_".to_owned()),
                ..Default::default()
            },
            "by name, Z to A",
        ),
    ] {
        let alive: Vec<Made> = initial.clone();
        let mut deleted = BTreeSet::<String>::new();
        let mut deleted_unlisted = BTreeSet::<String>::new();
        let mut listed: Vec<String> = Vec::new();
        let mut pages = users.pages(query.clone());
        let mut page_number = 0;
        while let Some(page) = pages.next_page().await.unwrap() {
            listed.extend(page.into_iter().map(|user| user.id));
            // Between pages: two users registered (one now, one back-dated into the part
            // already listed), one user not listed yet deleted, and one listed deleted.
            for back_dated in [false, true] {
                let name = format!("pager_new_{:03}", serial);
                serial += 1;
                let at = if back_dated {
                    base + TimeDelta::seconds(30)
                } else {
                    Utc::now()
                };
                let user = make(&profiles, &name, &format!("{name}@example.com"), at).await;
                made_during.insert(user.id);
            }
            let seen: BTreeSet<&String> = listed.iter().collect();
            let unlisted = alive
                .iter()
                .rev()
                .skip(page_number * 3)
                .find(|user| !seen.contains(&user.id) && !deleted.contains(&user.id))
                .map(|user| user.id.clone());
            let listed_one = alive
                .iter()
                .find(|user| seen.contains(&user.id) && !deleted.contains(&user.id))
                .map(|user| user.id.clone());
            if let Some(id) = &unlisted {
                deleted_unlisted.insert(id.clone());
            }
            for id in [unlisted, listed_one].into_iter().flatten() {
                delete(&users, &id).await;
                deleted.insert(id);
            }
            page_number += 1;
        }

        let unique: BTreeSet<&String> = listed.iter().collect();
        assert_eq!(unique.len(), listed.len(), "{what}: a user listed twice");
        let throughout: BTreeSet<&String> = initial
            .iter()
            .map(|user| &user.id)
            .filter(|id| !deleted.contains(*id))
            .collect();
        let missing: Vec<&&String> = throughout.difference(&unique).collect();
        assert!(
            missing.is_empty(),
            "{what}: users never listed: {missing:?}"
        );
        // A user deleted before its turn is not listed.
        assert!(
            listed.iter().all(|id| !deleted_unlisted.contains(id)),
            "{what}: a deleted user listed"
        );
        assert!(!deleted_unlisted.is_empty());
        // Every user listed is one this test made; new users may be listed or not.
        for id in &listed {
            assert!(
                throughout.contains(id) || deleted.contains(id) || made_during.contains(id),
                "{what}: {id} is nobody this test made"
            );
        }
        assert!(
            listed.len() >= throughout.len(),
            "{what}: {} listed",
            listed.len()
        );
        // The order held across pages: by creation (then id), or by name descending.
        let everyone: BTreeMap<String, (String, String)> = initial
            .iter()
            .map(|user| (user.id.clone(), (user.created_key(), user.name.clone())))
            .collect();
        let known: Vec<&(String, String)> =
            listed.iter().filter_map(|id| everyone.get(id)).collect();
        let sorted = known.windows(2).all(|pair| {
            if query.descending {
                pair[0].1 > pair[1].1
            } else {
                pair[0].0 < pair[1].0
            }
        });
        assert!(sorted, "{what}: out of order");
        // The second run pages through what the first left.
        initial.retain(|user| !deleted.contains(&user.id));
    }
}

/// A problem answer: its status and type.
async fn problem(api: &Api, path: &str) -> (StatusCode, String) {
    let response = api.send(Method::GET, path).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(
        content_type.starts_with("application/problem+json"),
        "{path}: {status} {content_type} {body}"
    );
    (status, body["type"].as_str().unwrap_or_default().to_owned())
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn each_refusal_is_a_problem_and_the_listing_goes_on_after_it() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let (url, key) = harness::user_api(&resources).await;
    // Raw: the refused queries and cursors below, a query written otherwise than the client
    // writes it, and a call without a key; the well-formed listings go through `users`.
    let api = Api::new(&url, &key);
    let users = UserApi::new(&url, &key).unwrap();
    let base = Utc::now() - TimeDelta::hours(1);
    for i in 0..12_i64 {
        let name = format!("refused_{i:02}");
        make(
            &profiles,
            &name,
            &format!("{name}@example.com"),
            base + TimeDelta::seconds(i),
        )
        .await;
    }
    let five = ListUsers {
        limit: Some(5),
        ..Default::default()
    };
    let first = users.list_users(&five, None).await.unwrap();
    let cursor = first.next_cursor.clone().unwrap();
    let second = users.list_users(&five, Some(&cursor)).await.unwrap();
    assert_eq!(first.users.len(), 5);

    let other_cursor = users
        .list_users(
            &ListUsers {
                status: Some(Status::Unconfirmed),
                limit: Some(2),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    let prefix_cursor = users
        .list_users(
            &ListUsers {
                name_prefix: Some("refused_0".to_owned()),
                limit: Some(2),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    let tampered = {
        let mut bytes = cursor.clone().into_bytes();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let c = encode(&cursor);
    let invalid = "/problems/invalid-input";
    let bad_cursor = "/problems/invalid-cursor";
    let refusals: Vec<(String, &str)> = vec![
        ("/users?limit=0".into(), invalid),
        ("/users?limit=101".into(), invalid),
        ("/users?limit=ten".into(), invalid),
        ("/users?limit=-1".into(), invalid),
        ("/users?limit=".into(), invalid),
        ("/users?limit=1e2".into(), invalid),
        ("/users?stauts=CONFIRMED".into(), invalid),
        ("/users?status=CONFIRMED&status=SUSPENDED".into(), invalid),
        ("/users?status=confirmed".into(), invalid),
        ("/users?status=".into(), invalid),
        ("/users?createdAfter=yesterday".into(), invalid),
        (
            "/users?createdAfter=2026-11-25T10:00:00Z&createdBefore=2026-11-25T09:00:00Z".into(),
            invalid,
        ),
        ("/users?namePrefix=refused&status=CONFIRMED".into(), invalid),
        (
            "/users?handlePrefix=ref&createdAfter=2026-11-25T10:00:00Z".into(),
            invalid,
        ),
        ("/users?namePrefix=a&emailPrefix=a".into(), invalid),
        ("/users?namePrefix=two%20words".into(), invalid),
        ("/users?namePrefix=".into(), invalid),
        ("/users?handlePrefix=%40".into(), invalid),
        ("/users?emailPrefix=%00".into(), invalid),
        ("/users?order=sideways".into(), invalid),
        ("/users?%FF=1".into(), invalid),
        ("/users?namePrefix=%FF".into(), invalid),
        // Cursors: invented, altered, cut, too long, and issued for other queries.
        ("/users?cursor=".into(), bad_cursor),
        ("/users?cursor=garbage".into(), bad_cursor),
        (
            "/users?cursor=c1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            bad_cursor,
        ),
        (format!("/users?cursor={}", encode(&tampered)), bad_cursor),
        (
            format!("/users?cursor={}", encode(&cursor[..cursor.len() - 4])),
            bad_cursor,
        ),
        (format!("/users?cursor={}", "A".repeat(4000)), bad_cursor),
        (format!("/users?order=desc&cursor={c}"), bad_cursor),
        (format!("/users?status=UNCONFIRMED&cursor={c}"), bad_cursor),
        (
            format!("/users?createdAfter=2026-01-01T00:00:00Z&cursor={c}"),
            bad_cursor,
        ),
        (
            format!("/users?cursor={}", encode(&other_cursor)),
            bad_cursor,
        ),
        (
            format!(
                "/users?namePrefix=refused_1&cursor={}",
                encode(&prefix_cursor)
            ),
            bad_cursor,
        ),
        (
            format!(
                "/users?emailPrefix=refused_0&cursor={}",
                encode(&prefix_cursor)
            ),
            bad_cursor,
        ),
    ];
    for (path, kind) in &refusals {
        let (status, problem_type) = problem(&api, path).await;
        assert_eq!(
            (status, problem_type.as_str()),
            (StatusCode::BAD_REQUEST, *kind),
            "{path}"
        );
        // The same stack goes on: the second page, the same users as before the refusal (its
        // cursor is sealed anew each time).
        let again = users
            .list_users(&five, Some(&cursor))
            .await
            .unwrap_or_else(|error| panic!("after {path}: {error}"));
        assert_eq!(again.users, second.users, "after {path}");
    }
    // The right cursor with its own query written otherwise, and another limit: accepted.
    // (Raw: `roster-client` never writes `order=asc`, the default.)
    let (status, _) = api
        .get(&format!("/users?limit=3&order=asc&cursor={c}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    users
        .list_users(
            &ListUsers {
                name_prefix: Some("REFUSED_0".to_owned()),
                limit: Some(1),
                ..Default::default()
            },
            Some(&prefix_cursor),
        )
        .await
        .unwrap();

    // Keys: none, unknown, and keys without users:read.
    let admin = roster_platform::api_keys::KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&resources.sdk),
        resources.provisioned.api_key_secret.clone(),
    );
    let writer = admin
        .create("writer", &["users:write"], None)
        .await
        .unwrap()
        .plaintext;
    let auth_only = admin
        .create("auth", &["auth"], None)
        .await
        .unwrap()
        .plaintext;
    let reader = admin
        .create("reader", &["users:read"], None)
        .await
        .unwrap()
        .plaintext;
    let cases: [(Option<&str>, StatusCode); 4] = [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some("rk_unknown_0000000000000000000000000000000000000000"),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(&writer), StatusCode::FORBIDDEN),
        (Some(&auth_only), StatusCode::FORBIDDEN),
    ];
    for (key, expected) in cases {
        if let Some(key) = key {
            // `refused` holds only a problem document (`application/problem+json`).
            refused(
                UserApi::new(&url, key)
                    .unwrap()
                    .list_users(&five, None)
                    .await,
                expected,
            );
        } else {
            // Raw: `roster-client` always sends its key.
            let response = reqwest::Client::new()
                .get(format!("{url}/users?limit=5"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), expected, "{key:?}");
            assert!(
                response
                    .headers()
                    .get("content-type")
                    .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"))
            );
        }
        let listed = list_all(&UserApi::new(&url, &reader).unwrap(), &ListUsers::default()).await;
        assert_eq!(listed.len(), 12, "after {key:?}");
    }
    // And the client's own listing, every user once, in order.
    let listed = list_all(
        &users,
        &ListUsers {
            limit: Some(5),
            ..Default::default()
        },
    )
    .await;
    let names: Vec<&str> = listed.iter().map(|user| user.name.as_str()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("refused_{i:02}")).collect();
    assert_eq!(names, expected);
}

async fn made_spread(resources: &TestResources, count: i64, stem: &str) {
    let profiles = profiles_of(resources);
    let base = Utc::now() - TimeDelta::hours(1);
    for i in 0..count {
        let name = format!("{stem}_{i:03}");
        make(
            &profiles,
            &name,
            &format!("{name}@example.com"),
            base + TimeDelta::seconds(i),
        )
        .await;
    }
}

#[tokio::test]
async fn a_page_takes_one_query_per_unfinished_shard_and_a_throttled_one_is_a_503() {
    let resources = harness::provisioned().await;
    made_spread(&resources, 60, "counted").await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (url, key) = harness::user_api_through(&resources, proxy.url()).await;
    let users = UserApi::new(&url, &key).unwrap();
    // The API key loads on first use.
    let unknown = users.user("warm-up").await.expect_err("no such user");
    assert_eq!(unknown.status(), Some(StatusCode::NOT_FOUND), "{unknown}");
    proxy.take_calls();

    let ten = ListUsers {
        limit: Some(10),
        ..Default::default()
    };
    let page = users.list_users(&ten, None).await.unwrap();
    let calls = proxy.take_calls();
    assert_eq!(calls.get("Query"), Some(&LIST_SHARDS), "{calls:?}");
    // The first cursor sealed loads the User API's key, once.
    assert_eq!(calls.get("GetSecretValue"), Some(&1), "{calls:?}");
    assert_eq!(calls.len(), 2, "{calls:?}");

    let mut cursor = page.next_cursor;
    let mut listed = page.users.len();
    let mut pages = 1;
    while let Some(next) = cursor {
        let page = users.list_users(&ten, Some(&next)).await.unwrap();
        let calls = proxy.take_calls();
        let queries = calls.get("Query").copied().unwrap_or_default();
        assert!(
            (1..=LIST_SHARDS).contains(&queries) && calls.len() == 1,
            "page {pages}: {calls:?}"
        );
        listed += page.users.len();
        cursor = page.next_cursor;
        pages += 1;
        if cursor.is_some() && pages > 3 {
            // With 60 users in 32 shards, shards run out long before the last page.
            assert!(queries < LIST_SHARDS, "page {pages}: {queries} queries");
        }
    }
    assert_eq!(listed, 60);

    // A throttled Query (past the SDK's retries) is a 503 with Retry-After, and the next call
    // lists again.
    proxy.inject(Fault {
        kind: Kind::Throttle,
        ..Fault::always("Query", When::Before)
    });
    // Raw: `roster-client`'s error keeps no headers, and Retry-After is the point.
    let response = Api::new(&url, &key)
        .send(Method::GET, "/users?limit=10")
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    proxy.clear();
    let page = users.list_users(&ten, None).await.unwrap();
    assert_eq!(page.users.len(), 10);
}

//! Erasure on a running local stack: a deleted user leaves nothing personal behind.
//!
//! - Every version and delete marker under the user's upload prefix is gone (the bucket is
//!   versioned, as on AWS).
//! - No item of either table holds the user's email, name or handle (the registration's
//!   idempotency record and a password-reset request did); what still names the user
//!   is the users table's tombstone (id, times, expiry) and nothing else without an expiry.
//! - A presign after the deletion is refused, and an upload through a URL issued before it is
//!   swept once the URL has expired.
//! - An archived `UserRegistered`, replayed after the tombstone expired, creates no profile.
//!
//! Each ends with the happy path on the same stack: a new registration and its avatar work.

use std::time::Duration;

use aws_config::SdkConfig;
use reqwest::StatusCode;
use roster_client::{
    AuthApi, AvatarChange, AvatarRequest, AvatarUpload, ForgotRequest, RegisterRequest,
    UploadRequest, UserApi,
};
use roster_local::stack::RunningStack;
use roster_platform::subscriber::EventHandler;
use roster_testkit::harness;
use roster_user_api::assets::Assets;
use roster_user_api::profiles::Profiles;
use roster_user_api::store::TOMBSTONE_DAYS;
use serde_json::{Value, json};

use crate::support::{eventually, next_message, tap};

pub(crate) const PASSWORD: &str = "Erasure-Secret-1";

/// What a users-table tombstone may hold: the id, when and why it was deleted, its version,
/// its expiry, and its place in the uploads sweep. No email, name, handle or data.
const TOMBSTONE_ATTRIBUTES: [&str; 7] = [
    "id",
    "deletedAt",
    "version",
    "expiresAt",
    "correlationId",
    "lastWriteId",
    "sweepShard",
];

fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// Every object version and delete marker under `prefix`, as `key@version`.
pub(crate) async fn versions_under(sdk: &SdkConfig, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3(sdk)
        .list_object_versions()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let versions = listed
        .versions()
        .iter()
        .map(|version| (version.key(), version.version_id(), "version"));
    let markers = listed
        .delete_markers()
        .iter()
        .map(|marker| (marker.key(), marker.version_id(), "delete marker"));
    versions
        .chain(markers)
        .map(|(key, version, kind)| {
            format!("{kind} {}@{}", key.unwrap_or(""), version.unwrap_or(""))
        })
        .collect()
}

/// Every item of a table, as JSON (all pages).
pub(crate) async fn items(sdk: &SdkConfig, table: &str) -> Vec<Value> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            found.push(serde_dynamo::from_item(item.clone()).unwrap());
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

/// The personal identifiers of one registered user, lowercased for a case-blind search.
pub(crate) struct Person {
    id: String,
    email: String,
    name: String,
    handle: String,
}

impl Person {
    pub(crate) fn of(registered: &roster_client::Registered) -> Self {
        Self {
            id: registered.id.clone(),
            email: registered.email.to_lowercase(),
            name: registered.name.to_lowercase(),
            handle: registered.handle.to_lowercase(),
        }
    }
}

/// Fails unless no item of either table holds `person`'s email, name or handle, and every item
/// that still names the user's id is a short-lived marker (it has a TTL): in the users table
/// only the tombstone, with its own few attributes.
pub(crate) async fn assert_nothing_personal_left(
    stack: &RunningStack,
    sdk: &SdkConfig,
    person: &Person,
) {
    let facts = stack.facts();
    for (role, table) in &facts.tables {
        for item in items(sdk, table).await {
            let text = item.to_string().to_lowercase();
            for (what, value) in [
                ("email", &person.email),
                ("name", &person.name),
                ("handle", &person.handle),
            ] {
                assert!(
                    !text.contains(value.as_str()),
                    "the {role} table still holds the deleted user's {what}: {item}"
                );
            }
            if !text.contains(&person.id) {
                continue;
            }
            assert!(
                item["expiresAt"].is_i64(),
                "the {role} table keeps an item naming the deleted user for good: {item}"
            );
            if role == "users" {
                let attributes: Vec<&String> = item.as_object().unwrap().keys().collect();
                assert!(
                    item["deletedAt"].is_string()
                        && attributes
                            .iter()
                            .all(|name| TOMBSTONE_ATTRIBUTES.contains(&name.as_str())),
                    "the users table holds more than a tombstone of the deleted user: {item}"
                );
            }
        }
    }
}

/// PUTs `body` to a presigned upload URL with the headers it was issued with.
pub(crate) async fn put(upload: &AvatarUpload, body: &[u8]) -> StatusCode {
    let mut request = reqwest::Client::new().put(&upload.upload_url);
    for (name, value) in &upload.headers {
        if name != "content-length" {
            request = request.header(name, value);
        }
    }
    request.body(body.to_vec()).send().await.unwrap().status()
}

pub(crate) fn png() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/05.png"
    ))
    .unwrap()
}

fn avatar_request(png: &[u8]) -> AvatarRequest {
    AvatarRequest::Upload(UploadRequest {
        content_type: "image/png".into(),
        content_length: png.len() as u64,
    })
}

pub(crate) async fn upload_url(users: &UserApi, id: &str, png: &[u8]) -> AvatarUpload {
    match users.avatar(id, &avatar_request(png)).await.unwrap() {
        AvatarChange::Upload(upload) => upload,
        AvatarChange::Chosen(_) => panic!("an upload asks for an upload URL"),
    }
}

/// Registers a user and waits for the profile the event creates.
pub(crate) async fn register(
    auth: &AuthApi,
    users: &UserApi,
    email: &str,
    name: &str,
    idempotency_key: Option<&str>,
) -> roster_client::Registered {
    let registered = auth
        .register(
            &RegisterRequest::new(email, name, PASSWORD),
            idempotency_key,
        )
        .await
        .unwrap();
    eventually("the profile", Duration::from_secs(15), || async {
        users.user(&registered.id).await.ok()
    })
    .await;
    registered
}

/// The happy path after the erasures: a new user registers, uploads an avatar and is served
/// it; a sweep leaves a live user's avatar alone.
async fn a_new_user_and_avatar_still_work(
    auth: &AuthApi,
    users: &UserApi,
    profiles: &Profiles,
    email: &str,
    name: &str,
) {
    let png = png();
    let fresh = register(auth, users, email, name, None).await;
    let upload = upload_url(users, &fresh.id, &png).await;
    assert!(put(&upload, &png).await.is_success());
    profiles
        .sweep_deleted_uploads(chrono::Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    let served = reqwest::get(&upload.avatar_url).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK, "{}", upload.avatar_url);
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
}

#[tokio::test]
async fn a_deleted_user_leaves_no_object_version_and_no_personal_item_behind() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let profiles =
        roster_local::stack::user_config(stack.provisioned(), &facts.aws_endpoint).profiles(&sdk);

    // Registered with an Idempotency-Key: its record keeps the response (email, name, handle).
    let registered = register(
        &auth,
        &users,
        "erin.erasure@example.com",
        "erin.erasure",
        Some("erasure-idempotency-key-1"),
    )
    .await;
    let person = Person::of(&registered);
    let prefix = Assets::upload_prefix(&registered.id);

    // Two avatars, the first uploaded twice: three versions under the user's prefix.
    let png = png();
    let first = upload_url(&users, &registered.id, &png).await;
    assert!(put(&first, &png).await.is_success());
    assert!(put(&first, &png).await.is_success());
    let second = upload_url(&users, &registered.id, &png).await;
    assert!(put(&second, &png).await.is_success());
    assert_eq!(
        reqwest::get(&second.avatar_url).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        versions_under(&sdk, &facts.bucket, &prefix).await.len(),
        3,
        "the bucket is versioned"
    );

    // A password reset asked for: its request record names the user and the email.
    auth.forgot_password(&ForgotRequest {
        email: registered.email.clone(),
        client_id: None,
    })
    .await
    .unwrap();

    users.delete(&registered.id, None).await.unwrap();
    // The Auth API hears UserDeleted: the identity and the reservations go.
    let auth_table = facts.tables["auth"].clone();
    eventually("the identity released", Duration::from_secs(15), || async {
        let identity = format!("USER#{}", registered.id);
        items(&sdk, &auth_table)
            .await
            .iter()
            .all(|item| item["pk"] != identity.as_str())
            .then_some(())
    })
    .await;

    let left = versions_under(&sdk, &facts.bucket, &prefix).await;
    assert!(left.is_empty(), "left under {prefix}: {left:?}");
    for upload in [&first, &second] {
        let gone = reqwest::get(&upload.avatar_url).await.unwrap();
        assert!(gone.status().is_client_error(), "{}", upload.avatar_url);
    }
    assert_nothing_personal_left(&stack, &sdk, &person).await;

    a_new_user_and_avatar_still_work(
        &auth,
        &users,
        &profiles,
        "erin.next@example.com",
        "erin.next",
    )
    .await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn an_upload_url_issued_before_the_deletion_creates_nothing_that_outlives_the_sweep() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let profiles =
        roster_local::stack::user_config(stack.provisioned(), &facts.aws_endpoint).profiles(&sdk);

    let registered = register(
        &auth,
        &users,
        "late.upload@example.com",
        "late.upload",
        None,
    )
    .await;
    let prefix = Assets::upload_prefix(&registered.id);
    let png = png();
    // The URL is handed out, then the user is deleted before the upload.
    let early = upload_url(&users, &registered.id, &png).await;
    users.delete(&registered.id, None).await.unwrap();
    let deleted_at = chrono::Utc::now();

    // No upload URL for a deleted user.
    let refused = users
        .avatar(&registered.id, &avatar_request(&png))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND), "{refused}");
    assert!(
        versions_under(&sdk, &facts.bucket, &prefix)
            .await
            .is_empty()
    );

    // The early URL still works until it expires (moto never expires it): the object lands.
    assert!(put(&early, &png).await.is_success());
    assert_eq!(
        reqwest::get(&early.avatar_url).await.unwrap().status(),
        StatusCode::OK
    );
    // A sweep before the URL could have expired leaves the tombstone for a later one.
    profiles.sweep_deleted_uploads(deleted_at).await.unwrap();
    // The sweep after the URL's lifetime removes every version and marker of the upload.
    let after_expiry = deleted_at
        + chrono::Duration::seconds(
            i64::try_from(roster_user_api::domain::AVATAR_UPLOAD_SECONDS).unwrap() + 120,
        );
    let swept = profiles.sweep_deleted_uploads(after_expiry).await.unwrap();
    assert_eq!(swept.swept, 1, "{swept:?}");
    let left = versions_under(&sdk, &facts.bucket, &prefix).await;
    assert!(left.is_empty(), "left under {prefix}: {left:?}");
    assert!(
        reqwest::get(&early.avatar_url)
            .await
            .unwrap()
            .status()
            .is_client_error()
    );
    // Swept once: the tombstone leaves the sweep's index.
    let again = profiles.sweep_deleted_uploads(after_expiry).await.unwrap();
    assert_eq!(again.swept, 0, "{again:?}");

    a_new_user_and_avatar_still_work(
        &auth,
        &users,
        &profiles,
        "late.next@example.com",
        "late.next",
    )
    .await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

/// `event` as the archive would replay it had it been published `age` ago: the archive keeps
/// the original event, with its original times.
fn aged(mut event: Value, age: chrono::Duration) -> Value {
    let then = chrono::Utc::now() - age;
    let millis = then.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    event["time"] = json!(then.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    event["detail"]["occurredAt"] = json!(millis);
    event["detail"]["data"]["createdAt"] = json!(millis);
    event
}

#[tokio::test]
async fn an_archived_user_registered_replayed_after_the_tombstone_expired_creates_no_profile() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let archive = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-archive", facts.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["UserRegistered"]}),
    )
    .await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let profiles =
        roster_local::stack::user_config(stack.provisioned(), &facts.aws_endpoint).profiles(&sdk);
    let subscriber = roster_user_api::subscriber::UserEvents::new(profiles.clone());

    let registered = register(&auth, &users, "replayed@example.com", "replayed.user", None).await;
    let published = next_message(&sdk, &archive).await;
    assert_eq!(
        published["detail"]["data"]["userId"],
        registered.id.as_str()
    );
    users.delete(&registered.id, None).await.unwrap();

    // TOMBSTONE_DAYS later the table's TTL has removed the tombstone.
    let table = facts.tables["users"].clone();
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_item()
        .table_name(&table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(registered.id.clone()),
        )
        .send()
        .await
        .unwrap();
    // The archive still holds the UserRegistered (it keeps events 30 days): replayed now, it
    // is at least as old as the deletion, so older than the tombstone's lifetime.
    let replay = aged(
        published,
        chrono::Duration::days(TOMBSTONE_DAYS) + chrono::Duration::hours(1),
    );
    let replay = serde_json::from_value(replay).unwrap();
    subscriber.handle(&replay).await.unwrap();
    assert_eq!(
        users.user(&registered.id).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND),
        "a replayed registration brought a deleted user back"
    );
    let left: Vec<Value> = items(&sdk, &table)
        .await
        .into_iter()
        .filter(|item| item["id"] == registered.id.as_str())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Registrations as they happen still create profiles, on the same stack.
    let profiles_ok = register(
        &auth,
        &users,
        "replayed.next@example.com",
        "replayed.next",
        None,
    )
    .await;
    assert!(users.user(&profiles_ok.id).await.is_ok());
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn the_assets_bucket_is_versioned_and_expires_noncurrent_versions() {
    let resources = harness::provisioned().await;
    let client = s3(&resources.sdk);
    let bucket = &resources.provisioned.bucket;
    // Versioned: a second PUT of a key keeps the first as a noncurrent version. (moto answers
    // GetBucketVersioning with a root element the SDK cannot read, so this is checked by effect.)
    let key = "public/avatars/users/versioning-probe/a.png";
    for body in ["one", "two"] {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                body.as_bytes(),
            ))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(versions_under(&resources.sdk, bucket, key).await.len(), 2);
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let expiring = lifecycle.rules().iter().any(|rule| {
        rule.id() == Some(roster_infra::resources::NONCURRENT_VERSIONS_RULE)
            && rule
                .noncurrent_version_expiration()
                .and_then(|expiration| expiration.noncurrent_days())
                == Some(roster_infra::resources::NONCURRENT_VERSION_DAYS)
            && rule
                .expiration()
                .and_then(|expiration| expiration.expired_object_delete_marker())
                == Some(true)
    });
    assert!(expiring, "{lifecycle:?}");
}

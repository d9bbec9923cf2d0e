//! The event backbone under faults: a PutEvents partial failure, a projector whose publish
//! fails in the middle of a batch, and every subscriber given the same event twice (and an
//! older one late). Nothing is lost, nothing is applied twice.

use std::time::Duration;

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use reqwest::StatusCode;
use roster_client::{AuthApi, LoginRequest, RegisterRequest, UserApi};
use roster_events::auth::{UserLoggedIn, UserRegistered};
use roster_events::user::{UserActivated, UserDeleted, UserStatus, UserStatusChanged};
use roster_events::{DomainEvent, Email, Envelope, Role, Timestamp, UserId};
use roster_infra::resources::USERS_TABLE;
use roster_platform::events::{EventPublisher, OutgoingEvent, RetryPolicy};
use roster_platform::lambda::{QueueBatchHandler, StreamBatchHandler};
use roster_platform::subscriber::{EventHandler, Outcome};
use roster_projectors::StreamProjector;
use roster_projectors::users_table::UsersTableProjection;
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness::{self, REGION};
use roster_user_api::store::{BadgeItem, ProfileItem};
use serde_json::{Value, json};

use crate::support::{profiles_of, seed_profile};
use crate::support::{receive_bodies, refusal_status, tap};

/// A domain event as a subscriber receives it from the bus.
fn bus_event<D: DomainEvent>(event_id: &str, data: D) -> EventBridgeEvent<Value> {
    let envelope = Envelope::new(
        event_id.to_owned(),
        Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
        data,
    );
    serde_json::from_value(json!({
        "version": "0", "id": event_id, "detail-type": D::DETAIL_TYPE, "source": D::SOURCE,
        "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": REGION,
        "resources": [], "detail": envelope
    }))
    .unwrap()
}

fn user_deleted(id: &str) -> EventBridgeEvent<Value> {
    bus_event(
        &format!("UserDeleted-{id}"),
        UserDeleted {
            user_id: UserId::parse(id).unwrap(),
            deleted_at: Timestamp::now(),
        },
    )
}

/// Nothing of a deleted user is left in the Auth API's table (idempotency records aside, and
/// the revocation records that refuse its tokens: the user id and a time only, gone after one
/// token lifetime).
async fn assert_identity_released(resources: &harness::TestResources) {
    let leftovers: Vec<Value> = crate::support::auth_items(resources)
        .await
        .into_iter()
        .filter(|item| {
            let pk = item["pk"].as_str().unwrap();
            !pk.starts_with("IDEMPOTENCY#") && !pk.starts_with("REVOKED#")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn outgoing(index: usize) -> OutgoingEvent {
    OutgoingEvent {
        source: "roster.user".to_owned(),
        detail_type: "FaultProbe".to_owned(),
        detail: json!({"eventId": format!("probe-{index}")}).to_string(),
        resources: Vec::new(),
    }
}

#[tokio::test]
async fn a_put_events_partial_failure_resends_only_the_failed_entry() {
    let resources = harness::provisioned().await;
    let bus = resources.provisioned.bus_name.clone();
    let downstream = tap(
        &resources.sdk,
        &bus,
        &format!("{}-partial", resources.names.prefix()),
        json!({"detail-type": ["FaultProbe"]}),
    )
    .await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    proxy.inject(Fault {
        operation: "PutEvents",
        skip: 0,
        times: 1,
        when: When::Before,
        kind: Kind::FailFirstEntry,
    });
    let sdk = roster_platform::aws::local(proxy.url(), REGION).await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    let events: Vec<OutgoingEvent> = (0..3).map(outgoing).collect();
    publisher.publish(&events).await.unwrap();
    assert_eq!(
        proxy.calls("PutEvents"),
        2,
        "one call, then one re-send of the failed entry"
    );
    let mut ids: Vec<String> =
        receive_bodies(&resources.sdk, &downstream, 3, Duration::from_secs(10))
            .await
            .iter()
            .map(|body| {
                serde_json::from_str::<Value>(body).unwrap()["detail"]["eventId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["probe-0", "probe-1", "probe-2"],
        "each event exactly once"
    );
}

/// The profile's item exactly as the table holds it (what a stream record carries): read with
/// the SDK and the table's item type, never through the User API's store.
async fn stored_item(resources: &harness::TestResources, id: &str) -> ProfileItem {
    let output = aws_sdk_dynamodb::Client::new(&resources.sdk)
        .get_item()
        .table_name(resources.names.table(&USERS_TABLE))
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(id.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    serde_dynamo::from_item(output.item.unwrap()).unwrap()
}

fn record(
    sequence: u64,
    event_name: &str,
    old: Option<&ProfileItem>,
    new: &ProfileItem,
) -> EventRecord {
    let image = |profile: Option<&ProfileItem>| {
        profile.map_or(json!({}), |profile| {
            serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(profile).unwrap())
                .unwrap()
        })
    };
    serde_json::from_value(json!({
        "eventID": sequence.to_string(), "eventName": event_name, "awsRegion": REGION,
        "dynamodb": {
            "Keys": {"id": {"S": new.id}}, "OldImage": image(old), "NewImage": image(Some(new)),
            "SequenceNumber": sequence.to_string(), "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn a_publish_failing_mid_batch_ends_the_batch_there_and_the_retry_publishes_the_rest_once() {
    let resources = harness::provisioned().await;
    let bus = resources.provisioned.bus_name.clone();
    let downstream = tap(
        &resources.sdk,
        &bus,
        &format!("{}-midbatch", resources.names.prefix()),
        json!({"source": ["roster.user"]}),
    )
    .await;
    let profiles = profiles_of(&resources);
    let id = "f0f0f0f0-0000-4000-8000-000000000001";
    seed_profile(&profiles, id, "stream_user", "hash-s").await;
    let created = stored_item(&resources, id).await;
    let mut confirmed = created.clone();
    confirmed.status = UserStatus::Confirmed;
    confirmed.version = 2;
    // 13 events: the projector sends the events of consecutive records together, so the
    // first PutEvents call takes the first 10 (records 1 to 9) and the second the badges of
    // records 10 to 12.
    let mut records = vec![
        record(1, "INSERT", None, &created),
        record(2, "MODIFY", Some(&created), &confirmed),
    ];
    let mut before = confirmed;
    for sequence in 3..=12 {
        let mut badged = before.clone();
        badged.badges.insert(
            format!("BADGE_{sequence}"),
            BadgeItem {
                awarded_at: Timestamp::parse("2026-11-25T10:00:03.000Z").unwrap(),
            },
        );
        badged.version = sequence;
        records.push(record(sequence, "MODIFY", Some(&before), &badged));
        before = badged;
    }

    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    proxy.inject(Fault::after_calls("PutEvents", 1, When::Before));
    let sdk = roster_platform::aws::local(proxy.url(), REGION).await;
    let publisher =
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus).with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        });
    let projector = StreamProjector::new("users-projector", UsersTableProjection, publisher);
    let batch = |records: &[EventRecord]| {
        let mut event = StreamEvent::default();
        event.records = records.to_vec();
        event
    };

    let response = StreamBatchHandler::handle(&projector, batch(&records)).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        [Some("10".to_owned())],
        "the batch stops at the first record whose events could not be published"
    );

    proxy.clear();
    let retry = StreamBatchHandler::handle(&projector, batch(&records[9..])).await;
    assert!(retry.batch_item_failures.is_empty());

    let event_ids: Vec<String> =
        receive_bodies(&resources.sdk, &downstream, 13, Duration::from_secs(10))
            .await
            .iter()
            .map(|body| {
                serde_json::from_str::<Value>(body).unwrap()["detail"]["eventId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    let mut expected = vec![
        format!("UserProfileCreated-{id}"),
        format!("UserStatusChanged-{id}-v2"),
        format!("UserActivated-{id}-v2"),
    ];
    expected.extend((3..=12).map(|v| format!("BadgeAwarded-{id}-v{v}-BADGE_{v}")));
    assert_eq!(event_ids, expected, "each event once, in order");
}

#[tokio::test]
async fn the_user_subscribers_apply_each_event_once_and_never_go_back_in_time() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let users = roster_user_api::subscriber::UserEvents::new(profiles.clone());
    let rules = roster_user_api::badge_rules::BadgeRules::new(profiles.clone());
    let id = "f0f0f0f0-0000-4000-8000-000000000002";
    let registered = bus_event(
        &format!("UserRegistered-{id}"),
        UserRegistered {
            user_id: UserId::parse(id).unwrap(),
            email: Email::parse("twice@example.com").unwrap(),
            name: "twice".to_owned(),
            handle: "@Twice".to_owned(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: "tests".to_owned(),
            // Recent: a registration older than a tombstone lives creates no profile.
            created_at: Timestamp::now(),
            activation_code_hash: "hash-t".to_owned(),
        },
    );
    assert_eq!(users.handle(&registered).await.unwrap(), Outcome::Handled);
    let first = profiles
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(users.handle(&registered).await.unwrap(), Outcome::Handled);
    assert_eq!(
        profiles
            .table
            .profile(&UserId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap(),
        first,
        "a redelivery changes nothing"
    );

    let login = |at: &str| {
        bus_event(
            &format!("UserLoggedIn-{at}"),
            UserLoggedIn {
                user_id: UserId::parse(id).unwrap(),
                client_id: "c".to_owned(),
                logged_in_at: Timestamp::parse(at).unwrap(),
            },
        )
    };
    users
        .handle(&login("2026-11-25T12:00:00.000Z"))
        .await
        .unwrap();
    users
        .handle(&login("2026-11-25T11:00:00.000Z"))
        .await
        .unwrap();
    let profile = profiles
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        profile.last_login_at.as_ref().map(Timestamp::as_str),
        Some("2026-11-25T12:00:00.000Z"),
        "an older sign-in never wins"
    );

    let activated = bus_event(
        &format!("UserActivated-{id}-v2"),
        UserActivated {
            user_id: UserId::parse(id).unwrap(),
            email: Email::parse("twice@example.com").unwrap(),
            activated_at: Timestamp::now(),
            version: 2,
        },
    );
    rules.handle(&activated).await.unwrap();
    let once = profiles
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    rules.handle(&activated).await.unwrap();
    let twice = profiles
        .table
        .profile(&UserId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(twice.badges.contains_key("VERIFIED"));
    assert_eq!(
        twice.version, once.version,
        "the second award changed nothing"
    );

    // A late UserRegistered for a deleted profile does not bring it back.
    let api = UserApi::new(
        &harness::user_api(&resources).await.0,
        &harness::test_key(&resources).await,
    )
    .unwrap();
    api.delete(id, None).await.unwrap();
    users.handle(&registered).await.unwrap();
    assert_eq!(
        refusal_status(api.user(id).await),
        Some(StatusCode::NOT_FOUND)
    );

    // A sign-in of a profile that does not exist yet is retried, not dropped.
    let early = bus_event(
        "UserLoggedIn-early",
        UserLoggedIn {
            user_id: UserId::parse("f0f0f0f0-0000-4000-8000-0000000000ee").unwrap(),
            client_id: "c".to_owned(),
            logged_in_at: Timestamp::now(),
        },
    );
    assert!(users.handle(&early).await.is_err());
}

#[tokio::test]
async fn the_auth_subscriber_applies_each_event_once_and_drops_a_stale_status() {
    let resources = harness::provisioned().await;
    let auth = AuthApi::new(
        &harness::auth_api(&resources).await.0,
        &harness::test_key(&resources).await,
    )
    .unwrap();
    let id = auth
        .register(
            &RegisterRequest::new("order@example.com", "order_user", "Order-Secret-1"),
            None,
        )
        .await
        .unwrap()
        .id;
    let stores = roster_local::stack::auth_stores(&resources.provisioned);
    let subscriber = roster_auth_api::subscriber::subscriber(
        stores.table(&resources.sdk),
        stores.pool(&resources.sdk),
    );
    let deliver = |event: EventBridgeEvent<Value>| {
        let mut message = aws_lambda_events::sqs::SqsMessage::default();
        message.message_id = Some(event.id.clone().unwrap_or_default());
        message.body = Some(serde_json::to_string(&event).unwrap());
        let mut batch = aws_lambda_events::sqs::SqsEvent::default();
        batch.records = vec![message.clone(), message];
        batch
    };
    let status_change = |to: UserStatus, version: u64| {
        bus_event(
            &format!("UserStatusChanged-{id}-v{version}"),
            UserStatusChanged {
                user_id: UserId::parse(&id).unwrap(),
                from: UserStatus::Unconfirmed,
                to,
                changed_at: Timestamp::now(),
                version,
            },
        )
    };
    let login = LoginRequest::new("order@example.com", "Order-Secret-1");

    // Suspension, delivered twice in one batch; then an older confirmation arrives late.
    let response = QueueBatchHandler::handle(
        &subscriber,
        deliver(status_change(UserStatus::Suspended, 5)),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let response = QueueBatchHandler::handle(
        &subscriber,
        deliver(status_change(UserStatus::Confirmed, 4)),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        refusal_status(auth.login(&login).await),
        Some(StatusCode::UNAUTHORIZED),
        "still suspended"
    );

    // A newer confirmation lets the user back in.
    QueueBatchHandler::handle(
        &subscriber,
        deliver(status_change(UserStatus::Confirmed, 6)),
    )
    .await;
    auth.login(&login).await.unwrap();

    // Deletion, twice: the user is gone and the identifiers are free.
    let deleted = user_deleted(&id);
    let response = QueueBatchHandler::handle(&subscriber, deliver(deleted)).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(crate::support::cognito_emails(&resources).await.is_empty());
    assert_identity_released(&resources).await;
}

/// The Auth API's subscriber with its Cognito and DynamoDB calls failing part-way: each
/// failure leaves the event to be delivered again, and the redelivery finishes the job with
/// nothing applied twice and nothing left behind.
#[tokio::test]
async fn the_auth_subscriber_finishes_each_change_on_redelivery_after_a_fault() {
    let resources = harness::provisioned().await;
    let auth = AuthApi::new(
        &harness::auth_api(&resources).await.0,
        &harness::test_key(&resources).await,
    )
    .unwrap();
    let login = LoginRequest::new("faulty@example.com", "Faulty-Secret-1");
    let registration = RegisterRequest::new("faulty@example.com", "faulty_user", "Faulty-Secret-1");
    let id = auth.register(&registration, None).await.unwrap().id;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let through = roster_platform::aws::local(proxy.url(), REGION).await;
    let stores = roster_local::stack::auth_stores(&resources.provisioned);
    let subscriber =
        roster_auth_api::subscriber::AuthEvents::new(stores.table(&through), stores.pool(&through));
    let pool = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk);
    let email_verified = || async {
        let user = pool
            .admin_get_user()
            .user_pool_id(&resources.provisioned.user_pool_id)
            .username("faulty@example.com")
            .send()
            .await
            .unwrap();
        user.user_attributes()
            .iter()
            .any(|a| a.name() == "email_verified" && a.value() == Some("true"))
    };

    // Activation: Cognito refuses the attribute update (every retry too); then it works.
    let activated = bus_event(
        &format!("UserActivated-{id}-v2"),
        UserActivated {
            user_id: UserId::parse(&id).unwrap(),
            email: Email::parse("faulty@example.com").unwrap(),
            activated_at: Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
            version: 2,
        },
    );
    proxy.inject(Fault::always("AdminUpdateUserAttributes", When::Before));
    assert!(
        subscriber.handle(&activated).await.is_err(),
        "left to retry"
    );
    assert!(!email_verified().await);
    proxy.clear();
    assert_eq!(
        subscriber.handle(&activated).await.unwrap(),
        Outcome::Handled
    );
    assert!(email_verified().await);

    // Suspension: the account is disabled, then the global sign-out fails; the redelivery
    // signs out and the user stays out.
    let suspended = bus_event(
        &format!("UserStatusChanged-{id}-v3"),
        UserStatusChanged {
            user_id: UserId::parse(&id).unwrap(),
            from: UserStatus::Confirmed,
            to: UserStatus::Suspended,
            changed_at: Timestamp::now(),
            version: 3,
        },
    );
    proxy.inject(Fault::always("AdminUserGlobalSignOut", When::Before));
    assert!(
        subscriber.handle(&suspended).await.is_err(),
        "left to retry"
    );
    proxy.clear();
    let sign_outs = proxy.calls("AdminUserGlobalSignOut");
    assert_eq!(
        subscriber.handle(&suspended).await.unwrap(),
        Outcome::Handled
    );
    assert!(
        proxy.calls("AdminUserGlobalSignOut") > sign_outs,
        "signed out on redelivery"
    );
    assert_eq!(
        refusal_status(auth.login(&login).await),
        Some(StatusCode::UNAUTHORIZED)
    );

    // Deletion: the Cognito user is deleted but the answer is lost. The deletion was
    // recorded first and the delete is one request (a retry that found no user could not tell
    // it from a user that was never there), so the delivery fails; the redelivery finds no
    // user, which the record explains, then releasing the identifiers fails; the next
    // redelivery releases them.
    let deleted = user_deleted(&id);
    let deletes = proxy.calls("AdminDeleteUser");
    let releases = proxy.calls("TransactWriteItems");
    proxy.inject(Fault {
        skip: deletes,
        times: 1,
        ..Fault::always("AdminDeleteUser", When::After)
    });
    proxy.inject(Fault {
        kind: Kind::Hangup,
        ..Fault::always("TransactWriteItems", When::Before)
    });
    assert!(subscriber.handle(&deleted).await.is_err(), "left to retry");
    assert_eq!(
        proxy.calls("AdminDeleteUser"),
        deletes + 1,
        "one request, its answer lost"
    );
    assert!(
        crate::support::cognito_emails(&resources).await.is_empty(),
        "the delete landed"
    );
    assert!(subscriber.handle(&deleted).await.is_err(), "left to retry");
    assert!(
        proxy.calls("TransactWriteItems") > releases,
        "the release was tried"
    );
    proxy.clear();
    assert_eq!(subscriber.handle(&deleted).await.unwrap(), Outcome::Handled);
    assert_identity_released(&resources).await;
    // The email is free again.
    auth.register(&registration, None).await.unwrap();
}

/// A sign-in is published at once while its registration travels through the table's stream,
/// so one SQS batch can carry the user's `UserLoggedIn` ahead of its `UserRegistered`. The
/// registration is handled first: neither fails (before, the sign-in failed for want of a
/// profile and held the registration back in every redelivery, until both were dead letters
/// and the profile never existed).
#[tokio::test]
async fn a_sign_in_ahead_of_its_registration_in_one_batch_holds_nothing_back() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let subscriber = roster_user_api::subscriber::subscriber(profiles.clone());
    let id = "f0f0f0f0-0000-4000-8000-00000000000a";
    let user_id = UserId::parse(id).unwrap();
    let registered = bus_event(
        &format!("UserRegistered-{id}"),
        UserRegistered {
            user_id: user_id.clone(),
            email: Email::parse("ahead@example.com").unwrap(),
            name: "ahead".to_owned(),
            handle: "@Ahead".to_owned(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: "tests".to_owned(),
            created_at: Timestamp::now(),
            activation_code_hash: "hash-ahead".to_owned(),
        },
    );
    let logged_in = bus_event(
        &format!("UserLoggedIn-{id}"),
        UserLoggedIn {
            user_id: user_id.clone(),
            client_id: "c".to_owned(),
            logged_in_at: Timestamp::now(),
        },
    );
    let message = |event: &EventBridgeEvent<Value>| {
        let mut message = aws_lambda_events::sqs::SqsMessage::default();
        message.message_id = event.id.clone();
        message.body = Some(serde_json::to_string(event).unwrap());
        message
    };
    let mut batch = aws_lambda_events::sqs::SqsEvent::default();
    batch.records = vec![message(&logged_in), message(&registered)];
    let response = QueueBatchHandler::handle(&subscriber, batch).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    let stored = profiles.table.profile(&user_id).await.unwrap().unwrap();
    assert!(
        stored.last_login_at.is_some(),
        "the sign-in was applied after the registration"
    );
}

//! Registration under injected faults, one test per fault point: a fault-injecting proxy sits
//! between the Auth API and the local AWS endpoint. Whatever fails, the system ends with a
//! complete registration or with nothing: no Cognito user without its identity, no
//! reservation left behind, no `UserRegistered` (an identity INSERT on the auth table's
//! stream) lost or written for a rolled-back user.

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use reqwest::StatusCode;
use roster_auth_api::cognito::CognitoDirectory;
use roster_auth_api::registration::reconcile;
use roster_auth_api::store::AuthTable;
use roster_infra::resources::AUTH_TABLE;
use roster_testkit::faults::{Fault, FaultProxy, When};
use roster_testkit::harness::{self, TestResources};
use serde_json::{Value, json};

use crate::support::{auth_items, cognito_emails, refusal_status};

const EMAIL: &str = "fault@example.com";

struct Setup {
    resources: TestResources,
    proxy: FaultProxy,
    url: String,
    key: String,
}

async fn setup() -> Setup {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (url, key) = harness::auth_api_through(&resources, proxy.url()).await;
    Setup {
        resources,
        proxy,
        url,
        key,
    }
}

impl Setup {
    fn client(&self) -> roster_client::AuthApi {
        roster_client::AuthApi::new(&self.url, &self.key).unwrap()
    }

    async fn register(&self) -> Result<roster_client::Registered, roster_client::Error> {
        self.client()
            .register(
                &roster_client::RegisterRequest::new(
                    EMAIL,
                    "fault_user",
                    "Correct-Horse-9-Battery",
                ),
                None,
            )
            .await
    }

    async fn items(&self) -> Vec<Value> {
        auth_items(&self.resources).await
    }

    async fn cognito_users(&self) -> usize {
        cognito_emails(&self.resources).await.len()
    }

    /// Identity INSERTs on the auth table's stream: each one is a `UserRegistered`.
    async fn identity_inserts(&self) -> usize {
        let streams = aws_sdk_dynamodbstreams::Client::new(&self.resources.sdk);
        let arn = &self.resources.provisioned.table(&AUTH_TABLE).stream_arn;
        let description = streams
            .describe_stream()
            .stream_arn(arn)
            .send()
            .await
            .unwrap();
        let mut inserts = 0;
        for shard in description.stream_description().unwrap().shards() {
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(shard.shard_id().unwrap())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator;
            while let Some(current) = iterator {
                let page = streams
                    .get_records()
                    .shard_iterator(current)
                    .send()
                    .await
                    .unwrap();
                if page.records().is_empty() {
                    break;
                }
                inserts += page
                    .records()
                    .iter()
                    .filter(|record| record.event_name().map(|n| n.as_str()) == Some("INSERT"))
                    .filter(|record| {
                        record
                            .dynamodb()
                            .and_then(|change| change.keys())
                            .and_then(|keys| keys.get("pk"))
                            .and_then(|pk| pk.as_s().ok())
                            .is_some_and(|pk| pk.starts_with("USER#"))
                    })
                    .count();
                iterator = page.next_shard_iterator;
            }
        }
        inserts
    }

    async fn assert_nothing_left(&self) {
        let items = self.items().await;
        assert!(items.is_empty(), "left in the auth table: {items:?}");
        assert_eq!(self.cognito_users().await, 0, "an orphan Cognito user");
        assert_eq!(
            self.identity_inserts().await,
            0,
            "UserRegistered for a rolled-back user"
        );
    }

    async fn assert_registered_once(&self) {
        let items = self.items().await;
        assert_eq!(items.iter().filter(|i| i["sk"] == "IDENTITY").count(), 1);
        let reservations: Vec<_> = items.iter().filter(|i| i["sk"] == "RESERVATION").collect();
        assert_eq!(reservations.len(), 3);
        assert!(reservations.iter().all(|r| r["state"] == "COMMITTED"));
        assert!(
            items.iter().all(|i| i["sk"] != "REGISTRATION"),
            "no pending record"
        );
        assert_eq!(self.cognito_users().await, 1);
        assert_eq!(
            self.identity_inserts().await,
            1,
            "exactly one UserRegistered"
        );
    }

    async fn reconcile_now(&self) {
        let table = AuthTable::new(
            aws_sdk_dynamodb::Client::new(&self.resources.sdk),
            self.resources.names.table(&AUTH_TABLE),
        );
        let directory = CognitoDirectory::new(
            aws_sdk_cognitoidentityprovider::Client::new(&self.resources.sdk),
            self.resources.provisioned.user_pool_id.clone(),
        );
        let report = reconcile(&table, &directory, chrono::Duration::zero())
            .await
            .unwrap();
        assert_eq!(report.failed, 0);
    }
}

#[tokio::test]
async fn reserving_fails() {
    let setup = setup().await;
    setup
        .proxy
        .inject(Fault::always("TransactWriteItems", When::Before));
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn creating_the_cognito_user_fails() {
    let setup = setup().await;
    setup
        .proxy
        .inject(Fault::always("AdminCreateUser", When::Before));
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn the_cognito_user_is_created_but_the_answer_is_lost() {
    let setup = setup().await;
    setup
        .proxy
        .inject(Fault::always("AdminCreateUser", When::After));
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert!(setup.proxy.calls("AdminCreateUser") >= 1);
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn the_answer_of_the_cognito_user_s_creation_is_lost_once_and_the_retry_adopts_it() {
    let setup = setup().await;
    // The SDK retries; the retry finds the user the first attempt created, marked with this
    // registration's id, and carries on with it.
    setup.proxy.inject(Fault {
        times: 1,
        ..Fault::always("AdminCreateUser", When::After)
    });
    setup.register().await.unwrap();
    assert_eq!(setup.proxy.calls("AdminCreateUser"), 2);
    assert_eq!(setup.proxy.calls("AdminGetUser"), 1);
    setup.assert_registered_once().await;
}

#[tokio::test]
async fn setting_the_password_fails() {
    let setup = setup().await;
    setup
        .proxy
        .inject(Fault::always("AdminSetUserPassword", When::Before));
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn the_commit_fails() {
    let setup = setup().await;
    // The first TransactWriteItems reserves; the next three (the commit and the SDK's two
    // retries) fail; the rollback's goes through.
    setup.proxy.inject(Fault {
        times: 3,
        ..Fault::after_calls("TransactWriteItems", 1, When::Before)
    });
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn the_commit_lands_but_its_answer_is_lost() {
    let setup = setup().await;
    setup.proxy.inject(Fault {
        times: 1,
        ..Fault::after_calls("TransactWriteItems", 1, When::After)
    });
    setup.register().await.unwrap();
    setup.assert_registered_once().await;
}

#[tokio::test]
async fn the_rollback_cannot_delete_the_cognito_user_and_the_reconciler_finishes_it() {
    let setup = setup().await;
    setup
        .proxy
        .inject(Fault::always("AdminAddUserToGroup", When::Before));
    setup
        .proxy
        .inject(Fault::always("AdminDeleteUser", When::Before));
    assert_eq!(
        refusal_status(setup.register().await),
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    let pending: Vec<_> = setup
        .items()
        .await
        .into_iter()
        .filter(|item| item["sk"] == "REGISTRATION")
        .collect();
    assert_eq!(
        pending.len(),
        1,
        "the unfinished rollback is left for the reconciler"
    );
    assert_eq!(pending[0]["rollingBack"], true);
    assert_eq!(setup.identity_inserts().await, 0);

    setup.proxy.clear();
    setup.reconcile_now().await;
    setup.assert_nothing_left().await;
}

#[tokio::test]
async fn cognito_throttling_or_lockout_is_a_429_with_retry_after() {
    let setup = setup().await;
    for code in ["TooManyRequestsException", "TooManyFailedAttemptsException"] {
        setup.proxy.clear();
        setup.proxy.inject(Fault {
            kind: roster_testkit::faults::Kind::Code(code),
            ..Fault::always("AdminInitiateAuth", When::Before)
        });
        // Raw: Retry-After and the exact content type are checked.
        let response = reqwest::Client::new()
            .post(format!("{}/auth/login", setup.url))
            .header("x-api-key", &setup.key)
            .json(&json!({"email": EMAIL, "password": "Correct-Horse-9-Battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{code}");
        assert!(response.headers().contains_key("retry-after"), "{code}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn a_failing_event_bus_never_fails_a_sign_in() {
    let setup = setup().await;
    crate::support::seed_user(&setup.resources, EMAIL, "Correct-Horse-9-Battery").await;
    setup.proxy.inject(Fault::always("PutEvents", When::Before));
    setup
        .client()
        .login(&roster_client::LoginRequest::new(
            EMAIL,
            "Correct-Horse-9-Battery",
        ))
        .await
        .unwrap();
    let attempts = setup.proxy.calls("PutEvents");
    assert_eq!(
        attempts,
        roster_auth_api::events::RETRIES.max_attempts,
        "bounded retries"
    );
}

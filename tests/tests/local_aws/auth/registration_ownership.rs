//! Registration never takes over a Cognito user it did not create (issue 14, part 1).
//!
//! A user made in the pool out of band (an operator, an import) has no reservation in the
//! auth table, so the reservation of its email succeeds; the pool then says the username
//! exists. Registration may adopt only a user marked with its own registration id
//! (`custom:registrationId`, set at creation): anything else is the 409 of any taken email,
//! and the rollback leaves the user exactly as it was. The Cognito calls each path makes are
//! allowed by its function's role in the template (moto enforces no IAM).

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use reqwest::StatusCode;
use roster_auth_api::cognito::CognitoDirectory;
use roster_auth_api::registration::reconcile;
use roster_auth_api::store::{AuthTable, PendingRegistration};
use roster_infra::resources::AUTH_TABLE;
use roster_testkit::faults::FaultProxy;
use roster_testkit::harness::{self, TestResources};
use serde_json::{Value, json};

use roster_client::{AuthApi, LoginRequest, RegisterRequest};

use crate::support::{Api, auth_client, auth_items, cognito_emails, refused};

const OPERATOR_PASSWORD: &str = "Operator-Secret-42";
const ATTACKER_PASSWORD: &str = "Attacker-Chosen-7";

fn body(email: &str, name: &str) -> Value {
    json!({"email": email, "name": name, "password": ATTACKER_PASSWORD})
}

/// [`body`] as `roster-client` sends it.
fn request(email: &str, name: &str) -> RegisterRequest {
    RegisterRequest::new(email, name, ATTACKER_PASSWORD)
}

/// A user created in the pool without the Auth API, with a permanent password and `groups`.
async fn out_of_band_user(resources: &TestResources, email: &str, groups: &[&str]) -> String {
    crate::support::seed_pool_user(
        &resources.sdk,
        &resources.provisioned.user_pool_id,
        email,
        OPERATOR_PASSWORD,
        groups,
    )
    .await
}

/// What the pool holds about a user: its username, attributes and groups, sorted.
async fn pool_state(
    resources: &TestResources,
    email: &str,
) -> (String, Vec<(String, String)>, Vec<String>) {
    let cognito = Client::new(&resources.sdk);
    let pool = &resources.provisioned.user_pool_id;
    let user = cognito
        .admin_get_user()
        .user_pool_id(pool)
        .username(email)
        .send()
        .await
        .expect("the user still exists");
    let mut attributes: Vec<(String, String)> = user
        .user_attributes()
        .iter()
        .map(|a| {
            (
                a.name().to_owned(),
                a.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    attributes.sort();
    let mut groups: Vec<String> = cognito
        .admin_list_groups_for_user()
        .user_pool_id(pool)
        .username(user.username())
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .filter_map(|group| group.group_name().map(ToOwned::to_owned))
        .collect();
    groups.sort();
    (user.username().to_owned(), attributes, groups)
}

/// Signs in straight against the pool; whether the password is the user's.
async fn password_works(resources: &TestResources, email: &str, password: &str) -> bool {
    let client_id = resources.provisioned.client_ids.values().next().unwrap();
    Client::new(&resources.sdk)
        .admin_initiate_auth()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .client_id(client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .is_ok_and(|output| output.authentication_result().is_some())
}

/// The Cognito actions `function`'s role allows in the template.
fn allowed_cognito_actions(function: &str) -> Vec<String> {
    let template = roster_infra::parity::template();
    let policies = &template["Resources"][function]["Properties"]["Policies"];
    let mut actions = Vec::new();
    for policy in policies.as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let action = &statement["Action"];
            let listed: Vec<&str> = match action.as_str() {
                Some(one) => vec![one],
                None => action
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str())
                    .collect(),
            };
            actions.extend(
                listed
                    .into_iter()
                    .filter_map(|a| a.strip_prefix("cognito-idp:"))
                    .map(ToOwned::to_owned),
            );
        }
    }
    actions
}

/// Every Cognito admin call the proxy saw is allowed to `function`.
fn assert_allowed(proxy: &FaultProxy, function: &str) {
    let allowed = allowed_cognito_actions(function);
    let calls = proxy.take_calls();
    let cognito: Vec<&String> = calls.keys().filter(|op| op.starts_with("Admin")).collect();
    assert!(!cognito.is_empty(), "{calls:?}");
    for operation in cognito {
        assert!(
            allowed.contains(operation),
            "{function} calls {operation}, which its role in the template does not allow ({allowed:?})"
        );
    }
}

/// The problem document a registration of an email that a registered user holds gets, as
/// it is (raw: it is compared whole with another, content type included).
async fn taken_email_problem(api: &Api, client: &AuthApi) -> Value {
    client
        .register(&request("holder@example.com", "email_holder"), None)
        .await
        .unwrap();
    let taken = api
        .register(body("Holder@example.com", "someone_else"), None)
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    taken.json().await.unwrap()
}

#[tokio::test]
async fn registering_the_email_of_an_out_of_band_admin_is_a_409_and_leaves_the_admin_untouched() {
    let resources = harness::provisioned().await;
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (url, key) = harness::auth_api_through(&resources, proxy.url()).await;
    // Raw for the refusal whose document and exact content type are compared.
    let api = Api::new(&url, &key);
    let client = AuthApi::new(&url, &key).unwrap();
    let taken = taken_email_problem(&api, &client).await;
    out_of_band_user(&resources, "ops@example.com", &["ADMIN"]).await;
    let before = pool_state(&resources, "ops@example.com").await;
    let items_before = auth_items(&resources).await;
    proxy.take_calls();

    let attack = api
        .register(body("OPS@example.com", "ops_takeover"), None)
        .await;
    assert_eq!(attack.status(), StatusCode::CONFLICT);
    assert_eq!(attack.headers()["content-type"], "application/problem+json");
    let problem: Value = attack.json().await.unwrap();
    assert_eq!(problem, taken, "the answer of any taken email");
    assert_allowed(&proxy, "AuthApiFunction");

    assert_eq!(
        pool_state(&resources, "ops@example.com").await,
        before,
        "the same user: username, attributes (no marker), groups (ADMIN only)"
    );
    assert_eq!(before.2, ["ADMIN"]);
    assert!(
        password_works(&resources, "ops@example.com", OPERATOR_PASSWORD).await,
        "the operator's password still works"
    );
    assert!(!password_works(&resources, "ops@example.com", ATTACKER_PASSWORD).await);
    assert_eq!(
        cognito_emails(&resources).await,
        ["holder@example.com", "ops@example.com"],
        "nothing deleted, nothing created"
    );
    assert_eq!(
        auth_items(&resources).await,
        items_before,
        "no reservation, no pending registration left behind"
    );

    // The refusal leaves the stack working: a new email registers as usual.
    client
        .register(&request("newcomer@example.com", "newcomer"), None)
        .await
        .unwrap();
    client
        .login(&LoginRequest::new(
            "newcomer@example.com",
            ATTACKER_PASSWORD,
        ))
        .await
        .unwrap();
    assert_eq!(
        pool_state(&resources, "newcomer@example.com").await.2,
        ["USER"]
    );
}

#[tokio::test]
async fn registering_the_email_of_an_imported_user_without_a_reservation_is_a_409_and_leaves_it_untouched()
 {
    let resources = harness::provisioned().await;
    let (api, _) = auth_client(&resources).await;
    out_of_band_user(&resources, "imported@example.com", &[]).await;
    let before = pool_state(&resources, "imported@example.com").await;
    assert!(auth_items(&resources).await.is_empty(), "no reservation");

    let problem = refused(
        api.register(&request("imported@example.com", "imported_user"), None)
            .await,
        StatusCode::CONFLICT,
    );
    assert_eq!(problem.kind, "/problems/conflict");
    assert_eq!(problem.extensions["field"], "email");
    assert_eq!(problem.detail.as_deref(), Some("email is already taken"));

    assert_eq!(pool_state(&resources, "imported@example.com").await, before);
    assert!(before.2.is_empty(), "not added to USER");
    assert!(password_works(&resources, "imported@example.com", OPERATOR_PASSWORD).await);
    assert_eq!(cognito_emails(&resources).await, ["imported@example.com"]);
    assert!(
        auth_items(&resources).await.is_empty(),
        "the rollback removed the reservations"
    );
}

#[tokio::test]
async fn the_reconciler_rolls_back_a_dead_registration_without_deleting_a_user_it_did_not_create() {
    let resources = harness::provisioned().await;
    let table = AuthTable::new(
        aws_sdk_dynamodb::Client::new(&resources.sdk),
        resources.names.table(&AUTH_TABLE),
    );
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let through_proxy = roster_platform::aws::local(proxy.url(), harness::REGION).await;
    let directory = CognitoDirectory::new(
        Client::new(&through_proxy),
        resources.provisioned.user_pool_id.clone(),
    );
    // A registration that reserved the email and died before creating its Cognito user; the
    // email belongs to an operator's user made out of band.
    let pending = PendingRegistration {
        registration_id: "dead-registration".into(),
        email: roster_events::Email::parse("operator@example.com").unwrap(),
        name: "operator".into(),
        handle: "@Operator".into(),
        name_key: "operator".into(),
        handle_key: "@operator".into(),
        source_system: "roster".into(),
        pending_since: roster_events::Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap(),
        idempotency_key: None,
    };
    table.reserve(&pending).await.unwrap();
    out_of_band_user(&resources, "operator@example.com", &["ADMIN"]).await;
    let before = pool_state(&resources, "operator@example.com").await;

    let report = reconcile(&table, &directory, chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(report.rolled_back, 1);
    assert_eq!(report.failed, 0);
    assert_allowed(&proxy, "AuthReconcilerFunction");
    assert!(
        auth_items(&resources).await.is_empty(),
        "reservations released"
    );
    assert_eq!(
        pool_state(&resources, "operator@example.com").await,
        before,
        "the operator's user is untouched"
    );
    assert!(password_works(&resources, "operator@example.com", OPERATOR_PASSWORD).await);
}

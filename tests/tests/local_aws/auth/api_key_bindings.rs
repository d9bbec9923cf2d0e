//! API keys are bound to what they are for (issue 14, parts 4 and 5), on one running stack:
//! - a key bound to app clients and source systems is refused (403, problem+json) with any
//!   other client (named, or the default one when none is named) on every route that takes a
//!   `clientId` or verifies a token, and with any other `sourceSystem` (named, or the default
//!   `roster`) at registration; each refusal is followed by the same call inside the bindings,
//!   which works;
//! - a key stored without bindings (issued before they existed) and the stack's development
//!   key, which says in its caller name that it is unrestricted, may use every client and
//!   source system.

use std::fmt::Debug;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, ConfirmRequest, Error, ForgotRequest, LoginRequest, RefreshRequest, RegisterRequest,
    TokenUse, Tokens, VerifyRequest,
};
use roster_local::stack::LocalFacts;
use roster_platform::api_keys::{self, ApiKeySet};
use roster_testkit::harness;
use serde_json::{Value, json};

const PASSWORD: &str = "Bound-Secret-12";

/// The stack's key set, to read and to change.
struct KeySecret {
    client: aws_sdk_secretsmanager::Client,
    id: String,
}

impl KeySecret {
    async fn of(facts: &LocalFacts) -> Self {
        let sdk = roster_platform::aws::local(&facts.aws_endpoint, &facts.region).await;
        Self {
            client: aws_sdk_secretsmanager::Client::new(&sdk),
            id: facts.api_key_secret.clone(),
        }
    }

    async fn records(&self) -> Vec<Value> {
        let text = roster_platform::aws::secret_string(&self.client, &self.id)
            .await
            .unwrap();
        let set: Value = serde_json::from_str(&text).unwrap();
        set["keys"].as_array().unwrap().clone()
    }

    /// Stores `record` as it is (JSON), beside the others.
    async fn push(&self, record: Value) {
        let mut keys = self.records().await;
        keys.push(record);
        let set = json!({ "keys": keys });
        serde_json::from_value::<ApiKeySet>(set.clone()).expect("a key set");
        self.client
            .put_secret_value()
            .secret_id(&self.id)
            .secret_string(set.to_string())
            .send()
            .await
            .unwrap();
    }

    /// A new `auth` key stored with `bindings` (JSON members added to its record): none for a
    /// record as keys were stored before bindings existed.
    async fn key(&self, caller: &str, bindings: Value) -> String {
        let issued = api_keys::issue(caller, &["auth"], "2026-11-30T00:00:00Z").unwrap();
        let mut record = serde_json::to_value(&issued.record).unwrap();
        for (name, value) in bindings.as_object().unwrap() {
            record[name] = value.clone();
        }
        self.push(record).await;
        issued.plaintext
    }
}

fn refused<T: Debug>(result: Result<T, Error>, status: StatusCode, kind: &str, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error.status(), Some(status), "{what}: {error}");
    assert_eq!(
        error.problem_type(),
        Some(kind),
        "{what}: a problem document"
    );
}

fn client_refused<T: Debug>(result: Result<T, Error>, what: &str) {
    refused(
        result,
        StatusCode::FORBIDDEN,
        "/problems/client-not-allowed",
        what,
    );
}

fn login(email: &str, password: &str, client: Option<&str>) -> LoginRequest {
    LoginRequest {
        client_id: client.map(str::to_owned),
        ..LoginRequest::new(email, password)
    }
}

fn registration(email: &str, name: &str, source_system: Option<&str>) -> RegisterRequest {
    RegisterRequest {
        source_system: source_system.map(str::to_owned),
        ..RegisterRequest::new(email, name, PASSWORD)
    }
}

#[tokio::test]
async fn a_key_bound_to_a_frontend_and_a_source_system_is_refused_outside_them() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let account_web = facts.client_ids["account-web"].clone();
    let partner = facts.client_ids["partner-portal"].clone();
    let developer = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let secret = KeySecret::of(&facts).await;
    let key = secret
        .key(
            "partner-bff",
            json!({"clients": [partner], "sourceSystems": ["partner-bff"]}),
        )
        .await;
    let bound = AuthApi::new(&facts.auth_url, &key).unwrap();
    let email = "bound@example.com";
    developer
        .register(&registration(email, "bound_user", None), None)
        .await
        .unwrap();

    // Sign-in through another frontend's client, named or the default one (account-web).
    client_refused(
        bound
            .login(&login(email, PASSWORD, Some(&account_web)))
            .await,
        "sign-in through another frontend",
    );
    let own: Tokens = bound
        .login(&login(email, PASSWORD, Some(&partner)))
        .await
        .expect("sign-in through its own frontend");
    client_refused(
        bound.login(&login(email, PASSWORD, None)).await,
        "sign-in through the default client",
    );
    bound
        .login(&login(email, PASSWORD, Some(&partner)))
        .await
        .expect("sign-in after the refusal");

    // A refresh through another frontend's client.
    let refresh = |client: &str| RefreshRequest {
        refresh_token: own.refresh_token.clone().unwrap(),
        client_id: Some(client.to_owned()),
    };
    client_refused(
        bound.refresh(&refresh(&account_web)).await,
        "a refresh through another frontend",
    );
    bound
        .refresh(&refresh(&partner))
        .await
        .expect("a refresh through its own frontend");

    // Verifying the tokens another frontend's client was issued, in both forms.
    let other = developer
        .login(&login(email, PASSWORD, Some(&account_web)))
        .await
        .unwrap();
    for (use_, theirs, ours) in [
        (TokenUse::Access, &other.access_token, &own.access_token),
        (TokenUse::Id, &other.id_token, &own.id_token),
    ] {
        client_refused(
            bound.verify(&VerifyRequest::new(theirs, use_)).await,
            "verifying another frontend's token",
        );
        let verified = bound
            .verify(&VerifyRequest::new(ours, use_))
            .await
            .expect("verifying its own frontend's token");
        assert_eq!(verified.client_id, partner);
        client_refused(
            bound.verify_in_path(use_, theirs).await,
            "verifying another frontend's token in the path",
        );
        bound
            .verify_in_path(use_, ours)
            .await
            .expect("verifying its own frontend's token in the path");
    }

    // A password reset through another frontend's client.
    let forgot = |client: &str| ForgotRequest {
        email: email.to_owned(),
        client_id: Some(client.to_owned()),
    };
    client_refused(
        bound.forgot_password(&forgot(&account_web)).await,
        "a reset through another frontend",
    );
    bound
        .forgot_password(&forgot(&partner))
        .await
        .expect("a reset through its own frontend");
    let confirm = |client: &str, new_password: &str| ConfirmRequest {
        email: email.to_owned(),
        code: "123456".to_owned(),
        new_password: new_password.to_owned(),
        client_id: Some(client.to_owned()),
    };
    client_refused(
        bound
            .confirm_password(&confirm(&account_web, "Not-Set-Anywhere-1"))
            .await,
        "a reset confirmation through another frontend",
    );
    refused(
        bound
            .login(&login(email, "Not-Set-Anywhere-1", Some(&partner)))
            .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-credentials",
        "the refused confirmation set no password",
    );
    bound
        .confirm_password(&confirm(&partner, "Reset-Secret-34"))
        .await
        .expect("a reset confirmation through its own frontend");
    bound
        .login(&login(email, "Reset-Secret-34", Some(&partner)))
        .await
        .expect("sign-in with the new password");

    // Registration from another source system, named or the default one (`roster`); the
    // refusals reserve nothing, so the email is still free for the allowed registration.
    let fresh = "bound-new@example.com";
    for (source, what) in [
        (Some("web-shop"), "another source system"),
        (None, "the default source system"),
    ] {
        refused(
            bound
                .register(&registration(fresh, "bound_new", source), None)
                .await,
            StatusCode::FORBIDDEN,
            "/problems/source-system-not-allowed",
            what,
        );
    }
    let registered = bound
        .register(&registration(fresh, "bound_new", Some("partner-bff")), None)
        .await
        .expect("a registration from its own source system");
    assert_eq!(registered.source_system, "partner-bff");

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn keys_stored_without_bindings_and_the_development_key_may_use_every_client_and_source() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let secret = KeySecret::of(&facts).await;

    // The development key says what it is, and is stored without bindings.
    let hash = api_keys::hash(&facts.api_key);
    let records = secret.records().await;
    let developer_record = records
        .iter()
        .find(|record| record["sha256"] == hash.as_str())
        .expect("the development key's record");
    assert_eq!(developer_record["caller"], "local-developer-unrestricted");
    assert!(developer_record.get("clients").is_none());
    assert!(developer_record.get("sourceSystems").is_none());

    let legacy = secret.key("legacy-bff", json!({})).await;
    for (i, key) in [facts.api_key.as_str(), legacy.as_str()]
        .into_iter()
        .enumerate()
    {
        let api = AuthApi::new(&facts.auth_url, key).unwrap();
        let email = format!("free{i}@example.com");
        api.register(
            &registration(&email, &format!("free_{i}"), Some("any-system")),
            None,
        )
        .await
        .expect("a registration from any source system");
        for client in facts.client_ids.values() {
            let tokens = api
                .login(&login(&email, PASSWORD, Some(client)))
                .await
                .expect("sign-in through every frontend");
            api.verify(&VerifyRequest::new(&tokens.access_token, TokenUse::Access))
                .await
                .expect("verifying every frontend's token");
        }
    }

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

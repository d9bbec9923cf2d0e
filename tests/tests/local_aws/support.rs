//! Small helpers shared by the tests.

use reqwest::{Client, Response};
use roster_client::{AuthApi, Error as ClientError, Problem};
use roster_events::auth::UserRegistered;
use roster_events::{Email, Role, Timestamp, UserId, UserStatus};
use roster_testkit::harness::TestResources;
pub(crate) use roster_testkit::probes::{
    activation_code, auth_items, cognito_emails, eventually, mail_to, next_message, receive_bodies,
    seed_pool_user, seed_user, tap, wait_for_mail,
};
use roster_user_api::profiles::Profiles;
use serde_json::Value;

/// The raw client of either API, for the calls `roster-client` cannot make (malformed, forged
/// or out-of-contract requests) and for reading answers as they are: a base URL and an API
/// key. Well-formed calls go through `roster-client`.
#[derive(Clone)]
pub(crate) struct Api {
    pub url: String,
    pub key: String,
    pub http: Client,
}

impl From<(String, String)> for Api {
    /// An app as the harness serves it: its URL and an API key with every scope.
    fn from((url, key): (String, String)) -> Self {
        Self {
            url,
            key,
            http: Client::new(),
        }
    }
}

impl Api {
    pub(crate) fn new(url: &str, key: &str) -> Self {
        Self {
            url: url.to_owned(),
            key: key.to_owned(),
            http: Client::new(),
        }
    }

    /// `POST` with the API key and a JSON body, plus extra headers.
    pub(crate) async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", &self.key)
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Response {
        self.post_with(path, &body, &[]).await
    }

    pub(crate) async fn register(&self, body: Value, idempotency_key: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = idempotency_key
            .map(|key| vec![("idempotency-key", key)])
            .unwrap_or_default();
        self.post_with("/auth/register", &body, &headers).await
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", &self.key)
    }

    pub(crate) async fn send(&self, method: reqwest::Method, path: &str) -> Response {
        self.request(method, path).send().await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        self.call(method, path, Some(body)).await
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    /// A call with a Bearer token (and no API key).
    pub(crate) async fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        self.bearer_on(&self.url, method, path, token, body).await
    }

    /// Like [`Api::bearer`], on another base URL.
    pub(crate) async fn bearer_on(
        &self,
        url: &str,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{url}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }
}
/// Registers `<who>@example.com` (name `<who>_user`, password `<who>-Secret-1`) through `auth`
/// and signs it in: its tokens.
pub(crate) async fn registered_and_signed_in(auth: &AuthApi, who: &str) -> roster_client::Tokens {
    let (email, password) = (format!("{who}@example.com"), format!("{who}-Secret-1"));
    auth.register(
        &roster_client::RegisterRequest::new(&email, format!("{who}_user"), &password),
        None,
    )
    .await
    .unwrap();
    auth.login(&roster_client::LoginRequest::new(&email, &password))
        .await
        .unwrap()
}

/// The Auth API of `resources` as `roster-client` calls it, with an API key of every scope,
/// and that key (for tests that look for it where it must not be).
pub(crate) async fn auth_client(resources: &TestResources) -> (AuthApi, String) {
    let (url, key) = roster_testkit::harness::auth_api(resources).await;
    (AuthApi::new(&url, &key).unwrap(), key)
}

/// The refusal `result` must be: a problem document (`application/problem+json`, as
/// `roster-client` reads only those into [`ClientError::Api`]) with `status`, returned whole.
#[track_caller]
pub(crate) fn refused<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
    status: reqwest::StatusCode,
) -> Problem {
    match result {
        Err(ClientError::Api {
            status: got,
            problem,
        }) => {
            assert_eq!(got, status, "{problem:?}");
            assert_eq!(problem.status, status.as_u16(), "{problem:?}");
            *problem
        }
        other => panic!("expected a {status} problem, got {other:?}"),
    }
}

/// The status of a refused call (`None` for a success or no answer), for tests that look at
/// the status only.
pub(crate) fn refusal_status<T>(result: Result<T, ClientError>) -> Option<reqwest::StatusCode> {
    result.err().and_then(|error| error.status())
}

/// The status and JSON body of a response (`null` for an empty body).
pub(crate) async fn answer(response: Response) -> (reqwest::StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// Every file of the repository whose name is `name` (`lifecycle.rs`), for documents that point
/// at tests.
pub(crate) fn files_named(name: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, name: &str, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let file = entry.file_name();
            if path.is_dir() {
                if file != "target" && file != ".roster" && file != ".git" {
                    walk(&path, name, found);
                }
            } else if file == name {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
        name,
        &mut found,
    );
    found
}

/// Creates a profile the way the subscriber does, from a `UserRegistered`.
pub(crate) async fn seed_profile(profiles: &Profiles, id: &str, name: &str, code_hash: &str) {
    let registered = UserRegistered {
        user_id: UserId::parse(id).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        name: name.to_owned(),
        handle: format!("@{}", name.replace('_', "")),
        role: Role::User,
        status: UserStatus::Unconfirmed,
        source_system: "tests".to_owned(),
        // Recent: a registration older than a tombstone lives creates no profile.
        created_at: Timestamp::now(),
        activation_code_hash: code_hash.to_owned(),
    };
    let created = profiles
        .create_from_registration(&format!("UserRegistered-{id}"), &registered, None)
        .await
        .unwrap();
    assert!(created);
}

pub(crate) fn profiles_of(resources: &TestResources) -> Profiles {
    roster_local::stack::user_config(&resources.provisioned, "http://assets.invalid")
        .profiles(&resources.sdk)
}

/// The activation code of `generation` of `user_id`'s registration, derived from the server
/// key as the activation mailer derives it: for tests that run no plumbing (so no mailer) and
/// still need the code the user would have received.
pub(crate) async fn derived_activation_code(
    resources: &TestResources,
    user_id: &str,
    generation: u32,
) -> String {
    let items = auth_items(resources).await;
    let identity = items
        .iter()
        .find(|item| item["pk"] == format!("USER#{user_id}"))
        .unwrap_or_else(|| panic!("no identity of {user_id}"));
    roster_auth_api::activation::ActivationCodes::new(std::sync::Arc::new(
        roster_platform::secret_key::SecretKey::new(
            aws_sdk_secretsmanager::Client::new(&resources.sdk),
            resources.provisioned.server_key_secret.clone(),
        ),
    ))
    .code(identity["registrationId"].as_str().unwrap(), generation)
    .await
    .unwrap()
}

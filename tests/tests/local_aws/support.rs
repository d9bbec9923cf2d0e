//! Small helpers shared by the tests.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use reqwest::{Client, Response};
use roster_infra::resources::AUTH_TABLE;
use roster_testkit::harness::TestResources;
use serde_json::Value;

/// An S2S caller of the Auth API: its base URL and an API key with every scope.
pub struct AuthClient {
    pub url: String,
    pub key: String,
    pub http: Client,
}

impl AuthClient {
    pub fn new((url, key): (String, String)) -> Self {
        Self {
            url,
            key,
            http: Client::new(),
        }
    }

    /// `POST` with the API key and a JSON body, plus extra headers.
    pub async fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
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

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.post_with(path, &body, &[]).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        let body = serde_json::json!({"email": email, "password": password});
        self.post("/auth/login", body).await
    }

    pub async fn register(&self, body: Value, idempotency_key: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = idempotency_key
            .map(|key| vec![("idempotency-key", key)])
            .unwrap_or_default();
        self.post_with("/auth/register", &body, &headers).await
    }

    /// `POST` with a Bearer token instead of the API key.
    pub async fn bearer_post(&self, path: &str, token: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// Creates a confirmed user with a permanent password directly in the pool.
pub async fn seed_user(resources: &TestResources, email: &str, password: &str) {
    seed_pool_user(
        &resources.sdk,
        &resources.provisioned.user_pool_id,
        email,
        password,
        &[],
    )
    .await;
}

/// A user made in `pool` without the Auth API (as an operator would): confirmed, with a
/// permanent password and `groups`. Returns its username.
pub async fn seed_pool_user(
    sdk: &aws_config::SdkConfig,
    pool: &str,
    email: &str,
    password: &str,
    groups: &[&str],
) -> String {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let created = cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(email)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .unwrap(),
        )
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let username = created.user().unwrap().username().unwrap().to_owned();
    cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(&username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    for group in groups {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(&username)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    username
}

/// Every item of the Auth API's table, as JSON.
pub async fn auth_items(resources: &TestResources) -> Vec<Value> {
    let output = aws_sdk_dynamodb::Client::new(&resources.sdk)
        .scan()
        .table_name(resources.names.table(&AUTH_TABLE))
        .send()
        .await
        .unwrap();
    output
        .items()
        .iter()
        .map(|item| serde_dynamo::from_item(item.clone()).unwrap())
        .collect()
}

/// The emails of every user in the pool, sorted.
pub async fn cognito_emails(resources: &TestResources) -> Vec<String> {
    let users = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk)
        .list_users()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .send()
        .await
        .unwrap();
    let mut emails: Vec<String> = users
        .users()
        .iter()
        .filter_map(|user| {
            user.attributes()
                .iter()
                .find(|attribute| attribute.name() == "email")
                .and_then(|attribute| attribute.value().map(ToOwned::to_owned))
        })
        .collect();
    emails.sort();
    emails
}

/// A queue that receives the bus's events matching `pattern`, as a downstream subscriber
/// would; returns its URL.
pub async fn tap(sdk: &aws_config::SdkConfig, bus: &str, name: &str, pattern: Value) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_attributes(&sqs, &url).await[&QueueAttributeName::QueueArn].clone();
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("tap")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// Waits for one message on `queue` and returns its body as JSON.
pub async fn next_message(sdk: &aws_config::SdkConfig, queue: &str) -> Value {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    eventually("a message on the tap", Duration::from_secs(20), || async {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .first()
            .and_then(|message| message.body())
            .map(|body| serde_json::from_str(body).unwrap())
    })
    .await
}

/// The bodies of the messages on `queue`: received until `expected` have come or `timeout`
/// passed, plus whatever one more receive finds (so a surplus shows too).
pub async fn receive_bodies(
    sdk: &aws_config::SdkConfig,
    queue: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let receive = || async {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .iter()
            .filter_map(|message| message.body().map(ToOwned::to_owned))
            .collect::<Vec<_>>()
    };
    let mut bodies = Vec::new();
    let deadline = Instant::now() + timeout;
    while bodies.len() < expected && Instant::now() < deadline {
        bodies.extend(receive().await);
    }
    bodies.extend(receive().await);
    bodies
}

/// Every attribute of a queue.
pub async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String> {
    sqs.get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
}

/// A server-to-server caller of either API: base URL and API key. Answers come back as the
/// status and the body as JSON (`null` when empty).
#[derive(Clone)]
pub struct Api {
    pub url: String,
    pub key: String,
    pub http: Client,
}

impl Api {
    pub fn new(url: &str, key: &str) -> Self {
        Self {
            url: url.to_owned(),
            key: key.to_owned(),
            http: Client::new(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", &self.key)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str) -> Response {
        self.request(method, path).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        self.call(method, path, Some(body)).await
    }

    pub async fn call(
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

    pub async fn merge_patch(&self, path: &str, patch: Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .request(reqwest::Method::PATCH, path)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    /// A call with a Bearer token (and no API key).
    pub async fn bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        self.bearer_on(&self.url, method, path, token, body).await
    }

    /// Like [`Api::bearer`], on another base URL.
    pub async fn bearer_on(
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

/// The status and JSON body of a response (`null` for an empty body).
pub async fn answer(response: Response) -> (reqwest::StatusCode, Value) {
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

/// Every file of the repository whose name is `name` (`users.rs`), for documents that point
/// at tests.
pub fn files_named(name: &str) -> Vec<std::path::PathBuf> {
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

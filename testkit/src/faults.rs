//! A fault-injecting proxy for tests: stands between the services and the local AWS endpoint
//! and, by operation (`X-Amz-Target`, e.g. `AdminCreateUser`, `TransactWriteItems`), fails
//! chosen calls — before they reach AWS (nothing happened) or after (it happened, but the
//! caller never hears so). Everything else is forwarded untouched.
//!
//! It also attributes every call to its caller: the access key id the call is signed with
//! (SigV4's `Credential=<access key id>/…`, in the `Authorization` header or a presigned URL's
//! `X-Amz-Credential`). The local stack gives each function an access key id of its own
//! (`roster_local::stack::function_sdk`), so [`FaultProxy::take_attributed`] tells which
//! function made which call, and which items a transaction wrote.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// When a fault strikes relative to the real call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The call never reaches AWS.
    Before,
    /// The call is applied by AWS, then its response is replaced by the fault.
    After,
}

/// What the caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 500 `InternalServerError` (retryable).
    Error,
    /// A 400 `ThrottlingException` (retryable).
    Throttle,
    /// A 400 with this error code (`TooManyRequestsException`, `NotAuthorizedException`…).
    Code(&'static str),
    /// The answer comes this much later (the call itself is unchanged).
    Delay(Duration),
    /// A PutEvents partial failure: the first entry is taken out of the call and reported as
    /// failed (`FailedEntryCount` 1, an `ErrorCode`); the others are delivered. Needs
    /// [`When::Before`].
    FailFirstEntry,
    /// The connection is closed without an answer, as a network failure or a crashed
    /// endpoint would: before the call is forwarded, or after it was applied.
    Hangup,
    /// For `GetRecords`: an empty page whose `NextShardIterator` leads only to more empty
    /// pages, forever, whatever the stream holds: a reader that trusts its iterator chain
    /// never sees another record (what moto did after a cancelled transaction). Only a fresh
    /// `GetShardIterator` escapes it. Needs [`When::Before`].
    DeadIteratorChain,
}

/// The iterator of a [`Kind::DeadIteratorChain`].
const DEAD_ITERATOR: &str = "roster-fault-proxy-dead-iterator-chain";

/// A rule: skip the first `skip` calls of `operation`, then fault the next `times` calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub operation: &'static str,
    pub skip: u32,
    pub times: u32,
    pub when: When,
    pub kind: Kind,
}

/// The operation of a rule that applies to every call.
pub const EVERY_OPERATION: &str = "*";

impl Fault {
    /// Delays the answer to every call, of any operation, by `latency` until cleared: an AWS
    /// region's round trip added to a local endpoint's.
    pub fn latency(latency: Duration) -> Self {
        Self {
            operation: EVERY_OPERATION,
            skip: 0,
            times: u32::MAX,
            when: When::Before,
            kind: Kind::Delay(latency),
        }
    }

    /// Fails every call of `operation` (the SDK's retries included) until cleared.
    pub fn always(operation: &'static str, when: When) -> Self {
        Self {
            operation,
            skip: 0,
            times: u32::MAX,
            when,
            kind: Kind::Error,
        }
    }

    /// Fails the calls of `operation` after the first `skip`, retries included.
    pub fn after_calls(operation: &'static str, skip: u32, when: When) -> Self {
        Self {
            skip,
            ..Self::always(operation, when)
        }
    }
}

/// One call as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The access key id the call is signed with; empty for an unsigned call.
    pub caller: String,
    /// The operation, as [`FaultProxy::calls`] names it.
    pub operation: String,
    /// For `TransactWriteItems` and `TransactGetItems`: the kind of each item, in order
    /// (`Put`, `Update`, `Delete`, `ConditionCheck`, `Get`), each governed by its own IAM
    /// action. Empty for every other operation.
    pub items: Vec<String>,
}

impl Call {
    /// The operation, then one `<operation>.<kind>` per item kind of a transaction (each
    /// kind once): `TransactWriteItems`, `TransactWriteItems.Put`, `TransactWriteItems.Delete`.
    pub fn operations(&self) -> Vec<String> {
        let mut operations = vec![self.operation.clone()];
        for kind in &self.items {
            let named = format!("{}.{kind}", self.operation);
            if !operations.contains(&named) {
                operations.push(named);
            }
        }
        operations
    }
}

#[derive(Default)]
struct Rules {
    faults: Vec<Fault>,
    /// Calls seen, by operation.
    seen: Vec<(String, u32)>,
    /// Every call's operation, in the order the calls came.
    journal: Vec<String>,
    /// Every call with its caller, in the order the calls came.
    attributed: Vec<Call>,
}

/// A running proxy. Dropping it does not stop it; it lives as long as the test's runtime.
#[derive(Clone)]
pub struct FaultProxy {
    url: String,
    rules: Arc<Mutex<Rules>>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rules: Arc<Mutex<Rules>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` on a free loopback port.
    pub async fn start(upstream: &str) -> Self {
        let rules = Arc::new(Mutex::new(Rules::default()));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            rules: Arc::clone(&rules),
        });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let app = Router::new().fallback(forward).with_state(shared);
        tokio::spawn(serve(listener, app));
        Self { url, rules }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        self.rules.lock().expect("rules").faults.push(fault);
    }

    /// Removes every rule (counts are kept).
    pub fn clear(&self) {
        self.rules.lock().expect("rules").faults.clear();
    }

    /// Every call that went through the proxy since the last time, by operation; and forgets
    /// them (the fault rules' counts start again too).
    pub fn take_calls(&self) -> std::collections::BTreeMap<String, u32> {
        let mut rules = self.rules.lock().expect("rules");
        std::mem::take(&mut rules.seen).into_iter().collect()
    }

    /// Every call's operation since the last time, in order; and forgets them.
    pub fn take_journal(&self) -> Vec<String> {
        std::mem::take(&mut self.rules.lock().expect("rules").journal)
    }

    /// Every call since the last time, in order, with the access key id it was signed with and
    /// a transaction's items; and forgets them.
    pub fn take_attributed(&self) -> Vec<Call> {
        std::mem::take(&mut self.rules.lock().expect("rules").attributed)
    }

    /// How many calls of `operation` went through the proxy.
    pub fn calls(&self, operation: &str) -> u32 {
        let rules = self.rules.lock().expect("rules");
        rules
            .seen
            .iter()
            .find(|(seen, _)| seen == operation)
            .map_or(0, |(_, count)| *count)
    }
}

/// Lets a request close its own connection without an answer ([`Kind::Hangup`]).
#[derive(Clone)]
struct Hangup(Arc<Notify>);

/// Serves `app` one connection at a time per task, each able to hang up on its caller.
async fn serve(listener: TcpListener, app: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let hangup = Arc::new(Notify::new());
            let for_requests = Arc::clone(&hangup);
            let service = hyper::service::service_fn(move |mut request: Request<_>| {
                request
                    .extensions_mut()
                    .insert(Hangup(Arc::clone(&for_requests)));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            // Dropping the connection closes the socket, whatever it was doing.
            tokio::select! {
                _ = connection => {}
                () = hangup.notified() => {}
            }
        });
    }
}

/// The operation a request calls: the part of `X-Amz-Target` after the dot (JSON protocols),
/// the `Action` of a query-protocol form body, or, for S3's REST calls, the ones Roster makes.
fn operation(parts: &axum::http::request::Parts, body: &[u8]) -> String {
    let headers = &parts.headers;
    if let Some(target) = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    if let Some(operation) = sesv2_operation(parts) {
        return operation.to_owned();
    }
    std::str::from_utf8(body)
        .ok()
        .and_then(|form| {
            form.split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
                .map(ToOwned::to_owned)
        })
        .unwrap_or_else(|| s3_operation(parts))
}

/// The SES v2 (REST) operations Roster makes, by method and path.
fn sesv2_operation(parts: &axum::http::request::Parts) -> Option<&'static str> {
    let path = parts.uri.path();
    match (parts.method.as_str(), path) {
        ("POST", "/v2/email/outbound-emails") => Some("SendEmail"),
        ("POST", "/v2/email/identities") => Some("CreateEmailIdentity"),
        ("GET", "/v2/email/identities") => Some("ListEmailIdentities"),
        _ => None,
    }
}

/// The access key id a request is signed with: SigV4's `Credential=<id>/<date>/…` in the
/// `Authorization` header, or a presigned URL's `X-Amz-Credential=<id>%2F…`; empty if neither.
fn caller(parts: &axum::http::request::Parts) -> String {
    let from_header = parts
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|authorization| authorization.split_once("Credential="))
        .map(|(_, credential)| credential);
    let from_query = || {
        parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("X-Amz-Credential="))
        })
    };
    from_header
        .or_else(from_query)
        .and_then(|credential| credential.split(['/', '%']).next())
        .unwrap_or_default()
        .to_owned()
}

/// The kind of each item of a `TransactWriteItems` or `TransactGetItems` body, in order.
fn transaction_items(operation: &str, body: &[u8]) -> Vec<String> {
    if !matches!(operation, "TransactWriteItems" | "TransactGetItems") {
        return Vec::new();
    }
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    request["TransactItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_object()?.keys().next().cloned())
        .collect()
}

fn s3_operation(parts: &axum::http::request::Parts) -> String {
    let query = parts.uri.query().unwrap_or_default();
    let has = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    };
    match parts.method.as_str() {
        "GET" if has("list-type") => "ListObjectsV2",
        "GET" if has("versions") => "ListObjectVersions",
        "POST" if has("delete") => "DeleteObjects",
        // A GET of a given version needs s3:GetObjectVersion, not s3:GetObject.
        "GET" if has("versionId") => "GetObjectVersion",
        "GET" => "GetObject",
        "PUT" => "PutObject",
        "DELETE" => "DeleteObject",
        "HEAD" => "HeadObject",
        _ => "",
    }
    .to_owned()
}

/// Counts the call and picks the fault that applies to it, if any.
fn fault_for(rules: &Mutex<Rules>, call: Call) -> Option<Fault> {
    let mut rules = rules.lock().expect("rules");
    let operation = call.operation.clone();
    let operation = operation.as_str();
    rules.journal.push(operation.to_owned());
    rules.attributed.push(call);
    let number = match rules.seen.iter_mut().find(|(seen, _)| seen == operation) {
        Some((_, count)) => {
            *count += 1;
            *count
        }
        None => {
            rules.seen.push((operation.to_owned(), 1));
            1
        }
    };
    rules
        .faults
        .iter()
        .find(|fault| {
            (fault.operation == operation || fault.operation == EVERY_OPERATION)
                && number > fault.skip
                && u64::from(number) <= u64::from(fault.skip) + u64::from(fault.times)
        })
        .cloned()
}

fn fault_response(kind: Kind) -> Response {
    let (status, code) = match kind {
        Kind::Throttle => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        Kind::Code(code) => (StatusCode::BAD_REQUEST, code),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
    };
    let mut response = (
        status,
        format!("{{\"__type\":\"{code}\",\"message\":\"injected by the fault proxy\"}}"),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// Forwards a PutEvents without its first entry, and answers as if that entry had failed.
async fn fail_first_entry(
    shared: &Shared,
    parts: axum::http::request::Parts,
    body: &[u8],
) -> Response {
    let Ok(mut request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(entries) = request["Entries"]
        .as_array_mut()
        .filter(|entries| !entries.is_empty())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    entries.remove(0);
    let delivered = if entries.is_empty() {
        serde_json::json!({"FailedEntryCount": 0, "Entries": []})
    } else {
        let response = send_upstream(shared, &parts, request.to_string().into_bytes()).await;
        match response {
            Some((status, _, bytes)) if status.is_success() => {
                serde_json::from_slice(&bytes).unwrap_or_default()
            }
            _ => return StatusCode::BAD_GATEWAY.into_response(),
        }
    };
    let mut results = vec![serde_json::json!({
        "ErrorCode": "InternalFailure",
        "ErrorMessage": "injected by the fault proxy"
    })];
    results.extend(delivered["Entries"].as_array().cloned().unwrap_or_default());
    let failed = delivered["FailedEntryCount"].as_u64().unwrap_or(0) + 1;
    let mut response = (
        StatusCode::OK,
        serde_json::json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// Sends the request on to the real endpoint; its status and body, or `None` if unreachable.
async fn send_upstream(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: Vec<u8>,
) -> Option<(StatusCode, HeaderMap, bytes::Bytes)> {
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut upstream = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answered = upstream.send().await.ok()?;
    let (status, headers) = (answered.status(), answered.headers().clone());
    Some((status, headers, answered.bytes().await.ok()?))
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let operation = operation(&parts, &body);
    let call = Call {
        caller: caller(&parts),
        operation: operation.clone(),
        items: transaction_items(&operation, &body),
    };
    let fault = fault_for(&shared.rules, call);
    let on_dead_chain = operation == "GetRecords"
        && serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|request| request["ShardIterator"] == DEAD_ITERATOR);
    if on_dead_chain
        || fault
            .as_ref()
            .is_some_and(|f| f.kind == Kind::DeadIteratorChain)
    {
        let mut response = (
            StatusCode::OK,
            serde_json::json!({"Records": [], "NextShardIterator": DEAD_ITERATOR}).to_string(),
        )
            .into_response();
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        return response;
    }
    if let Some(Fault {
        kind: Kind::FailFirstEntry,
        ..
    }) = &fault
    {
        return fail_first_entry(&shared, parts, &body).await;
    }
    let hang_up = || async {
        if let Some(Hangup(hangup)) = parts.extensions.get::<Hangup>() {
            hangup.notify_one();
        }
        std::future::pending::<Response>().await
    };
    if let Some(fault) = &fault {
        match (fault.when, fault.kind) {
            (When::Before, Kind::Hangup) => return hang_up().await,
            (When::Before, Kind::Delay(delay)) => tokio::time::sleep(delay).await,
            (When::Before, kind) => return fault_response(kind),
            _ => {}
        }
    }
    let Some((status, headers, bytes)) = send_upstream(&shared, &parts, body.to_vec()).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if let Some(fault) = fault {
        match fault.kind {
            Kind::Delay(delay) if fault.when == When::After => tokio::time::sleep(delay).await,
            Kind::Delay(_) => {}
            Kind::Hangup => return hang_up().await,
            kind => return fault_response(kind),
        }
    }
    let mut response = (status, bytes).into_response();
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

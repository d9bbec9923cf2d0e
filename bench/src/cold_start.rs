//! Cold starts: each Lambda binary is started under a minimal Lambda runtime API on loopback
//! and timed from `exec` to the moment its answer to the first invocation arrives, `runs`
//! times; the median is reported. The first invocation is the cheapest real one for each
//! function (`GET /health` through API Gateway for the APIs, an empty batch for queue and
//! stream consumers, a scheduled tick for the reconciler), and its answer must be a success (an
//! API's 200). `AWS_ENDPOINT_URL` and `JWKS_URL` point at a stand-in ([`AwsStandIn`]) that
//! counts the calls: the APIs load their JWKS, API keys and key (the Auth API also its
//! revocation set) during init, which the count shows. After the first invocation each process gets
//! `extra` more of the same, and its peak resident memory (`VmHWM`) is read before it is
//! stopped. The Node.js reference (`bench/node/bootstrap.mjs` with `handler.mjs`, importing
//! the AWS SDK v3 clients and aws-jwt-verify) runs under the same stub.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roster_testkit::forged;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// What one start measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    pub to_first_answer: Duration,
    pub peak_rss_kib: u64,
    pub aws_calls_before_first_answer: u32,
}

/// The runtime API's state: the event every `next` hands out, and what came back.
struct Runtime {
    event: Mutex<Value>,
    served: AtomicU32,
    answered: AtomicU32,
    /// Failures reported to the runtime API, and answers that were not a success.
    errors: Mutex<Vec<String>>,
    answer: Notify,
    /// The function the invocations go to, to tell a success from a failure.
    function: String,
}

/// The AWS stand-in every started function talks to (`AWS_ENDPOINT_URL` and `JWKS_URL`): the
/// fixture pool's JWKS, the API-key set for the API-key secret and a key for any other secret,
/// and an empty result for everything else (a Query, a PutEvents). It counts the calls.
pub(crate) struct AwsStandIn {
    calls: AtomicU32,
    /// The API-key set (`{"keys": [...]}`) Secrets Manager holds under `API_KEY_SECRET`.
    key_set: String,
}

impl AwsStandIn {
    pub(crate) fn new(key_set: String) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicU32::new(0),
            key_set,
        })
    }

    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .fallback(answer_aws)
            .with_state(Arc::clone(self))
    }
}

async fn answer_aws(State(stand_in): State<Arc<AwsStandIn>>, request: Request) -> Response {
    stand_in.calls.fetch_add(1, Ordering::SeqCst);
    let secret = request
        .headers()
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
        .is_some_and(|target| target.starts_with("secretsmanager."));
    let (body, content_type) = if request.method() == Method::GET
        && request.uri().path().ends_with("/jwks.json")
    {
        (
            String::from_utf8_lossy(forged::POOL_JWKS_JSON).into_owned(),
            "application/json",
        )
    } else if secret {
        let asked = axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let asked: Value = serde_json::from_slice(&asked).unwrap_or_default();
        let name = asked["SecretId"].as_str().unwrap_or_default().to_owned();
        let secret = if name == API_KEY_SECRET {
            stand_in.key_set.clone()
        } else {
            json!({ "serverKey": "ab".repeat(32) }).to_string()
        };
        (
            json!({
                "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"),
                "Name": name, "VersionId": "bench", "SecretString": secret,
            })
            .to_string(),
            "application/x-amz-json-1.1",
        )
    } else {
        (
            json!({"Items": [], "Count": 0, "ScannedCount": 0, "Entries": [], "FailedEntryCount": 0})
                .to_string(),
            "application/x-amz-json-1.0",
        )
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

/// The secret `environment` names as the API-key set.
const API_KEY_SECRET: &str = "bench/api-keys";

/// Whether `body`, a function's answer to an invocation of `function`, is a success: an API's
/// 200, a batch consumer's answer without failed items, a scheduled function's any answer.
pub(crate) fn check_success(function: &str, body: &str) -> Result<()> {
    let answer: Value = serde_json::from_str(body).context("a JSON answer")?;
    match function {
        "auth-api" | "user-api" | "node" => {
            if answer["statusCode"] != json!(200) {
                bail!("the API answered {body}");
            }
        }
        "auth-reconciler" | "avatar-sweeper" => {}
        _ => {
            let failures = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
            if failures > 0 {
                bail!("the batch failed: {body}");
            }
        }
    }
    Ok(())
}

async fn next(State(runtime): State<Arc<Runtime>>) -> Response {
    let n = runtime.served.fetch_add(1, Ordering::SeqCst);
    let event = runtime.event.lock().expect("event").to_string();
    let mut response = event.into_response();
    let headers = response.headers_mut();
    let id = format!("request-{n}");
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).expect("id"),
    );
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 30_000;
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).expect("deadline"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    response
}

async fn answered(State(runtime): State<Arc<Runtime>>, body: String) -> StatusCode {
    if let Err(error) = check_success(&runtime.function, &body) {
        runtime
            .errors
            .lock()
            .expect("errors")
            .push(format!("{error:#}"));
    }
    runtime.answered.fetch_add(1, Ordering::SeqCst);
    runtime.answer.notify_one();
    StatusCode::ACCEPTED
}

async fn failed(State(runtime): State<Arc<Runtime>>, body: String) -> StatusCode {
    runtime.errors.lock().expect("errors").push(body);
    runtime.answered.fetch_add(1, Ordering::SeqCst);
    runtime.answer.notify_one();
    StatusCode::ACCEPTED
}

async fn serve(router: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}

/// The first invocation each function gets.
pub(crate) fn first_event(function: &str) -> Value {
    match function {
        "auth-api" | "user-api" | "node" => json!({
            "resource": "/{proxy+}", "path": "/health", "httpMethod": "GET",
            "headers": {"host": "api.example.com"}, "multiValueHeaders": {"host": ["api.example.com"]},
            "queryStringParameters": null, "multiValueQueryStringParameters": null,
            "pathParameters": {"proxy": "health"}, "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012", "resourceId": "r", "stage": "prod",
                "requestId": "bench", "resourcePath": "/{proxy+}", "httpMethod": "GET",
                "apiId": "api", "path": "/prod/health", "identity": {"sourceIp": "127.0.0.1"}
            },
            "body": null, "isBase64Encoded": false
        }),
        "auth-reconciler" | "avatar-sweeper" => json!({
            "version": "0", "id": "tick", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-25T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail": {}
        }),
        _ => json!({"Records": []}),
    }
}

/// The configuration every function reads (each takes what it needs).
pub(crate) fn environment(command: &mut Command, runtime_api: SocketAddr, aws: SocketAddr) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_SESSION_TOKEN", "bench")
        .env("AWS_ENDPOINT_URL", format!("http://{aws}"))
        .env("AUTH_TABLE", "bench-auth")
        .env("USERS_TABLE", "bench-users")
        .env("API_KEY_SECRET", API_KEY_SECRET)
        .env("SERVER_KEY_SECRET", "bench/server-key")
        .env("MAIL_FROM", "Roster <no-reply@mail.example.com>")
        .env("USER_KEY_SECRET", "bench/user-key")
        .env("EVENT_BUS_NAME", "bench-bus")
        .env("ASSETS_BUCKET", "bench-assets")
        .env("ASSETS_BASE_URL", "https://assets.example.com")
        .env("CORS_ALLOWED_ORIGINS", "https://app.example.com")
        // The fixture pool, its JWKS from the stand-in.
        .env("USER_POOL_ID", "us-east-1_TestPool")
        .env("TOKEN_ISSUER", forged::ISSUER)
        .env("APP_CLIENT_IDS", forged::CLIENT)
        .env("JWKS_URL", format!("http://{aws}/jwks.json"))
        // As the template sets it: without it lambda_http routes a REST API event's path with
        // the stage in front (`/prod/health`), which the routers do not know (404).
        .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
        .env("ROSTER_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

/// Starts `program` (the bootstrap of `function`) once under a fresh runtime API and measures
/// it. Every answer must be a success ([`check_success`]).
pub(crate) async fn start_once(
    function: &str,
    program: &Path,
    args: &[&str],
    extra: u32,
) -> Result<Start> {
    let runtime = Arc::new(Runtime {
        event: Mutex::new(first_event(function)),
        served: AtomicU32::new(0),
        answered: AtomicU32::new(0),
        errors: Mutex::new(Vec::new()),
        answer: Notify::new(),
        function: function.to_owned(),
    });
    let stand_in = AwsStandIn::new(json!({ "keys": [] }).to_string());
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(answered),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
        .route("/2018-06-01/runtime/init/error", post(failed))
        .with_state(Arc::clone(&runtime));
    let runtime_api = serve(api).await?;
    let aws_address = serve(stand_in.router()).await?;
    let mut command = Command::new(program);
    command.args(args);
    environment(&mut command, runtime_api, aws_address);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let outcome = async {
        tokio::time::timeout(Duration::from_secs(20), runtime.answer.notified())
            .await
            .context("no answer to the first invocation within 20 s")?;
        let to_first_answer = started.elapsed();
        let aws_calls_before_first_answer = stand_in.calls();
        if let Some(error) = runtime.errors.lock().expect("errors").first() {
            bail!("the first invocation failed: {error}");
        }
        while runtime.answered.load(Ordering::SeqCst) < 1 + extra {
            tokio::time::timeout(Duration::from_secs(20), runtime.answer.notified())
                .await
                .context("an invocation went unanswered")?;
        }
        if let Some(error) = runtime.errors.lock().expect("errors").first() {
            bail!("a later invocation failed: {error}");
        }
        Ok(Start {
            to_first_answer,
            peak_rss_kib: crate::load::memory_kib(child.id()).map_or(0, |(_, peak)| peak),
            aws_calls_before_first_answer,
        })
    }
    .await;
    stop(&mut child);
    outcome
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A function's zip unpacked: its `bootstrap`.
pub(crate) fn unpacked(lambda_dir: &Path, function: &str, into: &Path) -> Result<PathBuf> {
    let zip = lambda_dir.join(function).join("bootstrap.zip");
    let dir = into.join(function);
    std::fs::create_dir_all(&dir)?;
    let status = Command::new("unzip")
        .args(["-o", "-q"])
        .arg(&zip)
        .arg("-d")
        .arg(&dir)
        .status()
        .with_context(|| format!("unzip {}", zip.display()))?;
    if !status.success() {
        bail!(
            "cannot unzip {} (build it with `cargo package-lambdas --arch x86_64`)",
            zip.display()
        );
    }
    Ok(dir.join("bootstrap"))
}

/// Median of `starts`' first-answer times, and the highest peak memory.
pub(crate) fn summary(starts: &[Start]) -> (Duration, u64, u32) {
    let mut times: Vec<Duration> = starts.iter().map(|s| s.to_first_answer).collect();
    times.sort_unstable();
    let median = times[times.len() / 2];
    let peak = starts.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
    let calls = starts
        .iter()
        .map(|s| s.aws_calls_before_first_answer)
        .max()
        .unwrap_or(0);
    (median, peak, calls)
}

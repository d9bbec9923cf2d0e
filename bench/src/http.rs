//! The verify route over HTTP on loopback: Roster's Auth API (this binary in release, serving
//! the real router in a child process, as `roster-bench serve-auth`) next to the Node.js
//! reference (`bench/node/server.mjs`, one process per core), in the same run. Both check the
//! same API key and verify the same pool of distinct access tokens issued by the local
//! endpoint's user pool; a fixed number of keep-alive connections sends requests back to back
//! for a fixed time against each in turn.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use roster_testkit::harness;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const USERS: usize = 20;
const LOGINS_PER_USER: usize = 10;

struct Run {
    requests: usize,
    failures: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Sends `{token, tokenType}` requests back to back on `connections` connections.
async fn drive(
    url: &str,
    key: &str,
    tokens: &[String],
    seconds: u64,
    connections: usize,
) -> Result<Run> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let bodies: Arc<Vec<String>> = Arc::new(
        tokens
            .iter()
            .map(|token| json!({"token": token, "tokenType": "access"}).to_string())
            .collect(),
    );
    // Warm up: every connection open, every token seen once.
    for body in bodies.iter() {
        let response = client
            .post(url)
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("{url} refused a valid token: {}", response.status());
        }
    }
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0_usize));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|connection| {
            let (client, bodies, latencies, failures) = (
                client.clone(),
                bodies.clone(),
                latencies.clone(),
                failures.clone(),
            );
            let (url, key) = (url.to_owned(), key.to_owned());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut next = connection;
                while Instant::now() < deadline {
                    next = (next + connections) % bodies.len();
                    let began = Instant::now();
                    let ok = client
                        .post(&url)
                        .header("x-api-key", &key)
                        .header("content-type", "application/json")
                        .body(bodies[next].clone())
                        .send()
                        .await
                        .map(|response| response.status() == reqwest::StatusCode::OK)
                        .unwrap_or(false);
                    mine.push(began.elapsed().as_micros() as u32);
                    if !ok {
                        *failures.lock().expect("failures") += 1;
                    }
                }
                latencies.lock().expect("latencies").extend(mine);
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = std::mem::take(&mut *latencies.lock().expect("latencies"));
    latencies.sort_unstable();
    let at = |p: f64| f64::from(latencies[((latencies.len() - 1) as f64 * p) as usize]) / 1000.0;
    Ok(Run {
        requests: latencies.len(),
        failures: *failures.lock().expect("failures"),
        seconds: elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}

/// Waits for a child to print its `listening <port>` line; returns the port.
async fn port_of(child: &mut tokio::process::Child) -> Result<u16> {
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("the server did not start within 30 s")??
        .context("the server exited")?;
    line.strip_prefix("listening ")
        .and_then(|port| port.trim().parse().ok())
        .with_context(|| format!("unexpected first line {line:?}"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

pub(crate) async fn compare(seconds: u64, connections: usize, pinned: bool) -> Result<()> {
    let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let node_dir = workspace.join("bench/node");
    if !node_dir.join("node_modules").exists() {
        bail!("bench/node has no node_modules: run `npm ci --prefix bench/node` first");
    }
    eprintln!(
        "http: provisioning a user pool and signing in {USERS} users {LOGINS_PER_USER} times each"
    );
    let resources = harness::provisioned().await;
    let endpoint = harness::endpoint_url().await;
    let provisioned = &resources.provisioned;
    let key = harness::test_key(&resources).await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk);
    let client_id = provisioned
        .client_ids
        .values()
        .next()
        .context("a client")?
        .clone();
    let mut tokens = Vec::new();
    for user in 0..USERS {
        let email = format!("bench{user}@example.com");
        cognito
            .admin_create_user()
            .user_pool_id(&provisioned.user_pool_id)
            .username(&email)
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .send()
            .await?;
        cognito
            .admin_set_user_password()
            .user_pool_id(&provisioned.user_pool_id)
            .username(&email)
            .password("Bench-Secret-1")
            .permanent(true)
            .send()
            .await?;
        for _ in 0..LOGINS_PER_USER {
            let auth = cognito
                .admin_initiate_auth()
                .user_pool_id(&provisioned.user_pool_id)
                .client_id(&client_id)
                .auth_flow(
                    aws_sdk_cognitoidentityprovider::types::AuthFlowType::AdminUserPasswordAuth,
                )
                .auth_parameters("USERNAME", &email)
                .auth_parameters("PASSWORD", "Bench-Secret-1")
                .send()
                .await?;
            tokens.push(
                auth.authentication_result()
                    .and_then(|result| result.access_token())
                    .context("an access token")?
                    .to_owned(),
            );
        }
    }
    let jwks_url = format!(
        "{endpoint}/{}/.well-known/jwks.json",
        provisioned.user_pool_id
    );
    let jwks: Value = reqwest::get(&jwks_url).await?.json().await?;
    let jwks_file = workspace.join("target/bench/pool-jwks.json");
    std::fs::create_dir_all(jwks_file.parent().context("a parent")?)?;
    std::fs::write(&jwks_file, jwks.to_string())?;
    let client_ids: Vec<String> = provisioned.client_ids.values().cloned().collect();

    // Roster: the real Auth API router, configured from the environment as on Lambda.
    // Pinned: each server gets core 0 alone (one Node process), and this process, the load
    // generator, core 1: a per-core comparison the generator does not disturb.
    let server = |program: &std::path::Path| {
        if pinned {
            let mut command = tokio::process::Command::new("taskset");
            command.arg("-c").arg("0").arg(program);
            command
        } else {
            tokio::process::Command::new(program)
        }
    };
    let mut rust = server(&std::env::current_exe()?)
        .arg("serve-auth")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", &provisioned.region)
        .env("AWS_ACCESS_KEY_ID", "roster-local")
        .env("AWS_SECRET_ACCESS_KEY", "roster-local")
        .env("USER_POOL_ID", &provisioned.user_pool_id)
        .env("APP_CLIENT_IDS", client_ids.join(","))
        .env("JWKS_URL", &jwks_url)
        .env("API_KEY_SECRET", &provisioned.api_key_secret)
        .env(
            "AUTH_TABLE",
            &provisioned.table(&roster_infra::resources::AUTH_TABLE).name,
        )
        .env("SERVER_KEY_SECRET", &provisioned.server_key_secret)
        .env("EVENT_BUS_NAME", &provisioned.bus_name)
        .env("ASSETS_BASE_URL", "https://assets.example.com")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let rust_port = port_of(&mut rust).await?;
    let rust_url = format!("http://127.0.0.1:{rust_port}/auth/token/verify");
    eprintln!("http: Roster for {seconds} s");
    let roster = drive(&rust_url, &key, &tokens, seconds, connections).await?;
    drop(rust);

    let node_port = free_port()?;
    let mut node = server(std::path::Path::new("node"))
        .arg(node_dir.join("server.mjs"))
        .env(
            "WORKERS",
            if pinned {
                "1".to_owned()
            } else {
                cores().to_string()
            },
        )
        .env("PORT", node_port.to_string())
        .env("USER_POOL_ID", &provisioned.user_pool_id)
        .env("APP_CLIENT_IDS", client_ids.join(","))
        .env("API_KEY_HASHES", roster_platform::api_keys::hash(&key))
        .env("JWKS_FILE", &jwks_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    port_of(&mut node).await?;
    let node_url = format!("http://127.0.0.1:{node_port}/auth/token/verify");
    eprintln!("http: Node.js for {seconds} s");
    let reference = drive(&node_url, &key, &tokens, seconds, connections).await?;
    drop(node);

    // Pinned, each server had one core.
    let cores = if pinned { 1 } else { cores() };
    println!("| Server | Requests/s | Per core | p50 | p99 | Failed |\n|---|---|---|---|---|---|");
    for (name, run) in [
        ("Roster Auth API (release, one process)", &roster),
        (
            "Node.js 20 + aws-jwt-verify (node:cluster, one process per core given)",
            &reference,
        ),
    ] {
        let rate = run.requests as f64 / run.seconds;
        println!(
            "| {name} | {rate:.0} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            rate / cores as f64,
            run.p50_ms,
            run.p99_ms,
            run.failures
        );
    }
    println!(
        "\n{} distinct tokens, {connections} connections, {seconds} s each; {}.",
        tokens.len(),
        if pinned {
            "each server pinned to core 0, the load generator to core 1".to_owned()
        } else {
            format!("{cores} cores shared by the server and the load generator")
        }
    );
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `roster-bench serve-auth`: the Auth API's router, configured from the environment exactly
/// as its Lambda function is, served over HTTP on a free loopback port (printed first).
pub(crate) async fn serve_auth() -> Result<()> {
    let config = roster_auth_api::config::AuthConfig::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    let router = roster_auth_api::router(config.deps(&sdk)?);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    println!("listening {}", listener.local_addr()?.port());
    axum::serve(listener, router).await?;
    Ok(())
}

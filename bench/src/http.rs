//! The verify route over HTTP on loopback: Roster's Auth API (this binary in release, serving
//! the real router in a child process, as `roster-bench serve-auth`) twice, as deployed and
//! with its cache of verified tokens off, next to the Node.js reference
//! (`bench/node/server.mjs`, one process per core), in the same run. All check the same API
//! key and verify the same pool of distinct access tokens issued by the local endpoint's user
//! pool, each token sent again and again (as a frontend sends its token with every request);
//! a fixed number of keep-alive connections sends requests back to back for a fixed time
//! against each in turn.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use roster_testkit::harness;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const USERS: usize = 20;
const LOGINS_PER_USER: usize = 10;

struct Run {
    requests: usize,
    failures: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU seconds per second the server's processes used (1.0 is one core kept busy).
    server_share: f64,
    /// The same for this load generator.
    own_share: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Checks that `url` verifies every token (a 200 with the token's `sub`): the load below
/// looks at status codes only.
async fn check_answers(url: &str, key: &str, bodies: &[String]) -> Result<()> {
    let client = reqwest::Client::new();
    for body in bodies {
        let response = client
            .post(url)
            .header("x-api-key", key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if status != reqwest::StatusCode::OK || answer["sub"].as_str().is_none() {
            bail!("{url} refused a valid token: {status} {answer}");
        }
    }
    Ok(())
}

/// One `POST /auth/token/verify` per token, as bytes on the wire (HTTP/1.1, keep-alive).
fn requests(port: u16, key: &str, bodies: &[String]) -> Arc<Vec<Vec<u8>>> {
    Arc::new(
        bodies
            .iter()
            .map(|body| {
                format!(
                    "POST /auth/token/verify HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\
                     x-api-key: {key}\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            })
            .collect(),
    )
}

/// Reads one HTTP/1.1 response from `stream` (a `content-length` or a chunked body); its
/// status code. `buffer` keeps what was read past it (nothing, without pipelining).
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<u16> {
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        fill(stream, buffer).await?;
    };
    let head = std::str::from_utf8(&buffer[..head_end])?;
    let status: u16 = head
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .context("a status line")?;
    let header = |name: &str| {
        head.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    };
    if let Some(length) = header("content-length") {
        let total = head_end + length.parse::<usize>()?;
        while buffer.len() < total {
            fill(stream, buffer).await?;
        }
        buffer.drain(..total);
    } else if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        let mut at = head_end;
        loop {
            let line_end = loop {
                if let Some(end) = buffer[at..].windows(2).position(|window| window == b"\r\n") {
                    break at + end;
                }
                fill(stream, buffer).await?;
            };
            let size = usize::from_str_radix(std::str::from_utf8(&buffer[at..line_end])?, 16)?;
            let next = line_end + 2 + size + 2;
            while buffer.len() < next {
                fill(stream, buffer).await?;
            }
            at = next;
            if size == 0 {
                break;
            }
        }
        buffer.drain(..at);
    } else {
        bail!("a response without a length: {head}");
    }
    Ok(status)
}

async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0_u8; 4096];
    let read = stream.read(&mut chunk).await?;
    if read == 0 {
        bail!("the server closed the connection");
    }
    buffer.extend_from_slice(&chunk[..read]);
    Ok(())
}

/// CPU seconds (user and system) a process has used so far: `self` or a pid.
fn cpu_seconds(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux).
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Sends the requests back to back on `connections` keep-alive connections for `seconds`,
/// with a client that costs next to nothing per request (bytes written as they are, the
/// answer's status and length read), so that the server is what is measured. Also the CPU
/// share the server's processes and this load generator used meanwhile.
async fn drive(
    port: u16,
    servers: &[u32],
    requests: &Arc<Vec<Vec<u8>>>,
    seconds: u64,
    connections: usize,
) -> Result<Run> {
    let mut streams = Vec::new();
    for _ in 0..connections {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let server_cpu = || {
        servers
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string()))
            .sum::<f64>()
    };
    let (server_before, own_before) = (server_cpu(), cpu_seconds("self"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(connection, mut stream)| {
            let requests = Arc::clone(requests);
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::new(), 0_usize);
                let mut buffer = Vec::with_capacity(4096);
                let mut next = connection;
                while Instant::now() < deadline {
                    next = (next + connections) % requests.len();
                    let began = Instant::now();
                    stream.write_all(&requests[next]).await?;
                    let status = read_response(&mut stream, &mut buffer).await?;
                    latencies.push(began.elapsed().as_micros() as u32);
                    failures += usize::from(status != 200);
                }
                anyhow::Ok((latencies, failures))
            })
        })
        .collect();
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (mine, failed) = task.await??;
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_share = (server_cpu() - server_before) / elapsed;
    let own_share = (cpu_seconds("self") - own_before) / elapsed;
    latencies.sort_unstable();
    let at = |p: f64| f64::from(latencies[((latencies.len() - 1) as f64 * p) as usize]) / 1000.0;
    Ok(Run {
        requests: latencies.len(),
        failures,
        seconds: elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        server_share,
        own_share,
    })
}

/// Waits for a child to print its `listening <port>` line; returns the port. What it prints
/// afterwards (Roster's logs, as its Lambda function writes them) is read and dropped, as the
/// Lambda runtime's log collector would.
async fn port_of(child: &mut tokio::process::Child) -> Result<u16> {
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("the server did not start within 30 s")??
        .context("the server exited")?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line.strip_prefix("listening ")
        .and_then(|port| port.trim().parse().ok())
        .with_context(|| format!("unexpected first line {line:?}"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

pub(crate) async fn compare(
    seconds: u64,
    connections: usize,
    pinned: bool,
    rounds: usize,
) -> Result<()> {
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
    // Twice: as deployed (tokens verified in full kept, so the same token again skips its
    // signature check), and with that cache off (every request verified in full, as the
    // Node.js reference does).
    let roster = |cache: usize| -> Result<tokio::process::Child> {
        Ok(server(&std::env::current_exe()?)
            .arg("serve-auth")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", &provisioned.region)
            .env("AWS_ACCESS_KEY_ID", "roster-local")
            .env("AWS_SECRET_ACCESS_KEY", "roster-local")
            .env("USER_POOL_ID", &provisioned.user_pool_id)
            .env("APP_CLIENT_IDS", client_ids.join(","))
            .env("JWKS_URL", &jwks_url)
            .env("VERIFIED_TOKEN_CACHE", cache.to_string())
            .env("API_KEY_SECRET", &provisioned.api_key_secret)
            .env(
                "AUTH_TABLE",
                &provisioned.table(&roster_infra::resources::AUTH_TABLE).name,
            )
            .env("SERVER_KEY_SECRET", &provisioned.server_key_secret)
            .env("EVENT_BUS_NAME", &provisioned.bus_name)
            .env("ASSETS_BASE_URL", "https://assets.example.com")
            // As deployed: the template's ApplicationLogLevel, JSON logs.
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?)
    };
    let node_port = free_port()?;
    let node = server(std::path::Path::new("node"))
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
    let bodies: Vec<String> = tokens
        .iter()
        .map(|token| json!({"token": token, "tokenType": "access"}).to_string())
        .collect();
    let mut servers = Vec::new();
    for (name, child) in [
        (
            NAMES[0],
            roster(roster_platform::verified_tokens::DEFAULT_CAPACITY)?,
        ),
        (NAMES[1], roster(0)?),
        (NAMES[2], node),
    ] {
        servers.push(Server::start(name, child, &key, &bodies).await?);
    }
    // Warm every server up: every connection open, the JIT and caches warm.
    for server in &servers {
        drive(server.port, &server.pids, &server.requests, 2, connections).await?;
    }

    // Rounds, the order turning each round, so that a change in the machine's load within a
    // round shows as spread rather than as a bias.
    let mut results: Vec<Vec<Run>> = Vec::new();
    for round in 0..rounds {
        eprintln!(
            "http: round {} of {rounds}, {seconds} s per server",
            round + 1
        );
        let mut runs: Vec<Option<Run>> = servers.iter().map(|_| None).collect();
        for turn in 0..servers.len() {
            let at = (round + turn) % servers.len();
            let server = &servers[at];
            runs[at] = Some(
                drive(
                    server.port,
                    &server.pids,
                    &server.requests,
                    seconds,
                    connections,
                )
                .await?,
            );
        }
        results.push(
            runs.into_iter()
                .map(|run| run.expect("every server ran"))
                .collect(),
        );
    }
    drop(servers);

    // Pinned, each server had one core.
    let cores = if pinned { 1 } else { cores() };
    println!(
        "| Round | Server | Requests/s | Per core | p50 | p99 | Failed | Server CPU | Load generator CPU |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for (round, runs) in results.iter().enumerate() {
        for (name, run) in NAMES.iter().zip(runs) {
            println!(
                "| {} | {name} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.0}% | {:.0}% |",
                round + 1,
                run.rate(),
                run.rate() / cores as f64,
                run.p50_ms,
                run.p99_ms,
                run.failures,
                100.0 * run.server_share,
                100.0 * run.own_share,
            );
        }
    }
    for (at, name) in NAMES.iter().enumerate().take(2) {
        let mut ratios: Vec<f64> = results
            .iter()
            .map(|runs| runs[at].rate() / runs[2].rate())
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "\n{name} / Node.js, per round: {}; median {:.2}x, spread {:.2}x to {:.2}x.",
            ratios
                .iter()
                .map(|ratio| format!("{ratio:.2}x"))
                .collect::<Vec<_>>()
                .join(", "),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
    println!(
        "{} distinct tokens, each sent again and again, {connections} connections, {seconds} s per server per round; {}.",
        tokens.len(),
        if pinned {
            "each server pinned to core 0 (Node.js: one process), the load generator to core 1"
                .to_owned()
        } else {
            format!("{cores} cores shared by the servers and the load generator")
        }
    );
    Ok(())
}

/// The servers, in the order each round starts from: Roster twice, then the reference.
const NAMES: [&str; 3] = [
    "Roster Auth API, as deployed (verified tokens kept)",
    "Roster Auth API, every token verified in full",
    "Node.js 20 + aws-jwt-verify",
];

/// A server under test: its port, its processes and the requests it gets.
struct Server {
    port: u16,
    pids: Vec<u32>,
    requests: Arc<Vec<Vec<u8>>>,
    _child: tokio::process::Child,
}

impl Server {
    /// Waits for `child` to listen, and checks that it verifies every token.
    async fn start(
        name: &str,
        mut child: tokio::process::Child,
        key: &str,
        bodies: &[String],
    ) -> Result<Self> {
        let port = port_of(&mut child).await?;
        check_answers(
            &format!("http://127.0.0.1:{port}/auth/token/verify"),
            key,
            bodies,
        )
        .await
        .with_context(|| name.to_owned())?;
        Ok(Self {
            port,
            pids: process_tree(child.id().context("a pid")?),
            requests: requests(port, key, bodies),
            _child: child,
        })
    }
}

/// `pid` and its descendants (Node.js's cluster workers are children of its primary).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut tree = vec![pid];
    let mut at = 0;
    while at < tree.len() {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", tree[at]))
            .unwrap_or_default();
        tree.extend(
            children
                .split_whitespace()
                .filter_map(|child| child.parse::<u32>().ok()),
        );
        at += 1;
    }
    tree
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `roster-bench serve-auth`: the Auth API's router, configured from the environment exactly
/// as its Lambda function is, served over HTTP on a free loopback port (printed first).
pub(crate) async fn serve_auth() -> Result<()> {
    // Logging set up as the Lambda function sets it up (auth-api/src/main.rs).
    roster_platform::telemetry::init(roster_platform::telemetry::LogFormat::from_env());
    let config = roster_auth_api::config::AuthConfig::from_env()?;
    let sdk = roster_platform::aws::from_env().await;
    let router = roster_auth_api::router(config.deps(&sdk)?);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    println!("listening {}", listener.local_addr()?.port());
    axum::serve(listener, router).await?;
    Ok(())
}

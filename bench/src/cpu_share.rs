//! Invocations at Lambda's CPU share. Lambda runs a function's init with the CPU boosted, but
//! its invocations at the memory's share of one vCPU (1,769 MB is one vCPU, so 128 MB is about
//! 7%). Each Lambda bootstrap (unpacked from its zip) and the Node.js reference start
//! unconstrained under a local runtime-API stub, as in `cold_start`; when a process first asks
//! for an invocation (its init is over) the stub holds the request, moves the whole process
//! (`cgroup.procs`: every thread, and those it starts later) into a cgroup v1 `cpu` group
//! whose CFS quota is MB/1769 of one CPU per period, and only then hands out the event. Each
//! invocation is timed from the event handed out to the response posted: the first one, then
//! `--warm` more, `--gap-ms` apart (an instance serving occasional requests, each starting
//! with its period's budget unspent). Every combination runs `--runs` times, runs interleaved
//! so that a noisy moment of the machine spreads over all of them; the same runs without a
//! quota are the reference (moved into a group as well). Every group weighs ten times a lone
//! process (`cpu.shares`), so that other work on a shared machine disturbs the share as little
//! as it can.
//!
//! The period: the kernel refuses a quota under 1 ms, and 128 MB is 7.2% of a CPU, so the
//! period must be at least 13.8 ms; the default 20 ms gives a 1.45 ms quota at 128 MB. With
//! the kernel's default 100 ms period a 128 MB function would run 7.2 ms and then stall for
//! 92.8 ms: a handler needing a little more CPU than the quota would show a 100 ms step that
//! says more about the period than about the share.
//!
//! What an invocation does: each function's cheapest real event (`cold_start::first_event`:
//! `GET /health` through API Gateway for the APIs, an empty batch for the queue and stream
//! consumers, a scheduled tick for the reconciler and the sweeper), and for the Auth API also
//! a real route, `POST /auth/token/verify` with a distinct valid access token each time (the
//! API-key guard, the JWT check against the pool's JWKS, the revocation check). Every AWS
//! call goes to a stand-in on loopback that answers at once (an empty result; the API-key set
//! for Secrets Manager; the fixture pool's JWKS), so the figures are the runtime's and the
//! handler's CPU at the share, not AWS's latency.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roster_infra::resources::LAMBDA_BINARIES;
use roster_testkit::forged;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::cold_start;

/// Memory that buys one full vCPU on Lambda.
const ONE_VCPU_MB: u64 = 1769;
/// Lambda's arm64 price in us-east-1, first tier: per GB-second and per request.
const PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
const PRICE_PER_REQUEST: f64 = 0.20 / 1e6;
const CGROUP_CPU: &str = "/sys/fs/cgroup/cpu";
const CGROUP_PREFIX: &str = "roster-cpu-share-";
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Runs of each function at each memory size (and without a quota).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Warm invocations after the first, per run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    warm: u64,
    /// Memory sizes in MB, each run at a CPU share of MB/1769 of one CPU.
    #[arg(long, value_delimiter = ',', default_values_t = [128_u64, 256, 512])]
    memory: Vec<u64>,
    /// The CFS period in µs; each memory's quota must come to at least 1 ms of it.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1_000..=1_000_000))]
    period_us: u64,
    /// Pause between a process asking for its next invocation and getting it, in ms.
    #[arg(long, default_value_t = 50)]
    gap_ms: u64,
    /// Only these subjects (function names, `auth-api:verify`, `node`); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// [default: target/lambda-x86_64]
    #[arg(long)]
    lambda_dir: Option<PathBuf>,
}

/// What one invocation gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    /// `cold_start::first_event` of this name.
    Cheapest(&'static str),
    /// `POST /auth/token/verify`, a fresh token each time.
    Verify,
}

struct Subject {
    label: String,
    program: PathBuf,
    args: Vec<String>,
    work: Work,
}

/// A CPU limit: none, or a memory size's share.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Limit {
    Unlimited,
    Memory(u64),
}

impl Limit {
    fn title(self, period_us: u64) -> String {
        match self {
            Limit::Unlimited => "No quota (reference)".to_owned(),
            Limit::Memory(mb) => format!(
                "{mb} MB: {:.1}% of one CPU ({} µs every {period_us} µs)",
                mb as f64 * 100.0 / ONE_VCPU_MB as f64,
                quota_us(mb, period_us)
            ),
        }
    }
}

fn quota_us(mb: u64, period_us: u64) -> u64 {
    period_us * mb / ONE_VCPU_MB
}

/// What one run measured.
struct Run {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
    /// Periods in which the quota ran out during the first invocation.
    first_throttled: u64,
    first_aws_calls: u32,
}

pub(crate) async fn run(options: Options) -> Result<()> {
    if !Path::new(CGROUP_CPU).join("cpu.cfs_quota_us").exists() {
        bail!("no cgroup v1 cpu controller at {CGROUP_CPU} (this needs it, and root)");
    }
    for &mb in &options.memory {
        let quota = quota_us(mb, options.period_us);
        if quota < 1000 {
            bail!(
                "{mb} MB gets {quota} µs of a {} µs period: the kernel's minimum quota is 1 ms, \
                 use a period of at least {} µs",
                options.period_us,
                1000 * ONE_VCPU_MB / mb + 1
            );
        }
    }
    sweep_stale_groups();
    let outcome = tokio::select! {
        outcome = measure_all(&options) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    sweep_stale_groups();
    outcome
}

fn subjects(options: &Options) -> Result<Vec<Subject>> {
    let lambda_dir = options
        .lambda_dir
        .clone()
        .unwrap_or_else(|| crate::workspace().join("target/lambda-x86_64"));
    let unpack = crate::workspace().join("target/bench/bootstraps");
    let wanted = |label: &str| options.only.is_empty() || options.only.iter().any(|o| o == label);
    let mut subjects = Vec::new();
    for function in LAMBDA_BINARIES {
        let verify = function == "auth-api" && wanted("auth-api:verify");
        if !wanted(function) && !verify {
            continue;
        }
        let program = cold_start::unpacked(&lambda_dir, function, &unpack)?;
        if wanted(function) {
            subjects.push(Subject {
                label: function.to_owned(),
                program: program.clone(),
                args: Vec::new(),
                work: Work::Cheapest(function),
            });
        }
        if verify {
            subjects.push(Subject {
                label: "auth-api:verify".to_owned(),
                program,
                args: Vec::new(),
                work: Work::Verify,
            });
        }
    }
    if wanted("node") {
        let node = crate::workspace().join("bench/node");
        if !node.join("node_modules").exists() {
            bail!("bench/node has no node_modules: run `npm ci --prefix bench/node` first");
        }
        subjects.push(Subject {
            label: "node".to_owned(),
            program: PathBuf::from("node"),
            args: vec![
                node.join("bootstrap.mjs")
                    .to_str()
                    .context("a UTF-8 path")?
                    .to_owned(),
            ],
            work: Work::Cheapest("node"),
        });
    }
    if subjects.is_empty() {
        bail!("--only names no function");
    }
    Ok(subjects)
}

async fn measure_all(options: &Options) -> Result<()> {
    let subjects = subjects(options)?;
    let mut limits = vec![Limit::Unlimited];
    limits.extend(options.memory.iter().map(|&mb| Limit::Memory(mb)));
    let mut results: BTreeMap<(Limit, usize), Vec<Run>> = BTreeMap::new();
    let mut group_number = 0;
    for run in 0..options.runs {
        for &limit in &limits {
            for (index, subject) in subjects.iter().enumerate() {
                group_number += 1;
                let measured = measure(subject, limit, options, group_number)
                    .await
                    .with_context(|| {
                        format!(
                            "{} at {}, run {run}",
                            subject.label,
                            limit.title(options.period_us)
                        )
                    })?;
                results.entry((limit, index)).or_default().push(measured);
            }
            eprintln!(
                "cpu-share: run {} of {}, {} done",
                run + 1,
                options.runs,
                limit.title(options.period_us)
            );
        }
    }
    report(&subjects, &limits, &results, options);
    Ok(())
}

/// The stub's state: the runtime API's and the AWS stand-in's.
struct Stub {
    /// A `next` arrived: the process is waiting for an invocation.
    asked: mpsc::UnboundedSender<Instant>,
    /// One permit per event to hand out.
    release: Semaphore,
    event: Mutex<String>,
    handed: Mutex<Option<Instant>>,
    answers: mpsc::UnboundedSender<Answer>,
    served: AtomicU32,
}

struct Answer {
    at: Instant,
    body: String,
    failed: bool,
}

async fn next(State(stub): State<Arc<Stub>>) -> Response {
    let _ = stub.asked.send(Instant::now());
    match stub.release.acquire().await {
        Ok(permit) => permit.forget(),
        Err(_) => return StatusCode::GONE.into_response(),
    }
    let n = stub.served.fetch_add(1, Ordering::SeqCst);
    let mut response = stub.event.lock().expect("event").clone().into_response();
    let headers = response.headers_mut();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", format!("request-{n}")),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
        ),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("a header"));
    }
    *stub.handed.lock().expect("handed") = Some(Instant::now());
    response
}

async fn answered(State(stub): State<Arc<Stub>>, body: String) -> StatusCode {
    let at = Instant::now();
    let _ = stub.answers.send(Answer {
        at,
        body,
        failed: false,
    });
    StatusCode::ACCEPTED
}

async fn failed(State(stub): State<Arc<Stub>>, body: String) -> StatusCode {
    let at = Instant::now();
    let _ = stub.answers.send(Answer {
        at,
        body,
        failed: true,
    });
    StatusCode::ACCEPTED
}

/// A server on loopback, stopped when this is dropped.
struct Served(tokio::task::JoinHandle<()>);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(router: Router) -> Result<(SocketAddr, Served)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((address, Served(task)))
}

/// A started function, killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A cgroup v1 `cpu` group with a CFS quota, removed when dropped (its processes must be gone
/// by then: a [`Process`] dropped before it).
struct CpuGroup {
    path: PathBuf,
}

impl CpuGroup {
    /// A group with `quota_us` of every `period_us` (no quota: `None`). Its weight is ten
    /// times a lone process's, so that other work on a shared machine takes as little of the
    /// share as it can: on Lambda the share is the function's own.
    fn create(name: &str, period_us: u64, quota_us: Option<u64>) -> Result<Self> {
        let path = Path::new(CGROUP_CPU).join(name);
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        let group = Self { path };
        group.write("cpu.shares", "10240")?;
        if let Some(quota_us) = quota_us {
            group.write("cpu.cfs_period_us", &period_us.to_string())?;
            group.write("cpu.cfs_quota_us", &quota_us.to_string())?;
        }
        Ok(group)
    }

    fn write(&self, file: &str, value: &str) -> Result<()> {
        let path = self.path.join(file);
        std::fs::write(&path, value)
            .with_context(|| format!("writing {value} to {}", path.display()))
    }

    /// Moves every thread of process `pid` into the group.
    fn adopt(&self, pid: u32) -> Result<()> {
        self.write("cgroup.procs", &pid.to_string())
    }

    /// `nr_throttled` of `cpu.stat`: periods in which the quota ran out.
    fn throttled(&self) -> u64 {
        std::fs::read_to_string(self.path.join("cpu.stat"))
            .ok()
            .and_then(|stat| {
                stat.lines()
                    .find_map(|line| line.strip_prefix("nr_throttled "))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        // A killed process leaves its group a moment after it is reaped.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.path).is_ok() || !self.path.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("cpu-share: could not remove {}", self.path.display());
    }
}

/// Removes groups an interrupted earlier run left (empty ones only).
fn sweep_stale_groups() {
    let Ok(entries) = std::fs::read_dir(CGROUP_CPU) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(CGROUP_PREFIX)
            && let Err(error) = std::fs::remove_dir(entry.path())
        {
            eprintln!(
                "cpu-share: a stale group stays: {} ({error})",
                entry.path().display()
            );
        }
    }
}

/// An API Gateway event for `POST /auth/token/verify` with `token`, sent with `key`.
fn verify_event(key: &str, token: &str) -> Value {
    let mut event = cold_start::first_event("auth-api");
    let path = "/auth/token/verify";
    event["path"] = json!(path);
    event["httpMethod"] = json!("POST");
    event["pathParameters"]["proxy"] = json!(&path[1..]);
    event["requestContext"]["path"] = json!(format!("/prod{path}"));
    event["requestContext"]["httpMethod"] = json!("POST");
    event["headers"] = json!({
        "host": "api.example.com", "content-type": "application/json", "x-api-key": key,
    });
    event["multiValueHeaders"] = json!({
        "host": ["api.example.com"], "content-type": ["application/json"], "x-api-key": [key],
    });
    event["body"] = json!(json!({"token": token, "tokenType": "access"}).to_string());
    event
}

/// Each invocation's event for one run: `count` of them.
fn events(work: Work, count: usize) -> Result<(Vec<String>, String)> {
    let issued = roster_platform::api_keys::issue("cpu-share", &["auth"], "2026-01-01T00:00:00Z")?;
    let key_set = json!({"keys": [issued.record]}).to_string();
    let events = (0..count)
        .map(|n| match work {
            Work::Cheapest(name) => cold_start::first_event(name).to_string(),
            Work::Verify => {
                let mut claims = forged::access_claims();
                claims["jti"] = json!(format!("cpu-share-{n}"));
                verify_event(&issued.plaintext, &forged::token(&claims)).to_string()
            }
        })
        .collect();
    Ok((events, key_set))
}

/// Whether an answer is the expected one (see [`cold_start::check_success`]).
fn check(work: Work, answer: &Answer) -> Result<()> {
    if answer.failed {
        bail!("the invocation failed: {}", answer.body);
    }
    let function = match work {
        Work::Verify => "auth-api",
        Work::Cheapest(name) => name,
    };
    cold_start::check_success(function, &answer.body)
}

async fn measure(subject: &Subject, limit: Limit, options: &Options, number: u64) -> Result<Run> {
    let count = options.warm as usize + 1;
    let (events, key_set) = events(subject.work, count)?;
    let (asked_tx, mut asked) = mpsc::unbounded_channel();
    let (answers_tx, mut answers) = mpsc::unbounded_channel();
    let stub = Arc::new(Stub {
        asked: asked_tx,
        release: Semaphore::new(0),
        event: Mutex::new(String::new()),
        handed: Mutex::new(None),
        answers: answers_tx,
        served: AtomicU32::new(0),
    });
    let stand_in = cold_start::AwsStandIn::new(key_set);
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(answered),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
        .route("/2018-06-01/runtime/init/error", post(failed))
        .with_state(Arc::clone(&stub));
    let (runtime_api, _runtime_server) = serve(api).await?;
    let (aws_address, _aws_server) = serve(stand_in.router()).await?;

    let mut command = Command::new(&subject.program);
    command.args(&subject.args);
    cold_start::environment(&mut command, runtime_api, aws_address);
    let memory = match limit {
        Limit::Unlimited => ONE_VCPU_MB,
        Limit::Memory(mb) => mb,
    };
    command.env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.to_string());
    // The group is dropped after the process (declared first, dropped last).
    let group;
    let started = Instant::now();
    let process = Process(
        command
            .spawn()
            .with_context(|| format!("starting {}", subject.program.display()))?,
    );
    let pid = process.0.id();

    let mut wait_asked = async || -> Result<Instant> {
        tokio::time::timeout(TIMEOUT, asked.recv())
            .await
            .context("no request for an invocation within 30 s")?
            .context("the stub stopped")
    };
    let init = wait_asked().await? - started;
    // Without a quota the process still moves, into a group of the same weight.
    let quota = match limit {
        Limit::Unlimited => None,
        Limit::Memory(mb) => Some(quota_us(mb, options.period_us)),
    };
    group = CpuGroup::create(
        &format!("{CGROUP_PREFIX}{}-{number}", std::process::id()),
        options.period_us,
        quota,
    )?;
    group.adopt(pid)?;
    let mut durations = Vec::with_capacity(count);
    let mut first_throttled = 0;
    let mut first_aws_calls = 0;
    for (n, event) in events.into_iter().enumerate() {
        if n > 0 {
            wait_asked().await?;
            tokio::time::sleep(Duration::from_millis(options.gap_ms)).await;
        }
        let throttled_before = group.throttled();
        let calls_before = stand_in.calls();
        *stub.event.lock().expect("event") = event;
        stub.release.add_permits(1);
        let answer = tokio::time::timeout(TIMEOUT, answers.recv())
            .await
            .with_context(|| format!("invocation {n} unanswered within 30 s"))?
            .context("the stub stopped")?;
        let handed = stub
            .handed
            .lock()
            .expect("handed")
            .take()
            .context("an answer before its event")?;
        check(subject.work, &answer).with_context(|| format!("invocation {n}"))?;
        durations.push(answer.at.saturating_duration_since(handed));
        if n == 0 {
            first_throttled = group.throttled().saturating_sub(throttled_before);
            first_aws_calls = stand_in.calls() - calls_before;
        }
    }
    let peak_rss_kib = crate::load::memory_kib(pid).map_or(0, |(_, peak)| peak);
    drop(process);
    drop(group);
    let first = durations.remove(0);
    Ok(Run {
        init,
        first,
        warm: durations,
        peak_rss_kib,
        first_throttled,
        first_aws_calls,
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Median of runs and their min–max, in ms.
fn spread(mut values: Vec<Duration>) -> (f64, f64, f64) {
    values.sort_unstable();
    (
        ms(quantile(&values, 0.5)),
        ms(values[0]),
        ms(values[values.len() - 1]),
    )
}

fn cell((median, low, high): (f64, f64, f64)) -> String {
    format!("{median:.2} ms ({low:.2}–{high:.2})")
}

/// Per-run warm median and p99.
fn warm_stats(run: &Run) -> (Duration, Duration) {
    let mut warm = run.warm.clone();
    warm.sort_unstable();
    (quantile(&warm, 0.5), quantile(&warm, 0.99))
}

/// Dollars per million invocations lasting `duration` at `mb`, billed by the started ms.
fn dollars_per_million(mb: u64, duration: f64) -> f64 {
    let billed_ms = duration.ceil().max(1.0);
    let gb_seconds = mb as f64 / 1024.0 * billed_ms / 1000.0;
    1e6 * (gb_seconds * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)
}

fn report(
    subjects: &[Subject],
    limits: &[Limit],
    results: &BTreeMap<(Limit, usize), Vec<Run>>,
    options: &Options,
) {
    let runs = options.runs;
    for &limit in limits {
        println!("\n### {}\n", limit.title(options.period_us));
        println!(
            "| Function | Init, unconstrained | First invocation | Warm median | Warm p99 | Periods throttled in the first | AWS calls in the first | Peak RSS |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (index, subject) in subjects.iter().enumerate() {
            let Some(runs) = results.get(&(limit, index)) else {
                continue;
            };
            let stats: Vec<_> = runs.iter().map(warm_stats).collect();
            let mut throttled: Vec<u64> = runs.iter().map(|run| run.first_throttled).collect();
            throttled.sort_unstable();
            println!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {:.1} MiB |",
                subject.label,
                cell(spread(runs.iter().map(|run| run.init).collect())),
                cell(spread(runs.iter().map(|run| run.first).collect())),
                cell(spread(stats.iter().map(|s| s.0).collect())),
                cell(spread(stats.iter().map(|s| s.1).collect())),
                quantile(&throttled, 0.5),
                runs.iter()
                    .map(|run| run.first_aws_calls)
                    .max()
                    .unwrap_or(0),
                runs.iter().map(|run| run.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0,
            );
        }
    }
    println!(
        "\nMedian of {runs} runs (min–max of the runs in brackets); each run: one first \
         invocation, then {} warm ones {} ms apart, p99 by nearest rank. Period {} µs.",
        options.warm, options.gap_ms, options.period_us
    );
    println!(
        "\n### Lambda cost per million invocations at these durations (arm64, us-east-1: \
         ${PRICE_PER_GB_SECOND} per GB-s billed per started ms, $0.20 per million requests)\n"
    );
    let memories: Vec<u64> = limits
        .iter()
        .filter_map(|limit| match limit {
            Limit::Memory(mb) => Some(*mb),
            Limit::Unlimited => None,
        })
        .collect();
    print!("| Function |");
    for mb in &memories {
        print!(" {mb} MB: warm median / first |");
    }
    println!("\n|---|{}", "---|".repeat(memories.len()));
    for (index, subject) in subjects.iter().enumerate() {
        print!("| `{}` |", subject.label);
        for &mb in &memories {
            let Some(runs) = results.get(&(Limit::Memory(mb), index)) else {
                print!(" — |");
                continue;
            };
            let warm = spread(runs.iter().map(|run| warm_stats(run).0).collect()).0;
            let first = spread(runs.iter().map(|run| run.first).collect()).0;
            print!(
                " ${:.4} / ${:.4} |",
                dollars_per_million(mb, warm),
                dollars_per_million(mb, first)
            );
        }
        println!();
    }
}

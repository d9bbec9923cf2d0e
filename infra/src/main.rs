//! `roster-local`: the whole of Roster on this machine, in one command.
//!
//! Installs and starts a local AWS endpoint (moto) unless `AWS_ENDPOINT_URL` names one that
//! answers, provisions every resource, runs the event plumbing, serves both APIs, and stops
//! all of it on Ctrl-C or SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use roster_local::endpoint::{self, LocalEndpoint, Stderr};
use roster_local::stack::{
    DEFAULT_AUTH_PORT, DEFAULT_USER_PORT, DEFAULT_WEB_PORT, LocalFacts, RunningStack, StackOptions,
};
use roster_platform::telemetry::{self, LogFormat};

const USAGE: &str = "\
Usage: roster-local [OPTIONS]

Starts Roster locally: a local AWS endpoint (moto, installed on first use), every resource,
the event plumbing and both APIs. Ctrl-C stops everything.

       roster-local load [--seconds N] [--concurrency N] [--users N]

Operating a running stack (API keys, users, a live event tail, dead letters) is the
`roster` command's job: `cargo run -p roster-local --bin roster -- --help`.

load starts a stack of its own on free ports (a running one is left alone), signs up a pool
of users (default 20), each followed by a refused duplicate registration, and drives a mix
of routes (refused duplicates included) from concurrent workers (default 8) for a while
(default 60 s); it prints each route's latency, every unexpected answer and the stack
process's memory, and fails on any unexpected answer, on a registered user whose profile
never appears, or on memory that keeps growing.

While a stack runs, its watchdog prints STALL when a stream or queue has had unprocessed
records for over 5 s; `cargo roster status` shows every poller's lag.

Options:
  --auth-port <PORT>   Auth API port          [env ROSTER_AUTH_PORT, default 4001]
  --user-port <PORT>   User API port          [env ROSTER_USER_PORT, default 4002]
  --web-port <PORT>    example account page   [env ROSTER_WEB_PORT, default 5173]
  --moto-port <PORT>   moto port, 0 = any free [env ROSTER_MOTO_PORT, default 0]
  --prefix <NAME>      resource name prefix   [env ROSTER_PREFIX, default roster]
  --state-dir <DIR>    where local.json goes  [env ROSTER_STATE_DIR, default .roster]
  --reset              start clean: with AWS_ENDPOINT_URL (an endpoint kept between runs),
                       wipe everything on it first; a moto started by this command is
                       always empty
  --seed-demo          once ready, add five demo users (ada, grace, alan, katherine, linus
                       @example.com) with badges and avatars; kept if already there
  -h, --help           this text

Environment: AWS_ENDPOINT_URL (use that endpoint instead of starting moto), AWS_REGION
(default us-east-1), RUST_LOG (default info).
";

struct Args {
    auth_port: u16,
    user_port: u16,
    web_port: u16,
    moto_port: u16,
    prefix: String,
    state_dir: PathBuf,
    seed_demo: bool,
    reset: bool,
}

fn parse_args() -> Result<Option<Args>> {
    let env_port = |name: &'static str, default: u16| {
        roster_platform::config::parsed_or(name, default).map_err(anyhow::Error::from)
    };
    let mut args = Args {
        auth_port: env_port("ROSTER_AUTH_PORT", DEFAULT_AUTH_PORT)?,
        user_port: env_port("ROSTER_USER_PORT", DEFAULT_USER_PORT)?,
        web_port: env_port("ROSTER_WEB_PORT", DEFAULT_WEB_PORT)?,
        moto_port: env_port("ROSTER_MOTO_PORT", 0)?,
        prefix: std::env::var("ROSTER_PREFIX").unwrap_or_else(|_| "roster".to_owned()),
        state_dir: std::env::var_os("ROSTER_STATE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(endpoint::roster_home),
        seed_demo: false,
        reset: false,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            return Ok(None);
        }
        if flag == "--seed-demo" {
            args.seed_demo = true;
            continue;
        }
        if flag == "--reset" {
            args.reset = true;
            continue;
        }
        let value = raw
            .next()
            .with_context(|| format!("{flag} needs a value (see --help)"))?;
        let port = || {
            value
                .parse::<u16>()
                .with_context(|| format!("{flag}: {value:?} is not a port"))
        };
        match flag.as_str() {
            "--auth-port" => args.auth_port = port()?,
            "--user-port" => args.user_port = port()?,
            "--web-port" => args.web_port = port()?,
            "--moto-port" => args.moto_port = port()?,
            "--prefix" => args.prefix = value,
            "--state-dir" => args.state_dir = PathBuf::from(value),
            other => bail!("unknown option {other} (see --help)"),
        }
    }
    let valid_prefix = !args.prefix.is_empty()
        && args.prefix.len() <= 40
        && args
            .prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_prefix {
        bail!("--prefix must be 1 to 40 lowercase letters, digits or dashes");
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::from_env());
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `roster-local load [--seconds N] [--concurrency N] [--users N]`.
async fn load(args: &[String]) -> Result<()> {
    use roster_local::load::{self, LoadOptions};

    let mut options = LoadOptions::default();
    let mut raw = args.iter();
    while let Some(flag) = raw.next() {
        let value = raw
            .next()
            .with_context(|| format!("{flag} needs a value (see --help)"))?;
        let number = || {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("{flag}: {value:?} is not a positive number"))
        };
        match flag.as_str() {
            "--seconds" => options.seconds = number()?,
            "--concurrency" => options.concurrency = number()? as usize,
            "--users" => options.users = number()? as usize,
            other => bail!("unknown load option {other} (see --help)"),
        }
    }
    let state_dir = std::env::temp_dir().join(format!("roster-load-{}", std::process::id()));
    let report = load::run(&options, state_dir.clone()).await?;
    print!("{}", report.text);
    let _ = std::fs::remove_dir_all(&state_dir);
    if !report.passed {
        bail!("the load run failed");
    }
    Ok(())
}

async fn run() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("load") {
        return load(&raw[1..]).await;
    }
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let started = Instant::now();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    eprintln!("Starting Roster locally…");
    std::fs::create_dir_all(&args.state_dir)?;
    let log = args.state_dir.join("moto.log");
    let endpoint = LocalEndpoint::connect_or_start(args.moto_port, Some(&log), &Stderr).await?;
    if args.reset && !endpoint.is_own() {
        endpoint.reset().await?;
        eprintln!("  wiped the AWS endpoint at {} (--reset)", endpoint.url());
    }
    let options = StackOptions {
        prefix: args.prefix,
        region,
        auth_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.auth_port)),
        user_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.user_port)),
        web_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.web_port)),
        state_dir: args.state_dir.clone(),
    };
    // Whatever happens from here on, dropping `endpoint` (inside the stack) stops moto.
    let stack = RunningStack::start(options, endpoint, &Stderr).await?;
    print_ready(
        stack.facts(),
        &args.state_dir,
        started.elapsed().as_secs_f64(),
    );
    if args.seed_demo {
        seed_demo(stack.facts()).await;
    }
    wait_for_stop_signal().await?;
    eprintln!("\nStopping Roster…");
    stack.stop().await;
    eprintln!("Stopped.");
    Ok(())
}

fn print_ready(facts: &LocalFacts, state_dir: &std::path::Path, seconds: f64) {
    let clients = facts
        .client_ids
        .iter()
        .map(|(frontend, id)| format!("{frontend}={id}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "\nRoster is ready ({seconds:.1} s).\n\
         \n  Auth API     {auth}   (docs: {auth}/docs)\
         \n  User API     {user}   (docs: {user}/docs)\
         \n  Account page {web}   (the example frontend, examples/web)\
         \n  AWS endpoint {endpoint} (region {region})\
         \n  User pool    {pool} (clients: {clients})\
         \n  API key      {key}   (development only: every scope, unrestricted)\
         \n  Facts        {facts_file}\
         \n\nTry it:\
         \n  curl -s {auth}/health\
         \n  curl -s -H 'x-api-key: {key}' {user}/health\
         \n\nCtrl-C stops everything.",
        auth = facts.auth_url,
        user = facts.user_url,
        web = facts.web_url,
        endpoint = facts.aws_endpoint,
        region = facts.region,
        pool = facts.user_pool_id,
        key = facts.api_key,
        facts_file = state_dir.join("local.json").display(),
    );
}

/// Seeds the demo users and says who they are; a failure is reported, and the stack stays up.
async fn seed_demo(facts: &LocalFacts) {
    use roster_local::demo::{self, DEMO_PASSWORD};

    match demo::seed(facts).await {
        Ok(users) => {
            let emails: Vec<&str> = users.iter().map(|user| user.email.as_str()).collect();
            let kept = users.iter().filter(|user| !user.created).count();
            println!(
                "\nDemo users (password {DEMO_PASSWORD}): {}{}",
                emails.join(", "),
                if kept > 0 {
                    format!(" ({kept} already there)")
                } else {
                    String::new()
                }
            );
        }
        Err(error) => eprintln!("\nThe demo users could not all be made: {error:#}"),
    }
}

async fn wait_for_stop_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
        _ = hangup.recv() => {}
    }
    Ok(())
}

//! The `roster-local` command (`cargo stack`): the whole of Roster on this machine, in one
//! command. A library module so that other binaries can run the same stack in a child process
//! of their own (the load run does).
//!
//! Installs and starts a local AWS endpoint (moto) unless `AWS_ENDPOINT_URL` names one that
//! answers, provisions every resource, runs the event plumbing, serves both APIs, and stops
//! all of it on Ctrl-C or SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::endpoint::LocalEndpoint;
use crate::stack::{
    DEFAULT_AUTH_PORT, DEFAULT_USER_PORT, DEFAULT_WEB_PORT, LocalFacts, RunningStack, StackOptions,
};
use anyhow::Result;
use clap::Parser;
use roster_infra::tools::{Stderr, roster_home};

/// Starts Roster locally: a local AWS endpoint (moto, installed on first use), every resource,
/// the event plumbing and both APIs. Ctrl-C stops everything.
///
/// Operating a running stack (API keys, users, a live event tail, dead letters) is the
/// `roster` command's job: `cargo roster --help`. While a stack runs, its watchdog prints
/// STALL when a stream or queue has had unprocessed records for over 5 s; `cargo roster
/// status` shows every poller's lag. A load run against a stack of its own: `cargo load`.
///
/// Environment: AWS_ENDPOINT_URL (use that endpoint instead of starting moto), AWS_REGION
/// (default us-east-1), RUST_LOG (default info).
#[derive(Debug, Parser)]
#[command(name = "roster-local", version)]
pub struct Args {
    /// Auth API port
    #[arg(long, env = "ROSTER_AUTH_PORT", default_value_t = DEFAULT_AUTH_PORT)]
    auth_port: u16,
    /// User API port
    #[arg(long, env = "ROSTER_USER_PORT", default_value_t = DEFAULT_USER_PORT)]
    user_port: u16,
    /// The example account page's port
    #[arg(long, env = "ROSTER_WEB_PORT", default_value_t = DEFAULT_WEB_PORT)]
    web_port: u16,
    /// moto's port; 0 = any free port
    #[arg(long, env = "ROSTER_MOTO_PORT", default_value_t = 0)]
    moto_port: u16,
    /// Resource name prefix: 1 to 40 lowercase letters, digits or dashes
    #[arg(long, env = "ROSTER_PREFIX", default_value = "roster", value_parser = prefix)]
    prefix: String,
    /// Where local.json goes [default: .roster]
    #[arg(long, env = "ROSTER_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Start clean: with AWS_ENDPOINT_URL (an endpoint kept between runs), wipe everything on
    /// it first; a moto started by this command is always empty
    #[arg(long)]
    reset: bool,
    /// Once ready, add five demo users (ada, grace, alan, katherine, linus @example.com) with
    /// badges and avatars; kept if already there
    #[arg(long)]
    seed_demo: bool,
}

fn prefix(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 40
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be 1 to 40 lowercase letters, digits or dashes".to_owned())
    }
}

/// Runs the command with these arguments until Ctrl-C or SIGTERM; the error says why not.
pub async fn main(args: Args) -> ExitCode {
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let state_dir = args.state_dir.clone().unwrap_or_else(roster_home);
    let started = Instant::now();
    // Listening from the start: a Ctrl-C while the stack starts or seeds its demo users is held
    // until it is up and then stops it cleanly, instead of killing the process half-way (with
    // the default action) and leaving moto and local.json behind.
    let mut stop = StopSignals::listen()?;
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    eprintln!("Starting Roster locally…");
    std::fs::create_dir_all(&state_dir)?;
    let log = state_dir.join("moto.log");
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
        state_dir: state_dir.clone(),
    };
    // Whatever happens from here on, dropping `endpoint` (inside the stack) stops moto.
    let stack = RunningStack::start(options, endpoint, &Stderr).await?;
    print_ready(stack.facts(), &state_dir, started.elapsed().as_secs_f64());
    if args.seed_demo {
        seed_demo(stack.facts()).await;
    }
    stop.received().await;
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
    use crate::demo::{self, DEMO_PASSWORD};

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

/// Ctrl-C, SIGTERM and SIGHUP, listened for from the moment this is made.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};

        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Returns once one of them arrived (at once if one already did).
    async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

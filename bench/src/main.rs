//! `roster-bench`: the benchmarks criterion does not run, and the load run. See
//! BENCHMARKS.md and `roster-bench --help`.

mod cold_start;
mod cpu_share;
mod events;
mod http;
mod load;
mod propagation;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use roster_infra::resources::LAMBDA_BINARIES;

/// Roster's benchmarks that are not criterion's, each side by side with the Node.js reference
/// in bench/node (`npm ci --prefix bench/node` first), and the load run.
#[derive(Debug, Parser)]
#[command(name = "roster-bench", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Each Lambda zip in --lambda-dir (built by `cargo package-lambdas --arch x86_64
    /// --lambda-dir target/lambda-x86_64`) and the Node.js reference under a local runtime-API
    /// stub: median time from exec to the first invocation's answer over --runs runs, and peak
    /// RSS after --extra more invocations.
    ColdStart {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long, default_value_t = 200)]
        extra: u32,
        /// [default: target/lambda-x86_64]
        #[arg(long)]
        lambda_dir: Option<PathBuf>,
    },
    /// The Auth API's verify route over loopback, Roster (release build, one process) next to
    /// the Node.js reference (one process per core), both checking an API key and verifying
    /// the same pool of distinct tokens; fixed connections for N seconds each.
    Http {
        /// Seconds per server per round.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Run this under `taskset -c 1`: each server on core 0 alone, one Node process.
        #[arg(long)]
        pinned: bool,
        /// Rounds of Roster and Node.js side by side (the order alternating).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// The event path with --latency-ms added to every AWS call, each scenario --runs times,
    /// the path as it was and as it is alternating: a stream batch of 100 records through the
    /// projector (records/s per shard: one PutEvents per record against the events of
    /// consecutive records together, to a local endpoint answering like EventBridge), and SQS
    /// batches of 10 through a subscriber (messages/s per instance: one message at a time
    /// against concurrently across users).
    Events {
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// End-to-end propagation on a whole local stack with --latency-ms added to every AWS
    /// call, alternating with none: registration until the profile is readable, activation
    /// until the VERIFIED badge, suspension until the sign-in is refused; p50 and p99 per run
    /// of --users users, next to each path's floor (its hops times the latency).
    Propagation {
        #[arg(long, default_value_t = 15)]
        latency_ms: u64,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..))]
        users: u64,
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
    },
    /// Each Lambda zip in --lambda-dir and the Node.js reference under the runtime-API stub,
    /// init unconstrained, then each invocation at a memory size's CPU share (a cgroup v1 CFS
    /// quota of MB/1769 of one CPU, and none for reference): the first invocation and --warm
    /// more, --runs times (run as root).
    CpuShare(cpu_share::Options),
    /// The Auth API alone on a loopback port (the http benchmark's server process).
    #[command(hide = true)]
    ServeAuth,
    /// The `roster-local` command (`cargo stack`), for the load run's child process.
    #[command(hide = true)]
    ServeStack(roster_local::cli::Args),
    /// A load run against a local stack of its own (on free ports; a running one is left
    /// alone): signs up a pool of users, each followed by a refused duplicate registration,
    /// and drives a mix of routes from concurrent workers; prints each route's latency, every
    /// unexpected answer and the stack process's memory, and fails on any unexpected answer,
    /// on a registered user whose profile never appears, or on memory that keeps growing.
    Load {
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        seconds: u64,
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: u64,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        users: u64,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The http benchmark's server, pinned to one core, runs one thread as Node.js does (a
    // multi-threaded runtime there adds a thread that only competes for the core);
    // ROSTER_BENCH_RUNTIME=multi measures that anyway.
    let one_thread = matches!(args.command, Command::ServeAuth)
        && std::thread::available_parallelism().is_ok_and(|cores| cores.get() == 1)
        && std::env::var("ROSTER_BENCH_RUNTIME").as_deref() != Ok("multi");
    let runtime = if one_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("roster-bench: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

async fn run(args: Args) -> Result<()> {
    match args.command {
        Command::ColdStart {
            runs,
            extra,
            lambda_dir,
        } => {
            let lambda_dir = lambda_dir.unwrap_or_else(|| workspace().join("target/lambda-x86_64"));
            cold_starts(runs, extra, &lambda_dir).await
        }
        Command::Events { latency_ms, runs } => events::compare(latency_ms, runs).await,
        Command::CpuShare(options) => cpu_share::run(options).await,
        Command::Propagation {
            latency_ms,
            users,
            runs,
        } => propagation::compare(latency_ms, users as usize, runs as usize).await,
        Command::ServeAuth => http::serve_auth().await,
        Command::ServeStack(args) => {
            roster_platform::telemetry::init(roster_platform::telemetry::LogFormat::from_env());
            match roster_local::cli::main(args).await {
                ExitCode::SUCCESS => Ok(()),
                _ => bail!("the stack stopped with an error"),
            }
        }
        Command::Http {
            seconds,
            connections,
            pinned,
            rounds,
        } => http::compare(seconds, connections, pinned, rounds).await,
        Command::Load {
            seconds,
            concurrency,
            users,
        } => load_run(seconds, concurrency as usize, users as usize).await,
    }
}

async fn load_run(seconds: u64, concurrency: usize, users: usize) -> Result<()> {
    let options = load::LoadOptions {
        seconds,
        concurrency,
        users,
    };
    let state_dir = std::env::temp_dir().join(format!("roster-load-{}", std::process::id()));
    let report = load::run(&options, state_dir.clone()).await?;
    print!("{}", report.text);
    let _ = std::fs::remove_dir_all(&state_dir);
    if !report.passed {
        bail!("the load run failed");
    }
    Ok(())
}

async fn cold_starts(runs: usize, extra: u32, lambda_dir: &Path) -> Result<()> {
    let unpack = workspace().join("target/bench/bootstraps");
    let mut rows = Vec::new();
    for function in LAMBDA_BINARIES {
        let program = cold_start::unpacked(lambda_dir, function, &unpack)?;
        let size = std::fs::metadata(lambda_dir.join(function).join("bootstrap.zip"))?.len();
        let mut starts = Vec::new();
        for run in 0..runs {
            let extra = if run == 0 { extra } else { 0 };
            starts.push(
                cold_start::start_once(function, &program, &[], extra)
                    .await
                    .with_context(|| format!("{function}, run {run}"))?,
            );
        }
        rows.push((
            function.to_owned(),
            cold_start::summary(&starts),
            Some(size),
        ));
        eprintln!("{function}: done");
    }
    let node = workspace().join("bench/node");
    if !node.join("node_modules").exists() {
        bail!("bench/node has no node_modules: run `npm ci --prefix bench/node` first");
    }
    let bootstrap = node.join("bootstrap.mjs");
    let mut starts = Vec::new();
    for run in 0..runs {
        let extra = if run == 0 { extra } else { 0 };
        starts.push(
            cold_start::start_once(
                "node",
                Path::new("node"),
                &[bootstrap.to_str().context("a UTF-8 path")?],
                extra,
            )
            .await
            .with_context(|| format!("node, run {run}"))?,
        );
    }
    rows.push((
        "Node.js 20 reference (SDK v3 clients + aws-jwt-verify)".to_owned(),
        cold_start::summary(&starts),
        None,
    ));
    println!(
        "| Function | Cold start to first answer (median of {runs}) | Peak RSS after {} invocations | AWS calls before the first answer | Zip |",
        extra + 1
    );
    println!("|---|---|---|---|---|");
    for (name, (median, peak, calls), size) in rows {
        println!(
            "| `{name}` | {:.1} ms | {:.1} MiB | {calls} | {} |",
            median.as_secs_f64() * 1000.0,
            peak as f64 / 1024.0,
            size.map_or("—".to_owned(), |size| format!(
                "{:.2} MB",
                size as f64 / 1e6
            )),
        );
    }
    Ok(())
}

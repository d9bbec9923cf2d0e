//! `roster-bench`: the benchmarks criterion does not run. See BENCHMARKS.md.
//!
//!   roster-bench cold-start [--runs N] [--extra N] [--lambda-dir DIR]
//!   roster-bench http [--seconds N] [--connections N] [--pinned]

mod cold_start;
mod http;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use roster_local::resources::LAMBDA_BINARIES;

const USAGE: &str = "\
Usage: roster-bench cold-start [--runs N] [--extra N] [--lambda-dir DIR]
       roster-bench http [--seconds N] [--connections N] [--pinned]

cold-start: each Lambda zip in DIR (default target/lambda-x86_64, built by
`cargo package-lambdas --arch x86_64 --lambda-dir target/lambda-x86_64`) and the Node.js
reference (bench/node, `npm ci` first) under a local runtime-API stub: median time from exec
to the first invocation's answer over N runs (default 20), and peak RSS after N more
invocations (--extra, default 200).

http: the Auth API's verify route over loopback, Roster (release build, one process) next to
the Node.js reference (one process per core), both checking an API key and verifying the same
pool of distinct tokens; fixed connections (default 32) for N seconds (default 20) each.
--pinned (run this under `taskset -c 1`): each server on core 0 alone, one Node process.
";

fn number(flag: &str, value: Option<String>) -> Result<u64> {
    value
        .with_context(|| format!("{flag} needs a value"))?
        .parse()
        .with_context(|| format!("{flag} takes a number"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
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

async fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("cold-start") => {
            let (mut runs, mut extra) = (20, 200);
            let mut lambda_dir = workspace().join("target/lambda-x86_64");
            while let Some(flag) = args.next() {
                match flag.as_str() {
                    "--runs" => runs = number(&flag, args.next())?,
                    "--extra" => extra = number(&flag, args.next())?,
                    "--lambda-dir" => {
                        lambda_dir =
                            PathBuf::from(args.next().context("--lambda-dir needs a value")?)
                    }
                    other => bail!("unknown option {other}\n{USAGE}"),
                }
            }
            cold_starts(runs as usize, extra as u32, &lambda_dir).await
        }
        Some("serve-auth") => http::serve_auth().await,
        Some("http") => {
            let (mut seconds, mut connections, mut pinned) = (20, 32, false);
            while let Some(flag) = args.next() {
                match flag.as_str() {
                    "--pinned" => pinned = true,
                    "--seconds" => seconds = number(&flag, args.next())?,
                    "--connections" => connections = number(&flag, args.next())?,
                    other => bail!("unknown option {other}\n{USAGE}"),
                }
            }
            http::compare(seconds, connections as usize, pinned).await
        }
        _ => {
            print!("{USAGE}");
            Ok(())
        }
    }
}

async fn cold_starts(runs: usize, extra: u32, lambda_dir: &std::path::Path) -> Result<()> {
    let unpack = workspace().join("target/bench/bootstraps");
    let mut rows = Vec::new();
    for function in LAMBDA_BINARIES {
        let program = cold_start::unpacked(lambda_dir, function, &unpack)?;
        let size = std::fs::metadata(lambda_dir.join(function).join("bootstrap.zip"))?.len();
        let mut starts = Vec::new();
        for run in 0..runs {
            let extra = if run == 0 { extra } else { 0 };
            starts.push(
                cold_start::start_once(&program, &[], cold_start::first_event(function), extra)
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
                std::path::Path::new("node"),
                &[bootstrap.to_str().context("a UTF-8 path")?],
                cold_start::first_event("node"),
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

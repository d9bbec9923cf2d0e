//! `roster-package`: every Lambda function as a zip, built with cargo-lambda.
//!
//! Installs the pinned cargo-lambda (with zig, from PyPI) into `.roster/tools` on first use,
//! builds each binary in release mode for Amazon Linux 2023 and writes
//! `target/lambda/<binary>/bootstrap.zip`, the layout `sam deploy` takes. Prints each zip's
//! size.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use roster_local::endpoint::{Stderr, ensure_python_tools, roster_home};
use roster_local::resources::LAMBDA_BINARIES;

const USAGE: &str = "\
Usage: roster-package [--arch arm64|x86_64] [--lambda-dir DIR]

Builds every Lambda function (release profile) as DIR/<binary>/bootstrap.zip with
cargo-lambda. Default architecture arm64 (as the template deploys); it needs the Rust
standard library for aarch64-unknown-linux-gnu (rustup target add aarch64-unknown-linux-gnu).
Default DIR: target/lambda.
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-package: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut arch = "arm64".to_owned();
    let mut lambda_dir = PathBuf::from("target/lambda");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--arch" => arch = args.next().context("--arch needs a value")?,
            "--lambda-dir" => {
                lambda_dir = PathBuf::from(args.next().context("--lambda-dir needs a value")?);
            }
            other => bail!("unknown option {other} (see --help)"),
        }
    }
    let arch_flag = match arch.as_str() {
        "arm64" => "--arm64",
        "x86_64" => "--x86-64",
        other => bail!("--arch must be arm64 or x86_64, not {other}"),
    };
    let tools = ensure_python_tools(&roster_home(), &Stderr)?;
    let path = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let mut command = Command::new("cargo");
    command
        .args([
            "lambda",
            "build",
            "--release",
            arch_flag,
            "--output-format",
            "zip",
        ])
        .arg("--lambda-dir")
        .arg(&lambda_dir)
        .env("PATH", path);
    for binary in LAMBDA_BINARIES {
        command.args(["--bin", binary]);
    }
    eprintln!(
        "building {} functions for {arch} with cargo-lambda…",
        LAMBDA_BINARIES.len()
    );
    let status = command.status().context("running cargo lambda")?;
    if !status.success() {
        bail!("cargo lambda build failed ({status})");
    }
    println!("{:<18} {:>10}", "function", "zip bytes");
    for binary in LAMBDA_BINARIES {
        let zip = lambda_dir.join(binary).join("bootstrap.zip");
        let bytes = std::fs::metadata(&zip)
            .with_context(|| format!("{} was not written", zip.display()))?
            .len();
        println!("{binary:<18} {bytes:>10}");
    }
    Ok(())
}

//! `roster-package`: every Lambda function as a zip, built with cargo-lambda.
//!
//! Installs the pinned cargo-lambda (with zig, from PyPI) into `.roster/tools` on first use,
//! builds each binary in release mode for Amazon Linux 2023 and writes
//! `target/lambda/<binary>/bootstrap.zip`, the layout `sam deploy` takes. Prints each zip's
//! size.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use roster_infra::resources::LAMBDA_BINARIES;
use roster_infra::tools::{Stderr, ensure_python_tools, roster_home};

/// Builds every Lambda function (release profile) as DIR/<binary>/bootstrap.zip with
/// cargo-lambda. arm64 (as the template deploys) needs the Rust standard library for
/// aarch64-unknown-linux-gnu (`rustup target add aarch64-unknown-linux-gnu`).
#[derive(Debug, Parser)]
#[command(name = "roster-package", version)]
struct Args {
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    arch: Arch,
    #[arg(long, value_name = "DIR", default_value = "target/lambda")]
    lambda_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Arch {
    Arm64,
    #[value(name = "x86_64")]
    X86_64,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-package: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(Args { arch, lambda_dir }: Args) -> Result<()> {
    let (arch, arch_flag) = match arch {
        Arch::Arm64 => ("arm64", "--arm64"),
        Arch::X86_64 => ("x86_64", "--x86-64"),
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

//! `roster-package`: every Lambda function as a zip, built with cargo-lambda.
//!
//! Installs the pinned cargo-lambda (with zig, from PyPI) into `.roster/tools` on first use,
//! builds each binary in release mode for Amazon Linux 2023 and writes
//! `target/lambda/<binary>/bootstrap.zip`, the layout `sam deploy` takes, then compresses each
//! zip again with Zopfli (the same deflate format, about 3% smaller: what kept the APIs under
//! 5 MB). Prints each zip's size.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
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
    let (arch, arch_flag, triple) = match arch {
        Arch::Arm64 => ("arm64", "--arm64", "aarch64-unknown-linux-gnu"),
        Arch::X86_64 => ("x86_64", "--x86-64", "x86_64-unknown-linux-gnu"),
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
    let built = target_dir().join(triple).join("release");
    eprintln!("recompressing each zip with Zopfli…");
    println!("{:<18} {:>10} {:>10}", "function", "zip bytes", "before");
    for binary in LAMBDA_BINARIES {
        let zip = lambda_dir.join(binary).join("bootstrap.zip");
        let before = std::fs::metadata(&zip)
            .with_context(|| format!("{} was not written", zip.display()))?
            .len();
        recompress(&built.join(binary), &zip)
            .with_context(|| format!("recompressing {}", zip.display()))?;
        let bytes = std::fs::metadata(&zip)?.len();
        println!("{binary:<18} {bytes:>10} {before:>10}");
    }
    Ok(())
}

/// Where cargo (and so cargo-lambda) writes the builds.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Writes `zip` anew: one entry, `bootstrap`, executable, holding `binary` (the file
/// cargo-lambda zipped), deflated by Zopfli. Written beside it, then renamed over it.
fn recompress(binary: &Path, zip: &Path) -> Result<()> {
    use zip::write::SimpleFileOptions;

    let partial = zip.with_extension("zip.partial");
    let mut writer = zip::ZipWriter::new(BufWriter::new(File::create(&partial)?));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Above 9 is Zopfli, with (level - 9) iterations: one is most of the gain.
        .compression_level(Some(10))
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    std::io::copy(
        &mut File::open(binary).with_context(|| format!("reading {}", binary.display()))?,
        &mut writer,
    )?;
    writer.finish()?;
    std::fs::rename(&partial, zip)?;
    Ok(())
}

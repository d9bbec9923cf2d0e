//! The project's pinned Python tools, each in a virtualenv of its own under `.roster/`
//! (installed on first use, safe from several processes at once): cfn-lint, the SAM CLI and
//! translator, cargo-lambda, schemathesis, checkov, and the local AWS endpoint's moto.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The repository root, where `.roster/` lives unless `ROSTER_HOME` says otherwise.
pub fn roster_home() -> PathBuf {
    match std::env::var_os("ROSTER_HOME") {
        Some(home) => PathBuf::from(home),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the crate has a parent folder")
            .join(".roster"),
    }
}

/// Progress messages for people watching a start.
pub trait Progress: Send + Sync {
    fn step(&self, message: &str);
}

/// Progress printed on standard error.
pub struct Stderr;

impl Progress for Stderr {
    fn step(&self, message: &str) {
        eprintln!("  {message}");
    }
}

/// Progress nobody sees (tests).
pub struct Quiet;

impl Progress for Quiet {
    fn step(&self, _message: &str) {}
}

/// The pinned Python tools: the template checks, the Lambda packaging, the API fuzzer.
pub const PYTHON_TOOLS: [&str; 4] = [
    "cfn-lint==1.58.0",
    "aws-sam-cli==1.170.0",
    "cargo-lambda==1.9.2",
    "schemathesis==4.32.5",
];

/// Makes sure `.roster/tools` holds [`PYTHON_TOOLS`]; returns its `bin` directory.
pub fn ensure_python_tools(home: &Path, progress: &dyn Progress) -> Result<PathBuf> {
    ensure_python_packages(
        home,
        &home.join("tools"),
        &PYTHON_TOOLS,
        "cfn-lint, the SAM CLI, cargo-lambda and schemathesis",
        progress,
    )
}

/// checkov, pinned: scans the transformed template (`infra/checkov-baseline.yaml`). A
/// virtualenv of its own, `.roster/checkov`: its dependencies' pins differ from the SAM CLI's.
pub const CHECKOV: &str = "checkov==3.3.30";

/// Makes sure `.roster/checkov` holds [`CHECKOV`]; returns its `bin` directory.
pub fn ensure_checkov(home: &Path, progress: &dyn Progress) -> Result<PathBuf> {
    ensure_python_packages(home, &home.join("checkov"), &[CHECKOV], "checkov", progress)
}

/// Makes sure the virtualenv `venv` holds exactly these pinned `packages`; returns its `bin`
/// directory. Safe to call from several processes at once: the first installs, the others
/// wait on a file lock.
pub fn ensure_python_packages(
    home: &Path,
    venv: &Path,
    packages: &[&str],
    what: &str,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let bin = venv.join("bin");
    let python = bin.join("python");
    let marker = venv.join(format!(
        ".installed-{}",
        packages.join("+").replace(['[', ']', '='], "_")
    ));
    if marker.exists() {
        return Ok(bin);
    }
    fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let lock = File::create(home.join("venv.lock"))?;
    lock.lock()
        .context("locking the virtualenv for installation")?;
    if marker.exists() {
        return Ok(bin);
    }
    let system_python = std::env::var("ROSTER_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    progress.step(&format!(
        "installing {what} into {} (first run only, about 30 s)",
        venv.display()
    ));
    if !python.exists() {
        run(
            Command::new(&system_python).args(["-m", "venv"]).arg(venv),
            "creating the virtualenv (is python3 with its venv module installed?)",
        )?;
    }
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
            ])
            .args(packages),
        &format!("installing {what} with pip"),
    )?;
    File::create(&marker)?;
    progress.step(&format!("{what} installed"));
    Ok(bin)
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    // pip's chatter goes to stderr so that it shows as progress but never mixes into output
    // that scripts read.
    let status = command
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("{what}: could not run {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

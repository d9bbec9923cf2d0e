//! The supply-chain check: cargo-deny, pinned and installed into `.roster` on first use, and
//! the RustSec advisory database as the committed snapshot in `infra/advisory-db/`, so the
//! check needs no network beyond crates.io and gives the same answer on every machine.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::tools::Progress;

/// The cargo-deny the tests run.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// The committed snapshot of <https://github.com/rustsec/advisory-db>: its commit, and the
/// date of that commit.
pub const ADVISORY_DB_COMMIT: &str = "bf5c0d245a92671908518d7e765914d437954ed6";
pub const ADVISORY_DB_DATE: &str = "2026-08-21T08:28:40+02:00";

/// Where cargo-deny (at [`CARGO_DENY_VERSION`]) looks for the database of `deny.toml`'s
/// `db-urls`, under its `db-path`: the directory name is its hash of the URL.
const ADVISORY_DB_DIR: &str = "advisory-dbs/advisory-db-3157b0e258782691";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("infra/ has a parent")
}

/// Makes sure `home` holds cargo-deny at [`CARGO_DENY_VERSION`]; returns the binary. Safe to
/// call from several processes at once: the first installs, the others wait on a file lock.
pub fn ensure_cargo_deny(home: &Path, progress: &dyn Progress) -> Result<PathBuf> {
    let root = home.join(format!("cargo-deny-{CARGO_DENY_VERSION}"));
    let binary = root.join("bin").join("cargo-deny");
    if binary.exists() {
        return Ok(binary);
    }
    fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let lock = File::create(home.join("cargo-deny.lock"))?;
    lock.lock().context("locking for the cargo-deny install")?;
    if binary.exists() {
        return Ok(binary);
    }
    progress.step(&format!(
        "building cargo-deny {CARGO_DENY_VERSION} into {} (first run only, about 3 min)",
        root.display()
    ));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // cargo's own output (and its advice to put the binary on the PATH, which is not wanted
    // here) is shown only if the build fails.
    let output = Command::new(cargo)
        .args([
            "install",
            "cargo-deny",
            "--locked",
            "--no-default-features",
            "--quiet",
        ])
        .args(["--version", &format!("={CARGO_DENY_VERSION}")])
        .arg("--root")
        .arg(&root)
        .arg("--target-dir")
        .arg(home.join("cargo-deny-build"))
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .context("running cargo install")?;
    if !output.status.success() {
        bail!(
            "cargo install cargo-deny failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    progress.step("cargo-deny installed");
    // The build directory is only needed to build it.
    let _ = fs::remove_dir_all(home.join("cargo-deny-build"));
    Ok(binary)
}

/// Makes sure `deny.toml`'s `db-path` holds the committed advisory snapshot, as the git
/// repository cargo-deny expects (it reads the date of `HEAD`). A database that is already
/// there, such as a live one fetched by `cargo deny fetch`, is kept.
pub fn ensure_advisory_db(home: &Path) -> Result<PathBuf> {
    let db = home.join(ADVISORY_DB_DIR);
    if db.join(".git").exists() {
        return Ok(db);
    }
    let parent = db.parent().expect("a parent");
    fs::create_dir_all(parent)?;
    let lock = File::create(parent.join("snapshot.lock"))?;
    lock.lock().context("locking the advisory database")?;
    if db.join(".git").exists() {
        return Ok(db);
    }
    let unpacking = parent.join("unpacking");
    let _ = fs::remove_dir_all(&unpacking);
    fs::create_dir_all(&unpacking)?;
    let snapshot = workspace().join(format!(
        "infra/advisory-db/rustsec-advisory-db-{}.tar.gz",
        &ADVISORY_DB_COMMIT[..7]
    ));
    run_step(
        Command::new("tar")
            .arg("-xzf")
            .arg(&snapshot)
            .arg("--strip-components=1")
            .arg("-C")
            .arg(&unpacking),
        "unpacking the advisory snapshot",
    )?;
    let git = |args: &[&str]| {
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&unpacking)
            .args(["-c", "user.name=roster", "-c", "user.email=roster@invalid"])
            .args(args)
            .env("GIT_AUTHOR_DATE", ADVISORY_DB_DATE)
            .env("GIT_COMMITTER_DATE", ADVISORY_DB_DATE);
        command
    };
    run_step(&mut git(&["init", "--quiet"]), "git init")?;
    run_step(&mut git(&["add", "--all"]), "git add")?;
    run_step(
        &mut git(&[
            "commit",
            "--quiet",
            "--no-gpg-sign",
            "-m",
            &format!("rustsec/advisory-db at {ADVISORY_DB_COMMIT}"),
        ]),
        "git commit",
    )?;
    fs::rename(&unpacking, &db)?;
    Ok(db)
}

fn run_step(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{what}: could not run {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// The workspace's `cargo metadata` (every target's crates, downloaded if need be).
pub fn workspace_metadata() -> Result<Vec<u8>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(workspace())
        .stdin(Stdio::null())
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// `cargo deny --offline check <checks>` on the workspace, or on the crate graph of a
/// `cargo metadata` document given instead; its output, and whether it passed.
pub fn cargo_deny(
    home: &Path,
    progress: &dyn Progress,
    metadata: Option<&Path>,
    checks: &[&str],
) -> Result<(bool, String)> {
    let binary = ensure_cargo_deny(home, progress)?;
    let db = ensure_advisory_db(home)?;
    // `deny.toml` as it is, with its `db-path` pointing at `home` wherever that is.
    let config = fs::read_to_string(workspace().join("deny.toml"))?;
    let db_path = db.parent().expect("a parent").display().to_string();
    let config: String = config
        .lines()
        .map(|line| {
            if line.starts_with("db-path") {
                format!("db-path = {db_path:?}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    // Written whole under a name of its own, then renamed: concurrent checks never read
    // a half-written file.
    let config_path = home.join("deny.toml");
    let writing = home.join(format!("deny.toml.{}", uuid::Uuid::new_v4().simple()));
    fs::write(&writing, config)?;
    fs::rename(&writing, &config_path)?;
    // cargo-deny's `--offline` keeps it off the network (the advisory database is the
    // snapshot), but also stops `cargo metadata` from downloading the manifests of crates
    // never built here (Windows-only ones, say): so the graph is given to it, made with the
    // network allowed.
    let made = match metadata {
        Some(_) => None,
        None => {
            let made = home.join(format!("metadata.{}.json", uuid::Uuid::new_v4().simple()));
            fs::write(&made, workspace_metadata()?)?;
            Some(made)
        }
    };
    let metadata = metadata.or(made.as_deref()).expect("a graph");
    let mut command = Command::new(binary);
    command
        .args(["--color", "never", "--offline", "--config"])
        .arg(&config_path)
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .arg("--metadata-path")
        .arg(metadata);
    let output = command
        .arg("check")
        .args(checks)
        .stdin(Stdio::null())
        .output()
        .context("running cargo-deny")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if let Some(made) = made {
        let _ = fs::remove_file(made);
    }
    Ok((output.status.success(), text))
}

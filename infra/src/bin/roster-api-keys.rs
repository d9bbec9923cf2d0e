//! `roster-api-keys`: create, list, rotate and revoke server-to-server API keys.
//!
//! Works on the running local stack (`--local`, the default) or on AWS (`--secret-id`, with
//! the standard AWS credential chain). A new key is printed once and never stored.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use roster_local::endpoint;
use roster_local::stack::LocalFacts;
use roster_platform::api_keys::{ApiKeyRecord, IssuedKey, KeyAdmin};

const USAGE: &str = "\
Usage: roster-api-keys [TARGET] [--json] <COMMAND>

Commands:
  create --caller <NAME> --scopes <S1,S2,...> [--expires-at <RFC3339>]
  list
  rotate --caller <NAME> [--grace-hours <N>]   new key; older keys expire after N hours (24)
  revoke <KEY_ID>

Target:
  --local [<STATE_DIR>]   the running local stack (default; reads .roster/local.json)
  --secret-id <ID>        a Secrets Manager secret on AWS (standard AWS credentials)

Scopes in use: auth (Auth API), users:read and users:write (User API).
";

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster-api-keys: {error:#}");
            ExitCode::FAILURE
        }
    }
}

enum Target {
    Local(PathBuf),
    Aws(String),
}

async fn run(args: Vec<String>) -> Result<()> {
    let mut target = Target::Local(endpoint::roster_home());
    let mut json = false;
    let mut rest = Vec::new();
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--json" => json = true,
            "--local" => {
                if let Some(dir) = iter.next_if(|next| !next.starts_with('-') && !is_command(next))
                {
                    target = Target::Local(PathBuf::from(dir));
                }
            }
            "--secret-id" => {
                target = Target::Aws(iter.next().context("--secret-id needs a value")?);
            }
            _ => rest.push(arg),
        }
    }
    let admin = admin(target).await?;
    let Some((command, options)) = rest.split_first() else {
        bail!("no command given (see --help)");
    };
    let option = |name: &str| -> Option<&str> {
        options
            .iter()
            .position(|arg| arg == name)
            .and_then(|index| options.get(index + 1))
            .map(String::as_str)
    };
    match command.as_str() {
        "list" => print_records(&admin.list().await?, json),
        "create" => {
            let caller = option("--caller").context("create needs --caller")?;
            let scopes: Vec<&str> = option("--scopes")
                .context("create needs --scopes")?
                .split(',')
                .map(str::trim)
                .filter(|scope| !scope.is_empty())
                .collect();
            let expires_at = option("--expires-at")
                .map(|at| {
                    chrono::DateTime::parse_from_rfc3339(at)
                        .map(|at| at.with_timezone(&chrono::Utc))
                        .with_context(|| format!("--expires-at {at:?} is not RFC 3339"))
                })
                .transpose()?;
            print_issued(&admin.create(caller, &scopes, expires_at).await?, json);
        }
        "rotate" => {
            let caller = option("--caller").context("rotate needs --caller")?;
            let hours: i64 = option("--grace-hours")
                .map(str::parse)
                .transpose()
                .context("--grace-hours must be a whole number")?
                .unwrap_or(24);
            let issued = admin.rotate(caller, chrono::Duration::hours(hours)).await?;
            print_issued(&issued, json);
        }
        "revoke" => {
            let id = options.first().context("revoke needs a key id")?;
            let removed = admin.revoke(id).await?;
            if json {
                println!("{}", serde_json::to_string(&removed)?);
            } else {
                println!("revoked {} ({})", removed.id, removed.caller);
            }
        }
        other => bail!("unknown command {other} (see --help)"),
    }
    Ok(())
}

fn is_command(word: &str) -> bool {
    matches!(word, "create" | "list" | "rotate" | "revoke")
}

async fn admin(target: Target) -> Result<KeyAdmin> {
    Ok(match target {
        Target::Local(state_dir) => {
            let facts = LocalFacts::read(&state_dir).with_context(|| {
                format!(
                    "no running local stack ({} has no local.json); start one with `cargo stack`",
                    state_dir.display()
                )
            })?;
            let sdk = roster_platform::aws::local(&facts.aws_endpoint, &facts.region).await;
            KeyAdmin::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                facts.api_key_secret,
            )
        }
        Target::Aws(secret_id) => {
            let sdk = roster_platform::aws::from_env().await;
            KeyAdmin::new(aws_sdk_secretsmanager::Client::new(&sdk), secret_id)
        }
    })
}

fn print_records(records: &[ApiKeyRecord], json: bool) {
    if json {
        println!("{}", serde_json::to_string(records).unwrap_or_default());
        return;
    }
    println!(
        "{:<14} {:<20} {:<30} {:<22} EXPIRES",
        "ID", "CALLER", "SCOPES", "CREATED"
    );
    for record in records {
        println!(
            "{:<14} {:<20} {:<30} {:<22} {}",
            record.id,
            record.caller,
            record.scopes.join(","),
            record.created_at,
            record.expires_at.as_deref().unwrap_or("never"),
        );
    }
}

fn print_issued(issued: &IssuedKey, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "apiKey": issued.plaintext, "record": issued.record })
        );
    } else {
        println!("{}", issued.plaintext);
        eprintln!(
            "key {} for {} ({}): shown once, store it now; only its hash is kept",
            issued.record.id,
            issued.record.caller,
            issued.record.scopes.join(",")
        );
    }
}

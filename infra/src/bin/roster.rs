//! `roster`: operating Roster, on the running local stack or on a stage deployed to AWS.
//!
//! API keys, users, a live tail of the event bus, and the subscribers' dead-letter queues.
//! Human output by default; `--json` for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use roster_local::dead_letters;
use roster_local::endpoint;
use roster_local::ops::{self, Ops, Tail, Target};
use roster_platform::api_keys::{ApiKeyRecord, Bindings, IssuedKey, KeyAdmin};
use roster_user_api::model::User;
use serde_json::Value;

const USAGE: &str = "\
Usage: roster [TARGET] [--json] <COMMAND>

Commands:
  api-keys create --caller <NAME> --scopes <S1,S2,...> [--clients <F1,F2,...>]
                  [--source-systems <S1,S2,...>] [--expires-at <RFC3339>]
                                 --clients: the frontends (or app client ids) the key may
                                 sign in through and verify tokens of; --source-systems:
                                 the sourceSystem values it may register users with.
                                 Without them the key may use any (a warning says so)
  api-keys list                  keys without bindings are listed as unrestricted
  api-keys rotate --caller <NAME> [--grace-hours <N>]   new key with the same scopes and
                                                        bindings; the caller's older keys
                                                        expire after N hours (default 24)
  api-keys revoke <KEY_ID>
  users get <ID>
  users find --email <EMAIL> | --name <NAME> | --handle <HANDLE>
  users delete <ID> --yes        profile and uploads; the sign-in goes too (by event)
  events tail                    every Roster event on the bus, live, until Ctrl-C
  dlq list [NAME]                events a subscriber gave up on, and stream records a
                                 projector gave up on (NAME: a subscriber or projector)
  dlq redrive [NAME]             send them back to their subscriber; replay the stream
                                 records through their projector
  status                         each stream's and queue's lag, each dead-letter queue's
                                 depth; exits 1 when something is stalled

Target (the local stack unless --stage is given):
  --local [<STATE_DIR>]   the running local stack (reads STATE_DIR/local.json; default .roster)
  --stage <NAME>          the stage deployed to AWS: resources named roster-NAME-*
  --profile <NAME>        AWS profile (default: the standard credential chain)
  --region <REGION>       AWS region (default: the profile's)
  --bucket <NAME>         the stage's assets bucket, for the users commands on AWS

Scopes: auth (Auth API), users:read and users:write (User API).
Subscribers: auth-subscriber, user-subscriber, badge-rules.
Projectors: auth-projector, users-projector.
";

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster: {error:#}");
            ExitCode::FAILURE
        }
    }
}

const GROUPS: [&str; 5] = ["api-keys", "users", "events", "dlq", "status"];

struct Args {
    target: Target,
    json: bool,
    /// The command group, its command, and what follows.
    words: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Option<Args>> {
    let mut local = None;
    let mut stage = None;
    let (mut profile, mut region, mut bucket) = (None, None, None);
    let mut json = false;
    let mut words = Vec::new();
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        // Target options come before the command; after it, everything is the command's.
        if !words.is_empty() {
            if arg == "--json" {
                json = true;
            } else {
                words.push(arg);
            }
            continue;
        }
        let mut value = |flag: &str| iter.next().with_context(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--json" => json = true,
            "--local" => {
                let dir =
                    iter.next_if(|next| !next.starts_with('-') && !GROUPS.contains(&next.as_str()));
                local = Some(dir.map_or_else(endpoint::roster_home, PathBuf::from));
            }
            "--stage" => stage = Some(value("--stage")?),
            "--profile" => profile = Some(value("--profile")?),
            "--region" => region = Some(value("--region")?),
            "--bucket" => bucket = Some(value("--bucket")?),
            group if GROUPS.contains(&group) => words.push(arg),
            other => bail!("unknown option or command {other:?} (see --help)"),
        }
    }
    let target = match (local, stage) {
        (Some(_), Some(_)) => bail!("--local and --stage name two targets; choose one"),
        (local, None) => {
            if profile.is_some() || region.is_some() || bucket.is_some() {
                bail!("--profile, --region and --bucket are for a stage on AWS: add --stage");
            }
            Target::Local(local.unwrap_or_else(endpoint::roster_home))
        }
        (None, Some(stage)) => Target::Aws {
            stage,
            profile,
            region,
            bucket,
        },
    };
    if words.is_empty() {
        bail!("no command given (see --help)");
    }
    Ok(Some(Args {
        target,
        json,
        words,
    }))
}

async fn run(args: Vec<String>) -> Result<()> {
    let Some(Args {
        target,
        json,
        words,
    }) = parse(args)?
    else {
        return Ok(());
    };
    let (group, rest) = words.split_first().expect("a command group");
    if group == "status" {
        if let Some(extra) = rest.first() {
            bail!("status takes no argument, not {extra:?} (see --help)");
        }
        return status(target, json).await;
    }
    let (command, options) = rest
        .split_first()
        .with_context(|| format!("{group} needs a command (see --help)"))?;
    let known = match group.as_str() {
        "api-keys" => ["create", "list", "rotate", "revoke"].contains(&command.as_str()),
        "users" => ["get", "find", "delete"].contains(&command.as_str()),
        "events" => command == "tail",
        _ => ["list", "redrive"].contains(&command.as_str()),
    };
    if !known {
        bail!("unknown command {group} {command} (see --help)");
    }
    let ops = target.connect().await?;
    match group.as_str() {
        "api-keys" => api_keys(&ops, command, options, json).await,
        "users" => users(&ops, command, options, json).await,
        "events" if command == "tail" => tail(&ops, json).await,
        "dlq" => dlq(&ops, command, options, json).await,
        _ => bail!("unknown command {group} {command} (see --help)"),
    }
}

/// The value after `name` in `options`.
fn option<'a>(options: &'a [String], name: &str) -> Option<&'a str> {
    options
        .iter()
        .position(|arg| arg == name)
        .and_then(|index| options.get(index + 1))
        .map(String::as_str)
}

async fn api_keys(ops: &Ops, command: &str, options: &[String], json: bool) -> Result<()> {
    let admin = KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&ops.sdk),
        ops.names.api_key_secret(),
    );
    match command {
        "list" => {
            let records = admin.list().await?;
            // Frontend names instead of client ids where the pool says which is which.
            let frontends = frontends_by_client(ops).await;
            print_records(&records, &frontends, json);
            warn_unrestricted(&records);
        }
        "create" => {
            let caller = option(options, "--caller").context("create needs --caller")?;
            let scopes = list(options, "--scopes")?.context("create needs --scopes")?;
            let expires_at = option(options, "--expires-at")
                .map(|at| {
                    chrono::DateTime::parse_from_rfc3339(at)
                        .map(|at| at.with_timezone(&chrono::Utc))
                        .with_context(|| format!("--expires-at {at:?} is not RFC 3339"))
                })
                .transpose()?;
            let bindings = Bindings {
                clients: match list(options, "--clients")? {
                    Some(asked) => Some(client_ids(ops, &asked).await?),
                    None => None,
                },
                source_systems: list(options, "--source-systems")?
                    .map(|systems| {
                        systems
                            .into_iter()
                            .map(|system| {
                                roster_auth_api::domain::SourceSystem::parse(Some(system))
                                    .map(|system| system.as_str().to_owned())
                                    .map_err(|error| anyhow::anyhow!("--source-systems: {error}"))
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                    .transpose()?,
            };
            let issued = admin
                .create_bound(caller, &scopes, bindings, expires_at)
                .await?;
            print_issued(&issued, json);
            warn_unrestricted(std::slice::from_ref(&issued.record));
        }
        "rotate" => {
            let caller = option(options, "--caller").context("rotate needs --caller")?;
            let hours: i64 = option(options, "--grace-hours")
                .map(str::parse)
                .transpose()
                .context("--grace-hours must be a whole number")?
                .unwrap_or(24);
            let issued = admin.rotate(caller, chrono::Duration::hours(hours)).await?;
            print_issued(&issued, json);
            warn_unrestricted(std::slice::from_ref(&issued.record));
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
        other => bail!("unknown command api-keys {other} (see --help)"),
    }
    Ok(())
}

/// The comma-separated values of option `name`, if given; given but empty is an error.
fn list<'a>(options: &'a [String], name: &str) -> Result<Option<Vec<&'a str>>> {
    let Some(value) = option(options, name).filter(|value| !value.starts_with("--")) else {
        if options.iter().any(|arg| arg == name) {
            bail!("{name} needs a value");
        }
        return Ok(None);
    };
    let values: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    if values.is_empty() {
        bail!("{name} needs at least one value");
    }
    Ok(Some(values))
}

/// The app client ids of `asked`: each a frontend of the target (`account-web`) or one of its
/// client ids. Anything else is refused, so a typo cannot make a key that works nowhere.
async fn client_ids(ops: &Ops, asked: &[&str]) -> Result<Vec<String>> {
    let clients = ops.app_clients().await?;
    asked
        .iter()
        .map(|asked| {
            clients
                .get(*asked)
                .or_else(|| clients.values().find(|id| id.as_str() == *asked))
                .cloned()
                .with_context(|| {
                    format!(
                        "--clients: {asked:?} is not an app client of this target (frontends: {})",
                        clients.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
        })
        .collect()
}

/// Frontend name by client id; empty if the pool cannot be read (ids are shown then).
async fn frontends_by_client(ops: &Ops) -> std::collections::BTreeMap<String, String> {
    match ops.app_clients().await {
        Ok(clients) => clients
            .into_iter()
            .map(|(frontend, id)| (id, frontend))
            .collect(),
        Err(error) => {
            eprintln!("roster: app clients unknown ({error:#}); showing client ids");
            Default::default()
        }
    }
}

/// What a binding allows, for people: `any` when the record has none.
fn allowed(values: Option<&[String]>, name: impl Fn(&str) -> String) -> String {
    match values {
        None => "any".to_owned(),
        Some([]) => "none".to_owned(),
        Some(values) => values
            .iter()
            .map(|value| name(value))
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn print_records(
    records: &[ApiKeyRecord],
    frontends: &std::collections::BTreeMap<String, String>,
    json: bool,
) {
    if json {
        // As stored: a record without `clients` or `sourceSystems` may use any.
        println!("{}", serde_json::to_string(records).unwrap_or_default());
        return;
    }
    println!(
        "{:<14} {:<28} {:<24} {:<28} {:<20} {:<22} EXPIRES",
        "ID", "CALLER", "SCOPES", "CLIENTS", "SOURCE SYSTEMS", "CREATED"
    );
    let frontend = |id: &str| frontends.get(id).cloned().unwrap_or_else(|| id.to_owned());
    for record in records {
        println!(
            "{:<14} {:<28} {:<24} {:<28} {:<20} {:<22} {}",
            record.id,
            record.caller,
            record.scopes.join(","),
            allowed(record.bindings.clients.as_deref(), frontend),
            allowed(record.bindings.source_systems.as_deref(), str::to_owned),
            record.created_at,
            record.expires_at.as_deref().unwrap_or("never"),
        );
    }
}

/// Says on stderr which keys with the `auth` scope may use any app client or source system:
/// keys issued before bindings existed, keys issued without `--clients` or
/// `--source-systems`, and the local stack's development key.
fn warn_unrestricted(records: &[ApiKeyRecord]) {
    for record in records {
        if !record.scopes.iter().any(|scope| scope == "auth") {
            continue;
        }
        let mut any = Vec::new();
        if record.bindings.clients.is_none() {
            any.push("app client");
        }
        if record.bindings.source_systems.is_none() {
            any.push("source system");
        }
        if !any.is_empty() {
            eprintln!(
                "warning: key {} ({}) is unrestricted: it may use any {}; issue a key with \
                 --clients and --source-systems and revoke this one",
                record.id,
                record.caller,
                any.join(" and any ")
            );
        }
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
        let bindings = &issued.record.bindings;
        eprintln!(
            "key {} for {} ({}; clients {}; source systems {}): shown once, store it now; \
             only its hash is kept",
            issued.record.id,
            issued.record.caller,
            issued.record.scopes.join(","),
            allowed(bindings.clients.as_deref(), str::to_owned),
            allowed(bindings.source_systems.as_deref(), str::to_owned),
        );
    }
}

async fn users(ops: &Ops, command: &str, options: &[String], json: bool) -> Result<()> {
    let (user, missing) = match command {
        "get" => {
            let id = options.first().context("users get needs a user id")?;
            (ops.user(id).await?, format!("no user {id}"))
        }
        "find" => {
            let [flag, value] = options else {
                bail!("users find needs one of --email, --name or --handle, with its value");
            };
            let lookup = ops::lookup(flag, value)?;
            (
                ops.find(&lookup).await?,
                format!("no user with {flag} {value}"),
            )
        }
        "delete" => {
            let id = options.first().context("users delete needs a user id")?;
            if !options.iter().any(|option| option == "--yes") {
                bail!("users delete removes the profile, its uploads and the sign-in: add --yes");
            }
            let deleted = ops.delete_user(id).await?;
            if let Some(user) = &deleted
                && !json
            {
                println!("deleted {} ({}, {})", user.id, user.name, user.email);
                return Ok(());
            }
            (deleted, format!("no user {id}"))
        }
        other => bail!("unknown command users {other} (see --help)"),
    };
    let Some(user) = user else {
        bail!("{missing}");
    };
    if json {
        println!("{}", serde_json::to_string(&user)?);
    } else {
        print_user(&user);
    }
    Ok(())
}

fn print_user(user: &User) {
    let settings = &user.profile.profile_data;
    let badges: Vec<&str> = user
        .profile
        .badges
        .iter()
        .map(|badge| badge.name.as_str())
        .collect();
    println!("id          {}", user.id);
    println!("name        {} ({})", user.name, user.handle);
    println!("email       {}", user.email);
    println!("status      {}   role {}", user.status, user.role);
    println!(
        "created     {}   last sign-in {}",
        user.created_at,
        user.last_login_at.as_deref().unwrap_or("never")
    );
    println!("settings    {} {}", settings.lang, settings.currency);
    println!("avatar      {}", settings.avatar_url);
    println!(
        "badges      {}",
        if badges.is_empty() {
            "none".to_owned()
        } else {
            badges.join(", ")
        }
    );
    println!("data        {}", user.profile.data);
}

/// Prints every event until Ctrl-C or SIGTERM, then removes the tail's rule and queue.
async fn tail(ops: &Ops, json: bool) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let tail = Tail::open(ops).await?;
    eprintln!(
        "Tailing the bus {} (rule {}); Ctrl-C stops.",
        ops.names.bus(),
        tail.rule
    );
    let mut terminate = signal(SignalKind::terminate())?;
    let outcome = loop {
        let events = tokio::select! {
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = terminate.recv() => break Ok(()),
            events = tail.next() => events,
        };
        match events {
            Ok(events) => {
                for event in &events {
                    print_event(event, json);
                }
            }
            Err(error) => break Err(error),
        }
    };
    tail.close().await;
    outcome
}

fn print_event(event: &Value, json: bool) {
    if json {
        println!("{event}");
    } else {
        println!("{}", ops::event_line(event));
    }
}

async fn dlq(ops: &Ops, command: &str, options: &[String], json: bool) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(&ops.sdk);
    let only = options.first().map(String::as_str);
    match command {
        "list" => {
            let letters = dead_letters::list(&sqs, &ops.names, only).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else if letters.is_empty() {
                println!("No dead letters.");
            } else {
                for letter in &letters {
                    match &letter.stream {
                        Some(stream) => println!(
                            "{:<16} stream record {} of {} (shard {}, given up {})  (message {})",
                            letter.subscriber,
                            stream.start_sequence_number,
                            stream.table,
                            stream.shard_id,
                            stream.given_up_at,
                            letter.message_id
                        ),
                        None => println!(
                            "{:<16} {:<24} {}  (message {})",
                            letter.subscriber,
                            letter.detail_type.as_deref().unwrap_or("?"),
                            letter.event_id.as_deref().unwrap_or("?"),
                            letter.message_id
                        ),
                    }
                }
            }
        }
        "redrive" => {
            let redriven = dead_letters::redrive(&ops.sdk, &ops.names, only).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "redriven": redriven.moved, "failed": redriven.failed })
                );
            } else {
                println!(
                    "Sent {} dead letter(s) back to their subscribers or projectors.",
                    redriven.moved
                );
                for failure in &redriven.failed {
                    println!("Not replayed: {failure}");
                }
            }
            if !redriven.failed.is_empty() {
                bail!(
                    "{} stream failure(s) could not be replayed",
                    redriven.failed.len()
                );
            }
        }
        other => bail!("unknown command dlq {other} (see --help)"),
    }
    Ok(())
}

/// The plumbing's health: on the local stack, what its watchdog measured (each stream's and
/// queue's lag, each dead-letter queue's depth); on AWS, the queues' depths (a stream's lag is
/// its mapping's `IteratorAge` metric in CloudWatch, which this command does not read).
async fn status(target: Target, json: bool) -> Result<()> {
    use roster_local::plumbing::watch::PlumbingStatus;

    let status = match &target {
        Target::Local(state_dir) => {
            let file = roster_local::stack::status_file(state_dir);
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!(
                    "no running local stack ({} is missing); start one with `cargo stack`",
                    file.display()
                )
            })?;
            let status: PlumbingStatus = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", file.display()))?;
            let age = chrono::DateTime::parse_from_rfc3339(&status.checked_at)
                .map(|at| chrono::Utc::now().signed_duration_since(at))
                .unwrap_or(chrono::TimeDelta::MAX);
            if age > chrono::TimeDelta::seconds(10) {
                bail!(
                    "the local stack's watchdog last reported at {} (is the stack still running?)",
                    status.checked_at
                );
            }
            status
        }
        Target::Aws { .. } => {
            let ops = target.clone().connect().await?;
            ops::queue_status(&ops).await?
        }
    };
    let stalls = status.stalls();
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_status(&status);
    }
    if !stalls.is_empty() {
        bail!("stalled: {}", stalls.join("; "));
    }
    Ok(())
}

fn print_status(status: &roster_local::plumbing::watch::PlumbingStatus) {
    let seconds =
        |age: Option<f64>| age.map_or("caught up".to_owned(), |age| format!("{age:.1} s behind"));
    println!("checked at {}", status.checked_at);
    for stream in &status.streams {
        println!(
            "stream  {:<32} {}{}",
            stream.table,
            stream.error.as_deref().map_or_else(
                || seconds(stream.oldest_unprocessed_seconds),
                |error| format!("unknown ({error})")
            ),
            if stream.given_up > 0 {
                format!(", {} record(s) given up", stream.given_up)
            } else {
                String::new()
            }
        );
    }
    for queue in &status.queues {
        println!(
            "queue   {:<32} {} waiting, {} in flight{}",
            queue.queue,
            queue.waiting,
            queue.in_flight,
            queue
                .waiting_for_seconds
                .map(|age| format!(", waiting for {age:.1} s"))
                .unwrap_or_default()
        );
    }
    for queue in &status.dead_letters {
        println!("dlq     {:<32} {} message(s)", queue.queue, queue.messages);
    }
    let stalls = status.stalls();
    if stalls.is_empty() {
        println!("No stall.");
    }
}

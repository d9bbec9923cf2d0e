//! `roster`: operating Roster, on the running local stack or on a stage deployed to AWS.
//!
//! API keys, users, a live tail of the event bus, and the subscribers' dead-letter queues.
//! Human output by default; `--json` for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use roster_infra::tools::roster_home;
use roster_ops::dead_letters;
use roster_ops::targets::{self, Ops, Tail, Target};
use roster_platform::api_keys::{ApiKeyRecord, Bindings, IssuedKey, KeyAdmin};
use roster_user_api::model::{User, UserSummary};
use serde_json::Value;

/// Operating Roster: the running local stack (the default target) or a stage deployed to AWS.
#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    after_help = "Scopes: auth (Auth API), users:read and users:write (User API).\n\
                  Subscribers: auth-subscriber, user-subscriber, badge-rules, activation-mailer.\n\
                  Projectors: auth-projector, users-projector."
)]
struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    /// JSON output, for scripts
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Group,
}

#[derive(Debug, Args)]
struct TargetArgs {
    /// The running local stack whose state directory (local.json) is STATE_DIR [default:
    /// .roster]
    #[arg(long, value_name = "STATE_DIR", conflicts_with = "stage")]
    local: Option<PathBuf>,
    /// The stage deployed to AWS: resources named roster-NAME-*
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// AWS profile (default: the standard credential chain); with --stage
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region (default: the profile's); with --stage
    #[arg(long)]
    region: Option<String>,
    /// The stage's assets bucket, for the users commands on AWS; with --stage
    #[arg(long, value_name = "NAME")]
    bucket: Option<String>,
}

impl TargetArgs {
    fn target(self) -> Result<Target> {
        match self.stage {
            Some(stage) => Ok(Target::Aws {
                stage,
                profile: self.profile,
                region: self.region,
                bucket: self.bucket,
            }),
            None => {
                if self.profile.is_some() || self.region.is_some() || self.bucket.is_some() {
                    bail!("--profile, --region and --bucket are for a stage on AWS: add --stage");
                }
                Ok(Target::Local(self.local.unwrap_or_else(roster_home)))
            }
        }
    }
}

#[derive(Debug, Subcommand)]
enum Group {
    /// Server-to-server API keys (kept hashed in Secrets Manager)
    #[command(subcommand)]
    ApiKeys(ApiKeys),
    /// Users: list and search, look up, export, delete
    #[command(subcommand)]
    Users(Users),
    /// The event bus
    #[command(subcommand)]
    Events(Events),
    /// Dead letters: events a subscriber gave up on, and stream records a projector gave up on
    #[command(subcommand)]
    Dlq(Dlq),
    /// Each stream's and queue's lag, each dead-letter queue's depth; exits 1 when something
    /// is stalled
    Status,
}

#[derive(Debug, Subcommand)]
enum ApiKeys {
    /// A new key, shown once (only its hash is kept). Without --clients and
    /// --source-systems the key may use any (a warning says so)
    Create {
        #[arg(long)]
        caller: String,
        /// Comma-separated: auth, users:read, users:write
        #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
        scopes: Vec<String>,
        /// The frontends (or app client ids) the key may sign in through and verify tokens
        /// of, comma-separated
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        clients: Option<Vec<String>>,
        /// The sourceSystem values it may register users with, comma-separated
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        source_systems: Option<Vec<String>>,
        /// RFC 3339
        #[arg(long, value_parser = rfc3339)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Every key; keys without bindings are listed as unrestricted
    List,
    /// A new key with the same scopes and bindings; the caller's older keys expire after the
    /// grace period
    Rotate {
        #[arg(long)]
        caller: String,
        #[arg(long, default_value_t = 24)]
        grace_hours: i64,
    },
    /// Removes a key
    Revoke { key_id: String },
}

#[derive(Debug, Subcommand)]
enum Users {
    /// Users by creation (optionally of one status, in a window), or by a prefix of their
    /// name, email or handle, as GET /users lists them
    List(ListArgs),
    /// A user by id
    Get { id: String },
    /// A user by exactly one of email, name or handle
    Find {
        #[command(flatten)]
        by: FindBy,
    },
    /// Everything Roster holds about a user, as one JSON document (a data-access request):
    /// profile, uploads with links valid for 15 minutes, identity record, user pool attributes
    Export { id: String },
    /// The profile and its uploads; the sign-in goes too (by event)
    Delete {
        id: String,
        /// Yes, delete
        #[arg(long)]
        yes: bool,
    },
}

/// `GET /users`'s filters: a status and a creation window combine; a prefix lists on its own.
#[derive(Debug, Args)]
struct ListArgs {
    /// UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED
    #[arg(long)]
    status: Option<String>,
    /// Created after this instant (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    created_after: Option<String>,
    /// Created before this instant (RFC 3339)
    #[arg(long, value_name = "RFC3339")]
    created_before: Option<String>,
    /// Names starting with this, any case; lists by name
    #[arg(long, value_name = "PREFIX")]
    name_prefix: Option<String>,
    /// Emails starting with this, any case; lists by email
    #[arg(long, value_name = "PREFIX")]
    email_prefix: Option<String>,
    /// Handles starting with this, with or without @; lists by handle
    #[arg(long, value_name = "PREFIX")]
    handle_prefix: Option<String>,
    /// Newest first (Z to A for a prefix)
    #[arg(long)]
    desc: bool,
    /// The most users to print
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// Every matching user, however many
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

impl ListArgs {
    fn params(&self) -> Vec<(String, String)> {
        let filters = [
            ("status", &self.status),
            ("createdAfter", &self.created_after),
            ("createdBefore", &self.created_before),
            ("namePrefix", &self.name_prefix),
            ("emailPrefix", &self.email_prefix),
            ("handlePrefix", &self.handle_prefix),
        ];
        let mut params: Vec<(String, String)> = filters
            .into_iter()
            .filter_map(|(name, value)| value.clone().map(|value| (name.to_owned(), value)))
            .collect();
        if self.desc {
            params.push(("order".to_owned(), "desc".to_owned()));
        }
        params
    }
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct FindBy {
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    handle: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Events {
    /// Every Roster event on the bus, live, until Ctrl-C
    Tail,
}

#[derive(Debug, Subcommand)]
enum Dlq {
    /// What a subscriber or projector (NAME, default all) gave up on
    List { name: Option<String> },
    /// Sends dead letters back to their subscriber; replays stream records through their
    /// projector
    Redrive { name: Option<String> },
}

fn rfc3339(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|error| format!("not RFC 3339 ({error})"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("roster: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let target = cli.target.target()?;
    let json = cli.json;
    if let Group::Status = cli.command {
        return status(target, json).await;
    }
    let ops = target.connect().await?;
    match cli.command {
        Group::ApiKeys(command) => api_keys(&ops, command, json).await,
        Group::Users(command) => users(&ops, command, json).await,
        Group::Events(Events::Tail) => tail(&ops, json).await,
        Group::Dlq(command) => dlq(&ops, command, json).await,
        Group::Status => unreachable!("handled above"),
    }
}

async fn api_keys(ops: &Ops, command: ApiKeys, json: bool) -> Result<()> {
    let admin = KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&ops.sdk),
        ops.names.api_key_secret(),
    );
    match command {
        ApiKeys::List => {
            let records = admin.list().await?;
            // Frontend names instead of client ids where the pool says which is which.
            let frontends = frontends_by_client(ops).await;
            print_records(&records, &frontends, json);
            warn_unrestricted(&records);
        }
        ApiKeys::Create {
            caller,
            scopes,
            clients,
            source_systems,
            expires_at,
        } => {
            let scopes = non_empty("--scopes", &scopes)?;
            let bindings = Bindings {
                clients: match clients {
                    Some(asked) => Some(client_ids(ops, &non_empty("--clients", &asked)?).await?),
                    None => None,
                },
                source_systems: source_systems
                    .map(|systems| {
                        non_empty("--source-systems", &systems)?
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
                .create_bound(&caller, &scopes, bindings, expires_at)
                .await?;
            print_issued(&issued, json);
            warn_unrestricted(std::slice::from_ref(&issued.record));
        }
        ApiKeys::Rotate {
            caller,
            grace_hours,
        } => {
            let issued = admin
                .rotate(&caller, chrono::Duration::hours(grace_hours))
                .await?;
            print_issued(&issued, json);
            warn_unrestricted(std::slice::from_ref(&issued.record));
        }
        ApiKeys::Revoke { key_id } => {
            let removed = admin.revoke(&key_id).await?;
            if json {
                println!("{}", serde_json::to_string(&removed)?);
            } else {
                println!("revoked {} ({})", removed.id, removed.caller);
            }
        }
    }
    Ok(())
}

/// The values of a comma-separated option, trimmed, without empty ones; none left is an error.
fn non_empty<'a>(name: &str, values: &'a [String]) -> Result<Vec<&'a str>> {
    let values: Vec<&str> = values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .collect();
    if values.is_empty() {
        bail!("{name} needs at least one value");
    }
    Ok(values)
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

async fn users(ops: &Ops, command: Users, json: bool) -> Result<()> {
    let (user, missing) = match command {
        Users::List(args) => {
            let max = (!args.all).then_some(args.limit as usize);
            let (users, more) = ops.list_users(&args.params(), max).await?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else {
                print_summaries(&users);
            }
            if more {
                eprintln!(
                    "more users follow: raise --limit, or --all for every one ({} shown)",
                    users.len()
                );
            }
            return Ok(());
        }
        Users::Get { id } => (ops.user(&id).await?, format!("no user {id}")),
        Users::Find { by } => {
            let (flag, value) = match (by.email, by.name, by.handle) {
                (Some(email), _, _) => ("--email", email),
                (_, Some(name), _) => ("--name", name),
                (_, _, Some(handle)) => ("--handle", handle),
                _ => unreachable!("clap requires one of them"),
            };
            let lookup = targets::lookup(flag, &value)?;
            (
                ops.find(&lookup).await?,
                format!("no user with {flag} {value}"),
            )
        }
        Users::Export { id } => {
            let Some(export) = ops.export_user(&id).await? else {
                bail!("no user {id}");
            };
            // An export is a JSON document either way: compact with --json, indented without.
            if json {
                println!("{}", serde_json::to_string(&export)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&export)?);
            }
            return Ok(());
        }
        Users::Delete { id, yes } => {
            if !yes {
                bail!("users delete removes the profile, its uploads and the sign-in: add --yes");
            }
            let deleted = ops.delete_user(&id).await?;
            if let Some(user) = &deleted
                && !json
            {
                println!("deleted {} ({}, {})", user.id, user.name, user.email);
                return Ok(());
            }
            (deleted, format!("no user {id}"))
        }
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

fn print_summaries(users: &[UserSummary]) {
    if users.is_empty() {
        println!("No users.");
        return;
    }
    println!(
        "{:<36}  {:<11}  {:<24}  {:<24}  {:<24}  EMAIL",
        "ID", "STATUS", "CREATED", "NAME", "HANDLE"
    );
    for user in users {
        println!(
            "{:<36}  {:<11}  {:<24}  {:<24}  {:<24}  {}",
            user.id, user.status, user.created_at, user.name, user.handle, user.email
        );
    }
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
        println!("{}", targets::event_line(event));
    }
}

async fn dlq(ops: &Ops, command: Dlq, json: bool) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(&ops.sdk);
    match command {
        Dlq::List { name } => {
            let only = name.as_deref();
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
        Dlq::Redrive { name } => {
            let only = name.as_deref();
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
            targets::queue_status(&ops).await?
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

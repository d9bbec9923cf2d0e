//! `cargo load` (`roster-bench load`): a bounded load run on loopback. Starts a stack of its
//! own (`roster-bench serve-stack`, the `roster-local` command in a child process of this same
//! binary, on free ports and its own moto), signs up a pool of users (each
//! sign-up followed by a registration refused as a duplicate of it), then drives a mix of
//! routes — mostly token checks and profile reads, some sign-ins, refreshes, data merges, badge
//! changes, registrations and registrations refused because their email, name or handle is
//! taken — from concurrent workers. It reports each route's count and latency, every unexpected
//! answer, the refusals, and the stack process's memory over time. It fails on any unexpected
//! answer, on a registered user whose profile never appears in the User API (the event flow
//! stopped), or on memory that keeps growing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Client, StatusCode};
use serde_json::{Map, Value, json};

use roster_client::{
    AuthApi, LoginRequest, ProfileUpdate, RefreshRequest, RegisterRequest, TokenUse, UserApi,
    VerifyRequest,
};
use roster_local::clients::await_profile;
use roster_local::stack::LocalFacts;

/// The mix: each operation with its weight (of 100).
const MIX: [(Op, u32); 18] = [
    (Op::VerifyAccess, 22),
    (Op::VerifyId, 5),
    (Op::GetById, 15),
    (Op::GetByName, 5),
    (Op::GetByEmail, 5),
    (Op::GetByHandle, 5),
    (Op::Me, 10),
    (Op::Login, 5),
    (Op::Refresh, 3),
    (Op::MergeData, 7),
    (Op::Settings, 3),
    (Op::Award, 4),
    (Op::Revoke, 3),
    (Op::Register, 2),
    (Op::RegisterTakenEmail, 1),
    (Op::RegisterTakenName, 1),
    (Op::RegisterTakenHandle, 1),
    (Op::VerifyForged, 3),
];

/// How long the registered users' profiles may take to appear once the run ends.
const PROFILES_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    VerifyAccess,
    VerifyId,
    VerifyForged,
    GetById,
    GetByName,
    GetByEmail,
    GetByHandle,
    Me,
    Login,
    Refresh,
    MergeData,
    Settings,
    Award,
    Revoke,
    Register,
    /// A registration whose email (in other case) is a pool user's: 409 `field: email`.
    RegisterTakenEmail,
    /// One whose name (in other case) is a pool user's: 409 `field: name`.
    RegisterTakenName,
    /// One whose name is new but gives a pool user's handle (`load1-x` for `load1_x`): 409
    /// `field: handle`.
    RegisterTakenHandle,
}

impl Op {
    fn route(self) -> &'static str {
        match self {
            Op::VerifyAccess => "POST /auth/token/verify (access)",
            Op::VerifyId => "POST /auth/token/verify (id)",
            Op::VerifyForged => "POST /auth/token/verify (forged: 401)",
            Op::GetById => "GET /user/{id}",
            Op::GetByName => "GET /user/name/{name}",
            Op::GetByEmail => "GET /user/email/{email}",
            Op::GetByHandle => "GET /user/handle/{handle}",
            Op::Me => "GET /public/user/me",
            Op::Login => "POST /auth/login",
            Op::Refresh => "POST /auth/token/refresh",
            Op::MergeData => "PATCH /user/{id}/data/update",
            Op::Settings => "PATCH /public/user/me/profile",
            Op::Award => "POST /user/{id}/badge/{name}",
            Op::Revoke => "DELETE /user/{id}/badge/{name}",
            Op::Register => "POST /auth/register",
            Op::RegisterTakenEmail => "POST /auth/register (email taken: 409)",
            Op::RegisterTakenName => "POST /auth/register (name taken: 409)",
            Op::RegisterTakenHandle => "POST /auth/register (handle taken: 409)",
        }
    }

    /// The field a refused registration must name.
    fn taken(self) -> Option<&'static str> {
        match self {
            Op::RegisterTakenEmail => Some("email"),
            Op::RegisterTakenName => Some("name"),
            Op::RegisterTakenHandle => Some("handle"),
            _ => None,
        }
    }

    /// The answers that are right for this operation under this load. Awards and revokes of
    /// one badge race between workers, so "already awarded" (the client's `Award` either way)
    /// and "not awarded" are right too. A refused registration must be a 409 naming the taken
    /// field.
    fn expected(self, answer: &Answer) -> bool {
        if let Some(taken) = self.taken() {
            return matches!(answer, Answer::Refused { status, field }
                if *status == StatusCode::CONFLICT && field.as_deref() == Some(taken));
        }
        match (self, answer) {
            (Op::VerifyForged, Answer::Refused { status, .. }) => {
                *status == StatusCode::UNAUTHORIZED
            }
            (Op::Revoke, Answer::Refused { status, .. }) => *status == StatusCode::NOT_FOUND,
            (Op::VerifyForged, Answer::Done { .. }) => false,
            (_, answer) => matches!(answer, Answer::Done { .. }),
        }
    }
}

/// What a call answered, as `roster-client` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// A success; a registration's new user id.
    Done { registered: Option<String> },
    /// A refusal (a problem document), with the `field` a 409 names.
    Refused {
        status: StatusCode,
        field: Option<String>,
    },
}

impl Answer {
    /// The answer of a call: a refusal the API explained is an answer, anything else (no
    /// answer, an answer the client does not understand) an error of the run.
    fn of<T>(
        result: Result<T, roster_client::Error>,
        registered: impl FnOnce(T) -> Option<String>,
    ) -> Result<Answer> {
        match result {
            Ok(done) => Ok(Answer::Done {
                registered: registered(done),
            }),
            Err(roster_client::Error::Api { status, problem }) => Ok(Answer::Refused {
                status,
                field: problem
                    .extensions
                    .get("field")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            Err(error) => Err(error.into()),
        }
    }

    /// A success with nothing to keep.
    fn done<T>(result: Result<T, roster_client::Error>) -> Result<Answer> {
        Answer::of(result, |_| None)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LoadOptions {
    pub seconds: u64,
    pub concurrency: usize,
    pub users: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            seconds: 60,
            concurrency: 8,
            users: 20,
        }
    }
}

/// One signed-up user of the pool.
#[derive(Debug, Clone)]
struct User {
    id: String,
    email: String,
    name: String,
    handle: String,
    password: String,
    access: String,
    id_token: String,
    refresh: String,
}

#[derive(Default)]
struct Tally {
    /// Latencies in microseconds, by operation.
    latencies: BTreeMap<Op, Vec<u32>>,
    unexpected: Vec<String>,
    /// Users registered during the run (the pool's and the mix's), whose profiles must appear.
    registered: Vec<String>,
    /// Registrations refused as they must be (409 naming the taken field).
    refused: usize,
}

impl Tally {
    /// Records one operation's outcome.
    fn record(&mut self, op: Op, micros: u32, result: Result<Answer>) {
        self.latencies.entry(op).or_default().push(micros);
        match result {
            Ok(answer) if op.expected(&answer) => {
                if op.taken().is_some() {
                    self.refused += 1;
                }
                if let Answer::Done {
                    registered: Some(id),
                } = answer
                {
                    self.registered.push(id);
                }
            }
            Ok(Answer::Done { .. }) => self.unexpected.push(format!("{}: a success", op.route())),
            Ok(Answer::Refused { status, field }) => {
                let field = field.map(|field| format!(" ({field})"));
                self.unexpected.push(format!(
                    "{}: {status}{}",
                    op.route(),
                    field.unwrap_or_default()
                ));
            }
            Err(error) => self.unexpected.push(format!("{}: {error}", op.route())),
        }
    }
}

/// The stack under load: a child process of this binary.
struct ChildStack {
    child: Child,
    facts: LocalFacts,
}

impl ChildStack {
    fn start(state_dir: &Path) -> Result<Self> {
        let _ = std::fs::remove_file(state_dir.join("local.json"));
        std::fs::create_dir_all(state_dir)?;
        let log = std::fs::File::create(state_dir.join("stack.log"))?;
        let prefix = format!("load-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let child = Command::new(std::env::current_exe()?)
            .arg("serve-stack")
            .args(["--auth-port", "0", "--user-port", "0", "--web-port", "0"])
            .args(["--prefix", &prefix])
            .arg("--state-dir")
            .arg(state_dir)
            .env_remove("AWS_ENDPOINT_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting the stack")?;
        let mut child = child;
        match wait_for_facts(&mut child, state_dir) {
            Ok(facts) => Ok(Self { child, facts }),
            Err(error) => {
                terminate(&mut child);
                Err(error)
            }
        }
    }

    fn stop(mut self) {
        terminate(&mut self.child);
    }
}

/// SIGTERM, so that the stack stops its plumbing and its moto; then waits for it.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// Waits for the stack in `child` to write its `local.json`.
fn wait_for_facts(child: &mut Child, state_dir: &Path) -> Result<LocalFacts> {
    let started = Instant::now();
    loop {
        if let Some(facts) = LocalFacts::read(state_dir).filter(|facts| facts.pid == child.id()) {
            return Ok(facts);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the stack exited ({status}); see {}",
                state_dir.join("stack.log").display()
            );
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!("the stack did not start within 3 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Resident and peak resident memory of a process, in KiB (`/proc/<pid>/status`).
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

struct Driver {
    auth: AuthApi,
    users: UserApi,
}

impl Driver {
    async fn sign_up(&self, n: usize, run: &str) -> Result<User> {
        let email = format!("load{n}-{run}@example.com");
        let name = format!("load{n}_{run}");
        let password = format!("Load-Secret-{n}-{run}");
        let registered = self
            .auth
            .register(&RegisterRequest::new(&email, &name, &password), None)
            .await
            .with_context(|| format!("registering {email}"))?;
        let tokens = self
            .auth
            .login(&LoginRequest::new(&email, &password))
            .await
            .with_context(|| format!("signing in {email}"))?;
        let profile = await_profile(&self.users, &registered.id, PROFILES_WITHIN).await?;
        Ok(User {
            id: registered.id,
            email,
            name,
            handle: profile.handle,
            password,
            access: tokens.access_token,
            id_token: tokens.id_token,
            refresh: tokens.refresh_token.context("a sign-in's refresh token")?,
        })
    }

    /// Runs `op` for `user`: what the API answered.
    async fn run_op(&self, op: Op, user: &User, worker: usize, n: u64) -> Result<Answer> {
        let id = &user.id;
        match op {
            Op::VerifyAccess => {
                let request = VerifyRequest::new(&user.access, TokenUse::Access);
                Answer::done(self.auth.verify(&request).await)
            }
            Op::VerifyId => {
                let request = VerifyRequest::new(&user.id_token, TokenUse::Id);
                Answer::done(self.auth.verify(&request).await)
            }
            Op::VerifyForged => {
                // The user's own token with its signature's last characters changed.
                let mut forged = user.access.clone();
                forged.truncate(forged.len().saturating_sub(4));
                forged.push_str("AAAA");
                let request = VerifyRequest::new(forged, TokenUse::Access);
                Answer::done(self.auth.verify(&request).await)
            }
            Op::GetById => Answer::done(self.users.user(id).await),
            Op::GetByName => Answer::done(self.users.user_by_name(&user.name).await),
            Op::GetByEmail => Answer::done(self.users.user_by_email(&user.email).await),
            Op::GetByHandle => Answer::done(self.users.user_by_handle(&user.handle).await),
            Op::Me => Answer::done(self.users.me(&user.access).await),
            Op::Login => {
                let request = LoginRequest::new(&user.email, &user.password);
                Answer::done(self.auth.login(&request).await)
            }
            Op::Refresh => {
                let request = RefreshRequest {
                    refresh_token: user.refresh.clone(),
                    client_id: None,
                };
                Answer::done(self.auth.refresh(&request).await)
            }
            Op::MergeData => {
                let mut patch = Map::new();
                patch.insert(format!("worker{worker}"), json!(n));
                Answer::done(self.users.merge_data(id, &patch, None).await)
            }
            Op::Settings => {
                let lang = if n.is_multiple_of(2) {
                    "en_us"
                } else {
                    "de_de"
                };
                let update = ProfileUpdate {
                    lang: Some(lang.to_owned()),
                    ..ProfileUpdate::default()
                };
                Answer::done(self.users.update_my_profile(&user.access, &update).await)
            }
            Op::Award => Answer::done(self.users.award_badge(id, "EARLY_ADOPTER").await),
            Op::Revoke => Answer::done(self.users.revoke_badge(id, "EARLY_ADOPTER").await),
            Op::Register => {
                let run = &uuid::Uuid::new_v4().simple().to_string()[..12];
                let request = RegisterRequest::new(
                    format!("new-{run}@example.com"),
                    format!("new_{run}"),
                    format!("New-Secret-{run}"),
                );
                let result = self.auth.register(&request, None).await;
                Answer::of(result, |registered| Some(registered.id))
            }
            Op::RegisterTakenEmail | Op::RegisterTakenName | Op::RegisterTakenHandle => {
                Answer::done(self.auth.register(&taken(op, user), None).await)
            }
        }
    }

    /// The registered users whose profile is not in the User API within [`PROFILES_WITHIN`].
    async fn without_profile(&self, ids: &[String]) -> Result<Vec<String>> {
        let deadline = Instant::now() + PROFILES_WITHIN;
        let mut missing: Vec<String> = ids.to_vec();
        loop {
            let mut still = Vec::new();
            for id in missing {
                match self.users.user(&id).await {
                    Ok(_) => {}
                    Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => still.push(id),
                    Err(error) => return Err(error.into()),
                }
            }
            missing = still;
            if missing.is_empty() || Instant::now() > deadline {
                return Ok(missing);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A registration that must be refused: `user`'s email, name or handle (by `op`), everything
/// else new.
fn taken(op: Op, user: &User) -> RegisterRequest {
    let fresh = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let new_email = format!("taken-{fresh}@example.com");
    let (email, name) = match op {
        Op::RegisterTakenEmail => (user.email.to_uppercase(), format!("taken_{fresh}")),
        Op::RegisterTakenName => (new_email, user.name.to_uppercase()),
        _ => (new_email, user.name.replace('_', "-")),
    };
    RegisterRequest::new(email, name, format!("Taken-Secret-{fresh}"))
}

/// A cheap deterministic generator per worker: which operation and which user next.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn pick(roll: u64) -> Op {
    let total: u32 = MIX.iter().map(|(_, weight)| weight).sum();
    let mut point = (roll % u64::from(total)) as u32;
    for (op, weight) in MIX {
        if point < weight {
            return op;
        }
        point -= weight;
    }
    MIX[0].0
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank]) / 1000.0
}

/// The outcome of a run.
pub(crate) struct Report {
    pub text: String,
    pub passed: bool,
}

pub(crate) async fn run(options: &LoadOptions, state_dir: PathBuf) -> Result<Report> {
    eprintln!(
        "load: starting a stack of its own (logs in {})",
        state_dir.join("stack.log").display()
    );
    let stack = ChildStack::start(&state_dir)?;
    let outcome = drive(options, &stack).await;
    stack.stop();
    outcome
}

async fn drive(options: &LoadOptions, stack: &ChildStack) -> Result<Report> {
    let http = Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()?;
    let driver = Arc::new(Driver {
        auth: stack.facts.auth_api(http.clone())?,
        users: stack.facts.user_api(http)?,
    });
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    eprintln!(
        "load: signing up {} users, each followed by a registration refused as its duplicate",
        options.users
    );
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut users: Vec<User> = Vec::with_capacity(options.users);
    for n in 0..options.users {
        let refused = tally.lock().expect("tally").refused;
        let user = driver.sign_up(n, &run).await.with_context(|| {
            format!("signing up user {n} of the pool, after {refused} refused registrations")
        })?;
        tally
            .lock()
            .expect("tally")
            .registered
            .push(user.id.clone());
        let op = [
            Op::RegisterTakenEmail,
            Op::RegisterTakenName,
            Op::RegisterTakenHandle,
        ][n % 3];
        let began = Instant::now();
        let result = driver.run_op(op, &user, 0, 0).await;
        let micros = began.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        tally.lock().expect("tally").record(op, micros, result);
        users.push(user);
    }
    let users = Arc::new(users);
    let pid = stack.child.id();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    eprintln!(
        "load: {} workers for {} s",
        options.concurrency, options.seconds
    );
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while Instant::now() < deadline {
            if let Some(memory) = memory_kib(pid) {
                samples.push((started.elapsed().as_secs_f64(), memory));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        samples
    });
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let (driver, users, tally) = (driver.clone(), users.clone(), tally.clone());
            tokio::spawn(async move {
                let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker as u64 + 1);
                let mut n = 0_u64;
                while Instant::now() < deadline {
                    n += 1;
                    let op = pick(next(&mut state));
                    let user = &users[(next(&mut state) % users.len() as u64) as usize];
                    let began = Instant::now();
                    let result = driver.run_op(op, user, worker, n).await;
                    let micros = began.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    tally.lock().expect("tally").record(op, micros, result);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let samples = sampler.await?;
    let tally = std::mem::take(&mut *tally.lock().expect("tally"));
    eprintln!(
        "load: checking that the {} registered users have their profiles",
        tally.registered.len()
    );
    let missing = driver.without_profile(&tally.registered).await?;
    Ok(report(options, elapsed, &tally, &missing, &samples))
}

fn report(
    options: &LoadOptions,
    elapsed: f64,
    tally: &Tally,
    missing: &[String],
    samples: &[(f64, (u64, u64))],
) -> Report {
    let mut text = String::new();
    let total: usize = tally.latencies.values().map(Vec::len).sum();
    text.push_str(&format!(
        "{total} requests in {elapsed:.1} s ({:.0}/s), {} workers, {} users\n\n",
        total as f64 / elapsed,
        options.concurrency,
        options.users
    ));
    text.push_str(&format!(
        "{:<42} {:>7} {:>9} {:>9} {:>9}\n",
        "route", "count", "p50 ms", "p99 ms", "max ms"
    ));
    for (op, latencies) in &tally.latencies {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        text.push_str(&format!(
            "{:<42} {:>7} {:>9.2} {:>9.2} {:>9.2}\n",
            op.route(),
            sorted.len(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
            percentile(&sorted, 100.0)
        ));
    }
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for unexpected in &tally.unexpected {
        *by_kind.entry(unexpected.as_str()).or_default() += 1;
    }
    text.push_str(&format!(
        "\nunexpected answers: {}\n",
        tally.unexpected.len()
    ));
    for (kind, count) in by_kind {
        text.push_str(&format!("  {count} × {kind}\n"));
    }
    text.push_str(&format!(
        "refused registrations: {} (409 naming the taken email, name or handle), \
         interleaved with {} accepted ones\n",
        tally.refused,
        tally.registered.len()
    ));
    if missing.is_empty() {
        text.push_str(&format!(
            "profiles: all {} registered users have theirs\n",
            tally.registered.len()
        ));
    } else {
        text.push_str(&format!(
            "profiles: MISSING for {} of {} registered users {} s after the run: {}\n",
            missing.len(),
            tally.registered.len(),
            PROFILES_WITHIN.as_secs(),
            missing.join(", ")
        ));
    }
    // Memory is flat when the last third of the run ends within 10% (and 8 MiB) of where the
    // first third ended: warm-up growth (pools, caches) is allowed, steady growth is not.
    let third = |fraction: f64| {
        samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= elapsed * fraction)
            .map(|(_, (rss, _))| *rss)
    };
    let peak = samples.iter().map(|(_, (_, hwm))| *hwm).max().unwrap_or(0);
    let (early, late) = (third(1.0 / 3.0).unwrap_or(0), third(1.0).unwrap_or(0));
    let flat = late <= early + (early / 10).max(8 * 1024);
    text.push_str(&format!(
        "\nstack process memory: RSS {:.1} MiB after the first third, {:.1} MiB at the end, peak {:.1} MiB: {}\n",
        early as f64 / 1024.0,
        late as f64 / 1024.0,
        peak as f64 / 1024.0,
        if flat { "flat" } else { "GROWING" }
    ));
    let passed = tally.unexpected.is_empty() && missing.is_empty() && flat && total > 0;
    text.push_str(if passed { "\nPASSED\n" } else { "\nFAILED\n" });
    Report { text, passed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_a_hundred_and_every_weight_is_reachable() {
        assert_eq!(MIX.iter().map(|(_, weight)| weight).sum::<u32>(), 100);
        let mut seen = std::collections::BTreeSet::new();
        for roll in 0..100 {
            seen.insert(pick(roll));
        }
        assert_eq!(seen.len(), MIX.len());
    }

    /// Each refused registration is valid input that collides with the pool user on exactly
    /// the field it is named for, so the Auth API must refuse it for that field.
    #[test]
    fn refused_registrations_take_exactly_one_field_of_a_pool_user() {
        use roster_auth_api::domain::{Email, Name};

        let user = User {
            id: "id".into(),
            email: "load7-ab12cd@example.com".into(),
            name: "load7_ab12cd".into(),
            handle: "@Load7Ab12cd".into(),
            password: "p".into(),
            access: "a".into(),
            id_token: "i".into(),
            refresh: "r".into(),
        };
        let key = |name: &str| Name::parse(name).unwrap().key();
        let handle = |name: &str| Name::parse(name).unwrap().handle().key();
        let email = |email: &str| Email::parse(email).unwrap().as_str().to_owned();
        for op in [
            Op::RegisterTakenEmail,
            Op::RegisterTakenName,
            Op::RegisterTakenHandle,
        ] {
            let body = taken(op, &user);
            let (new_email, new_name) = (body.email.as_str(), body.name.as_str());
            let same = [
                ("email", email(new_email) == email(&user.email)),
                ("name", key(new_name) == key(&user.name)),
                ("handle", handle(new_name) == handle(&user.name)),
            ];
            // The first field taken is the one the Auth API names (it checks them in this order).
            let first = same.iter().find(|(_, same)| *same).map(|(field, _)| *field);
            assert_eq!(first, op.taken(), "{body:?}");
            let refused = |field: &str| Answer::Refused {
                status: StatusCode::CONFLICT,
                field: Some(field.to_owned()),
            };
            assert!(op.expected(&refused(op.taken().unwrap())));
            for other in ["email", "name", "handle"] {
                assert_eq!(op.expected(&refused(other)), Some(other) == op.taken());
            }
            let registered = Answer::Done {
                registered: Some("x".to_owned()),
            };
            assert!(!op.expected(&registered));
        }
    }

    #[test]
    fn percentiles_pick_by_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert!((percentile(&sorted, 50.0) - 51.0).abs() < 1e-9);
        assert!((percentile(&sorted, 99.0) - 99.0).abs() < 1e-9);
        assert!((percentile(&sorted, 100.0) - 100.0).abs() < 1e-9);
    }
}

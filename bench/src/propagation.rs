//! End-to-end propagation on a whole local stack (both APIs, the stream pollers, the
//! projectors, the bus, the subscriber queues and the subscribers: `roster-local`'s
//! `RunningStack`) with a fixed latency added to every AWS call by a proxy in front of the
//! local endpoint. Side by side in one run, alternating: no added latency, then the given one.
//!
//! Three paths, each timed by a caller from the request that starts it to the first read that
//! shows its result (each read polls the API every [`POLL_EVERY`], and is itself one AWS call):
//! - **registered → profile**: `POST /auth/register` until `GET /user/{id}` answers;
//! - **activated → VERIFIED**: `POST /user/activate` until the profile shows the badge the
//!   badge rules award on `UserActivated`;
//! - **suspended → sign-in refused**: `PATCH /user/{id}/status/SUSPENDED` until
//!   `POST /auth/login` is refused (the Auth API's subscriber disables the Cognito user).
//!
//! The floor of each path is its hops times the latency. Hops are counted from the proxy's
//! journal: the request's own calls, every call of the projectors and subscribers until the
//! result shows, plus one `GetRecords` and one `ReceiveMessage` (the pollers'). That is an
//! upper bound: a subscriber's calls for another rule of the same event are counted too,
//! although they run beside the path, not on it. The stream poller's idle
//! delay between empty pages ([`roster_local::plumbing`]) comes on top; the queue poller long-
//! polls, so a message reaches it as soon as it is sent.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use roster_client::{AuthApi, LoginRequest, RegisterRequest, Status, UserApi};
use roster_local::clients::await_profile;
use roster_testkit::faults::{Fault, FaultProxy};
use roster_testkit::harness;

/// How often a path's result is read while waiting for it.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// How long a path may take before the run fails.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
/// The functions whose calls are on a path after its request (the callers a proxy sees).
const ON_THE_PATH: [&str; 4] = [
    "auth-projector",
    "users-projector",
    "user-subscriber",
    "auth-subscriber",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Path {
    Registered,
    Activated,
    Suspended,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Registered => "registered -> profile readable",
            Path::Activated => "activated -> VERIFIED badge",
            Path::Suspended => "suspended -> sign-in refused",
        }
    }
}

/// One timed path: how long it took and how many AWS calls were made one after the other.
struct Sample {
    path: Path,
    /// From the request to the first read that shows its result.
    took: Duration,
    /// The request alone, until its answer.
    request: Duration,
    hops: usize,
}

struct Stack {
    auth: AuthApi,
    users: UserApi,
    proxy: FaultProxy,
    /// The stack's facts with the endpoint itself (not the proxy): where its mailbox is read.
    mail: roster_local::stack::LocalFacts,
}

impl Stack {
    /// The calls since the last look: (the API's own during a request, the path's functions').
    fn calls_by(&self, api: &str) -> (usize, usize) {
        let calls = self.proxy.take_attributed();
        let by = |callers: &[&str]| {
            calls
                .iter()
                .filter(|call| callers.contains(&call.caller.as_str()))
                .count()
        };
        (by(&[api]), by(&ON_THE_PATH))
    }

    /// Registers, activates and suspends one new user, timing each path.
    async fn one_user(&self, n: usize, run: &str) -> Result<[Sample; 3]> {
        let (email, password) = (format!("p{n}-{run}@example.com"), "Propagation-1");
        let request = RegisterRequest::new(&email, format!("p{n}_{run}"), password);

        self.calls_by("");
        let started = Instant::now();
        let registered = self.auth.register(&request, None).await?;
        let answered = started.elapsed();
        let (request_calls, _) = self.calls_by("auth-api");
        await_profile(&self.users, &registered.id, GIVE_UP_AFTER).await?;
        let registered_path = Sample {
            path: Path::Registered,
            took: started.elapsed(),
            request: answered,
            hops: request_calls + self.calls_by("").1 + 2,
        };

        // The code from the user's mail, read before the path's clock and counts start.
        let code =
            roster_local::mailbox::activation_code(&self.mail, &email, GIVE_UP_AFTER).await?;
        self.calls_by("");
        let started = Instant::now();
        self.users.activate(&code).await?;
        let answered = started.elapsed();
        let (request_calls, _) = self.calls_by("user-api");
        self.until(|| async {
            let user = self.users.user(&registered.id).await?.into_inner();
            Ok(user
                .profile
                .badges
                .iter()
                .any(|badge| badge.name == "VERIFIED"))
        })
        .await?;
        let activated_path = Sample {
            path: Path::Activated,
            took: started.elapsed(),
            request: answered,
            hops: request_calls + self.calls_by("").1 + 2,
        };

        let login = LoginRequest::new(&email, password);
        self.auth.login(&login).await?;
        self.calls_by("");
        let started = Instant::now();
        self.users
            .set_status(&registered.id, Status::Suspended, None)
            .await?;
        let answered = started.elapsed();
        let (request_calls, _) = self.calls_by("user-api");
        self.until(|| async {
            match self.auth.login(&login).await {
                Ok(_) => Ok(false),
                Err(error)
                    if matches!(
                        error.status(),
                        Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                    ) =>
                {
                    Ok(true)
                }
                Err(error) => Err(error.into()),
            }
        })
        .await?;
        let suspended_path = Sample {
            path: Path::Suspended,
            took: started.elapsed(),
            request: answered,
            hops: request_calls + self.calls_by("").1 + 2,
        };
        Ok([registered_path, activated_path, suspended_path])
    }

    async fn until<F, Fut>(&self, mut done: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let started = Instant::now();
        while !done().await? {
            if started.elapsed() > GIVE_UP_AFTER {
                bail!("not within {} s", GIVE_UP_AFTER.as_secs());
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        Ok(())
    }
}

/// One run of one path at one latency: p50 and p99 in ms, the median of its hops, and the
/// p50 of its request alone in ms.
type RunResult = (f64, f64, usize, f64);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

/// `runs` runs of `users` users each, with no added latency and with `latency_ms`, alternating,
/// on one stack; prints each path's p50 and p99 per run, next to its floor.
pub(crate) async fn compare(latency_ms: u64, users: usize, runs: usize) -> Result<()> {
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (stack, state_dir) = harness::running_stack_through(proxy.url()).await?;
    let http = reqwest::Client::new();
    let bench = Stack {
        auth: stack.facts().auth_api(http.clone())?,
        users: stack.facts().user_api(http)?,
        proxy,
        mail: roster_local::stack::LocalFacts {
            aws_endpoint: harness::endpoint_url().await.to_owned(),
            ..stack.facts().clone()
        },
    };
    let latencies = [0, latency_ms];
    let mut table: BTreeMap<(u64, Path), Vec<RunResult>> = BTreeMap::new();
    let outcome: Result<()> = async {
        for run in 0..runs {
            for latency in latencies {
                bench.proxy.clear();
                if latency > 0 {
                    bench
                        .proxy
                        .inject(Fault::latency(Duration::from_millis(latency)));
                }
                let tag = format!(
                    "{}{run}{latency}",
                    &uuid::Uuid::new_v4().simple().to_string()[..6]
                );
                let mut samples = Vec::new();
                for n in 0..users {
                    samples.extend(
                        bench
                            .one_user(n, &tag)
                            .await
                            .with_context(|| format!("run {run}, {latency} ms, user {n}"))?,
                    );
                }
                for path in [Path::Registered, Path::Activated, Path::Suspended] {
                    let mut took: Vec<f64> = samples
                        .iter()
                        .filter(|sample| sample.path == path)
                        .map(|sample| sample.took.as_secs_f64() * 1000.0)
                        .collect();
                    took.sort_by(f64::total_cmp);
                    let mut hops: Vec<usize> = samples
                        .iter()
                        .filter(|sample| sample.path == path)
                        .map(|sample| sample.hops)
                        .collect();
                    hops.sort_unstable();
                    let mut requests: Vec<f64> = samples
                        .iter()
                        .filter(|sample| sample.path == path)
                        .map(|sample| sample.request.as_secs_f64() * 1000.0)
                        .collect();
                    requests.sort_by(f64::total_cmp);
                    table.entry((latency, path)).or_default().push((
                        percentile(&took, 50.0),
                        percentile(&took, 99.0),
                        hops[hops.len() / 2],
                        percentile(&requests, 50.0),
                    ));
                }
                eprintln!(
                    "propagation: run {} of {runs} at {latency} ms done",
                    run + 1
                );
            }
        }
        Ok(())
    }
    .await;
    bench.proxy.clear();
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
    outcome?;

    println!(
        "\nEnd-to-end propagation, {users} users per run, {runs} runs; p50 and p99 in ms per run\n\
         (below 100 samples, p99 is the slowest); floor = hops x latency, before the pollers' waits\n"
    );
    println!(
        "{:<32} {:>7} {:>5} {:>8} {:>22} {:>22} {:>22}",
        "path", "latency", "hops", "floor", "p50 per run", "p99 per run", "request p50 per run"
    );
    for ((latency, path), runs) in &table {
        let join = |pick: fn(&RunResult) -> f64| {
            runs.iter()
                .map(|run| format!("{:.0}", pick(run)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let mut hops: Vec<usize> = runs.iter().map(|run| run.2).collect();
        hops.sort_unstable();
        let hops = hops[hops.len() / 2];
        println!(
            "{:<32} {:>5} ms {:>5} {:>5} ms {:>22} {:>22} {:>22}",
            path.name(),
            latency,
            hops,
            hops as u64 * latency,
            join(|run| run.0),
            join(|run| run.1),
            join(|run| run.3),
        );
    }
    Ok(())
}

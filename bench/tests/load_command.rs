//! `cargo load` (`roster-bench load`), briefly: the documented 60-second load run is too slow for every CI
//! run, so this runs the same command for a few seconds, which keeps it working — its own
//! stack starts and stops, every route of the mix is driven, registrations refused as
//! duplicates (409) are interleaved with accepted ones, nothing answers unexpectedly, and every
//! registered user's profile reaches the User API (the event flow survives the refusals).
//! And when a registered user's profile goes missing, the run says whose and fails.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use roster_infra::resources::{Names, USERS_TABLE};
use roster_local::stack::LocalFacts;

/// One load run at a time: each starts a stack and a moto of its own, and two at once on a
/// small machine slow each other down past the run's bounds.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How many times the report's table says `route` was called (its row: the route, padded,
/// then the count); `None` if it was not called.
fn route_count(report: &str, route: &str) -> Option<u64> {
    report.lines().find_map(|line| {
        let rest = line.strip_prefix(route)?;
        rest.starts_with(' ')
            .then(|| rest.split_whitespace().next()?.parse().ok())
            .flatten()
    })
}

#[test]
fn a_short_load_run_passes_with_every_route_driven() {
    let _alone = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let output = Command::new(env!("CARGO_BIN_EXE_roster-bench"))
        .args([
            "load",
            "--seconds",
            "6",
            "--users",
            "3",
            "--concurrency",
            "4",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("unexpected answers: 0"), "{report}");
    assert!(report.contains(": flat"), "{report}");
    // Each sign-up of the pool is followed by a registration refused as its duplicate: by
    // email, name and handle in turn.
    let refused: usize = report
        .lines()
        .find_map(|line| line.strip_prefix("refused registrations: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count of refused registrations:\n{report}"));
    assert!(refused >= 3, "{report}");
    assert!(
        report.contains("profiles: all ") && report.contains("registered users have theirs"),
        "{report}"
    );
    // The mix's own registrations, not only the pool's sign-ups, produced profiles.
    assert!(
        route_count(&report, "POST /auth/register").is_some_and(|count| count >= 1),
        "the mix registered nobody:\n{report}"
    );
    for route in [
        "POST /auth/token/verify (access)",
        "GET /user/{id}",
        "GET /public/user/me",
        "PATCH /user/{id}/data/update",
        "POST /auth/register (email taken: 409)",
        "POST /auth/register (name taken: 409)",
        "POST /auth/register (handle taken: 409)",
    ] {
        assert!(report.contains(route), "{route} not driven:\n{report}");
    }
}

/// Lines a child process prints, kept as they come.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn read(&self, from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<()> {
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { return };
                lines.0.lock().unwrap().push(line);
            }
        })
    }

    fn said(&self, part: &str) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|line| line.contains(part))
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// Waits until `ready` holds; panics with the run's stderr after `within`.
async fn wait_for(what: &str, stderr: &Lines, within: Duration, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            stderr.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_load_run_whose_registered_user_loses_the_profile_reports_it_and_fails() {
    let _alone = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(lose_a_profile_during_a_run());
}

async fn lose_a_profile_during_a_run() {
    let mut run = Command::new(env!("CARGO_BIN_EXE_roster-bench"))
        .args([
            "load",
            "--seconds",
            "8",
            "--users",
            "3",
            "--concurrency",
            "4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (Lines::default(), Lines::default());
    let reading = [
        stdout.read(run.stdout.take().unwrap()),
        stderr.read(run.stderr.take().unwrap()),
    ];
    // The run's stack writes its facts where the run says; they are read once it signs up.
    let state_dir = std::env::temp_dir().join(format!("roster-load-{}", run.id()));
    wait_for(
        "the pool's sign-ups",
        &stderr,
        Duration::from_secs(240),
        || stderr.said("load: signing up"),
    )
    .await;
    let facts = LocalFacts::read(&state_dir).expect("the run's stack wrote its facts");
    let sdk = roster_platform::aws::local(&facts.aws_endpoint, &facts.region).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = Names::new(facts.prefix.clone()).table(&USERS_TABLE);
    wait_for("the workers", &stderr, Duration::from_secs(120), || {
        stderr.said("workers for")
    })
    .await;

    // Behind the run's back, the profile of the first user the mix registers (the mix's
    // `POST /auth/register`, never used again by the workers) is deleted from the table.
    let deadline = Instant::now() + Duration::from_secs(60);
    let deleted = loop {
        assert!(
            !stderr.said("load: checking") && Instant::now() < deadline,
            "the mix registered nobody whose profile appeared during the run:\n{}",
            stderr.text()
        );
        let found = dynamodb
            .scan()
            .table_name(&table)
            .filter_expression("begins_with(email, :new)")
            .expression_attribute_values(":new", AttributeValue::S("new-".to_owned()))
            .send()
            .await
            .unwrap();
        if let Some(id) = found
            .items()
            .first()
            .and_then(|item| item.get("id")?.as_s().ok().cloned())
        {
            dynamodb
                .delete_item()
                .table_name(&table)
                .key("id", AttributeValue::S(id.clone()))
                .send()
                .await
                .unwrap();
            break id;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let status = run.wait().unwrap();
    for reader in reading {
        reader.join().unwrap();
    }
    let report = stdout.text();
    assert!(!status.success(), "the run passed:\n{report}");
    assert!(
        report.contains("profiles: MISSING for 1 of ") && report.contains(&deleted),
        "the missing profile is not reported:\n{report}"
    );
    assert!(report.contains("unexpected answers: 0"), "{report}");
    assert!(report.trim_end().ends_with("FAILED"), "{report}");
    assert!(stderr.said("the load run failed"), "{}", stderr.text());
}

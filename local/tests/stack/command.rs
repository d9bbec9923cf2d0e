//! The `roster-local` command as a person runs it: it reaches "ready", both APIs answer, the
//! facts file is complete, a stalled stream shows in its output within seconds (and so does
//! the recovery), and a Ctrl-C or SIGTERM stops it with no process left behind.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use roster_local::stack::LocalFacts;

struct Started {
    child: Stack,
    facts: LocalFacts,
}

/// The command's process; killed and reaped if a test fails before it stops on its own.
struct Stack(Child);

impl Drop for Stack {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn start(state_dir: &Path) -> Started {
    // Without AWS_ENDPOINT_URL: the command starts (and must stop) a moto of its own.
    start_with(state_dir, None)
}

fn start_with(state_dir: &Path, endpoint: Option<&str>) -> Started {
    start_with_flags(state_dir, endpoint, &[])
}

fn start_with_flags(state_dir: &Path, endpoint: Option<&str>, flags: &[&str]) -> Started {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster-local"));
    command
        .args(["--auth-port", "0", "--user-port", "0", "--web-port", "0"])
        .arg("--state-dir")
        .arg(state_dir)
        .args(flags)
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    let child = Stack(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("roster-local starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(facts) = LocalFacts::read(state_dir) {
            return Started { child, facts };
        }
        assert!(Instant::now() < deadline, "roster-local never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

async fn stops_cleanly_on(signal_name: &str) {
    let state_dir = std::env::temp_dir().join(format!(
        "roster-command-{}-{}",
        signal_name,
        std::process::id()
    ));
    let Started { mut child, facts } = start(&state_dir);
    for url in [&facts.auth_url, &facts.user_url] {
        let response = reqwest::get(format!("{url}/health")).await.unwrap();
        assert_eq!(response.status(), 200, "{url}/health");
    }
    let moto = facts.moto_pid.expect("the command started moto");
    assert!(alive(moto));

    signal(child.0.id(), signal_name);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "roster-local did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit, got {status}");
    assert!(!alive(moto), "moto (pid {moto}) outlived the stack");
    assert!(!roster_local::endpoint::answers(&facts.aws_endpoint).await);
    for url in [&facts.auth_url, &facts.user_url] {
        assert!(reqwest::get(format!("{url}/health")).await.is_err());
    }
    assert!(LocalFacts::read(&state_dir).is_none(), "local.json removed");
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn ctrl_c_stops_everything() {
    stops_cleanly_on("INT").await;
}

#[tokio::test]
async fn sigterm_stops_everything() {
    stops_cleanly_on("TERM").await;
}

#[tokio::test]
async fn an_answering_aws_endpoint_url_is_used_and_left_running() {
    let endpoint = roster_testkit::harness::endpoint_url().await;
    let state_dir =
        std::env::temp_dir().join(format!("roster-command-external-{}", std::process::id()));
    let Started { mut child, facts } = start_with(&state_dir, Some(endpoint));
    assert_eq!(facts.aws_endpoint, endpoint);
    assert_eq!(facts.moto_pid, None, "no moto of its own");
    signal(child.0.id(), "INT");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "clean exit, got {status}");
    assert!(
        roster_local::endpoint::answers(endpoint).await,
        "someone else's endpoint is not stopped"
    );
    let _ = std::fs::remove_dir_all(state_dir);
}

/// `--reset` on an endpoint kept between runs: whatever was on it is gone, and the stack is
/// provisioned afresh. The endpoint is a moto of this test's own, never a shared one.
#[tokio::test]
async fn reset_wipes_a_kept_endpoint_before_provisioning() {
    let endpoint =
        roster_local::endpoint::LocalEndpoint::start(0, None, &roster_infra::tools::Quiet)
            .await
            .unwrap();
    let sdk = roster_platform::aws::local(endpoint.url(), "us-east-1").await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let key = aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
        .build()
        .unwrap();
    let attribute = aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
        .build()
        .unwrap();
    dynamodb
        .create_table()
        .table_name("left-over-from-yesterday")
        .key_schema(key)
        .attribute_definitions(attribute)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let state_dir =
        std::env::temp_dir().join(format!("roster-command-reset-{}", std::process::id()));
    let Started { mut child, facts } =
        start_with_flags(&state_dir, Some(endpoint.url()), &["--reset"]);
    let tables = dynamodb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(
        !tables.contains(&"left-over-from-yesterday".to_owned()),
        "{tables:?}"
    );
    assert!(
        tables.iter().any(|table| table.starts_with("roster")),
        "provisioned afresh: {tables:?}"
    );
    assert_eq!(
        reqwest::get(format!("{}/health", facts.auth_url))
            .await
            .unwrap()
            .status(),
        200
    );
    signal(child.0.id(), "TERM");
    let _ = child.0.wait();
    let _ = std::fs::remove_dir_all(state_dir);
}

/// What the command printed, line by line, on standard output and standard error together.
#[derive(Clone, Default)]
struct Printed(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Printed {
    /// Keeps every line `from` prints, on a thread of its own, until it closes.
    fn read(&self, from: impl std::io::Read + Send + 'static) {
        use std::io::BufRead as _;
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(from).lines() {
                let Ok(line) = line else { return };
                lines.0.lock().unwrap().push(line);
            }
        });
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The index of the first line at or after `from` that contains every one of `parts`.
    fn find(&self, from: usize, parts: &[&str]) -> Option<usize> {
        self.lines()
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, line)| parts.iter().all(|part| line.contains(part)))
            .map(|(index, _)| index)
    }
}

/// Starts the command on `endpoint` with the user's default logging, its output kept; waits
/// for it asynchronously (the endpoint may be a proxy served by this test's runtime).
async fn start_printing(state_dir: &Path, endpoint: &str, prefix: &str) -> (Started, Printed) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster-local"))
        .args(["--auth-port", "0", "--user-port", "0", "--web-port", "0"])
        .args(["--prefix", prefix])
        .arg("--state-dir")
        .arg(state_dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("RUST_LOG")
        .env_remove("ROSTER_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roster-local starts");
    let printed = Printed::default();
    printed.read(child.stdout.take().unwrap());
    printed.read(child.stderr.take().unwrap());
    let child = Stack(child);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(facts) = LocalFacts::read(state_dir) {
            return (Started { child, facts }, printed);
        }
        assert!(
            Instant::now() < deadline,
            "roster-local never became ready: {:#?}",
            printed.lines()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// The proxy is served by this runtime while the test waits on the command: two workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_prints_a_stall_within_seconds_and_its_recovery_once_the_cause_is_gone() {
    use roster_client::RegisterRequest;
    use roster_infra::resources::{AUTH_TABLE, Names};
    use roster_testkit::faults::{Fault, FaultProxy, When};

    let proxy = FaultProxy::start(roster_testkit::harness::endpoint_url().await).await;
    let prefix = format!("stall-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let state_dir = std::env::temp_dir().join(format!("roster-command-{prefix}"));
    let (Started { mut child, facts }, printed) =
        start_printing(&state_dir, proxy.url(), &prefix).await;
    let (auth, users) = (
        facts.auth_api(reqwest::Client::new()).unwrap(),
        facts.user_api(reqwest::Client::new()).unwrap(),
    );
    let stream = format!(
        "the {} table's stream",
        Names::new(prefix.clone()).table(&AUTH_TABLE)
    );

    // A healthy registration: its profile appears, and no stall is printed.
    let first = auth
        .register(
            &RegisterRequest::new("calm@example.com", "calm_user", "Calm-Secret-1"),
            None,
        )
        .await
        .unwrap();
    roster_local::clients::await_profile(&users, &first.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(printed.find(0, &["STALL"]), None, "{:#?}", printed.lines());

    // The bus refuses every event: the auth table's projector fails on the registration's
    // record and retries it, and the stream's records wait.
    proxy.inject(Fault::always("PutEvents", When::Before));
    let second = auth
        .register(
            &RegisterRequest::new("stalled@example.com", "stalled_user", "Stalled-Secret-1"),
            None,
        )
        .await
        .unwrap();
    let stall = roster_testkit::probes::eventually(
        "a STALL line naming the stream",
        Duration::from_secs(30),
        || async {
            printed.find(
                0,
                &[
                    "STALL: ",
                    &stream,
                    "has had unprocessed records",
                    "cargo roster status",
                ],
            )
        },
    )
    .await;

    // The bus takes events again: the record goes through, the profile appears, and the
    // stack says the stream caught up.
    proxy.clear();
    roster_testkit::probes::eventually(
        "the recovery printed after the stall",
        Duration::from_secs(30),
        || async { printed.find(stall + 1, &["recovered: ", &stream, "is caught up"]) },
    )
    .await;
    roster_local::clients::await_profile(&users, &second.id, Duration::from_secs(30))
        .await
        .unwrap();

    signal(child.0.id(), "INT");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "clean exit, got {status}");
    let _ = std::fs::remove_dir_all(state_dir);
}

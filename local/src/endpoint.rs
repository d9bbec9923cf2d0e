//! The local AWS endpoint: an existing one named by `AWS_ENDPOINT_URL`, or a moto server that
//! this process installs (once, into a project-local virtualenv) and starts on a free loopback
//! port. The moto process lives exactly as long as its [`LocalEndpoint`] (or, at the latest,
//! as long as this process): it exits when the pipe to its standard input closes.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use roster_infra::tools::{Progress, ensure_python_packages, roster_home};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The moto release Roster is tested against (see `shared/notes/local-aws.md`).
pub const MOTO_VERSION: &str = "5.2.5";

const LAUNCHER: &str = include_str!("../moto_launcher.py");

#[derive(Debug)]
pub struct LocalEndpoint {
    url: String,
    moto: Option<MotoProcess>,
}

impl LocalEndpoint {
    /// Uses `AWS_ENDPOINT_URL` when it is set and answers; otherwise installs (if needed) and
    /// starts moto on `127.0.0.1:port` (`0` picks a free port).
    /// moto's own request log goes to `log`, or nowhere.
    pub async fn connect_or_start(
        port: u16,
        log: Option<&Path>,
        progress: &dyn Progress,
    ) -> Result<Self> {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL")
            && !url.trim().is_empty()
        {
            if answers(&url).await {
                progress.step(&format!(
                    "using the AWS endpoint at {url} (AWS_ENDPOINT_URL)"
                ));
                return Ok(Self { url, moto: None });
            }
            progress.step(&format!(
                "AWS_ENDPOINT_URL={url} does not answer; starting moto instead"
            ));
        }
        Self::start(port, log, progress).await
    }

    /// Installs (if needed) and starts a moto of its own on `127.0.0.1:port` (`0` picks a
    /// free port), whatever `AWS_ENDPOINT_URL` says.
    pub async fn start(port: u16, log: Option<&Path>, progress: &dyn Progress) -> Result<Self> {
        let home = roster_home();
        let python = ensure_moto_installed(&home, progress)?;
        progress.step("starting moto");
        let moto = MotoProcess::start(&python, &home, port, log)?;
        let url = format!("http://127.0.0.1:{}", moto.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers(&url).await {
            if Instant::now() > deadline {
                bail!("moto did not answer at {url} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        progress.step(&format!("moto {MOTO_VERSION} is answering at {url}"));
        Ok(Self {
            url,
            moto: Some(moto),
        })
    }

    /// Wipes everything on the endpoint: every resource of every prefix (moto's reset API).
    /// A moto this endpoint just started is empty anyway.
    pub async fn reset(&self) -> Result<()> {
        let url = format!("{}/moto-api/reset", self.url);
        let response = reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        if !response.status().is_success() {
            bail!("POST {url}: {}", response.status());
        }
        Ok(())
    }

    /// Whether this endpoint is a moto it started itself (and so began empty).
    pub fn is_own(&self) -> bool {
        self.moto.is_some()
    }

    /// An endpoint somebody else runs (another stack's moto, the test harness's).
    pub fn external(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            moto: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The moto process this endpoint started, if it started one.
    pub fn moto_pid(&self) -> Option<u32> {
        self.moto.as_ref().map(|moto| moto.child.id())
    }

    /// Stops moto if this endpoint started it; an external endpoint is left alone.
    pub fn stop(&mut self) {
        // Dropping the process stops it.
        self.moto = None;
    }
}

/// A split of a table's stream shard on the local endpoint ([`split_stream_shard`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardSplit {
    /// The shard closed by the split: its records stay readable, up to this sequence number.
    pub closed: String,
    pub ending_sequence_number: String,
    /// Its child, where the table's writes go from now on.
    pub opened: String,
}

/// Closes the open shard of `table`'s stream on the local endpoint at `url` and opens its
/// child, as DynamoDB Streams does every few hours: `DescribeStream` then lists the closed
/// shard with its `EndingSequenceNumber` and the child with its `ParentShardId`, and a read
/// that reaches the closed shard's end gets no `NextShardIterator`
/// (`POST <endpoint>/_roster/streams/split`, served by `moto_launcher.py`).
pub async fn split_stream_shard(url: &str, table: &str) -> Result<ShardSplit> {
    #[derive(serde::Deserialize)]
    struct Answer {
        tables: Vec<ShardSplit>,
    }
    let answer: Answer = post_streams(url, "split", table).await?;
    answer
        .tables
        .into_iter()
        .next()
        .context("the endpoint split no shard")
}

/// Takes the closed shards of `table`'s stream out of the stream on the local endpoint at
/// `url`, as their 24-hour retention does on AWS: they are no longer listed, and reading them
/// fails (`POST <endpoint>/_roster/streams/trim`). Returns the ids of the shards taken out.
pub async fn trim_closed_shards(url: &str, table: &str) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Trimmed {
        trimmed: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        tables: Vec<Trimmed>,
    }
    let answer: Answer = post_streams(url, "trim", table).await?;
    Ok(answer
        .tables
        .into_iter()
        .flat_map(|table| table.trimmed)
        .collect())
}

async fn post_streams<T: serde::de::DeserializeOwned>(
    url: &str,
    action: &str,
    table: &str,
) -> Result<T> {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_roster/streams/{action}",
            url.trim_end_matches('/')
        ))
        .query(&[("table", table)])
        .send()
        .await
        .with_context(|| format!("asking the local endpoint to {action} the stream of {table}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!(
            "the local endpoint answered {status} to a stream {action} of {table}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(response.json().await?)
}

/// Whether something answers HTTP at `url` (any status counts).
pub async fn answers(url: &str) -> bool {
    let Some(authority) = url
        .strip_prefix("http://")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
    else {
        return false;
    };
    let probe = async {
        let mut stream = TcpStream::connect(authority).await.ok()?;
        let request =
            format!("GET /moto-api/ HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1."))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Some(true))
    )
}

/// Makes sure `.roster/venv` holds the pinned moto and returns its Python. Safe to call from
/// several processes at once: the first installs, the others wait on a file lock.
pub fn ensure_moto_installed(home: &Path, progress: &dyn Progress) -> Result<PathBuf> {
    let venv = match std::env::var_os("ROSTER_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => home.join("venv"),
    };
    let bin = ensure_python_packages(
        home,
        &venv,
        &[&format!("moto[server]=={MOTO_VERSION}")],
        &format!("moto {MOTO_VERSION}"),
        progress,
    )?;
    Ok(bin.join("python"))
}

#[derive(Debug)]
struct MotoProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl MotoProcess {
    fn start(python: &Path, home: &Path, port: u16, log: Option<&Path>) -> Result<Self> {
        use std::os::unix::process::CommandExt as _;

        let launcher = home.join("moto_launcher.py");
        if fs::read_to_string(&launcher).ok().as_deref() != Some(LAUNCHER) {
            fs::write(&launcher, LAUNCHER)?;
        }
        let stderr = match log {
            Some(log) => Stdio::from(File::create(log)?),
            None => Stdio::null(),
        };
        let mut child = Command::new(python)
            .arg(&launcher)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Its own process group: a Ctrl-C in the terminal reaches the stack, which then
            // stops moto itself, after the services are done with it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", python.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut first_line = String::new();
        BufReader::new(stdout).read_line(&mut first_line)?;
        let port = serde_json::from_str::<serde_json::Value>(&first_line)
            .ok()
            .and_then(|line| line["port"].as_u64())
            .and_then(|port| u16::try_from(port).ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("moto failed to start (its log, if any, says why)");
        };
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            port,
        })
    }
}

impl Drop for MotoProcess {
    fn drop(&mut self) {
        // Closing stdin asks the launcher to exit; a kill makes sure of it.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
    }
}

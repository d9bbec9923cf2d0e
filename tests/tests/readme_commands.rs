//! Every `cargo` command the README and the pages of `docs/` show, run as written, so that the
//! tour and the guides cannot drift from the commands.
//!
//! The commands are the lines of the pages' shell and plain code blocks that start with
//! `cargo `, and its inline code spans that do, `# comments` stripped. Each alias is expanded as
//! cargo expands it, from `.cargo/config.toml` (so `cargo stack -- --x` reaches `roster-local`
//! as `-- --x` and fails here as it fails for a reader), and the binary cargo would run is run,
//! already built:
//! - `roster-local` (`cargo stack`) on free ports, its state in a directory of its own: `--help`
//!   prints the usage; any other start must become ready, answer on both APIs and stop cleanly
//!   on SIGTERM; `--seed-demo` must have made the demo users, and `--reset` must have wiped an
//!   endpoint kept between runs (one of this test's own);
//! - `roster` (`cargo roster`) against the stack the tour starts (`cargo stack --seed-demo`),
//!   with the placeholders ([`PLACEHOLDERS`]: `<ID>`, `<KEY_ID>`, …) replaced by a user and a key
//!   made here or a subscriber's name, `[OPTIONAL]` arguments run without and with a value, and `events tail` running
//!   until the tour's registration and activation have been printed, then stopped by SIGTERM.
//!
//! The README's other shell commands (its `sh` blocks' lines that do not start with `cargo`:
//! the tour's `KEY=…` and `curl` lines) run too, in order, through `bash`, on the tour's stack
//! ([`run_tour_shell`]): the stack's ports and state directory take the place of `4001`, `4002`
//! and `.roster`, and `<activationCode>` the code of the tour user's mail. Each `curl` must
//! answer JSON that is not a problem document.
//!
//! What cannot run here is in [`NOT_RUN`] (or [`SHELL_NOT_RUN`]) with its reason; a README
//! command that is neither run nor listed there fails the test, so a command added to the
//! README is covered at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use roster_client::{AuthApi, RegisterRequest, UserApi};
use roster_local::clients::await_profile;
use roster_local::stack::LocalFacts;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// README commands this test does not run, each with the reason. An entry covers the command
/// itself and any command that adds arguments to it.
const NOT_RUN: [(&str, &str); 7] = [
    (
        "cargo test",
        "the test suite itself, which this test is part of",
    ),
    (
        "cargo fmt",
        "a check of the sources (.ci/run runs it), not a command of Roster",
    ),
    (
        "cargo clippy",
        "a check of the sources (.ci/run runs it), not a command of Roster",
    ),
    (
        "cargo deny check",
        "needs cargo-deny on the PATH and GitHub; infra/tests/supply_chain.rs runs the pinned build",
    ),
    (
        "cargo load",
        "a 60 s load run; bench/tests/load_command.rs runs the same command for a few seconds",
    ),
    (
        "cargo package-lambdas",
        "release builds of all eight functions: about 10 minutes per architecture on 2 cores",
    ),
    (
        "cargo roster --stage",
        "needs a stage deployed to a real AWS account, and its credentials",
    ),
];

/// Inline code in the README's prose that names a command rather than runs one (exact text;
/// a code block's line is always a command).
const NAMES: [(&str, &str); 3] = [
    ("cargo roster", "names the command its section describes"),
    (
        "cargo roster api-keys",
        "names the command group whose commands follow",
    ),
    ("cargo deny", "names the tool"),
];

/// The placeholders the README's commands may use, and what takes their place.
const PLACEHOLDERS: [(&str, Fill); 4] = [
    ("ID", Fill::User),
    ("KEY_ID", Fill::Key),
    ("SUBSCRIBER", Fill::Text("badge-rules")),
    ("NAME", Fill::Text("badge-rules")),
];

#[derive(Debug, Clone, Copy)]
enum Fill {
    /// The id of a user the test registers for it (`users delete <ID>` removes it).
    User,
    /// The id of an API key the test creates for it (`api-keys revoke <KEY_ID>` revokes it).
    Key,
    Text(&'static str),
}

/// The `<PLACEHOLDER>` names in `args`.
fn placeholders(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter()
        .filter_map(|arg| arg.strip_prefix('<').and_then(|arg| arg.strip_suffix('>')))
}

/// Code blocks whose lines are commands (a block without a language holds either commands or
/// output; only its lines starting with `cargo ` count).
const SHELL_BLOCKS: [&str; 5] = ["", "sh", "bash", "shell", "console"];

/// The README's shell commands other than `cargo` ones that this test does not run, each with
/// the reason (the start of the command).
const SHELL_NOT_RUN: [(&str, &str); 1] = [(
    "cd infra && sam deploy",
    "needs an AWS account; infra/tests/transformed.rs runs the SAM transform, cfn-lint and \
     checkov on the template it deploys",
)];

/// The lines of the README's `sh`, `bash` and `shell` blocks that are not `cargo` commands
/// (continued lines joined, comments stripped), with their line numbers, in order.
fn shell_commands(readme: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut block: Option<String> = None;
    let mut continued: Option<(usize, String)> = None;
    for (index, line) in readme.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(info.trim().to_owned()),
            };
            continued = None;
            continue;
        }
        if !matches!(block.as_deref(), Some("sh" | "bash" | "shell")) {
            continue;
        }
        let Some((start, text)) = shell_line(&mut continued, index + 1, line) else {
            continue;
        };
        if !text.is_empty() && !text.starts_with('#') && !text.starts_with("cargo ") {
            found.push((start, text));
        }
    }
    found
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).expect("README.md")
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}

/// A command as the README (or a page of `docs/`) shows it.
#[derive(Debug, Clone)]
struct Documented {
    /// The page it is on (`README.md`, `docs/deploy.md`, ...); empty until known.
    file: String,
    /// Line (1-based) of that page where it starts.
    line: usize,
    /// The command, comment stripped, whitespace collapsed.
    text: String,
    /// Inline code in prose rather than a code block's line.
    in_prose: bool,
}

impl Documented {
    /// Where it is, for messages: `docs/deploy.md line 12`.
    fn place(&self) -> String {
        format!("{} line {}", self.file, self.line)
    }
}

fn normalise(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A code block's `line` (number `number`) added to the shell command `continued` holds: the
/// whole command with its first line's number once it no longer ends in `\`, its `# comment`
/// stripped; `None` while it goes on.
fn shell_line(
    continued: &mut Option<(usize, String)>,
    number: usize,
    line: &str,
) -> Option<(usize, String)> {
    let (start, mut text) = continued.take().unwrap_or((number, String::new()));
    let line = line.trim();
    if let Some(head) = line.strip_suffix('\\') {
        text.push_str(head);
        text.push(' ');
        *continued = Some((start, text));
        return None;
    }
    text.push_str(line);
    if let Some(comment) = text.find(" #") {
        text.truncate(comment);
    }
    Some((start, text.trim_end().to_owned()))
}

/// Every `cargo` command in `readme`, once each (the first place it appears), in order.
fn documented_commands(readme: &str) -> Vec<Documented> {
    let mut found: Vec<Documented> = Vec::new();
    let mut push = |line: usize, text: &str, in_prose: bool| {
        let text = normalise(text);
        if (text == "cargo" || text.starts_with("cargo "))
            && !found.iter().any(|seen| seen.text == text)
        {
            found.push(Documented {
                file: String::new(),
                line,
                text,
                in_prose,
            });
        }
    };
    // The open code block's language, if one is open.
    let mut block: Option<String> = None;
    // A shell line continued with `\`: where it started and what it has so far.
    let mut continued: Option<(usize, String)> = None;
    // An inline code span: where it started and its text (spans may wrap lines).
    let mut span: Option<(usize, String)> = None;
    for (index, line) in readme.lines().enumerate() {
        let number = index + 1;
        if let Some(info) = line.trim_start().strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(info.trim().to_owned()),
            };
            continued = None;
            span = None;
            continue;
        }
        match &block {
            Some(info) if SHELL_BLOCKS.contains(&info.as_str()) => {
                if let Some((start, command)) = shell_line(&mut continued, number, line) {
                    push(start, &command, false);
                }
            }
            Some(_) => {}
            None => {
                for (position, piece) in line.split('`').enumerate() {
                    if position > 0 {
                        // A backtick: a span opens or closes.
                        span = match span.take() {
                            Some((start, text)) => {
                                push(start, &text, true);
                                None
                            }
                            None => Some((number, String::new())),
                        };
                    }
                    if let Some((_, text)) = &mut span {
                        text.push_str(piece);
                    }
                }
                if let Some((_, text)) = &mut span {
                    text.push(' ');
                }
            }
        }
    }
    found
}

/// `[alias]` of a cargo configuration: each alias with its words.
fn aliases(config: &str) -> BTreeMap<String, Vec<String>> {
    let mut aliases = BTreeMap::new();
    let mut in_alias = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_alias = line == "[alias]";
            continue;
        }
        if !in_alias || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("an alias is `name = value`: {line}"));
        let value = value.trim();
        let words: Vec<String> = if let Some(list) = value.strip_prefix('[') {
            // A list of words: ["run", "--bin", "x"].
            let list = &list[..list.find(']').expect("a list ends with ]")];
            list.split(',')
                .map(|word| word.trim().trim_matches('"').to_owned())
                .filter(|word| !word.is_empty())
                .collect()
        } else {
            // A string, split on whitespace as cargo splits it.
            let quoted = value
                .strip_prefix('"')
                .expect("an alias is a string or a list");
            quoted[..quoted.find('"').expect("a closing quote")]
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        aliases.insert(name.trim().to_owned(), words);
    }
    aliases
}

/// What `cargo` runs for a command: a binary of this package with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    bin: String,
    args: Vec<String>,
}

/// Expands `command` as cargo would through `aliases` (which must name a `cargo run` of one
/// binary): cargo takes the words before the first `--` (the alias's, then the command's) as its
/// own options and passes everything after it to the binary as it is.
fn resolve(aliases: &BTreeMap<String, Vec<String>>, command: &str) -> Result<Invocation, String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let sub = match words.as_slice() {
        ["cargo", sub, ..] => *sub,
        _ => return Err(format!("`{command}` is not a cargo subcommand")),
    };
    let alias = aliases
        .get(sub)
        .ok_or_else(|| format!("`cargo {sub}` is no alias of .cargo/config.toml"))?;
    let mut expanded: Vec<String> = alias.clone();
    expanded.extend(words[2..].iter().map(|word| (*word).to_owned()));
    if expanded.first().map(String::as_str) != Some("run") {
        return Err(format!("alias {sub} = {alias:?} is not a `cargo run`"));
    }
    let split = expanded
        .iter()
        .position(|word| word == "--")
        .unwrap_or(expanded.len());
    let (cargo_words, passed) = expanded.split_at(split);
    let bin = cargo_words
        .windows(2)
        .find(|pair| pair[0] == "--bin")
        .map(|pair| pair[1].clone())
        .ok_or_else(|| format!("alias {sub} = {alias:?} names no --bin"))?;
    let own = &cargo_words[alias.len().min(cargo_words.len())..];
    if !own.is_empty() {
        return Err(format!(
            "cargo run would take {own:?} as options of its own (alias {sub} = {alias:?})"
        ));
    }
    Ok(Invocation {
        bin,
        args: passed.iter().skip(1).cloned().collect(),
    })
}

/// The built binary cargo would run for `bin`. The binaries belong to other packages
/// (`roster-local`, `roster-ops`, `roster-infra`, `roster-bench`), so cargo hands this test no
/// path to them: it builds them once (`cargo build --workspace --bins`, a no-op when they are
/// fresh, as after a workspace `cargo test`) and runs `target/<profile>/<bin>`.
fn program(bin: &str) -> Option<PathBuf> {
    const BINARIES: [&str; 4] = ["roster-local", "roster", "roster-package", "roster-bench"];
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    if !BINARIES.contains(&bin) {
        return None;
    }
    let dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|error| error.to_string())?;
        // target/<profile>/deps/readme_commands-<hash> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("the test runs from target/<profile>/deps")?;
        let target_dir = profile_dir
            .parent()
            .ok_or("target/<profile> has a parent")?;
        let output = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace", "--bins"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(workspace())
            .output()
            .map_err(|error| format!("running cargo: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo build --workspace --bins: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(profile_dir.to_owned())
    });
    Some(
        dir.clone()
            .unwrap_or_else(|error| panic!("{error}"))
            .join(bin),
    )
}

/// Each `[OPTIONAL]` argument left out and given (as the placeholder `<OPTIONAL>`).
fn variants(command: &str) -> Vec<String> {
    let mut variants = vec![Vec::<String>::new()];
    for word in command.split_whitespace() {
        match word
            .strip_prefix('[')
            .and_then(|word| word.strip_suffix(']'))
        {
            Some(optional) => {
                let with: Vec<_> = variants
                    .iter()
                    .map(|words| [words.clone(), vec![format!("<{optional}>")]].concat())
                    .collect();
                variants.extend(with);
            }
            None => variants
                .iter_mut()
                .for_each(|words| words.push(word.to_owned())),
        }
    }
    variants.iter().map(|words| words.join(" ")).collect()
}

#[derive(Debug, Clone)]
enum Plan {
    NotRun(&'static str),
    /// `roster-local` with these arguments.
    Stack(Vec<String>),
    /// `roster` with these arguments (placeholders still in).
    Roster(Vec<String>),
}

#[derive(Debug, Clone)]
struct Planned {
    documented: Documented,
    /// The command as run: the README's, with an optional argument left out or given.
    command: String,
    plan: Plan,
}

/// What this test does with each README command; the commands it can neither run nor finds in
/// [`NOT_RUN`] or [`NAMES`], with why.
fn plans(pages: &[(String, String)], config: &str) -> (Vec<Planned>, Vec<String>) {
    let aliases = aliases(config);
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    for documented in documented_in(pages) {
        let text = documented.text.as_str();
        let names = NAMES.iter().find(|(name, _)| *name == text);
        let not_run = NOT_RUN
            .iter()
            .find(|(prefix, _)| text == *prefix || text.starts_with(&format!("{prefix} ")));
        if let Some((_, reason)) = names.filter(|_| documented.in_prose).or(not_run) {
            planned.push(Planned {
                command: documented.text.clone(),
                documented,
                plan: Plan::NotRun(reason),
            });
            continue;
        }
        for command in variants(text) {
            let plan = match resolve(&aliases, &command) {
                Ok(Invocation { bin, args }) if bin == "roster-local" => Plan::Stack(args),
                Ok(Invocation { bin, args }) if bin == "roster" => Plan::Roster(args),
                Ok(Invocation { bin, .. }) => {
                    problems.push(format!(
                        "{}: `{command}` runs {bin}, which this test has no way to \
                         run: add one, or list it in NOT_RUN with the reason",
                        documented.place()
                    ));
                    continue;
                }
                Err(error) => {
                    problems.push(format!(
                        "{}: `{command}` cannot run as written: {error}; fix the \
                         page, or list it in NOT_RUN with the reason",
                        documented.place()
                    ));
                    continue;
                }
            };
            planned.push(Planned {
                documented: documented.clone(),
                command,
                plan,
            });
        }
    }
    (planned, problems)
}

/// The pages whose commands must work: the README and every page of `docs/` (not the ADRs,
/// which record decisions as they were), each with its text; and the cargo configuration.
fn readme_and_config() -> (Vec<(String, String)>, String) {
    let read = |path: &str| {
        std::fs::read_to_string(workspace().join(path))
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    };
    let mut pages = vec![("README.md".to_owned(), read("README.md"))];
    let mut docs: Vec<String> = std::fs::read_dir(workspace().join("docs"))
        .expect("docs/")
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .collect();
    docs.sort();
    for name in docs {
        let path = format!("docs/{name}");
        let text = read(&path);
        pages.push((path, text));
    }
    (pages, read(".cargo/config.toml"))
}

/// Every `cargo` command of these pages, once each (the first page and place it appears).
fn documented_in(pages: &[(String, String)]) -> Vec<Documented> {
    let mut found: Vec<Documented> = Vec::new();
    for (file, text) in pages {
        for mut documented in documented_commands(text) {
            if !found.iter().any(|seen| seen.text == documented.text) {
                documented.file = file.clone();
                found.push(documented);
            }
        }
    }
    found
}

/// The tour's stack: the one started with the demo users, which the `roster` commands use.
fn is_tour_stack(args: &[String]) -> bool {
    args.iter().any(|arg| arg == "--seed-demo") && !is_help(args)
}

fn is_help(args: &[String]) -> bool {
    args.iter().any(|arg| arg == "--help" || arg == "-h")
}

#[test]
fn every_readme_command_is_run_or_listed_with_a_reason() {
    let (pages, config) = readme_and_config();
    let (planned, problems) = plans(&pages, &config);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The lists hold only what the README has.
    for (entry, _) in NOT_RUN.iter().chain(&NAMES) {
        assert!(
            planned.iter().any(|planned| {
                planned.command == *entry || planned.command.starts_with(&format!("{entry} "))
            }),
            "`{entry}` is listed as not run, but the README has no such command any more"
        );
    }
    // Every placeholder of a command run has a value (the stack's commands take none).
    for planned in &planned {
        let (args, known): (_, &[_]) = match &planned.plan {
            Plan::Roster(args) => (args, &PLACEHOLDERS),
            Plan::Stack(args) => (args, &[]),
            Plan::NotRun(_) => continue,
        };
        for name in placeholders(args) {
            assert!(
                known.iter().any(|(known, _)| *known == name),
                "{}: `{}` has the placeholder <{name}>, which this test does not \
                 fill (PLACEHOLDERS)",
                planned.documented.place(),
                planned.command
            );
        }
    }
    let run = |kind: fn(&Plan) -> bool| planned.iter().filter(|p| kind(&p.plan)).count();
    assert!(
        run(|plan| matches!(plan, Plan::Roster(_))) >= 10,
        "{planned:#?}"
    );
    assert!(
        planned
            .iter()
            .any(|p| matches!(&p.plan, Plan::Stack(args) if is_tour_stack(args))),
        "the README starts no stack with --seed-demo, which the roster commands need"
    );
}

#[test]
fn every_readme_shell_command_is_run_or_listed_with_a_reason() {
    let commands = shell_commands(&readme());
    let listed = |text: &str| {
        SHELL_NOT_RUN
            .iter()
            .any(|(start, _)| text.starts_with(start))
    };
    let run: Vec<_> = commands.iter().filter(|(_, text)| !listed(text)).collect();
    // What runs is the tour's: it talks to the local stack.
    for (line, text) in &run {
        assert!(
            text.contains("127.0.0.1:400") || text.contains(".roster/local.json"),
            "README.md line {line}: `{text}` is neither the tour's (which runs on its stack) \
             nor listed in SHELL_NOT_RUN with the reason"
        );
    }
    assert!(
        run.iter()
            .filter(|(_, text)| text.starts_with("curl "))
            .count()
            >= 2,
        "the tour registers and activates with curl: {commands:#?}"
    );
    for (start, _) in SHELL_NOT_RUN {
        assert!(
            commands.iter().any(|(_, text)| text.starts_with(start)),
            "`{start}` is listed as not run, but the README has no such command any more"
        );
    }
}

/// The alias is read, not assumed: a stray `--` after `cargo stack` reaches the binary, which
/// refuses it, as a reader would see.
#[test]
fn a_stray_double_dash_after_an_alias_is_caught() {
    let (_, config) = readme_and_config();
    let aliases = aliases(&config);
    let stray = resolve(&aliases, "cargo stack -- --seed-demo").unwrap();
    assert_eq!(
        stray,
        Invocation {
            bin: "roster-local".to_owned(),
            args: vec!["--".to_owned(), "--seed-demo".to_owned()],
        }
    );
    let output = Command::new(program(&stray.bin).unwrap())
        .args(&stray.args)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--seed-demo'"),
        "{output:?}"
    );
    assert_eq!(
        resolve(&aliases, "cargo stack --seed-demo").unwrap().args,
        ["--seed-demo"]
    );
    assert_eq!(
        resolve(&aliases, "cargo roster users get x").unwrap(),
        Invocation {
            bin: "roster".to_owned(),
            args: ["users", "get", "x"].map(str::to_owned).to_vec(),
        }
    );
    let readme = "Run `cargo stack -- --reset`, then:\n```sh\ncargo roster dlq list  # which\n\
                  cargo roster users find \\\n  --email a@example.com\n```\n```json\ncargo x\n```\n";
    let found: Vec<_> = documented_commands(readme)
        .into_iter()
        .map(|documented| (documented.line, documented.text))
        .collect();
    assert_eq!(
        found,
        [
            (1, "cargo stack -- --reset".to_owned()),
            (3, "cargo roster dlq list".to_owned()),
            (
                4,
                "cargo roster users find --email a@example.com".to_owned()
            ),
        ]
    );
    assert_eq!(
        variants("cargo roster dlq list [SUBSCRIBER]"),
        [
            "cargo roster dlq list",
            "cargo roster dlq list <SUBSCRIBER>"
        ]
    );
}

/// A `roster-local` started by this test; stopped with SIGTERM (so its moto stops too) if the
/// test fails before it stops it.
struct Stack {
    child: Running,
    facts: LocalFacts,
    state_dir: PathBuf,
}

/// A child process, stopped (SIGTERM, then SIGKILL) if it still runs when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            terminate(&mut self.0);
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Stack {
    fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("stack.log")).unwrap_or_default()
    }

    /// SIGTERM; it must exit cleanly, its moto must be gone and its facts removed.
    fn stop(mut self) -> Result<(), String> {
        terminate(&mut self.child.0);
        let status = self.child.0.wait().map_err(|error| error.to_string())?;
        if !status.success() {
            return Err(format!("exited with {status}:\n{}", self.log()));
        }
        if let Some(moto) = self.facts.moto_pid.filter(|pid| alive(*pid)) {
            return Err(format!("its moto (pid {moto}) outlived it"));
        }
        if LocalFacts::read(&self.state_dir).is_some() {
            return Err("local.json was not removed".to_owned());
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// SIGTERM, then up to 30 s for the process to exit.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
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

fn fresh_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "roster-readme-{what}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `roster-local` process environment: free ports and a state directory of its own
/// (given the way the README's Configuration table says), and `AWS_ENDPOINT_URL` only if
/// given.
fn stack_command(args: &[String], state_dir: &Path, endpoint: Option<&str>) -> Command {
    let mut command = Command::new(program("roster-local").unwrap());
    command
        .args(args)
        .current_dir(workspace())
        .env("ROSTER_AUTH_PORT", "0")
        .env("ROSTER_USER_PORT", "0")
        .env("ROSTER_WEB_PORT", "0")
        .env("ROSTER_STATE_DIR", state_dir)
        .env_remove("ROSTER_MOTO_PORT")
        .env_remove("ROSTER_PREFIX")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null());
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    command
}

/// Starts `roster-local` with `args` and waits until it is ready (its `local.json` written).
fn start_stack(args: &[String], endpoint: Option<&str>) -> Result<Stack, String> {
    let state_dir = fresh_dir("stack");
    let log_file = state_dir.join("stack.log");
    let log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    let output = std::fs::File::create(&log_file).unwrap();
    let mut child = Running(
        stack_command(args, &state_dir, endpoint)
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .map_err(|error| format!("roster-local does not start: {error}"))?,
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(facts) = LocalFacts::read(&state_dir).filter(|facts| facts.pid == child.0.id())
        {
            return Ok(Stack {
                child,
                facts,
                state_dir,
            });
        }
        let failed = match child.0.try_wait() {
            Ok(Some(status)) => Some(format!("exited ({status}) before ready")),
            _ if Instant::now() > deadline => Some("not ready within 3 minutes".to_owned()),
            _ => None,
        };
        if let Some(failed) = failed {
            drop(child);
            let log = log();
            let _ = std::fs::remove_dir_all(&state_dir);
            return Err(format!("{failed}:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn health(stack: &Stack) -> Result<(), String> {
    for url in [&stack.facts.auth_url, &stack.facts.user_url] {
        let status = reqwest::get(format!("{url}/health"))
            .await
            .map_err(|error| format!("{url}/health: {error}"))?
            .status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("{url}/health: {status}"));
        }
    }
    if !stack.log().contains("Roster is ready") {
        return Err(format!("it never said it was ready:\n{}", stack.log()));
    }
    Ok(())
}

/// Waits for the demo users the stack makes once ready, and checks they are there.
async fn demo_users(stack: &Stack) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !stack.log().contains("Demo users (password") {
        if stack.log().contains("could not all be made") || Instant::now() > deadline {
            return Err(format!("no demo users:\n{}", stack.log()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, users) = clients(&stack.facts)?;
    for name in ["ada", "grace", "alan", "katherine", "linus"] {
        users
            .user_by_email(&format!("{name}@example.com"))
            .await
            .map_err(|error| format!("demo user {name}: {error}"))?;
    }
    Ok(())
}

/// A moto of this test's own, kept between runs as `--reset` expects, with a table on it that
/// the reset must remove.
async fn kept_endpoint() -> roster_local::endpoint::LocalEndpoint {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let endpoint =
        roster_local::endpoint::LocalEndpoint::start(0, None, &roster_infra::tools::Quiet)
            .await
            .unwrap();
    let sdk = roster_platform::aws::local(endpoint.url(), "us-east-1").await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .create_table()
        .table_name("left-over-from-yesterday")
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    endpoint
}

async fn tables(endpoint: &str) -> Vec<String> {
    let sdk = roster_platform::aws::local(endpoint, "us-east-1").await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default()
}

/// Runs one `roster-local` command of the README: `--help` to its end; anything else until it
/// is ready and checked, then stopped, unless it is the tour's stack, which is returned
/// running.
async fn run_stack(args: &[String]) -> Result<Option<Stack>, String> {
    if is_help(args) {
        let state_dir = fresh_dir("help");
        let output = stack_command(args, &state_dir, None)
            .output()
            .map_err(|error| error.to_string())?;
        let _ = std::fs::remove_dir_all(state_dir);
        let usage = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !usage.contains("Usage: roster-local") {
            return Err(format!(
                "{}: {usage}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        return Ok(None);
    }
    let kept = if args.iter().any(|arg| arg == "--reset") {
        Some(kept_endpoint().await)
    } else {
        None
    };
    let kept_url = kept.as_ref().map(|endpoint| endpoint.url().to_owned());
    let stack = tokio::task::block_in_place(|| start_stack(args, kept_url.as_deref()))?;
    health(&stack).await?;
    if let Some(url) = &kept_url {
        let tables = tables(url).await;
        if tables
            .iter()
            .any(|table| table == "left-over-from-yesterday")
            || !tables.iter().any(|table| table.starts_with("roster-"))
        {
            return Err(format!("not wiped and provisioned afresh: {tables:?}"));
        }
    }
    if args.iter().any(|arg| arg == "--seed-demo") {
        demo_users(&stack).await?;
    }
    if is_tour_stack(args) {
        return Ok(Some(stack));
    }
    tokio::task::block_in_place(|| stack.stop())?;
    Ok(None)
}

/// What the `roster` commands run against and fill their placeholders with.
struct Tour {
    stack: Stack,
    client: (AuthApi, UserApi),
    values: BTreeMap<&'static str, String>,
}

/// `roster` as `cargo roster` runs it from the workspace, on the tour's stack (the one whose
/// `local.json` is in `ROSTER_HOME`, as `.roster` is for a reader).
fn roster_command(tour_dir: &Path, args: &[String]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program("roster").unwrap());
    command
        .args(args)
        .current_dir(workspace())
        .env("ROSTER_HOME", tour_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Both APIs of the stack, as a caller with the development key sees them.
fn clients(facts: &LocalFacts) -> Result<(AuthApi, UserApi), String> {
    let http = reqwest::Client::new();
    let auth = facts.auth_api(http.clone());
    let users = facts.user_api(http);
    auth.and_then(|auth| Ok((auth, users?)))
        .map_err(|error| error.to_string())
}

/// Registers a user as the tour does (and activates it if asked); its id once its profile is
/// there.
async fn register(
    (auth, users): &(AuthApi, UserApi),
    facts: &LocalFacts,
    email: &str,
    name: &str,
    activate: bool,
) -> Result<String, String> {
    let request = RegisterRequest::new(email, name, "Tour-Password-1");
    let registered = auth
        .register(&request, None)
        .await
        .map_err(|error| error.to_string())?;
    await_profile(users, &registered.id, Duration::from_secs(30))
        .await
        .map_err(|error| error.to_string())?;
    if activate {
        // As the tour's reader does: the code from the user's mail (the stack's mailbox).
        let code = roster_local::mailbox::activation_code(facts, email, Duration::from_secs(30))
            .await
            .map_err(|error| format!("{error:#}"))?;
        users
            .activate_in_path(&code)
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(registered.id)
}

/// The tour's stack with what its commands refer to: the tour's own user (`tour@example.com`,
/// registered and activated as its step 3 does), a user for `<ID>` and a key for `<KEY_ID>`.
async fn tour(stack: Stack) -> Result<Tour, String> {
    let client = clients(&stack.facts)?;
    run_tour_shell(&client, &stack).await?;
    let id = register(
        &client,
        &stack.facts,
        "readme@example.com",
        "readme_user",
        false,
    )
    .await?;
    let args = ["--json", "api-keys", "create", "--caller", "readme-test"]
        .into_iter()
        .chain(["--scopes", "auth"])
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let output = roster_command(&stack.state_dir, &args)
        .output()
        .await
        .map_err(|error| error.to_string())?;
    let created: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("api-keys create --json: {error}: {output:?}"))?;
    let key_id = created["record"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let values = PLACEHOLDERS
        .iter()
        .map(|(name, fill)| {
            let value = match fill {
                Fill::User => id.clone(),
                Fill::Key => key_id.clone(),
                Fill::Text(text) => (*text).to_owned(),
            };
            (*name, value)
        })
        .collect();
    Ok(Tour {
        stack,
        client,
        values,
    })
}

/// The README's tour shell commands (see the module's documentation), in order, on `stack`:
/// variables a line assigns (`KEY=$(…)`) are kept for the lines after it, each `curl` must
/// answer JSON that is not a problem document, and the tour's user must end activated.
async fn run_tour_shell((_, users): &(AuthApi, UserApi), stack: &Stack) -> Result<(), String> {
    let local_json = stack.state_dir.join("local.json");
    let mut variables: Vec<(String, String)> = Vec::new();
    let mut registered: Option<Value> = None;
    let listed = |text: &str| {
        SHELL_NOT_RUN
            .iter()
            .any(|(start, _)| text.starts_with(start))
    };
    for (line, documented) in shell_commands(&readme()) {
        if listed(&documented) {
            continue;
        }
        let mut command = documented
            .replace("http://127.0.0.1:4001", &stack.facts.auth_url)
            .replace("http://127.0.0.1:4002", &stack.facts.user_url)
            .replace(".roster/local.json", &local_json.to_string_lossy());
        if command.contains("<activationCode>") {
            let email = registered
                .as_ref()
                .and_then(|answer| answer["email"].as_str())
                .ok_or_else(|| format!("README.md line {line}: no registration before it"))?;
            let code = roster_local::mailbox::activation_code(
                &stack.facts,
                email,
                Duration::from_secs(30),
            )
            .await
            .map_err(|error| format!("{error:#}"))?;
            command = command.replace("<activationCode>", &code);
        }
        let assigned = command
            .split_once('=')
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|(name, _)| name.to_owned());
        let script = match &assigned {
            Some(name) => format!("{command}\nprintf %s \"${name}\""),
            None => command.clone(),
        };
        let output = tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .envs(variables.iter().cloned())
            .current_dir(workspace())
            .output()
            .await
            .map_err(|error| error.to_string())?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let place = format!("README.md line {line}: `{documented}`");
        if !output.status.success() {
            return Err(format!(
                "{place}: {}: {stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if let Some(name) = assigned {
            variables.push((name, stdout));
            continue;
        }
        if command.starts_with("curl ") {
            let answer: Value = serde_json::from_str(&stdout)
                .map_err(|error| format!("{place}: not JSON ({error}): {stdout}"))?;
            if answer["status"]
                .as_u64()
                .is_some_and(|status| status >= 400)
            {
                return Err(format!("{place}: refused: {answer}"));
            }
            if command.contains("/auth/register") {
                // The reader opens the mailbox next; by then the profile is there.
                let id = answer["id"].as_str().unwrap_or_default();
                await_profile(users, id, Duration::from_secs(30))
                    .await
                    .map_err(|error| format!("{place}: {error}"))?;
                registered = Some(answer);
            }
        }
    }
    let id = registered
        .as_ref()
        .and_then(|answer| answer["id"].as_str())
        .ok_or("the tour registers nobody")?;
    let user = await_profile(users, id, Duration::from_secs(30))
        .await
        .map_err(|error| error.to_string())?;
    if user.status != "CONFIRMED" {
        return Err(format!("the tour's user is {} after the tour", user.status));
    }
    Ok(())
}

/// `args` with each `<PLACEHOLDER>` replaced by its value.
fn filled(args: &[String], values: &BTreeMap<&'static str, String>) -> Result<Vec<String>, String> {
    args.iter()
        .map(
            |arg| match arg.strip_prefix('<').and_then(|arg| arg.strip_suffix('>')) {
                Some(name) => values.get(name).cloned().ok_or_else(|| {
                    format!("no value for the placeholder <{name}>: add it to PLACEHOLDERS")
                }),
                None => Ok(arg.clone()),
            },
        )
        .collect()
}

/// Runs one `roster` command of the README on the tour's stack; it must succeed.
async fn run_roster(tour: &Tour, args: &[String]) -> Result<(), String> {
    let args = filled(args, &tour.values)?;
    if args.iter().any(|arg| arg == "tail") {
        return tail(tour, &args).await;
    }
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        roster_command(&tour.stack.state_dir, &args).output(),
    )
    .await
    .map_err(|_| "still running after 60 s".to_owned())?
    .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// `events tail`: it runs until stopped, printing the events of a registration and an
/// activation as they happen (the five the tour names), and stops cleanly on SIGTERM.
async fn tail(tour: &Tour, args: &[String]) -> Result<(), String> {
    let mut tail = roster_command(&tour.stack.state_dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| error.to_string())?;
    let mut stderr = BufReader::new(tail.stderr.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
        .await
        .map_err(|_| "no banner within 30 s".to_owned())?
        .map_err(|error| error.to_string())?
        .unwrap_or_default();
    if !banner.starts_with("Tailing the bus") {
        return Err(format!("it said {banner:?}"));
    }
    let id = register(
        &tour.client,
        &tour.stack.facts,
        "tail@example.com",
        "tail_user",
        true,
    )
    .await?;
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let kinds = [
        "UserRegistered",
        "UserProfileCreated",
        "UserStatusChanged",
        "UserActivated",
        "BadgeAwarded",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kinds.iter().all(|kind| {
        printed
            .iter()
            .any(|line: &String| line.contains(kind) && line.contains(&id))
    }) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await {
            Ok(Ok(Some(line))) => printed.push(line),
            _ => {
                return Err(format!(
                    "not all of {kinds:?} for {id} in time: {printed:#?}"
                ));
            }
        }
    }
    let pid = tail.id().unwrap_or_default().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let exit = tokio::time::timeout(Duration::from_secs(30), tail.wait())
        .await
        .map_err(|_| "it did not stop on SIGTERM".to_owned())?
        .map_err(|error| error.to_string())?;
    if !exit.success() {
        return Err(format!("it stopped with {exit}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_runs_as_written() {
    let started = Instant::now();
    let (pages, config) = readme_and_config();
    let (planned, problems) = plans(&pages, &config);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let describe =
        |planned: &Planned| format!("{}: `{}`", planned.documented.place(), planned.command);

    // The tour's stack first: the roster commands need it.
    let mut tour_stack = None;
    for planned in &planned {
        if let Plan::Stack(args) = &planned.plan
            && is_tour_stack(args)
            && tour_stack.is_none()
        {
            let began = Instant::now();
            match run_stack(args).await {
                Ok(stack) => tour_stack = stack,
                Err(error) => failures.push(format!("{}: {error}", describe(planned))),
            }
            report.push(format!(
                "{:>6.1} s  {}",
                began.elapsed().as_secs_f64(),
                describe(planned)
            ));
        }
    }
    let tour = match tour_stack {
        Some(stack) => match tour(stack).await {
            Ok(tour) => Some(tour),
            Err(error) => {
                failures.push(format!("preparing the tour's users and key: {error}"));
                None
            }
        },
        None => None,
    };

    for planned in &planned {
        let began = Instant::now();
        let outcome = match (&planned.plan, &tour) {
            (Plan::NotRun(reason), _) => {
                report.push(format!("   not run  {}: {reason}", describe(planned)));
                continue;
            }
            (Plan::Stack(args), _) if is_tour_stack(args) => continue,
            (Plan::Stack(args), _) => run_stack(args).await.map(drop),
            (Plan::Roster(args), Some(tour)) => run_roster(tour, args).await,
            (Plan::Roster(_), None) => Err("no tour stack to run it on".to_owned()),
        };
        report.push(format!(
            "{:>6.1} s  {}",
            began.elapsed().as_secs_f64(),
            describe(planned)
        ));
        if let Err(error) = outcome {
            failures.push(format!("{}: {error}", describe(planned)));
        }
    }
    if let Some(tour) = tour {
        let Tour { stack, .. } = tour;
        if let Err(error) = tokio::task::block_in_place(|| stack.stop()) {
            failures.push(format!("stopping the tour's stack: {error}"));
        }
    }
    eprintln!(
        "{}\nin {:.1} s",
        report.join("\n"),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

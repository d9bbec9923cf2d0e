//! Roster in a real browser: Debian's Chromium, headless, driven by playwright-core
//! (`tests/browser`). Both are installed on first use: Chromium with apt-get, playwright-core
//! with `npm ci` from its lock file.
//!
//! - Each API's `/docs` page lists every operation of its OpenAPI document and loads nothing
//!   from anywhere but the API and the assets bucket (Swagger UI); its "Try it out" calls the
//!   API it was served by.
//! - The example account page (`examples/web`) works end to end from an origin on the CORS
//!   allow-list, and from another origin the browser refuses the API call at its preflight. A
//!   newcomer activates its account by following the link of its activation mail in the
//!   stack's mailbox page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use roster_local::demo::{self, DEMO_PASSWORD};
use roster_local::web::{self, WebConfig};
use roster_testkit::harness;
use serde_json::Value;
use tokio::sync::OnceCell;

use roster_platform::openapi::operations;

use crate::support::Api;

const CHROMIUM: &str = "/usr/bin/chromium";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium and playwright-core, installed once per test process.
async fn browser() -> &'static str {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| {
                install_chromium();
                install_playwright();
            })
            .await
            .expect("the browser install ran");
        })
        .await;
    CHROMIUM
}

/// Runs `command`, quietly; on failure, what it printed.
fn quietly(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn install_chromium() {
    if Path::new(CHROMIUM).exists() {
        return;
    }
    let apt = |args: &[&str]| {
        quietly(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    let install = ["install", "-y", "-q", "--no-install-recommends", "chromium"];
    let installed = apt(&install).or_else(|_| apt(&["update", "-q"]).and_then(|()| apt(&install)));
    if let Err(error) = installed {
        panic!(
            "Chromium is not installed and could not be: {error}\n\
             The browser tests install Debian's chromium with apt-get, which needs root; \
             or install it yourself (/usr/bin/chromium)."
        );
    }
}

fn install_playwright() {
    let dir = scripts();
    let lock = std::fs::read(dir.join("package-lock.json")).expect("tests/browser has a lock");
    let stamp = dir.join("node_modules/.roster-lock");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return;
    }
    quietly(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
    )
    .unwrap_or_else(|error| panic!("installing playwright-core failed: {error}"));
    std::fs::write(stamp, lock).expect("the install stamp is written");
}

/// Runs one of the scripts and returns its JSON report.
async fn run(script: &str, args: &[&str]) -> Value {
    let chromium = browser().await;
    let output = tokio::process::Command::new("node")
        .arg(scripts().join(script))
        .arg(chromium)
        .args(args)
        .output()
        .await
        .expect("node runs");
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[tokio::test]
async fn each_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let assets = facts.assets_url();
    let report = run("docs.mjs", &[&assets, &facts.auth_url, &facts.user_url]).await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);

    let expected = [
        ("Roster Auth API", operations(&roster_auth_api::openapi())),
        ("Roster User API", operations(&roster_user_api::openapi())),
    ];
    let pages = report.as_array().unwrap();
    assert_eq!(pages.len(), 2);
    for (page, (title, expected)) in pages.iter().zip(expected) {
        let shown: BTreeSet<(String, String)> = page["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap().to_uppercase(),
                    pair[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(expected.len() >= 8, "{title}: {expected:?}");
        assert_eq!(
            shown, expected,
            "{title}: the page lists another set of routes"
        );
        assert!(page["title"].as_str().unwrap().starts_with(title), "{page}");
        assert_eq!(
            page["servers"],
            serde_json::json!([page["api"]]),
            "{title}: {page}"
        );
        assert_eq!(page["foreign"], serde_json::json!([]), "{title}: {page}");
        assert_eq!(page["errors"], serde_json::json!([]), "{title}: {page}");
    }
}

#[tokio::test]
async fn the_account_page_works_from_an_allowed_origin_and_is_refused_at_the_preflight_elsewhere() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    demo::seed(&facts).await.unwrap();
    // The same page and backend on an origin the APIs do not allow.
    let blocked = harness::spawn_router(web::router(
        WebConfig::for_stack(&facts),
        reqwest::Client::new(),
    ))
    .await;
    assert!(facts.web_url.starts_with("http://localhost:"));
    // A user who deletes its account on the page.
    let users = roster_client::UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let auth = roster_client::AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let leaver = auth
        .register(
            &roster_client::RegisterRequest::new("leaver@example.com", "leaver", DEMO_PASSWORD),
            None,
        )
        .await
        .unwrap()
        .id;
    // A newcomer, registered as a BFF would: its activation mail is on its way. (Raw: the
    // 201's shape is checked, no `activationCode`.)
    let raw = Api::new(&facts.auth_url, &facts.api_key);
    let (status, newcomer) = raw
        .json(
            reqwest::Method::POST,
            "/auth/register",
            serde_json::json!({"email": "Newcomer@Example.com", "name": "newcomer", "password": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{newcomer}");
    assert!(newcomer.get("activationCode").is_none(), "{newcomer}");
    crate::support::eventually("the leaver's profile", Duration::from_secs(20), || async {
        users.user(&leaver).await.is_ok().then_some(())
    })
    .await;

    let report = run(
        "account.mjs",
        &[
            &facts.web_url,
            &blocked,
            "ada@example.com",
            DEMO_PASSWORD,
            "leaver@example.com",
            DEMO_PASSWORD,
            "newcomer@example.com",
            DEMO_PASSWORD,
        ],
    )
    .await;
    let newcomer_now = users.user_by_email("newcomer@example.com").await;
    let ada = users.user_by_email("ada@example.com").await;
    crate::support::eventually(
        "the leaver's profile deleted",
        Duration::from_secs(20),
        || async {
            let status = crate::support::refusal_status(users.user(&leaver).await);
            (status == Some(StatusCode::NOT_FOUND)).then_some(())
        },
    )
    .await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);

    let allowed = &report["allowed"];
    let signed_in = &allowed["signedIn"];
    assert_eq!(signed_in["name"], "ada", "{report:#}");
    assert_eq!(signed_in["handle"], "@Ada", "{report:#}");
    assert_eq!(signed_in["status"], "CONFIRMED", "{report:#}");
    assert!(
        signed_in["avatar"].as_str().unwrap().ends_with("/03.png"),
        "{report:#}"
    );
    assert_eq!(signed_in["avatarLoaded"], true, "{report:#}");
    let badges = signed_in["badges"].as_array().unwrap();
    assert!(badges.contains(&"EARLY_ADOPTER".into()), "{report:#}");
    assert!(
        signed_in["badgeIcons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|loaded| loaded == true),
        "every badge icon loads: {report:#}"
    );

    for state in ["saved", "reloaded"] {
        let shown = &allowed[state];
        assert_eq!(shown["lang"], "de_de", "{state}: {report:#}");
        assert_eq!(shown["currency"], "EUR", "{state}: {report:#}");
        assert!(
            shown["avatar"].as_str().unwrap().ends_with("/04.png"),
            "{state}: {report:#}"
        );
        assert_eq!(shown["avatarLoaded"], true, "{state}: {report:#}");
    }
    assert_eq!(allowed["signedOut"], true, "{report:#}");
    let two_factor = &allowed["twoFactor"];
    assert_eq!(two_factor["uriMatchesKey"], true, "{report:#}");
    assert_eq!(two_factor["keyLength"], 32, "{report:#}");
    assert_eq!(two_factor["keyShownAfterConfirm"], "", "{report:#}");
    assert_eq!(two_factor["askedForCode"], true, "{report:#}");
    assert_eq!(two_factor["nameAfterCode"], "ada", "{report:#}");
    assert_eq!(two_factor["codeAskedAfterDisable"], false, "{report:#}");
    let export = &allowed["export"];
    assert_eq!(export["fileName"], "roster-data-export.json", "{report:#}");
    assert_eq!(export["email"], "ada@example.com", "{report:#}");
    assert_eq!(export["identityEmail"], "ada@example.com", "{report:#}");
    assert_eq!(export["poolSub"], export["userId"], "{report:#}");
    assert_eq!(export["statusHistoryKept"], false, "{report:#}");
    let deletion = &report["deletion"];
    assert!(
        deletion["wrongPassword"]
            .as_str()
            .unwrap()
            .contains("not your current password"),
        "{report:#}"
    );
    assert_eq!(deletion["stillShown"], true, "{report:#}");
    assert!(
        deletion["deleted"]
            .as_str()
            .unwrap()
            .contains("being deleted"),
        "{report:#}"
    );
    let errors: Vec<&Value> = allowed["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line.as_str().unwrap().starts_with("error"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // What the page saved is what the API holds.
    let ada = ada.unwrap();
    let settings = &ada.profile.profile_data;
    assert_eq!(settings.lang, "de_de");
    assert_eq!(settings.currency, "EUR");

    let activation = &report["activation"];
    assert!(
        activation["wrongCode"]
            .as_str()
            .unwrap()
            .contains("no unused activation code matches"),
        "{report:#}"
    );
    assert_eq!(activation["resent"], true, "{report:#}");
    assert!(
        activation["tooSoon"]
            .as_str()
            .unwrap()
            .contains("ask again in"),
        "{report:#}"
    );
    assert_eq!(
        activation["mailbox"]["recipients"],
        serde_json::json!(["newcomer@example.com"]),
        "the mail went to the address in its normal form: {report:#}"
    );
    assert_eq!(
        activation["mailbox"]["subject"], "Activate your account, newcomer",
        "{report:#}"
    );
    assert!(
        activation["mailbox"]["from"]
            .as_str()
            .unwrap()
            .contains(&format!("no-reply@{}", facts.mail_domain())),
        "{report:#}"
    );
    assert!(
        activation["activated"]
            .as_str()
            .unwrap()
            .contains("newcomer@example.com is activated"),
        "{report:#}"
    );
    assert!(
        !activation["addressAfter"]
            .as_str()
            .unwrap()
            .contains("activate="),
        "the code is out of the address bar: {report:#}"
    );
    assert_eq!(activation["signedInName"], "newcomer", "{report:#}");
    assert_eq!(activation["signedInStatus"], "CONFIRMED", "{report:#}");
    let newcomer_now = newcomer_now.unwrap();
    assert_eq!(newcomer_now.status, "CONFIRMED", "{newcomer_now:?}");
    let errors: Vec<&Value> = activation["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| {
            let line = line.as_str().unwrap();
            // The mistyped code's 404 and the resend's 429 are answers the page shows.
            line.starts_with("error") && !line.contains("404") && !line.contains("429")
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");

    let refused = &report["blocked"];
    assert_eq!(refused["accountShown"], false, "{report:#}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("not on its CORS allow-list"),
        "{report:#}"
    );
    let console = refused["console"].as_array().unwrap();
    assert!(
        console.iter().any(|line| {
            let line = line.as_str().unwrap();
            line.contains("blocked by CORS policy")
                && line.contains("preflight")
                && line.contains("/public/user/me")
        }),
        "the browser refused the call at its preflight: {console:#?}"
    );
}

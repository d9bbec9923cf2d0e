//! schemathesis (pinned, from PyPI) against both OpenAPI documents on a running local stack:
//! every operation, with a valid API key and a valid Bearer token, through its examples,
//! generated requests (valid and invalid) and stateful sequences built from the documents'
//! links. No server error, and no response that breaks the documented status codes, content
//! types, headers or schemas.
//!
//! After the fuzzing, the same stack must still do the happy path: a new registration reaches
//! its profile through the event flow, and the user signs in (issue 15: a fuzzer's refused
//! registrations once stopped the stream for good). It runs on one stack between the refusals
//! and the journey of
//! `resilience::refusals::refusals_then_fuzzing_then_the_journey_on_one_running_stack`.
//!
//! One check is left out: `positive_data_acceptance` (a request the schema allows must
//! succeed) cannot hold for rules that live in configuration or state rather than in the
//! document, such as `clientId` naming a configured app client or a password the pool
//! accepts but that is not this user's.

use std::process::Command;
use std::time::Duration;

use roster_client::{AuthApi, LoginRequest, RegisterRequest, UserApi};
use roster_infra::tools::{Quiet, ensure_python_tools, roster_home};
use roster_local::clients::await_profile;
use roster_local::stack::RunningStack;

/// Fuzzes both APIs of a running stack, then registers a user, waits for its profile and
/// signs it in.
pub(crate) async fn fuzz_then_register(stack: &RunningStack) {
    let facts = stack.facts().clone();
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    auth.register(
        &RegisterRequest::new("fuzz@example.com", "fuzz_user", "Fuzz-Secret-12"),
        None,
    )
    .await
    .unwrap();
    let access = auth
        .login(&LoginRequest::new("fuzz@example.com", "Fuzz-Secret-12"))
        .await
        .unwrap()
        .access_token;

    let bin = ensure_python_tools(&roster_home(), &Quiet).expect("the Python tools install");
    for url in [&facts.user_url, &facts.auth_url] {
        let output = tokio::task::spawn_blocking({
            let (bin, url, key, access) = (
                bin.clone(),
                url.clone(),
                facts.api_key.clone(),
                access.clone(),
            );
            move || {
                Command::new(bin.join("schemathesis"))
                    .args(["run", &format!("{url}/openapi.json")])
                    .args(["--header", &format!("x-api-key: {key}")])
                    .args(["--header", &format!("Authorization: Bearer {access}")])
                    .args([
                        "--checks",
                        "all",
                        "--exclude-checks",
                        "positive_data_acceptance",
                    ])
                    .args(["--phases", "examples,fuzzing,stateful"])
                    .args([
                        "--max-examples",
                        "25",
                        "--seed",
                        "20261125",
                        "--workers",
                        "2",
                        "--no-color",
                    ])
                    .env("SCHEMATHESIS_TELEMETRY", "false")
                    // Its cache of findings goes under target/, not into the source tree.
                    .current_dir(env!("CARGO_TARGET_TMPDIR"))
                    .output()
                    .expect("schemathesis runs")
            }
        })
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "schemathesis found problems in {url}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let registered = auth
        .register(
            &RegisterRequest::new("after-fuzz@example.com", "after_fuzz", "Fuzz-Secret-12"),
            None,
        )
        .await
        .unwrap();
    await_profile(&users, &registered.id, Duration::from_secs(20))
        .await
        .expect("the profile of a registration after fuzzing");
    auth.login(&LoginRequest::new(
        "after-fuzz@example.com",
        "Fuzz-Secret-12",
    ))
    .await
    .unwrap();
    let stalls = stack.status().stalls();
    assert!(stalls.is_empty(), "{stalls:?}");
}

//! What CloudFormation makes of the template: the SAM transform runs (pinned
//! `aws-sam-translator`, offline), its output is lint-clean, and its APIs have exactly the
//! stages, routes, authorizers, method settings and gateway responses docs/deploy.md promises
//! ("What `cargo test` checks before any deploy"). Each check is shown failing on the fault it
//! targets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use roster_infra::sam::{api_differences, template_path, transform};
use roster_infra::tools::{Quiet, ensure_checkov, ensure_python_tools, roster_home};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()))
}

/// The committed template, transformed once per test binary: (its JSON file, its content).
fn transformed() -> &'static (PathBuf, Value) {
    static TRANSFORMED: OnceLock<(PathBuf, Value)> = OnceLock::new();
    TRANSFORMED.get_or_init(|| {
        let output = scratch("transformed.json");
        let value =
            transform(&template_path(), &output).unwrap_or_else(|error| panic!("{error:#}"));
        (output, value)
    })
}

/// The committed template with `edit` applied to its text, transformed.
fn transform_edited(name: &str, edit: impl FnOnce(String) -> String) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(template_path()).expect("the template");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    let source = scratch(&format!("{name}.yaml"));
    std::fs::write(&source, edited).expect("a scratch template");
    transform(&source, &scratch(&format!("{name}.json")))
}

fn replaced(text: String, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} is in the template once"
    );
    text.replacen(from, to, 1)
}

#[test]
fn the_transformed_apis_are_exactly_what_the_docs_promise() {
    assert_eq!(api_differences(&transformed().1), Vec::<String>::new());
}

#[test]
fn the_transformed_template_is_lint_clean() {
    let bin = ensure_python_tools(&roster_home(), &Quiet).expect("the Python tools install");
    let output = Command::new(bin.join("cfn-lint"))
        .arg(&transformed().0)
        .output()
        .expect("cfn-lint runs");
    assert!(
        output.status.success(),
        "cfn-lint on the transformed template:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_default_authorizer_of_none_fails_the_transform() {
    let error = transform_edited("default-none", |text| {
        replaced(
            text,
            "      Auth:\n        Authorizers:\n",
            "      Auth:\n        DefaultAuthorizer: NONE\n        Authorizers:\n",
        )
    })
    .expect_err("the transform refuses it");
    assert!(
        format!("{error:#}").contains(
            "Unable to set DefaultAuthorizer because 'NONE' was not defined in 'Authorizers'"
        ),
        "{error:#}"
    );
}

fn differences_after(name: &str, edit: impl FnOnce(String) -> String) -> Vec<String> {
    let transformed = transform_edited(name, edit).unwrap_or_else(|error| panic!("{error:#}"));
    api_differences(&transformed)
}

fn assert_found(found: &[String], what: &str) {
    assert!(
        found.iter().any(|d| d.contains(what)),
        "{what:?} not in {found:#?}"
    );
}

#[test]
fn an_unencoded_login_throttle_is_caught() {
    let found = differences_after("unencoded-login", |text| {
        replaced(
            text,
            "ResourcePath: \"/~1auth~1login\"",
            "ResourcePath: \"/auth/login\"",
        )
    });
    assert_found(
        &found,
        "the method setting for POST /auth/login names no route",
    );
}

#[test]
fn without_its_own_login_route_the_login_throttle_is_caught() {
    let found = differences_after("no-login-route", |text| {
        replaced(
            text,
            "Properties: { RestApiId: !Ref AuthApi, Path: \"/auth/login\", Method: POST }",
            "Properties: { RestApiId: !Ref AuthApi, Path: \"/auth/sign-in\", Method: POST }",
        )
    });
    assert_found(
        &found,
        "the method setting for POST /~1auth~1login names no route",
    );
}

#[test]
fn a_stage_named_stage_is_caught() {
    let found = differences_after("stage-stage", |text| {
        text.replace("      OpenApiVersion: \"3.0.1\"\n", "")
    });
    assert_found(&found, "makes a stage of its own, \"Stage\"");
}

#[test]
fn an_authorized_preflight_or_missing_cors_on_gateway_errors_is_caught() {
    let found = differences_after("no-preflight", |text| {
        replaced(
            text,
            "            Path: \"/public/{proxy+}\"\n            Method: OPTIONS\n",
            "            Path: \"/public/{proxy+}\"\n            Method: OPTIONS\n            Auth: { Authorizer: CognitoAccessToken }\n",
        )
    });
    assert_found(&found, "UserApi: routes");

    let found = differences_after("no-gateway-cors", |text| {
        replaced(text, "      GatewayResponses: *CorsGatewayResponses\n", "")
    });
    assert_found(
        &found,
        "UserApi: the DEFAULT_4XX gateway response has no Access-Control-Allow-Origin",
    );
}

/// checkov's failed checks on a transformed template, as `(check id, resource)`.
fn checkov_findings(transformed: &Path) -> Vec<(String, String)> {
    let bin = ensure_checkov(&roster_home(), &Quiet).expect("checkov installs");
    let output = Command::new(bin.join("checkov"))
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ])
        .arg("--skip-download")
        .arg("--file")
        .arg(transformed)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .expect("checkov runs");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "checkov's report ({error}):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut found: Vec<(String, String)> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|check| {
            let resource = check["resource"].as_str().unwrap_or_default();
            (
                check["check_id"].as_str().unwrap_or_default().to_owned(),
                resource.rsplit('.').next().unwrap_or(resource).to_owned(),
            )
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The baseline's entries: (check id, resource or `*`), each with its reason.
fn checkov_baseline() -> Vec<(String, String)> {
    let text = include_str!("../checkov-baseline.txt");
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut words = line.splitn(3, ' ');
            let (check, resource, reason) = (words.next(), words.next(), words.next());
            assert!(
                reason.is_some_and(|reason| reason.trim().len() > 20),
                "a baseline line without its reason: {line}"
            );
            (
                check.unwrap_or_default().to_owned(),
                resource.unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Findings outside the baseline, and baseline lines no finding needs.
fn against_baseline(found: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let baseline = checkov_baseline();
    let covers = |(check, resource): &(String, String), finding: &(String, String)| {
        *check == finding.0 && (resource == "*" || *resource == finding.1)
    };
    let new = found
        .iter()
        .filter(|finding| !baseline.iter().any(|entry| covers(entry, finding)))
        .map(|(check, resource)| format!("{check} {resource}"))
        .collect();
    let stale = baseline
        .iter()
        .filter(|entry| !found.iter().any(|finding| covers(entry, finding)))
        .map(|(check, resource)| format!("{check} {resource}"))
        .collect();
    (new, stale)
}

#[test]
fn checkov_finds_nothing_outside_its_baseline() {
    let (new, stale) = against_baseline(&checkov_findings(&transformed().0));
    assert_eq!(
        new,
        Vec::<String>::new(),
        "checkov findings outside infra/checkov-baseline.txt"
    );
    assert_eq!(
        stale,
        Vec::<String>::new(),
        "baseline lines no finding needs any more"
    );
}

#[test]
fn a_table_without_point_in_time_recovery_is_a_new_checkov_finding() {
    let mut template = transformed().1.clone();
    template["Resources"]["UsersTable"]["Properties"]
        .as_object_mut()
        .expect("the table's properties")
        .remove("PointInTimeRecoverySpecification");
    let path = scratch("no-pitr.json");
    std::fs::write(&path, serde_json::to_string(&template).expect("JSON")).expect("written");
    let (new, _) = against_baseline(&checkov_findings(&path));
    assert_eq!(new, ["CKV_AWS_28 UsersTable"]);
}

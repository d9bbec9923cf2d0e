//! What CloudFormation makes of the template: the SAM transform runs (pinned
//! `aws-sam-translator`, offline), its output is lint-clean, and its APIs have exactly the
//! stages, routes, authorizers, method settings and gateway responses README promises
//! ("Deploying to AWS"). Each check is shown failing on the fault it targets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use roster_local::endpoint::{Quiet, ensure_python_tools, roster_home};
use roster_local::sam::{api_differences, template_path, transform};
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

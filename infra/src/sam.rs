//! The SAM transform, offline: what CloudFormation makes of `infra/template.yaml` at deploy
//! time. cfn-lint 1.x and `sam validate --lint` never run the translator, so a template can be
//! lint-clean and still be refused by CloudFormation; [`transform`] runs the pinned
//! `aws-sam-translator` (it comes with the pinned SAM CLI in `.roster/tools`) with local
//! `CodeUri`s replaced by `s3://` URIs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::endpoint::{Quiet, ensure_python_tools, roster_home};

const SCRIPT: &str = include_str!("../local/sam_transform.py");

/// The committed template's path.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")
}

/// Transforms the SAM template at `template` and writes the CloudFormation template to
/// `output` (JSON); returns it. An error carries the translator's own messages.
pub fn transform(template: &Path, output: &Path) -> Result<Value> {
    let home = roster_home();
    let bin = ensure_python_tools(&home, &Quiet)?;
    let script = home.join("sam_transform.py");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(SCRIPT) {
        // Written aside under a name no other writer uses (tests of one binary are threads
        // of one process), then renamed: another test may be running the script meanwhile.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let fresh = home.join(format!(
            "sam_transform.py.{}.{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&fresh, SCRIPT).with_context(|| format!("writing {}", fresh.display()))?;
        std::fs::rename(&fresh, &script)
            .with_context(|| format!("renaming {} into place", fresh.display()))?;
    }
    let answer = Command::new(bin.join("python"))
        .arg(&script)
        .arg(template)
        .arg(output)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .context("running the SAM translator")?;
    if !answer.status.success() {
        bail!(
            "the SAM transform fails:\n{}",
            String::from_utf8_lossy(&answer.stderr).trim()
        );
    }
    let text =
        std::fs::read_to_string(output).with_context(|| format!("reading {}", output.display()))?;
    serde_json::from_str(&text).context("the transformed template is JSON")
}

/// A route of an API: its path, its method (`ANY` for any) and the authorizer it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub path: &'static str,
    pub method: &'static str,
    pub authorizer: Option<&'static str>,
}

/// What an API must look like once deployed (README, "Deploying to AWS").
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec {
    /// The `AWS::Serverless::Api`'s logical id.
    pub id: &'static str,
    pub routes: &'static [Route],
    /// Cognito user pool authorizers, by name.
    pub authorizers: &'static [&'static str],
    /// Method settings: (resource path, HTTP method), `/` in a path encoded as `~1`.
    pub method_settings: &'static [(&'static str, &'static str)],
}

const fn route(path: &'static str, method: &'static str) -> Route {
    Route {
        path,
        method,
        authorizer: None,
    }
}

/// The two APIs: their routes, authorizers and method settings, exactly.
pub const APIS: [ApiSpec; 2] = [
    ApiSpec {
        id: "AuthApi",
        routes: &[
            route("/{proxy+}", "ANY"),
            route("/auth/login", "POST"),
            route("/auth/login", "OPTIONS"),
        ],
        authorizers: &[],
        method_settings: &[("/*", "*"), ("/~1auth~1login", "POST")],
    },
    ApiSpec {
        id: "UserApi",
        routes: &[
            Route {
                path: "/public/{proxy+}",
                method: "ANY",
                authorizer: Some("CognitoAccessToken"),
            },
            route("/public/{proxy+}", "OPTIONS"),
            route("/{proxy+}", "ANY"),
        ],
        authorizers: &["CognitoAccessToken"],
        method_settings: &[("/*", "*")],
    },
];

/// The gateway responses each API has, each with an `Access-Control-Allow-Origin` header.
pub const CORS_GATEWAY_RESPONSES: [&str; 2] = ["DEFAULT_4XX", "DEFAULT_5XX"];

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(id, resource)| (id.as_str(), resource))
        .collect()
}

/// A resource path as method settings name it: every `/` of it is `~1`, after a `/`.
pub fn encoded_resource_path(path: &str) -> String {
    format!("/{}", path.replace('/', "~1"))
}

/// Every way the transformed template's APIs differ from [`APIS`]: stages, routes,
/// authorizers, method settings (and the resources they name), CORS gateway responses.
pub fn api_differences(transformed: &Value) -> Vec<String> {
    api_differences_with(transformed, &APIS)
}

/// [`api_differences`] against these specs.
pub fn api_differences_with(transformed: &Value, specs: &[ApiSpec]) -> Vec<String> {
    let mut found = Vec::new();
    let apis = of_type(transformed, "AWS::ApiGateway::RestApi");
    let stages = of_type(transformed, "AWS::ApiGateway::Stage");
    let ids: Vec<&str> = apis.iter().map(|(id, _)| *id).collect();
    let expected: Vec<&str> = specs.iter().map(|spec| spec.id).collect();
    if ids != expected {
        found.push(format!("REST APIs {ids:?}, not {expected:?}"));
    }
    for (stage_id, stage) in &stages {
        let properties = &stage["Properties"];
        if properties["StageName"] != serde_json::json!({"Ref": "Stage"}) {
            found.push(format!(
                "stage {stage_id} is named {}, not the Stage parameter",
                properties["StageName"]
            ));
        }
    }
    // Without `OpenApiVersion`, SAM's deployments also make a stage named `Stage`, with
    // none of the stage's settings.
    for (deployment_id, deployment) in of_type(transformed, "AWS::ApiGateway::Deployment") {
        if let Some(name) = deployment["Properties"].get("StageName") {
            found.push(format!(
                "deployment {deployment_id} makes a stage of its own, {name}"
            ));
        }
    }
    for spec in specs {
        let Some((_, api)) = apis.iter().find(|(id, _)| *id == spec.id) else {
            continue;
        };
        let api_stages: Vec<&Value> = stages
            .iter()
            .filter(|(_, stage)| {
                stage["Properties"]["RestApiId"] == serde_json::json!({"Ref": spec.id})
            })
            .map(|(_, stage)| &stage["Properties"])
            .collect();
        if api_stages.len() != 1 {
            found.push(format!("{}: {} stages, not one", spec.id, api_stages.len()));
        }
        let body = &api["Properties"]["Body"];
        let mut routes = Vec::new();
        for (path, methods) in body["paths"].as_object().into_iter().flatten() {
            for (method, operation) in methods.as_object().into_iter().flatten() {
                let method = match method.as_str() {
                    "x-amazon-apigateway-any-method" => "ANY".to_owned(),
                    other => other.to_uppercase(),
                };
                let authorizers: Vec<String> = operation["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|requirement| requirement.as_object())
                    .flat_map(|requirement| requirement.keys().cloned())
                    .collect();
                routes.push((path.clone(), method, authorizers));
            }
        }
        routes.sort();
        let mut wanted: Vec<(String, String, Vec<String>)> = spec
            .routes
            .iter()
            .map(|route| {
                (
                    route.path.to_owned(),
                    route.method.to_owned(),
                    route
                        .authorizer
                        .into_iter()
                        .map(ToOwned::to_owned)
                        .collect(),
                )
            })
            .collect();
        wanted.sort();
        if routes != wanted {
            found.push(format!(
                "{}: routes (path, method, authorizers) {routes:?}, not {wanted:?}",
                spec.id
            ));
        }
        let mut authorizers: Vec<String> = body["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, scheme)| {
                scheme["x-amazon-apigateway-authorizer"]["type"].as_str()
                    == Some("cognito_user_pools")
            })
            .map(|(name, _)| name.clone())
            .collect();
        authorizers.sort();
        let all_schemes = body["components"]["securitySchemes"]
            .as_object()
            .map_or(0, serde_json::Map::len);
        if authorizers != spec.authorizers || all_schemes != spec.authorizers.len() {
            found.push(format!(
                "{}: authorizers {authorizers:?} ({all_schemes} security schemes), not {:?}",
                spec.id, spec.authorizers
            ));
        }
        for stage in &api_stages {
            let settings: Vec<(String, String)> = stage["MethodSettings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|setting| {
                    (
                        setting["ResourcePath"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        setting["HttpMethod"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect();
            let wanted: Vec<(String, String)> = spec
                .method_settings
                .iter()
                .map(|(path, method)| ((*path).to_owned(), (*method).to_owned()))
                .collect();
            if settings != wanted {
                found.push(format!(
                    "{}: method settings {settings:?}, not {wanted:?}",
                    spec.id
                ));
            }
            // A setting for a method that does not exist is accepted by CloudFormation and
            // does nothing.
            for (path, method) in &settings {
                let exists = path == "/*"
                    || routes.iter().any(|(route_path, route_method, _)| {
                        encoded_resource_path(route_path) == *path
                            && (method == "*" || route_method == method)
                    });
                if !exists {
                    found.push(format!(
                        "{}: the method setting for {method} {path} names no route \
                         (a resource path is encoded: /~1auth~1login)",
                        spec.id
                    ));
                }
            }
        }
        let responses = &body["x-amazon-apigateway-gateway-responses"];
        for response in CORS_GATEWAY_RESPONSES {
            let origin = &responses[response]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"];
            if !origin.is_string() {
                found.push(format!(
                    "{}: the {response} gateway response has no Access-Control-Allow-Origin",
                    spec.id
                ));
            }
        }
    }
    found
}

/// Every action the role of `function` (a logical id) grants in the transformed template.
pub fn granted_actions(transformed: &Value, function: &str) -> std::collections::BTreeSet<String> {
    let role = &transformed["Resources"][format!("{function}Role")]["Properties"];
    let mut actions = std::collections::BTreeSet::new();
    for policy in role["Policies"].as_array().into_iter().flatten() {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            match &statement["Action"] {
                Value::String(action) => {
                    actions.insert(action.clone());
                }
                Value::Array(listed) => {
                    actions.extend(
                        listed
                            .iter()
                            .filter_map(|a| a.as_str().map(ToOwned::to_owned)),
                    );
                }
                _ => {}
            }
        }
    }
    actions
}

/// The IAM actions an AWS operation (as the counting proxy names it) needs; none for the
/// Cognito operations IAM does not govern (a client's own sign-in, reset, token calls).
/// `TransactWriteItems` is governed by its items' own actions (`PutItem`, `UpdateItem`,
/// `DeleteItem`, `ConditionCheckItem`), which the proxy does not record: it needs none here.
pub fn required_actions(operation: &str) -> Vec<String> {
    let unsigned = [
        "ForgotPassword",
        "ConfirmForgotPassword",
        "InitiateAuth",
        "GetUser",
        "GlobalSignOut",
        "RevokeToken",
        "TransactWriteItems",
    ];
    if unsigned.contains(&operation) {
        return Vec::new();
    }
    let actions: &[&str] = match operation {
        "GetSecretValue" => &["secretsmanager:GetSecretValue"],
        "PutEvents" => &["events:PutEvents"],
        "SendMessage" => &["sqs:SendMessage"],
        "PutObject" => &["s3:PutObject"],
        "GetObject" => &["s3:GetObject"],
        "DeleteObject" => &["s3:DeleteObject"],
        "ListObjectVersions" => &["s3:ListBucketVersions"],
        "ListObjectsV2" => &["s3:ListBucket"],
        "DeleteObjects" => &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" | "Query" | "Scan" => {
            return vec![format!("dynamodb:{operation}")];
        }
        admin if admin.starts_with("Admin") => {
            return vec![format!("cognito-idp:{admin}")];
        }
        other => return vec![format!("unknown:{other}")],
    };
    actions.iter().map(|a| (*a).to_owned()).collect()
}

/// The operations in `calls` whose actions the role of `function` does not grant.
pub fn not_allowed(transformed: &Value, function: &str, calls: &[String]) -> Vec<String> {
    let granted = granted_actions(transformed, function);
    let mut missing: Vec<String> = calls
        .iter()
        .flat_map(|operation| {
            required_actions(operation)
                .into_iter()
                .filter(|action| !granted.contains(action))
                .map(move |action| format!("{function}: {operation} needs {action}"))
        })
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

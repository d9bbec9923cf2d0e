//! The SAM transform, offline: what CloudFormation makes of `infra/template.yaml` at deploy
//! time. cfn-lint 1.x and `sam validate --lint` never run the translator, so a template can be
//! lint-clean and still be refused by CloudFormation; [`transform`] runs the pinned
//! `aws-sam-translator` (it comes with the pinned SAM CLI in `.roster/tools`) with local
//! `CodeUri`s replaced by `s3://` URIs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::tools::{Quiet, ensure_python_tools, roster_home};

const SCRIPT: &str = include_str!("sam_transform.py");

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

/// What an API must look like once deployed (docs/deploy.md, "What `cargo test` checks").
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
/// A transaction is governed by its items' own actions ("Using IAM with DynamoDB
/// transactions", DynamoDB Developer Guide), not by one of its own: the proxy names each kind
/// of item a transaction holds `TransactWriteItems.Put` (`dynamodb:PutItem`),
/// `TransactWriteItems.Update`, `TransactWriteItems.Delete`,
/// `TransactWriteItems.ConditionCheck` (`dynamodb:ConditionCheckItem`) and
/// `TransactGetItems.Get` (`dynamodb:GetItem`).
pub fn required_actions(operation: &str) -> Vec<String> {
    let unsigned = [
        "ForgotPassword",
        "ConfirmForgotPassword",
        "InitiateAuth",
        "GetUser",
        "GlobalSignOut",
        "RevokeToken",
        // Authorised by the user's access token (two-step sign-in enrolment), not by IAM.
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "SetUserMFAPreference",
        "TransactWriteItems",
        "TransactGetItems",
    ];
    if unsigned.contains(&operation) {
        return Vec::new();
    }
    let actions: &[&str] = match operation {
        "TransactWriteItems.Put" => &["dynamodb:PutItem"],
        "TransactWriteItems.Update" => &["dynamodb:UpdateItem"],
        "TransactWriteItems.Delete" => &["dynamodb:DeleteItem"],
        "TransactWriteItems.ConditionCheck" => &["dynamodb:ConditionCheckItem"],
        "TransactGetItems.Get" => &["dynamodb:GetItem"],
        "GetSecretValue" => &["secretsmanager:GetSecretValue"],
        "PutEvents" => &["events:PutEvents"],
        // SES v2's SendEmail, authorised by the same action as v1's.
        "SendEmail" => &["ses:SendEmail"],
        "SendMessage" => &["sqs:SendMessage"],
        "PutObject" => &["s3:PutObject"],
        "GetObject" => &["s3:GetObject"],
        "GetObjectVersion" => &["s3:GetObjectVersion"],
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

// ---------------------------------------------------------------- operability
//
// What an on-call engineer needs from the deployed stack, read from the transformed template
// (what CloudFormation gets): logs with a retention, traces, access logs that hold no secret,
// an alarm on everything that can silently stop, deployments that an alarm rolls back, and the
// safety settings of issue 16. [`operability_findings`] lists every gap as a sentence.

/// The template parameter every log group's retention is.
pub const LOG_RETENTION_PARAMETER: &str = "LogRetentionDays";

/// What an access log format must never contain (lowercased): the request's path (a token
/// travels in `GET /auth/token/{tokenType}/verify/{token}`), query strings, headers and the
/// request body, the authorizer's claims, API keys.
pub const ACCESS_LOG_FORBIDDEN: [&str; 8] = [
    "$context.path",
    "querystring",
    "authorization",
    "$input.",
    "$method.request",
    "$context.authorizer",
    "apikey",
    "header",
];

/// A projector's `IteratorAge` alarm fires at most this late (milliseconds): well before the
/// stream's 24 hours of retention.
pub const ITERATOR_AGE_ALARM_MAX_MS: f64 = 6.0 * 3600.0 * 1000.0;

/// A queue's visibility timeout is at least this many times its consumer's timeout.
pub const VISIBILITY_PER_TIMEOUT: u64 = 6;

/// The logical id a `Ref` or `Fn::GetAtt` names.
fn target(value: &Value) -> Option<&str> {
    if let Some(id) = value["Ref"].as_str() {
        return Some(id);
    }
    match &value["Fn::GetAtt"] {
        Value::Array(parts) => parts.first()?.as_str(),
        Value::String(dotted) => dotted.split('.').next(),
        _ => None,
    }
}

fn type_of<'a>(template: &'a Value, id: &str) -> &'a str {
    template["Resources"][id]["Type"]
        .as_str()
        .unwrap_or_default()
}

/// The function behind a reference to it or to one of its aliases.
fn function_of<'a>(template: &'a Value, value: &'a Value) -> Option<&'a str> {
    let id = target(value)?;
    match type_of(template, id) {
        "AWS::Lambda::Function" => Some(id),
        "AWS::Lambda::Alias" => target(&template["Resources"][id]["Properties"]["FunctionName"]),
        _ => None,
    }
}

fn is_alias(template: &Value, value: &Value) -> bool {
    target(value).is_some_and(|id| type_of(template, id) == "AWS::Lambda::Alias")
}

/// Every way an alarm's dimension may name the resource `id`: a `Ref`, a `GetAtt` of its name,
/// or the same expression as its name property.
fn names_of(template: &Value, id: &str) -> Vec<Value> {
    let properties = &template["Resources"][id]["Properties"];
    let mut names = vec![
        serde_json::json!({"Ref": id}),
        serde_json::json!({"Fn::GetAtt": [id, "QueueName"]}),
        serde_json::json!({"Fn::GetAtt": [id, "Name"]}),
    ];
    for property in ["FunctionName", "QueueName", "TableName", "Name"] {
        if !properties[property].is_null() {
            names.push(properties[property].clone());
        }
    }
    names
}

/// One metric an alarm watches: namespace, name, dimensions.
struct Watched<'a> {
    namespace: &'a str,
    metric: &'a str,
    dimensions: &'a Value,
}

fn watched(alarm: &Value) -> Vec<Watched<'_>> {
    let properties = &alarm["Properties"];
    let mut all = Vec::new();
    if let Some(metric) = properties["MetricName"].as_str() {
        all.push(Watched {
            namespace: properties["Namespace"].as_str().unwrap_or_default(),
            metric,
            dimensions: &properties["Dimensions"],
        });
    }
    for query in properties["Metrics"].as_array().into_iter().flatten() {
        let metric = &query["MetricStat"]["Metric"];
        if let Some(name) = metric["MetricName"].as_str() {
            all.push(Watched {
                namespace: metric["Namespace"].as_str().unwrap_or_default(),
                metric: name,
                dimensions: &metric["Dimensions"],
            });
        }
    }
    all
}

/// The alarms (id, properties) watching `metric` in `namespace` with the dimension
/// `dimension` naming the resource `id`.
fn alarms_on<'a>(
    template: &'a Value,
    namespace: &str,
    metric: &str,
    dimension: &str,
    id: &str,
) -> Vec<(&'a str, &'a Value)> {
    let names = names_of(template, id);
    of_type(template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, alarm)| {
            watched(alarm).iter().any(|w| {
                w.namespace == namespace
                    && w.metric == metric
                    && w.dimensions.as_array().into_iter().flatten().any(|d| {
                        d["Name"].as_str() == Some(dimension) && names.contains(&d["Value"])
                    })
            })
        })
        .map(|(alarm_id, alarm)| (alarm_id, &alarm["Properties"]))
        .collect()
}

fn number(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// A function's timeout in seconds (Lambda's default: 3).
fn timeout_of(template: &Value, function: &str) -> u64 {
    number(&template["Resources"][function]["Properties"]["Timeout"]).map_or(3, |t| t as u64)
}

/// Every operability gap of the transformed template, as sentences.
pub fn operability_findings(transformed: &Value) -> Vec<String> {
    let mut found = Vec::new();
    logs_and_traces(transformed, &mut found);
    queues(transformed, &mut found);
    function_alarms(transformed, &mut found);
    api_rule_and_table_alarms(transformed, &mut found);
    deployments(transformed, &mut found);
    schedules(transformed, &mut found);
    safety(transformed, &mut found);
    for (id, alarm) in of_type(transformed, "AWS::CloudWatch::Alarm") {
        let actions = &alarm["Properties"]["AlarmActions"];
        if actions.as_array().is_none_or(Vec::is_empty) {
            found.push(format!("alarm {id} notifies no one (AlarmActions)"));
        }
    }
    let dashboards = of_type(transformed, "AWS::CloudWatch::Dashboard").len();
    if dashboards != 1 {
        found.push(format!("{dashboards} dashboards, not one for the stage"));
    }
    found
}

fn logs_and_traces(t: &Value, found: &mut Vec<String>) {
    let retention = serde_json::json!({"Ref": LOG_RETENTION_PARAMETER});
    for (id, group) in of_type(t, "AWS::Logs::LogGroup") {
        if group["Properties"]["RetentionInDays"] != retention {
            found.push(format!(
                "log group {id} does not keep its logs for {LOG_RETENTION_PARAMETER} days"
            ));
        }
    }
    for (id, function) in of_type(t, "AWS::Lambda::Function") {
        let properties = &function["Properties"];
        let group = target(&properties["LoggingConfig"]["LogGroup"]);
        if group.is_none_or(|group| type_of(t, group) != "AWS::Logs::LogGroup") {
            found.push(format!(
                "{id}: logs to no log group of the template's (LoggingConfig.LogGroup), so \
                 none with a retention"
            ));
        }
        if properties["TracingConfig"]["Mode"].as_str() != Some("Active") {
            found.push(format!("{id}: X-Ray tracing is not Active"));
        }
    }
    for (id, stage) in of_type(t, "AWS::ApiGateway::Stage") {
        let properties = &stage["Properties"];
        if properties["TracingEnabled"] != Value::Bool(true) {
            found.push(format!("{id}: X-Ray tracing is off"));
        }
        let setting = &properties["AccessLogSetting"];
        let group = target(&setting["DestinationArn"]);
        if group.is_none_or(|group| type_of(t, group) != "AWS::Logs::LogGroup") {
            found.push(format!(
                "{id}: no access logs into a log group of the template's"
            ));
        }
        let format = setting["Format"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        if !format.contains("$context.requestid") {
            found.push(format!("{id}: the access log format has no request id"));
        }
        for forbidden in ACCESS_LOG_FORBIDDEN {
            if format.contains(forbidden) {
                found.push(format!(
                    "{id}: the access log format logs {forbidden:?}, which may carry a token, \
                     a key or personal data"
                ));
            }
        }
    }
}

/// Each SQS event source mapping: (its id, the queue's id, the function's id).
fn queue_mappings(t: &Value) -> Vec<(&str, &str, Option<&str>)> {
    of_type(t, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter_map(|(id, mapping)| {
            let properties = &mapping["Properties"];
            let queue = target(&properties["EventSourceArn"])?;
            (type_of(t, queue) == "AWS::SQS::Queue")
                .then(|| (id, queue, function_of(t, &properties["FunctionName"])))
        })
        .collect()
}

fn queues(t: &Value, found: &mut Vec<String>) {
    let mut dead_letter = BTreeSet::new();
    for (_, queue) in of_type(t, "AWS::SQS::Queue") {
        if let Some(id) = target(&queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) {
            dead_letter.insert(id);
        }
    }
    for (_, rule) in of_type(t, "AWS::Events::Rule") {
        for rule_target in rule["Properties"]["Targets"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = target(&rule_target["DeadLetterConfig"]["Arn"]) {
                dead_letter.insert(id);
            }
        }
    }
    for (_, mapping) in of_type(t, "AWS::Lambda::EventSourceMapping") {
        let on_failure = &mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"];
        if let Some(id) = target(on_failure) {
            dead_letter.insert(id);
        }
    }
    let mappings = queue_mappings(t);
    for (id, _) in of_type(t, "AWS::SQS::Queue") {
        let drained = mappings.iter().any(|(_, queue, _)| *queue == id);
        if dead_letter.contains(id) {
            let any_message = alarms_on(
                t,
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                id,
            )
            .into_iter()
            .any(|(_, alarm)| {
                let threshold = number(&alarm["Threshold"]).unwrap_or(f64::MAX);
                match alarm["ComparisonOperator"].as_str() {
                    Some("GreaterThanThreshold") => threshold < 1.0,
                    Some("GreaterThanOrEqualToThreshold") => threshold <= 1.0,
                    _ => false,
                }
            });
            if !any_message {
                found.push(format!(
                    "{id}: a dead-letter queue without an alarm on its first message"
                ));
            }
        } else if drained {
            if alarms_on(
                t,
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "QueueName",
                id,
            )
            .is_empty()
            {
                found.push(format!(
                    "{id}: a subscriber queue without an alarm on its oldest message's age"
                ));
            }
        } else {
            found.push(format!(
                "{id}: neither drained by a function nor a dead-letter queue; no alarm fits it"
            ));
        }
    }
    for (mapping, queue, function) in mappings {
        let properties = &t["Resources"][mapping]["Properties"];
        if number(&properties["ScalingConfig"]["MaximumConcurrency"]).is_none() {
            found.push(format!(
                "{mapping}: no ScalingConfig.MaximumConcurrency: a backlog of {queue} may \
                 take every concurrent execution (and Cognito's admin quotas)"
            ));
        }
        let Some(function) = function else {
            found.push(format!("{mapping}: invokes no function of the template's"));
            continue;
        };
        let visibility = number(&t["Resources"][queue]["Properties"]["VisibilityTimeout"])
            .map_or(30, |v| v as u64);
        let timeout = timeout_of(t, function);
        if visibility < VISIBILITY_PER_TIMEOUT * timeout {
            found.push(format!(
                "{queue}: visibility timeout {visibility} s is under {VISIBILITY_PER_TIMEOUT} \
                 x {function}'s timeout of {timeout} s"
            ));
        }
    }
}

fn function_alarms(t: &Value, found: &mut Vec<String>) {
    for (id, _) in of_type(t, "AWS::Lambda::Function") {
        for metric in ["Errors", "Throttles"] {
            if alarms_on(t, "AWS/Lambda", metric, "FunctionName", id).is_empty() {
                found.push(format!("{id}: no alarm on its {metric}"));
            }
        }
        let timeout_ms = (timeout_of(t, id) * 1000) as f64;
        let near_timeout = alarms_on(t, "AWS/Lambda", "Duration", "FunctionName", id)
            .into_iter()
            .any(|(_, alarm)| {
                number(&alarm["Threshold"])
                    .is_some_and(|ms| ms >= timeout_ms / 2.0 && ms < timeout_ms)
            });
        if !near_timeout {
            found.push(format!(
                "{id}: no alarm on a Duration near its timeout ({timeout_ms} ms)"
            ));
        }
    }
    for (mapping_id, mapping) in of_type(t, "AWS::Lambda::EventSourceMapping") {
        let properties = &mapping["Properties"];
        let Some(table) = target(&properties["EventSourceArn"]) else {
            continue;
        };
        if type_of(t, table) != "AWS::DynamoDB::Table" {
            continue;
        }
        let Some(function) = function_of(t, &properties["FunctionName"]) else {
            found.push(format!(
                "{mapping_id}: invokes no function of the template's"
            ));
            continue;
        };
        let early = alarms_on(t, "AWS/Lambda", "IteratorAge", "FunctionName", function)
            .into_iter()
            .any(|(_, alarm)| {
                number(&alarm["Threshold"]).is_some_and(|ms| ms <= ITERATOR_AGE_ALARM_MAX_MS)
            });
        if !early {
            found.push(format!(
                "{function}: reads {table}'s stream (24 h retention) without an IteratorAge \
                 alarm at {} hours or less",
                ITERATOR_AGE_ALARM_MAX_MS / 3_600_000.0
            ));
        }
    }
}

fn api_rule_and_table_alarms(t: &Value, found: &mut Vec<String>) {
    for (id, _) in of_type(t, "AWS::ApiGateway::RestApi") {
        if alarms_on(t, "AWS/ApiGateway", "5XXError", "ApiName", id).is_empty() {
            found.push(format!("{id}: no alarm on its 5XX rate"));
        }
        let p99 = alarms_on(t, "AWS/ApiGateway", "Latency", "ApiName", id)
            .into_iter()
            .any(|(_, alarm)| alarm["ExtendedStatistic"].as_str() == Some("p99"));
        if !p99 {
            found.push(format!("{id}: no alarm on its p99 Latency"));
        }
    }
    for (id, _) in of_type(t, "AWS::Events::Rule") {
        if alarms_on(t, "AWS/Events", "FailedInvocations", "RuleName", id).is_empty() {
            found.push(format!("{id}: no alarm on its FailedInvocations"));
        }
    }
    for (id, _) in of_type(t, "AWS::DynamoDB::Table") {
        for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            if alarms_on(t, "AWS/DynamoDB", metric, "TableName", id).is_empty() {
                found.push(format!("{id}: no alarm on its {metric}"));
            }
        }
    }
}

fn deployments(t: &Value, found: &mut Vec<String>) {
    let aliases = of_type(t, "AWS::Lambda::Alias");
    for (id, _) in of_type(t, "AWS::Lambda::Function") {
        let Some((alias_id, alias)) = aliases
            .iter()
            .find(|(_, alias)| target(&alias["Properties"]["FunctionName"]) == Some(id))
        else {
            found.push(format!(
                "{id}: no alias (AutoPublishAlias): a deploy replaces it at once, unwatched"
            ));
            continue;
        };
        let update = &alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
        let group = target(&update["DeploymentGroupName"]);
        let Some(group) = group.filter(|g| type_of(t, g) == "AWS::CodeDeploy::DeploymentGroup")
        else {
            found.push(format!(
                "{alias_id}: moved without CodeDeploy (DeploymentPreference)"
            ));
            continue;
        };
        let alarms = &t["Resources"][group]["Properties"]["AlarmConfiguration"];
        let gating: Vec<&str> = alarms["Alarms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|alarm| target(&alarm["Name"]))
            .collect();
        let errors: Vec<&str> = alarms_on(t, "AWS/Lambda", "Errors", "FunctionName", id)
            .into_iter()
            .map(|(alarm_id, _)| alarm_id)
            .collect();
        if alarms["Enabled"] != Value::Bool(true)
            || !gating.iter().any(|alarm| errors.contains(alarm))
        {
            found.push(format!(
                "{id}: its deployments ({group}) are not rolled back by its Errors alarm"
            ));
        }
    }
    for (id, mapping) in of_type(t, "AWS::Lambda::EventSourceMapping") {
        if !is_alias(t, &mapping["Properties"]["FunctionName"]) {
            found.push(format!(
                "{id}: invokes {}, not the function's alias",
                mapping["Properties"]["FunctionName"]
            ));
        }
    }
    for (id, schedule) in of_type(t, "AWS::Scheduler::Schedule") {
        if !is_alias(t, &schedule["Properties"]["Target"]["Arn"]) {
            found.push(format!("{id}: invokes its function, not its alias"));
        }
    }
    for (api, rest_api) in of_type(t, "AWS::ApiGateway::RestApi") {
        for (path, methods) in rest_api["Properties"]["Body"]["paths"]
            .as_object()
            .into_iter()
            .flatten()
        {
            for (method, operation) in methods.as_object().into_iter().flatten() {
                let method = match method.as_str() {
                    "x-amazon-apigateway-any-method" => "ANY".to_owned(),
                    other => other.to_uppercase(),
                };
                let uri = &operation["x-amazon-apigateway-integration"]["uri"];
                let text = uri["Fn::Sub"].as_str().unwrap_or_default();
                let via_alias = aliases
                    .iter()
                    .any(|(alias, _)| text.contains(&format!("${{{alias}}}")));
                if !via_alias {
                    found.push(format!(
                        "{api} {method} {path}: integrates {uri}, not a function's alias"
                    ));
                }
            }
        }
    }
}

/// The period of `rate(N unit)`, in seconds.
pub fn rate_seconds(expression: &str) -> Option<u64> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.split_once(' ')?;
    let count: u64 = count.parse().ok()?;
    let unit = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(count * unit)
}

fn schedules(t: &Value, found: &mut Vec<String>) {
    for (id, schedule) in of_type(t, "AWS::Scheduler::Schedule") {
        let properties = &schedule["Properties"];
        let expression = properties["ScheduleExpression"]
            .as_str()
            .unwrap_or_default();
        let Some(period) = rate_seconds(expression) else {
            found.push(format!(
                "{id}: the period of {expression:?} is not a rate()"
            ));
            continue;
        };
        let retry = &properties["Target"]["RetryPolicy"];
        match number(&retry["MaximumEventAgeInSeconds"]) {
            Some(age) if age <= period as f64 => {}
            age => found.push(format!(
                "{id}: Scheduler retries a run for up to {} s, longer than its period of \
                 {period} s",
                age.map_or("86400 (the default)".to_owned(), |age| age.to_string())
            )),
        }
        let Some(function) = function_of(t, &properties["Target"]["Arn"]) else {
            found.push(format!("{id}: invokes no function of the template's"));
            continue;
        };
        let timeout = timeout_of(t, function);
        if timeout >= period {
            found.push(format!(
                "{function}: its timeout of {timeout} s is not shorter than its schedule's \
                 period of {period} s"
            ));
        }
        let config = of_type(t, "AWS::Lambda::EventInvokeConfig")
            .into_iter()
            .find(|(_, config)| target(&config["Properties"]["FunctionName"]) == Some(function));
        let bounded = config.is_some_and(|(_, config)| {
            number(&config["Properties"]["MaximumEventAgeInSeconds"])
                .is_some_and(|age| age <= period as f64)
        });
        if !bounded {
            found.push(format!(
                "{function}: an invocation of its schedule may wait and be retried for up to \
                 6 hours (EventInvokeConfig.MaximumEventAgeInSeconds over {period} s)"
            ));
        }
    }
}

fn safety(t: &Value, found: &mut Vec<String>) {
    for (id, secret) in of_type(t, "AWS::SecretsManager::Secret") {
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            if secret[policy].as_str() != Some("Retain") {
                found.push(format!(
                    "{id}: not kept when the stack deletes it ({policy})"
                ));
            }
        }
    }
    for (id, bucket) in of_type(t, "AWS::S3::Bucket") {
        let rules = &bucket["Properties"]["LifecycleConfiguration"]["Rules"];
        let enabled: Vec<&Value> = rules
            .as_array()
            .into_iter()
            .flatten()
            .filter(|rule| rule["Status"].as_str() == Some("Enabled"))
            .collect();
        if !enabled
            .iter()
            .any(|rule| rule["NoncurrentVersionExpiration"].is_object())
        {
            found.push(format!(
                "{id}: no lifecycle rule expires noncurrent versions"
            ));
        }
        if !enabled
            .iter()
            .any(|rule| rule["AbortIncompleteMultipartUpload"].is_object())
        {
            found.push(format!(
                "{id}: no lifecycle rule aborts incomplete multipart uploads"
            ));
        }
    }
    for (id, pool) in of_type(t, "AWS::Cognito::UserPool") {
        let properties = &pool["Properties"];
        if properties["UserPoolTier"].is_null() {
            found.push(format!(
                "{id}: its feature tier is left to a default (UserPoolTier)"
            ));
        }
        if properties["EmailConfiguration"].is_null() {
            found.push(format!(
                "{id}: no EmailConfiguration: Cognito's own sender (50 emails a day) by default"
            ));
        }
    }
}

/// Every way the environments of `samconfig` (`infra/samconfig.toml` as JSON) disagree with
/// the template's parameters: an unknown parameter, a value outside its allowed values or not
/// a number, a stack name without its stage.
pub fn samconfig_findings(
    transformed: &Value,
    samconfig: &Value,
    environments: &[&str],
) -> Vec<String> {
    let mut found = Vec::new();
    let parameters = &transformed["Parameters"];
    for environment in environments {
        let deploy = &samconfig[*environment]["deploy"]["parameters"];
        if !deploy.is_object() {
            found.push(format!("{environment}: no deploy parameters"));
            continue;
        }
        let overrides = deploy["parameter_overrides"].as_str().unwrap_or_default();
        let mut stage = None;
        for pair in overrides.split_whitespace() {
            let Some((name, value)) = pair.split_once('=') else {
                found.push(format!("{environment}: {pair:?} is not NAME=VALUE"));
                continue;
            };
            let value = value.trim_matches('"');
            let parameter = &parameters[name];
            if !parameter.is_object() {
                found.push(format!(
                    "{environment}: {name} is not a parameter of the template"
                ));
                continue;
            }
            if name == "Stage" {
                stage = Some(value);
            }
            let allowed: Vec<String> = parameter["AllowedValues"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), ToOwned::to_owned))
                .collect();
            if !allowed.is_empty() && !allowed.iter().any(|a| a == value) {
                found.push(format!(
                    "{environment}: {name}={value} is not one of {allowed:?}"
                ));
            }
            if parameter["Type"].as_str() == Some("Number") && value.parse::<f64>().is_err() {
                found.push(format!("{environment}: {name}={value} is not a number"));
            }
        }
        let stack = deploy["stack_name"].as_str().unwrap_or_default();
        match stage {
            Some(stage) if stack.contains(stage) => {}
            _ => found.push(format!(
                "{environment}: stack {stack:?} does not name its Stage ({stage:?})"
            )),
        }
    }
    found
}

/// `samconfig.toml` at `path`, read by the pinned Python's `tomllib`, as JSON.
pub fn read_samconfig(path: &Path) -> Result<Value> {
    let bin = ensure_python_tools(&roster_home(), &Quiet)?;
    let answer = Command::new(bin.join("python"))
        .args([
            "-c",
            "import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(path)
        .output()
        .context("running Python's tomllib")?;
    if !answer.status.success() {
        bail!(
            "{} is not TOML:\n{}",
            path.display(),
            String::from_utf8_lossy(&answer.stderr).trim()
        );
    }
    serde_json::from_slice(&answer.stdout).context("tomllib's JSON")
}

//! The stack can be operated: read from the transformed template (what CloudFormation
//! deploys), every function logs into a log group with the retention parameter and is traced,
//! both APIs write access logs without tokens, every queue, function, API, rule and table has
//! its alarms (notifying the alarm topic), every deployment is rolled back by an alarm and
//! every invocation goes through the alias, the schedules do not retry for a day, and the
//! secrets, the bucket and the pool have their safety settings; `samconfig.toml` names only
//! the template's parameters. Each check is shown failing on a fault in the template's text.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use roster_infra::sam::{
    operability_findings, rate_seconds, read_samconfig, samconfig_findings, template_path,
    transform,
};
use serde_json::Value;

const ENVIRONMENTS: [&str; 2] = ["dev", "prod"];

fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-ops-{name}", std::process::id()))
}

fn transformed() -> &'static Value {
    static TRANSFORMED: OnceLock<Value> = OnceLock::new();
    TRANSFORMED.get_or_init(|| {
        transform(&template_path(), &scratch("transformed.json"))
            .unwrap_or_else(|error| panic!("{error:#}"))
    })
}

/// Where the resource `id`'s lines are in the template: from its `  Id:` line to the next line
/// that is neither blank nor indented deeper (the next resource, a comment above it, a section).
fn resource_span(text: &str, id: &str) -> (usize, usize) {
    let head = format!("\n  {id}:\n");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("{id} is not a resource of the template"))
        + 1;
    let mut end = start + head.len() - 1;
    for line in text[end..].split_inclusive('\n') {
        if !line.trim().is_empty() && !line.starts_with("   ") {
            break;
        }
        end += line.len();
    }
    (start, end)
}

/// `from` replaced by `to` once, within the resource `id`'s own lines of the template.
fn in_resource(text: &str, id: &str, from: &str, to: &str) -> String {
    let (start, end) = resource_span(text, id);
    let block = &text[start..end];
    assert_eq!(
        block.matches(from).count(),
        1,
        "{from:?} is in {id} once:\n{block}"
    );
    format!(
        "{}{}{}",
        &text[..start],
        block.replacen(from, to, 1),
        &text[end..]
    )
}

/// The resource `id`, gone from the template.
fn without_resource(text: &str, id: &str) -> String {
    let (start, end) = resource_span(text, id);
    format!("{}{}", &text[..start], &text[end..])
}

fn replaced(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} is in the template once"
    );
    text.replacen(from, to, 1)
}

/// The findings on the committed template after `edit`, with each of `expected` among them.
fn assert_findings(name: &str, edit: impl FnOnce(String) -> String, expected: &[&str]) {
    let text = std::fs::read_to_string(template_path()).expect("the template");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    let source = scratch(&format!("{name}.yaml"));
    std::fs::write(&source, edited).expect("a scratch template");
    let transformed = transform(&source, &scratch(&format!("{name}.json")))
        .unwrap_or_else(|error| panic!("{name}: {error:#}"));
    let found = operability_findings(&transformed);
    for what in expected {
        assert!(
            found.iter().any(|finding| finding.contains(what)),
            "{name}: {what:?} not in {found:#?}"
        );
    }
}

#[test]
fn the_committed_template_is_operable() {
    assert_eq!(operability_findings(transformed()), Vec::<String>::new());
}

#[test]
fn samconfig_environments_name_only_the_templates_parameters() {
    let samconfig = read_samconfig(&template_path().with_file_name("samconfig.toml"))
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(
        samconfig_findings(transformed(), &samconfig, &ENVIRONMENTS),
        Vec::<String>::new()
    );
}

#[test]
fn a_samconfig_with_a_wrong_parameter_is_caught() {
    let text = std::fs::read_to_string(template_path().with_file_name("samconfig.toml"))
        .expect("samconfig.toml");
    let edited = replaced(
        &text,
        "CanaryDeploys=true",
        "CanaryDeploys=yes LogRetention=30",
    );
    let edited = replaced(
        &edited,
        "stack_name = \"roster-dev\"",
        "stack_name = \"roster\"",
    );
    let path = scratch("samconfig.toml");
    std::fs::write(&path, edited).expect("written");
    let samconfig = read_samconfig(&path).unwrap_or_else(|error| panic!("{error:#}"));
    let found = samconfig_findings(transformed(), &samconfig, &ENVIRONMENTS);
    for what in [
        "prod: CanaryDeploys=yes is not one of [\"true\", \"false\"]",
        "prod: LogRetention is not a parameter of the template",
        "dev: stack \"roster\" does not name its Stage (Some(\"dev\"))",
    ] {
        assert!(
            found.iter().any(|f| f == what),
            "{what:?} not in {found:#?}"
        );
    }
}

#[test]
fn rates_are_read_in_seconds() {
    assert_eq!(rate_seconds("rate(1 minute)"), Some(60));
    assert_eq!(rate_seconds("rate(5 minutes)"), Some(300));
    assert_eq!(rate_seconds("rate(2 hours)"), Some(7200));
    assert_eq!(rate_seconds("cron(0 * * * ? *)"), None);
}

#[test]
fn a_function_without_its_log_group_or_retention_or_tracing_is_caught() {
    assert_findings(
        "logs",
        |text| {
            let text = in_resource(
                &text,
                "BadgeRulesFunction",
                "      LoggingConfig: { LogGroup: !Ref BadgeRulesFunctionLogs }\n",
                "",
            );
            let text = in_resource(
                &text,
                "UserSubscriberFunctionLogs",
                "      RetentionInDays: !Ref LogRetentionDays\n",
                "",
            );
            replaced(&text, "    Tracing: Active\n", "")
        },
        &[
            "BadgeRulesFunction: logs to no log group of the template's",
            "log group UserSubscriberFunctionLogs does not keep its logs for LogRetentionDays days",
            "AuthApiFunction: X-Ray tracing is not Active",
        ],
    );
}

#[test]
fn access_logs_with_a_path_or_missing_and_an_untraced_stage_are_caught() {
    assert_findings(
        "access-logs",
        |text| {
            let text = replaced(
                &text,
                "\"resource\":\"$context.resourcePath\"",
                "\"resource\":\"$context.path\"",
            );
            let text = in_resource(
                &text,
                "AuthApi",
                "TracingEnabled: true",
                "TracingEnabled: false",
            );
            in_resource(
                &text,
                "UserApi",
                "      AccessLogSetting:\n        DestinationArn: !GetAtt UserApiAccessLogs.Arn\n        Format: *AccessLogFormat\n",
                "",
            )
        },
        &[
            "AuthApiStage: the access log format logs \"$context.path\"",
            "AuthApiStage: X-Ray tracing is off",
            "UserApiStage: no access logs into a log group of the template's",
        ],
    );
    assert_findings(
        "access-log-header",
        |text| {
            replaced(
                &text,
                "\"userAgent\":\"$context.identity.userAgent\"",
                "\"auth\":\"$method.request.header.Authorization\"",
            )
        },
        &["the access log format logs \"authorization\""],
    );
}

#[test]
fn queues_without_their_alarm_concurrency_or_visibility_are_caught() {
    assert_findings(
        "queues",
        |text| {
            let text = without_resource(&text, "StreamFailuresQueueAlarm");
            let text = without_resource(&text, "UserSubscriberQueueAgeAlarm");
            let text = in_resource(
                &text,
                "AuthSubscriberFunction",
                "            ScalingConfig: { MaximumConcurrency: 2 }\n",
                "",
            );
            in_resource(
                &text,
                "AuthSubscriberQueue",
                "VisibilityTimeout: 60",
                "VisibilityTimeout: 30",
            )
        },
        &[
            "StreamFailuresQueue: a dead-letter queue without an alarm on its first message",
            "UserSubscriberQueue: a subscriber queue without an alarm on its oldest message's age",
            "AuthSubscriberFunctionQueue: no ScalingConfig.MaximumConcurrency",
            "AuthSubscriberQueue: visibility timeout 30 s is under 6 x AuthSubscriberFunction's timeout of 10 s",
        ],
    );
}

#[test]
fn a_dead_letter_alarm_that_waits_for_two_messages_is_caught() {
    assert_findings(
        "dlq-threshold",
        |text| {
            in_resource(
                &text,
                "BadgeRulesDeadLetterQueueAlarm",
                "Threshold: 0",
                "Threshold: 1",
            )
        },
        &["BadgeRulesDeadLetterQueue: a dead-letter queue without an alarm on its first message"],
    );
}

#[test]
fn functions_without_their_alarms_are_caught() {
    assert_findings(
        "function-alarms",
        |text| {
            let text = without_resource(&text, "AvatarSweeperFunctionThrottlesAlarm");
            let text = in_resource(
                &text,
                "AuthReconcilerFunctionDurationAlarm",
                "Threshold: 40000",
                "Threshold: 60000",
            );
            let text = in_resource(
                &text,
                "BadgeRulesFunctionErrorsAlarm",
                "MetricName: Errors",
                "MetricName: Invocations",
            );
            let text = without_resource(&text, "AuthProjectorFunctionIteratorAgeAlarm");
            in_resource(
                &text,
                "UsersProjectorFunctionIteratorAgeAlarm",
                "Threshold: 3600000",
                "Threshold: 86400000",
            )
        },
        &[
            "AvatarSweeperFunction: no alarm on its Throttles",
            "AuthReconcilerFunction: no alarm on a Duration near its timeout (50000 ms)",
            "BadgeRulesFunction: no alarm on its Errors",
            "AuthProjectorFunction: reads AuthTable's stream (24 h retention) without an IteratorAge alarm at 6 hours or less",
            "UsersProjectorFunction: reads UsersTable's stream (24 h retention) without an IteratorAge alarm at 6 hours or less",
        ],
    );
}

#[test]
fn apis_rules_and_tables_without_their_alarms_are_caught() {
    assert_findings(
        "api-rule-table-alarms",
        |text| {
            let text = without_resource(&text, "UserApiLatencyAlarm");
            let text = in_resource(
                &text,
                "AuthApi5xxAlarm",
                "MetricName: 5XXError",
                "MetricName: 4XXError",
            );
            let text = without_resource(&text, "BadgeRulesRuleFailedInvocationsAlarm");
            in_resource(
                &text,
                "AuthTableThrottlesAlarm",
                "MetricName: WriteThrottleEvents",
                "MetricName: ConsumedWriteCapacityUnits",
            )
        },
        &[
            "UserApi: no alarm on its p99 Latency",
            "AuthApi: no alarm on its 5XX rate",
            "BadgeRulesRule: no alarm on its FailedInvocations",
            "AuthTable: no alarm on its WriteThrottleEvents",
        ],
    );
}

#[test]
fn an_alarm_that_notifies_no_one_or_a_missing_dashboard_is_caught() {
    assert_findings(
        "alarm-actions",
        |text| {
            let text = in_resource(
                &text,
                "UsersTableThrottlesAlarm",
                "      AlarmActions: *AlarmActions\n",
                "",
            );
            let text = without_resource(&text, "Dashboard");
            replaced(&text, "  DashboardName:\n    Value: !Ref Dashboard\n", "")
        },
        &[
            "alarm UsersTableThrottlesAlarm notifies no one",
            "0 dashboards, not one for the stage",
        ],
    );
}

#[test]
fn a_deployment_no_alarm_rolls_back_is_caught() {
    assert_findings(
        "ungated-deployment",
        |text| {
            in_resource(
                &text,
                "UserApiFunction",
                "      DeploymentPreference:\n        Alarms: [!Ref UserApiFunctionErrorsAlarm, !Ref UserApiFunctionDurationAlarm, !Ref UserApi5xxAlarm]\n",
                "",
            )
        },
        &[
            "UserApiFunction: its deployments (UserApiFunctionDeploymentGroup) are not rolled back by its Errors alarm",
        ],
    );
}

#[test]
fn functions_invoked_without_an_alias_are_caught() {
    assert_findings(
        "no-alias",
        |text| {
            let text = replaced(&text, "    AutoPublishAlias: live\n", "");
            let text = replaced(
                &text,
                "    DeploymentPreference:\n      Type: !If [Canary, Canary10Percent5Minutes, AllAtOnce]\n",
                "",
            );
            let preferences =
                without_two_line_blocks(&text, "      DeploymentPreference:\n        Alarms: [");
            preferences.replace("      AutoPublishAliasAllProperties: true\n", "")
        },
        &[
            "AuthApiFunction: no alias (AutoPublishAlias)",
            "AuthSubscriberFunctionQueue: invokes {\"Ref\":\"AuthSubscriberFunction\"}, not the function's alias",
            "AuthReconcilerFunctionEveryMinute: invokes its function, not its alias",
            "AuthApi ANY /{proxy+}: integrates",
        ],
    );
}

/// `text` without each two-line block starting with `head` (up to the end of its second line).
fn without_two_line_blocks(text: &str, head: &str) -> String {
    let first = head.lines().next().expect("a head");
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim_end() == first.trim_end()
            && lines
                .peek()
                .is_some_and(|next| next.starts_with(&head[first.len() + 1..]))
        {
            lines.next();
            continue;
        }
        out.push_str(line);
    }
    assert_ne!(out, text, "{head:?} is in the template");
    out
}

#[test]
fn schedules_that_retry_for_a_day_or_overlap_are_caught() {
    assert_findings(
        "schedules",
        |text| {
            let text = in_resource(
                &text,
                "AuthReconcilerFunction",
                "            RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 }\n",
                "",
            );
            let text = in_resource(
                &text,
                "AuthReconcilerFunction",
                "Timeout: 50",
                "Timeout: 60",
            );
            in_resource(
                &text,
                "AvatarSweeperFunction",
                "      EventInvokeConfig: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 }\n",
                "",
            )
        },
        &[
            "AuthReconcilerFunctionEveryMinute: Scheduler retries a run for up to 86400 (the default) s, longer than its period of 60 s",
            "AuthReconcilerFunction: its timeout of 60 s is not shorter than its schedule's period of 60 s",
            "AvatarSweeperFunction: an invocation of its schedule may wait and be retried for up to 6 hours",
        ],
    );
}

#[test]
fn secrets_bucket_and_pool_without_their_safety_settings_are_caught() {
    assert_findings(
        "safety",
        |text| {
            let text = in_resource(&text, "ServerKeySecret", "    DeletionPolicy: Retain\n", "");
            let text = in_resource(
                &text,
                "AssetsBucket",
                "            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }\n",
                "",
            );
            let text = in_resource(
                &text,
                "UserPool",
                "      UserPoolTier: !Ref UserPoolTier\n",
                "",
            );
            in_resource(
                &text,
                "UserPool",
                "      EmailConfiguration: !If\n        - CognitoMailThroughSes\n        - EmailSendingAccount: DEVELOPER\n          SourceArn: !Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}\"\n          From: !Ref MailFromAddress\n        - EmailSendingAccount: COGNITO_DEFAULT\n",
                "",
            )
        },
        &[
            "ServerKeySecret: not kept when the stack deletes it (DeletionPolicy)",
            "AssetsBucket: no lifecycle rule aborts incomplete multipart uploads",
            "UserPool: its feature tier is left to a default (UserPoolTier)",
            "UserPool: no EmailConfiguration",
        ],
    );
}

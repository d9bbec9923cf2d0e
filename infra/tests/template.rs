//! The SAM template: it passes cfn-lint and `sam validate --lint` (pinned, installed into
//! `.roster/tools` on first use), and it declares what the local stack provisions — removing
//! an index, a client or a rule from either side makes the parity check fail.

use std::process::Command;

use roster_infra::parity::{differences, differences_with, template};
use roster_infra::resources::{AUTH_TABLE, IndexSpec, StreamView, TableSpec, USERS_TABLE};
use roster_infra::tools::{Quiet, ensure_python_tools, roster_home};
use serde_yaml::Value;

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");

fn tool(name: &str) -> Command {
    let bin = ensure_python_tools(&roster_home(), &Quiet).expect("the Python tools install");
    Command::new(bin.join(name))
}

fn assert_clean(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cfn_lint_is_clean() {
    let mut command = tool("cfn-lint");
    command.arg(TEMPLATE);
    assert_clean(command, "cfn-lint");
}

#[test]
fn sam_validate_lint_is_clean() {
    let mut command = tool("sam");
    // Offline: `--lint` runs cfn-lint on the transformed template and needs no AWS account.
    command
        .args(["validate", "--lint", "--template-file", TEMPLATE])
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "offline")
        .env("AWS_SECRET_ACCESS_KEY", "offline");
    assert_clean(command, "sam validate --lint");
}

#[test]
fn the_template_declares_what_the_local_stack_provisions() {
    assert_eq!(differences(&template()), Vec::<String>::new());
}

#[test]
fn the_dashboard_graphs_every_metric_the_services_emit() {
    use roster_platform::metrics::{Count, Lag};

    let names: Vec<&str> = [
        Count::Registrations,
        Count::SignIns,
        Count::Activations,
        Count::PasswordResets,
        Count::RegistrationRollbacks,
        Count::ActivationMails,
    ]
    .map(Count::name)
    .into_iter()
    .chain([Lag::Subscriber.name(), Lag::Projector.name()])
    .collect();
    let template = std::fs::read_to_string(TEMPLATE).expect("the template is readable");
    for name in names {
        assert!(
            template.contains(&format!("\"Roster/${{Stage}}\", \"{name}\"")),
            "the dashboard graphs no {name}"
        );
    }
}

fn without(mut template: Value, path: &[&str], remove: impl FnOnce(&mut Value)) -> Value {
    let mut node = &mut template;
    for key in path {
        node = &mut node[*key];
    }
    remove(node);
    template
}

/// The parity check's findings against a local stack whose users table has `indexes`.
fn differences_with_users_indexes(indexes: Vec<IndexSpec>) -> Vec<String> {
    let local = TableSpec {
        indexes: indexes.leak(),
        ..USERS_TABLE
    };
    differences_with(
        &template(),
        &[("AuthTable", &AUTH_TABLE), ("UsersTable", &local)],
    )
}

#[test]
fn a_gsi_missing_on_either_side_breaks_parity() {
    let template_lacks_it = without(
        template(),
        &[
            "Resources",
            "UsersTable",
            "Properties",
            "GlobalSecondaryIndexes",
        ],
        |indexes| {
            indexes.as_sequence_mut().unwrap().remove(0);
        },
    );
    let found = differences(&template_lacks_it);
    assert!(
        found
            .iter()
            .any(|d| d
                .contains("index lookup-by-name is provisioned locally but not in the template")),
        "{found:?}"
    );

    // The other side: the local stack without the lookup-by-handle index.
    let fewer: Vec<IndexSpec> = USERS_TABLE
        .indexes
        .iter()
        .filter(|index| index.name != "lookup-by-handle")
        .cloned()
        .collect();
    let found = differences_with_users_indexes(fewer);
    assert!(
        found
            .iter()
            .any(|d| d
                .contains("index lookup-by-handle is in the template but not provisioned locally")),
        "{found:?}"
    );
}

#[test]
fn a_listing_index_projecting_other_attributes_breaks_parity() {
    // The template's list-by-email holding every attribute (each sign-in would write it).
    let all = without(
        template(),
        &[
            "Resources",
            "UsersTable",
            "Properties",
            "GlobalSecondaryIndexes",
        ],
        |indexes| {
            let index = indexes
                .as_sequence_mut()
                .unwrap()
                .iter_mut()
                .find(|index| index["IndexName"].as_str() == Some("list-by-email"))
                .unwrap();
            index["Projection"] = serde_yaml::from_str("{ ProjectionType: ALL }").unwrap();
        },
    );
    let found = differences(&all);
    assert!(
        found
            .iter()
            .any(|d| d
                .contains("index list-by-email is provisioned locally but not in the template")),
        "{found:?}"
    );

    // The local declaration including one attribute more than the template.
    let wider: Vec<IndexSpec> = USERS_TABLE
        .indexes
        .iter()
        .map(|index| match index.name {
            "list-by-name" => IndexSpec {
                projection: roster_infra::resources::Projection::Include(&[
                    "name",
                    "handle",
                    "email",
                    "status",
                    "createdAt",
                    "lastLoginAt",
                ]),
                ..index.clone()
            },
            _ => index.clone(),
        })
        .collect();
    let found = differences_with_users_indexes(wider);
    assert!(
        found.iter().any(
            |d| d.contains("index list-by-name is provisioned locally but not in the template")
        ),
        "{found:?}"
    );
}

#[test]
fn a_changed_client_rule_or_stream_breaks_parity() {
    let no_client = without(template(), &["Resources"], |resources| {
        resources
            .as_mapping_mut()
            .unwrap()
            .remove("PartnerPortalClient");
    });
    assert!(
        differences(&no_client)
            .iter()
            .any(|d| d.contains("partner-portal"))
    );

    let other_pattern = without(
        template(),
        &["Resources", "BadgeRulesRule", "Properties", "EventPattern"],
        |pattern| pattern["detail-type"] = Value::from(vec!["UserActivated"]),
    );
    assert!(
        differences(&other_pattern)
            .iter()
            .any(|d| d.contains("badge-rules: event pattern"))
    );

    let keys_only = without(
        template(),
        &[
            "Resources",
            "AuthTable",
            "Properties",
            "StreamSpecification",
        ],
        |stream| stream["StreamViewType"] = Value::from("KEYS_ONLY"),
    );
    assert!(
        differences(&keys_only)
            .iter()
            .any(|d| d.contains("auth: stream view"))
    );

    // A projector allowed to publish the other service's events.
    let any_source = without(
        template(),
        &[
            "Resources",
            "UsersProjectorFunction",
            "Properties",
            "Policies",
        ],
        |policies| {
            policies[0]["Statement"][0]["Condition"]["StringEquals"]["events:source"] =
                Value::from("roster.auth");
        },
    );
    assert!(
        differences(&any_source)
            .iter()
            .any(|d| d.contains("users-projector: may publish events of any source")),
        "{:?}",
        differences(&any_source)
    );

    // The local poller gives up on a record after as many retries as the mapping does.
    let more_retries = without(
        template(),
        &[
            "Resources",
            "UsersProjectorFunction",
            "Properties",
            "Events",
            "Stream",
            "Properties",
        ],
        |mapping| mapping["MaximumRetryAttempts"] = Value::from(5),
    );
    assert!(
        differences(&more_retries)
            .iter()
            .any(|d| d.contains("UsersTable: the stream mapping's settings differ")),
        "{:?}",
        differences(&more_retries)
    );
}

/// A statement need not name `events:PutEvents` to grant it: `events:*`, `events:Put*`, `*`
/// or a `NotAction` that leaves it out do too (IAM compares actions without case), and each
/// must carry the `events:source` condition.
#[test]
fn a_wildcard_that_covers_put_events_needs_the_source_condition_too() {
    let policies = [
        "Resources",
        "UsersProjectorFunction",
        "Properties",
        "Policies",
    ];
    // The users projector's policies with one more statement (YAML flow text).
    let granting = |statement: &str| {
        let policy: Value = serde_yaml::from_str(&format!("Statement: [{statement}]")).unwrap();
        without(template(), &policies, move |policies| {
            policies.as_sequence_mut().unwrap().push(policy);
        })
    };
    let flagged = |template: &Value| {
        differences(template)
            .iter()
            .any(|d| d.contains("users-projector: may publish events of any source"))
    };
    for action in [
        "events:*",
        "events:Put*",
        "EVENTS:putevents",
        "events:?utEvent?",
        "*",
    ] {
        let edited = granting(&format!(
            "{{Effect: Allow, Action: [\"{action}\"], Resource: \"*\"}}"
        ));
        assert!(flagged(&edited), "{action}: {:?}", differences(&edited));
    }
    let not_action = granting("{Effect: Allow, NotAction: \"s3:*\", Resource: \"*\"}");
    assert!(flagged(&not_action), "{:?}", differences(&not_action));

    // Actions that do not cover PutEvents, a NotAction that leaves it out, and a Deny need no
    // condition.
    for statement in [
        "{Effect: Allow, Action: \"events:Describe*\", Resource: \"*\"}",
        "{Effect: Allow, Action: [events:PutRule, events:PutEventsX], Resource: \"*\"}",
        "{Effect: Allow, NotAction: \"events:*\", Resource: \"*\"}",
        "{Effect: Deny, Action: \"events:*\", Resource: \"*\"}",
    ] {
        let edited = granting(statement);
        assert!(!flagged(&edited), "{statement}: {:?}", differences(&edited));
    }
}

#[test]
fn a_stream_view_other_than_the_tables_declaration_breaks_parity() {
    let stream = [
        "Resources",
        "UsersTable",
        "Properties",
        "StreamSpecification",
    ];
    let new_image_only = without(template(), &stream, |stream| {
        stream["StreamViewType"] = Value::from("NEW_IMAGE");
    });
    let found = differences(&new_image_only);
    assert!(
        found
            .iter()
            .any(|d| d == "table users: stream view differs"),
        "{found:?}"
    );

    // The view is read from the owner's declaration: declared NEW_IMAGE, the committed
    // template differs, and a template saying NEW_IMAGE agrees.
    let declared = TableSpec {
        stream_view: StreamView::NewImage,
        ..USERS_TABLE
    };
    let local = [("AuthTable", &AUTH_TABLE), ("UsersTable", &declared)];
    let found = differences_with(&template(), &local);
    assert!(
        found
            .iter()
            .any(|d| d == "table users: stream view differs"),
        "{found:?}"
    );
    let found = differences_with(&new_image_only, &local);
    assert!(
        !found.iter().any(|d| d.contains("stream view")),
        "{found:?}"
    );
}

#[test]
fn a_missing_or_mutable_registration_marker_or_a_client_exposing_it_breaks_parity() {
    let pool = ["Resources", "UserPool", "Properties"];
    let no_marker = without(template(), &pool, |pool| {
        pool.as_mapping_mut().unwrap().remove("Schema");
    });
    assert!(
        differences(&no_marker)
            .iter()
            .any(|d| d.contains("custom attribute registrationId is not in the template")),
        "{:?}",
        differences(&no_marker)
    );

    let mutable = without(template(), &pool, |pool| {
        pool["Schema"][0]["Mutable"] = Value::from(true);
    });
    assert!(
        differences(&mutable)
            .iter()
            .any(|d| d.contains("custom attribute registrationId differs"))
    );

    for list in ["ReadAttributes", "WriteAttributes"] {
        let exposed = without(
            template(),
            &["Resources", "AccountWebClient", "Properties"],
            |client| {
                client[list] = Value::from(vec!["email", "custom:registrationId"]);
            },
        );
        assert!(
            differences(&exposed)
                .iter()
                .any(|d| d.contains(&format!("account-web: {list} lists custom:registrationId"))),
            "{list}: {:?}",
            differences(&exposed)
        );
    }
}

#[test]
fn an_unversioned_bucket_or_one_keeping_noncurrent_versions_breaks_parity() {
    let bucket = ["Resources", "AssetsBucket", "Properties"];
    let unversioned = without(template(), &bucket, |bucket| {
        bucket
            .as_mapping_mut()
            .unwrap()
            .remove("VersioningConfiguration");
    });
    assert!(
        differences(&unversioned)
            .iter()
            .any(|d| d.contains("bucket: not versioned")),
        "{:?}",
        differences(&unversioned)
    );

    let kept_longer = without(template(), &bucket, |bucket| {
        bucket["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"]["NoncurrentDays"] =
            Value::from(365);
    });
    let no_rule = without(template(), &bucket, |bucket| {
        bucket
            .as_mapping_mut()
            .unwrap()
            .remove("LifecycleConfiguration");
    });
    for template in [kept_longer, no_rule] {
        assert!(
            differences(&template)
                .iter()
                .any(|d| d.contains("bucket: no lifecycle rule expire-noncurrent-versions")),
            "{:?}",
            differences(&template)
        );
    }
}

#[test]
fn an_app_client_that_may_write_identity_attributes_or_an_unverified_email_change_breaks_parity() {
    for (client, frontend) in [
        ("AccountWebClient", "account-web"),
        ("PartnerPortalClient", "partner-portal"),
    ] {
        let properties = ["Resources", client, "Properties"];
        // No list and an empty list both let users write every standard attribute (Cognito's
        // default); a list with the email lets them change how they sign in.
        let absent = without(template(), &properties, |client| {
            client.as_mapping_mut().unwrap().remove("WriteAttributes");
        });
        let empty = without(template(), &properties, |client| {
            client["WriteAttributes"] = Value::Sequence(Vec::new());
        });
        let email = without(template(), &properties, |client| {
            client["WriteAttributes"] = Value::from(vec!["zoneinfo", "email"]);
        });
        for (what, changed) in [("absent", absent), ("empty", empty), ("email", email)] {
            let found = differences(&changed);
            assert!(
                found
                    .iter()
                    .any(|d| d.contains(&format!("app client {frontend}: WriteAttributes"))),
                "{client} {what}: {found:?}"
            );
        }
    }

    let pool = ["Resources", "UserPool", "Properties"];
    let immediate = without(template(), &pool, |pool| {
        pool.as_mapping_mut()
            .unwrap()
            .remove("UserAttributeUpdateSettings");
    });
    let found = differences(&immediate);
    assert!(
        found
            .iter()
            .any(|d| d.contains("user pool: an email change takes effect before it is verified")),
        "{found:?}"
    );
    let not_verified = without(template(), &pool, |pool| {
        pool.as_mapping_mut()
            .unwrap()
            .remove("AutoVerifiedAttributes");
    });
    let found = differences(&not_verified);
    assert!(
        found
            .iter()
            .any(|d| d.contains("user pool: AutoVerifiedAttributes")),
        "{found:?}"
    );
}

#[test]
fn a_function_deployed_from_anything_but_its_packaged_zip_breaks_parity() {
    // `sam build`'s way: the repository as CodeUri, so SAM would compile again.
    let rebuilt = without(
        template(),
        &["Resources", "BadgeRulesFunction", "Properties"],
        |function| function["CodeUri"] = Value::from(".."),
    );
    let found = differences(&rebuilt);
    assert!(
        found
            .iter()
            .any(|d| d.contains("functions") && d.contains("differ from the binaries")),
        "{found:?}"
    );
}

#[test]
fn a_pool_without_optional_totp_breaks_parity() {
    let pool = ["Resources", "UserPool", "Properties"];
    let off = without(template(), &pool, |pool| {
        pool["MfaConfiguration"] = Value::from("OFF");
    });
    let no_totp = without(template(), &pool, |pool| {
        pool.as_mapping_mut().unwrap().remove("EnabledMfas");
    });
    let sms_too = without(template(), &pool, |pool| {
        pool["EnabledMfas"] = Value::from(vec!["SOFTWARE_TOKEN_MFA", "SMS_MFA"]);
    });
    for (what, changed) in [("OFF", off), ("no EnabledMfas", no_totp), ("SMS", sms_too)] {
        let found = differences(&changed);
        assert!(
            found.iter().any(|d| d.starts_with("user pool: MFA is")),
            "{what}: {found:?}"
        );
    }
}

#[test]
fn mail_from_another_identity_or_by_another_function_breaks_parity() {
    let pool = ["Resources", "UserPool", "Properties"];
    let cognito_default = without(template(), &pool, |pool| {
        pool["EmailConfiguration"] =
            serde_yaml::from_str("EmailSendingAccount: COGNITO_DEFAULT").expect("a mapping");
    });
    let any_identity = without(
        template(),
        &["Resources", "ActivationMailerFunction", "Properties"],
        |function| {
            let statements = function["Policies"][0]["Statement"]
                .as_sequence_mut()
                .unwrap();
            for statement in statements {
                if statement["Action"].as_str() == Some("ses:SendEmail") {
                    statement["Resource"] = Value::from("*");
                }
            }
        },
    );
    let subscriber_sends = without(
        template(),
        &["Resources", "AuthSubscriberFunction", "Properties"],
        |function| {
            let statement: Value =
                serde_yaml::from_str("{Effect: Allow, Action: ses:SendEmail, Resource: '*'}")
                    .unwrap();
            function["Policies"][0]["Statement"]
                .as_sequence_mut()
                .unwrap()
                .push(statement);
        },
    );
    let no_identity = without(template(), &["Resources"], |resources| {
        resources.as_mapping_mut().unwrap().remove("MailIdentity");
    });
    for (what, changed, expected) in [
        (
            "COGNITO_DEFAULT only",
            cognito_default,
            "Cognito's mail does not go through",
        ),
        ("any identity", any_identity, "from other identities"),
        (
            "the auth subscriber",
            subscriber_sends,
            "auth-subscriber: may send mail",
        ),
        ("no identity", no_identity, "0 SES identities"),
    ] {
        let found = differences(&changed);
        assert!(
            found.iter().any(|d| d.contains(expected)),
            "{what}: {found:?}"
        );
    }
    assert_eq!(differences(&template()), Vec::<String>::new());
}

//! Parity between the SAM template (`infra/template.yaml`) and the resources the local stack
//! provisions (`resources.rs`): table keys, indexes, streams and TTL; the pool's password
//! policy, custom attributes, groups, email verification before an update and app clients
//! (which never expose the registration marker and may write only [`WRITE_ATTRIBUTES`]); the
//! bus rules, their queues and dead-letter queues; the functions; the bucket's
//! versioning and lifecycle rule; the mail identity that both the activation mailer and the
//! pool send from. [`differences`] lists every place where they disagree.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::resources::{
    AUTH_FLOWS, AUTH_TABLE, LAMBDA_BINARIES, NONCURRENT_VERSION_DAYS, NONCURRENT_VERSIONS_RULE,
    READ_ATTRIBUTES, STREAM_MAPPING, SUBSCRIBERS, TableSpec, USER_POOL, USERS_TABLE,
    VERIFIED_BEFORE_UPDATE, WRITE_ATTRIBUTES,
};

/// The template's logical id of each table the local stack provisions.
pub const TEMPLATE_TABLES: [(&str, &TableSpec); 2] =
    [("AuthTable", &AUTH_TABLE), ("UsersTable", &USERS_TABLE)];

/// The committed template.
pub fn template() -> Value {
    serde_yaml::from_str(include_str!("../template.yaml")).expect("the template is YAML")
}

/// Every disagreement between `template` and the resource declarations, as sentences.
pub fn differences(template: &Value) -> Vec<String> {
    differences_with(template, &TEMPLATE_TABLES)
}

/// [`differences`], with these tables standing for the local stack's.
pub fn differences_with(template: &Value, local_tables: &[(&str, &TableSpec)]) -> Vec<String> {
    let mut found = Vec::new();
    let resources = &template["Resources"];
    tables(resources, local_tables, &mut found);
    user_pool(resources, &mut found);
    subscribers(resources, &mut found);
    stream_mappings(resources, local_tables, &mut found);
    functions(resources, &mut found);
    event_sources(resources, &mut found);
    bucket(resources, &mut found);
    mail(resources, &mut found);
    found
}

/// Whether `value` (a `!Sub` text, or any structure holding one) names `${id}`.
fn names_resource(value: &Value, id: &str) -> bool {
    let wanted = format!("${{{id}}}");
    match value {
        Value::String(text) => text.contains(&wanted),
        Value::Tagged(tagged) => names_resource(&tagged.value, id),
        Value::Sequence(items) => items.iter().any(|item| names_resource(item, id)),
        Value::Mapping(map) => map.iter().any(|(_, item)| names_resource(item, id)),
        _ => false,
    }
}

/// One SES identity, as the local stack verifies its mail domain; the pool sends Cognito's own
/// mail through it (`DEVELOPER`, its ARN as `SourceArn`), as the local pool does; and the
/// activation mailer, the only function that may send mail, sends from it only.
fn mail(resources: &Value, found: &mut Vec<String>) {
    let identities = of_type(resources, "AWS::SES::EmailIdentity");
    let [(identity, _)] = identities.as_slice() else {
        found.push(format!(
            "{} SES identities in the template, not one",
            identities.len()
        ));
        return;
    };
    let through_identity = of_type(resources, "AWS::Cognito::UserPool")
        .iter()
        .any(|(_, pool)| {
            let configuration = &pool["EmailConfiguration"];
            let branches: Vec<&Value> = match configuration {
                Value::Tagged(tagged) => tagged.value.as_sequence().into_iter().flatten().collect(),
                other => vec![other],
            };
            branches.iter().any(|branch| {
                branch["EmailSendingAccount"].as_str() == Some("DEVELOPER")
                    && names_resource(&branch["SourceArn"], identity)
            })
        });
    if !through_identity {
        found.push(format!(
            "user pool: Cognito's mail does not go through {identity} (DEVELOPER, its SourceArn), \
             as the local pool's does"
        ));
    }
    for (_, function) in of_type_with_metadata(resources, "AWS::Serverless::Function") {
        let binary = binary_of(function).unwrap_or_default();
        let sends: Vec<&Value> = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| policy["Statement"].as_sequence().into_iter().flatten())
            .filter(|statement| {
                let actions = match &statement["Action"] {
                    Value::String(action) => vec![action.clone()],
                    other => strings(other),
                };
                actions.iter().any(|action| action.starts_with("ses:"))
            })
            .collect();
        let mailer = binary == "activation-mailer";
        if mailer && sends.is_empty() {
            found.push("activation-mailer: may send no mail (ses:SendEmail)".to_owned());
        }
        if !mailer && !sends.is_empty() {
            found.push(format!(
                "{binary}: may send mail; only the activation-mailer does"
            ));
        }
        for statement in sends {
            if !names_resource(&statement["Resource"], identity) {
                found.push(format!(
                    "{binary}: may send mail from other identities than {identity}"
                ));
            }
        }
        if mailer && function["Properties"]["Environment"]["Variables"]["MAIL_FROM"].is_null() {
            found.push("activation-mailer: no MAIL_FROM".to_owned());
        }
    }
}

/// The resources of one type, with their logical ids.
fn of_type<'a>(resources: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .filter_map(|(id, resource)| Some((id.as_str()?, &resource["Properties"])))
        .collect()
}

/// A `!Sub "…-name"` or plain name, as its literal text.
fn text(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Tagged(tagged) => tagged.value.as_str(),
        _ => None,
    }
}

/// The logical id an `!GetAtt Id.Arn` (or `!Ref Id`) names.
fn target_id(value: &Value) -> Option<&str> {
    let Value::Tagged(tagged) = value else {
        return None;
    };
    let name = tagged.value.as_str()?;
    Some(name.split('.').next().unwrap_or(name))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_str().map(ToOwned::to_owned))
        .collect()
}

/// A key: its partition (HASH) and sort (RANGE) attributes.
type Key = (Option<String>, Option<String>);

fn key_schema(value: &Value) -> Key {
    let key = |kind: &str| {
        value
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|key| key["KeyType"].as_str() == Some(kind))
            .and_then(|key| key["AttributeName"].as_str().map(ToOwned::to_owned))
    };
    (key("HASH"), key("RANGE"))
}

/// A projection as one comparable text: `ALL`, `KEYS_ONLY`, `INCLUDE createdAt,email`.
fn projection_text(kind: &str, mut attributes: Vec<String>) -> String {
    attributes.sort_unstable();
    if attributes.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} {}", attributes.join(","))
    }
}

fn tables(resources: &Value, local_tables: &[(&str, &TableSpec)], found: &mut Vec<String>) {
    for &(id, spec) in local_tables {
        let table = &resources[id]["Properties"];
        if table.is_null() {
            found.push(format!("table {}: no {id} in the template", spec.name));
            continue;
        }
        let mut check = |what: &str, ok: bool| {
            if !ok {
                found.push(format!("table {}: {what} differs", spec.name));
            }
        };
        check(
            "name",
            text(&table["TableName"])
                .is_some_and(|name| name.ends_with(&format!("-{}", spec.name))),
        );
        check(
            "key",
            key_schema(&table["KeySchema"])
                == (
                    Some(spec.partition_key.to_owned()),
                    spec.sort_key.map(ToOwned::to_owned),
                ),
        );
        check(
            "stream view",
            table["StreamSpecification"]["StreamViewType"].as_str()
                == Some(spec.stream_view.as_str()),
        );
        check(
            "billing mode",
            table["BillingMode"].as_str() == Some("PAY_PER_REQUEST"),
        );
        let ttl = table["TimeToLiveSpecification"]["AttributeName"].as_str();
        check("TTL attribute", ttl == spec.ttl_attribute);
        // An index is its name, its key and its projection (type and sorted non-key
        // attributes): a projection changed on one side only is an index missing on both.
        let template_indexes: BTreeSet<(String, Key, String)> = table["GlobalSecondaryIndexes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|index| {
                let name = index["IndexName"].as_str()?.to_owned();
                let kind = index["Projection"]["ProjectionType"].as_str()?;
                let projection =
                    projection_text(kind, strings(&index["Projection"]["NonKeyAttributes"]));
                Some((name, key_schema(&index["KeySchema"]), projection))
            })
            .collect();
        let local_indexes: BTreeSet<(String, Key, String)> = spec
            .indexes
            .iter()
            .map(|index| {
                (
                    index.name.to_owned(),
                    (
                        Some(index.partition_key.to_owned()),
                        index.sort_key.map(ToOwned::to_owned),
                    ),
                    projection_text(
                        index.projection.type_name(),
                        index
                            .projection
                            .non_key_attributes()
                            .iter()
                            .map(|attribute| (*attribute).to_owned())
                            .collect(),
                    ),
                )
            })
            .collect();
        for missing in local_indexes.difference(&template_indexes) {
            found.push(format!(
                "table {}: index {} is provisioned locally but not in the template",
                spec.name, missing.0
            ));
        }
        for extra in template_indexes.difference(&local_indexes) {
            found.push(format!(
                "table {}: index {} is in the template but not provisioned locally",
                spec.name, extra.0
            ));
        }
    }
}

fn user_pool(resources: &Value, found: &mut Vec<String>) {
    let pools = of_type(resources, "AWS::Cognito::UserPool");
    let [(_, pool)] = pools.as_slice() else {
        found.push(format!(
            "user pool: {} in the template, not one",
            pools.len()
        ));
        return;
    };
    let policy = &pool["Policies"]["PasswordPolicy"];
    let local = USER_POOL.password;
    let same_policy = policy["MinimumLength"].as_i64() == Some(i64::from(local.minimum_length))
        && policy["RequireLowercase"].as_bool() == Some(local.require_lowercase)
        && policy["RequireUppercase"].as_bool() == Some(local.require_uppercase)
        && policy["RequireNumbers"].as_bool() == Some(local.require_numbers)
        && policy["RequireSymbols"].as_bool() == Some(local.require_symbols);
    if !same_policy {
        found.push("user pool: password policy differs".to_owned());
    }
    custom_attributes(pool, found);
    update_settings(pool, found);
    if text(&pool["MfaConfiguration"]) != Some(USER_POOL.mfa_configuration)
        || strings(&pool["EnabledMfas"]) != USER_POOL.enabled_mfas
    {
        found.push(format!(
            "user pool: MFA is {:?} with {:?}, not {} with {:?} as provisioned locally",
            text(&pool["MfaConfiguration"]),
            strings(&pool["EnabledMfas"]),
            USER_POOL.mfa_configuration,
            USER_POOL.enabled_mfas
        ));
    }
    let groups: BTreeSet<String> = of_type(resources, "AWS::Cognito::UserPoolGroup")
        .iter()
        .filter_map(|(_, group)| group["GroupName"].as_str().map(ToOwned::to_owned))
        .collect();
    let local_groups: BTreeSet<String> = USER_POOL.groups.iter().map(|g| (*g).to_owned()).collect();
    if groups != local_groups {
        found.push(format!(
            "user pool: groups {groups:?} differ from {local_groups:?}"
        ));
    }
    let clients = of_type(resources, "AWS::Cognito::UserPoolClient");
    let mut frontends = BTreeSet::new();
    for (id, client) in &clients {
        let Some(spec) = USER_POOL.clients.iter().find(|spec| {
            text(&client["ClientName"])
                .is_some_and(|name| name.ends_with(&format!("-{}", spec.frontend)))
        }) else {
            found.push(format!(
                "app client {id}: no frontend of that name is provisioned locally"
            ));
            continue;
        };
        frontends.insert(spec.frontend);
        let same = strings(&client["ExplicitAuthFlows"]) == AUTH_FLOWS
            && strings(&client["ReadAttributes"]) == READ_ATTRIBUTES
            && client["GenerateSecret"].as_bool() == Some(false)
            && client["PreventUserExistenceErrors"].as_str() == Some("ENABLED")
            && client["AccessTokenValidity"].as_i64() == Some(i64::from(spec.access_token_minutes))
            && client["IdTokenValidity"].as_i64() == Some(i64::from(spec.id_token_minutes))
            && client["RefreshTokenValidity"].as_i64() == Some(i64::from(spec.refresh_token_days));
        if !same {
            found.push(format!("app client {}: settings differ", spec.frontend));
        }
        // What a user may write with its own access token: an absent or empty list is every
        // standard attribute (the email, the name, the handle) on Cognito.
        let writable = strings(&client["WriteAttributes"]);
        if writable != WRITE_ATTRIBUTES {
            found.push(format!(
                "app client {}: WriteAttributes {writable:?}, not {WRITE_ATTRIBUTES:?} (an absent \
                 or empty list lets users write every standard attribute)",
                spec.frontend
            ));
        }
        // An immutable custom attribute (the registration marker) is the system's own: no
        // client reads it or may write it.
        for attribute in USER_POOL.custom_attributes.iter().filter(|a| !a.mutable) {
            let name = attribute.attribute_name();
            for list in ["ReadAttributes", "WriteAttributes"] {
                if strings(&client[list]).contains(&name) {
                    found.push(format!("app client {}: {list} lists {name}", spec.frontend));
                }
            }
        }
    }
    for spec in USER_POOL.clients {
        if !frontends.contains(spec.frontend) {
            found.push(format!("app client {}: not in the template", spec.frontend));
        }
    }
}

/// A change of the email (or another attribute of [`VERIFIED_BEFORE_UPDATE`]) takes effect
/// only once verified, as locally, and the attribute is auto-verified, as Cognito requires.
fn update_settings(pool: &Value, found: &mut Vec<String>) {
    let held =
        strings(&pool["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]);
    if held != VERIFIED_BEFORE_UPDATE {
        found.push(format!(
            "user pool: an email change takes effect before it is verified \
             (UserAttributeUpdateSettings holds {held:?}, not {VERIFIED_BEFORE_UPDATE:?})"
        ));
    }
    let verified = strings(&pool["AutoVerifiedAttributes"]);
    if !VERIFIED_BEFORE_UPDATE
        .iter()
        .all(|attribute| verified.iter().any(|v| v == attribute))
    {
        found.push(format!(
            "user pool: AutoVerifiedAttributes {verified:?} lacks {VERIFIED_BEFORE_UPDATE:?}, \
             which a verification before an update requires"
        ));
    }
}

/// The pool's schema declares exactly the local custom attributes, with the same type,
/// mutability and length bounds.
fn custom_attributes(pool: &Value, found: &mut Vec<String>) {
    let schema: Vec<&Value> = pool["Schema"].as_sequence().into_iter().flatten().collect();
    for spec in USER_POOL.custom_attributes {
        let Some(attribute) = schema
            .iter()
            .find(|attribute| attribute["Name"].as_str() == Some(spec.name))
        else {
            found.push(format!(
                "user pool: custom attribute {} is not in the template",
                spec.name
            ));
            continue;
        };
        let constraints = &attribute["StringAttributeConstraints"];
        let same = attribute["AttributeDataType"].as_str() == Some("String")
            && attribute["Mutable"].as_bool() == Some(spec.mutable)
            && constraints["MinLength"].as_str() == Some(spec.min_length.to_string().as_str())
            && constraints["MaxLength"].as_str() == Some(spec.max_length.to_string().as_str());
        if !same {
            found.push(format!("user pool: custom attribute {} differs", spec.name));
        }
    }
    for attribute in schema {
        let name = attribute["Name"].as_str().unwrap_or_default();
        if !USER_POOL
            .custom_attributes
            .iter()
            .any(|spec| spec.name == name)
        {
            found.push(format!(
                "user pool: schema attribute {name} is not provisioned locally"
            ));
        }
    }
}

fn subscribers(resources: &Value, found: &mut Vec<String>) {
    let rules = of_type(resources, "AWS::Events::Rule");
    let queues = of_type(resources, "AWS::SQS::Queue");
    let queue_named = |name: &str| {
        queues
            .iter()
            .find(|(_, queue)| {
                text(&queue["QueueName"]).is_some_and(|q| q.ends_with(&format!("-{name}")))
            })
            .copied()
    };
    for spec in SUBSCRIBERS {
        let Some((_, rule)) = rules.iter().find(|(_, rule)| {
            text(&rule["Name"]).is_some_and(|name| name.ends_with(&format!("-{}", spec.name)))
        }) else {
            found.push(format!("subscriber {}: no rule in the template", spec.name));
            continue;
        };
        let pattern: serde_json::Value =
            serde_json::to_value(&rule["EventPattern"]).unwrap_or_default();
        let local: serde_json::Value =
            serde_json::from_str(&spec.event_pattern()).unwrap_or_default();
        if pattern != local {
            found.push(format!(
                "subscriber {}: event pattern {pattern} differs from {local}",
                spec.name
            ));
        }
        let (Some((queue_id, queue)), Some((dead_id, _))) = (
            queue_named(spec.name),
            queue_named(&format!("{}-dlq", spec.name)),
        ) else {
            found.push(format!(
                "subscriber {}: queue or dead-letter queue missing",
                spec.name
            ));
            continue;
        };
        let targets: Vec<&str> = rule["Targets"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|target| target_id(&target["Arn"]))
            .collect();
        if targets != [queue_id] {
            found.push(format!(
                "subscriber {}: the rule targets {targets:?}, not {queue_id}",
                spec.name
            ));
        }
        let redrive = &queue["RedrivePolicy"];
        let same_queue = target_id(&redrive["deadLetterTargetArn"]) == Some(dead_id)
            && redrive["maxReceiveCount"].as_u64() == Some(u64::from(spec.max_receive_count))
            && queue["VisibilityTimeout"].as_u64()
                == Some(u64::from(spec.visibility_timeout_seconds));
        if !same_queue {
            found.push(format!("subscriber {}: queue settings differ", spec.name));
        }
        let drained = resources
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, resource)| {
                resource["Properties"]["Events"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .any(|(_, event)| {
                        event["Type"].as_str() == Some("SQS")
                            && target_id(&event["Properties"]["Queue"]) == Some(queue_id)
                            && strings(&event["Properties"]["FunctionResponseTypes"])
                                == ["ReportBatchItemFailures"]
                    })
            });
        if !drained {
            found.push(format!(
                "subscriber {}: no function drains {queue_id} with partial batch failures",
                spec.name
            ));
        }
    }
    if rules.len() != SUBSCRIBERS.len() {
        found.push(format!(
            "the template has {} bus rules, the local stack {}",
            rules.len(),
            SUBSCRIBERS.len()
        ));
    }
}

/// Each table's stream reaches a function as the local poller delivers it: same batch size,
/// partial batch failures, the same retry bound, and the stream-failures queue on failure.
fn stream_mappings(
    resources: &Value,
    local_tables: &[(&str, &TableSpec)],
    found: &mut Vec<String>,
) {
    let queues = of_type(resources, "AWS::SQS::Queue");
    let failures_queue = queues
        .iter()
        .find(|(_, queue)| {
            text(&queue["QueueName"]).is_some_and(|q| q.ends_with("-stream-failures"))
        })
        .map(|(id, _)| *id);
    if failures_queue.is_none() {
        found.push("no stream-failures queue in the template".to_owned());
    }
    for (table_id, _) in local_tables {
        let mappings: Vec<&Value> = resources
            .as_mapping()
            .into_iter()
            .flatten()
            .flat_map(|(_, resource)| {
                resource["Properties"]["Events"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(|(_, event)| event)
            })
            .filter(|event| {
                event["Type"].as_str() == Some("DynamoDB")
                    && target_id(&event["Properties"]["Stream"]) == Some(table_id)
            })
            .collect();
        let [mapping] = mappings.as_slice() else {
            found.push(format!(
                "{table_id}: {} functions read its stream, not one",
                mappings.len()
            ));
            continue;
        };
        let properties = &mapping["Properties"];
        let same = properties["BatchSize"].as_i64() == Some(i64::from(STREAM_MAPPING.batch_size))
            && properties["MaximumRetryAttempts"].as_u64()
                == Some(u64::from(STREAM_MAPPING.maximum_retry_attempts))
            && strings(&properties["FunctionResponseTypes"]) == ["ReportBatchItemFailures"]
            && target_id(&properties["DestinationConfig"]["OnFailure"]["Destination"])
                == failures_queue;
        if !same {
            found.push(format!(
                "{table_id}: the stream mapping's settings differ from the local poller's"
            ));
        }
    }
}

/// The assets bucket is versioned, and its lifecycle rule expires noncurrent versions after
/// the days the local bucket uses, and the delete markers left alone.
fn bucket(resources: &Value, found: &mut Vec<String>) {
    let buckets = of_type(resources, "AWS::S3::Bucket");
    let [(_, bucket)] = buckets.as_slice() else {
        found.push(format!(
            "{} buckets in the template, not one",
            buckets.len()
        ));
        return;
    };
    if bucket["VersioningConfiguration"]["Status"].as_str() != Some("Enabled") {
        found.push("bucket: not versioned, as the local bucket is".to_owned());
    }
    let rule = bucket["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|rule| rule["Id"].as_str() == Some(NONCURRENT_VERSIONS_RULE));
    let same = rule.is_some_and(|rule| {
        rule["Status"].as_str() == Some("Enabled")
            && rule["Prefix"].is_null()
            && rule["NoncurrentVersionExpiration"]["NoncurrentDays"].as_i64()
                == Some(i64::from(NONCURRENT_VERSION_DAYS))
            && rule["ExpiredObjectDeleteMarker"].as_bool() == Some(true)
    });
    if !same {
        found.push(format!(
            "bucket: no lifecycle rule {NONCURRENT_VERSIONS_RULE} expiring noncurrent versions \
             after {NONCURRENT_VERSION_DAYS} days and lone delete markers, as locally"
        ));
    }
}

/// The service a function belongs to, by its binary: the events it may publish.
fn service_source(binary: &str) -> &'static str {
    if binary.starts_with("auth") {
        roster_events::source::AUTH
    } else {
        roster_events::source::USER
    }
}

/// Every statement that lets a function publish to the bus limits it to its own service's
/// `source` (`events:source`), so a compromised function cannot forge the other's events.
fn event_sources(resources: &Value, found: &mut Vec<String>) {
    for (_, function) in of_type_with_metadata(resources, "AWS::Serverless::Function") {
        let Some(binary) = binary_of(function) else {
            continue;
        };
        let statements = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| policy["Statement"].as_sequence().into_iter().flatten());
        for statement in statements.filter(|statement| grants_put_events(statement)) {
            let source = statement["Condition"]["StringEquals"]["events:source"].as_str();
            let expected = service_source(binary);
            if source != Some(expected) {
                found.push(format!(
                    "{binary}: may publish events of any source, not only {expected} \
                     (events:source condition {source:?})"
                ));
            }
        }
    }
}

/// Whether an IAM statement allows `events:PutEvents`: an `Action` naming it or a wildcard
/// that covers it (`events:*`, `events:Put*`, `*`), or a `NotAction` that does not leave it
/// out. A `Deny` grants nothing.
fn grants_put_events(statement: &Value) -> bool {
    const PUT_EVENTS: &str = "events:PutEvents";
    if statement["Effect"].as_str() == Some("Deny") {
        return false;
    }
    let patterns = |value: &Value| match value {
        Value::String(action) => vec![action.clone()],
        other => strings(other),
    };
    let covers = |value: &Value| {
        patterns(value)
            .iter()
            .any(|pattern| action_matches(pattern, PUT_EVENTS))
    };
    if !statement["NotAction"].is_null() {
        return !covers(&statement["NotAction"]);
    }
    covers(&statement["Action"])
}

/// Whether the IAM action `pattern` (`*` any run of characters, `?` one character) matches
/// `action`, without regard to case, as IAM compares actions.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let action: Vec<char> = action.to_ascii_lowercase().chars().collect();
    // The classic two-pointer glob match, backtracking to the last `*`.
    let (mut p, mut a) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while a < action.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == action[a]) {
            p += 1;
            a += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, a));
            p += 1;
        } else if let Some((star_p, star_a)) = star {
            p = star_p + 1;
            a = star_a + 1;
            star = Some((star_p, star_a + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The binary a function runs: its `CodeUri` is the zip `cargo package-lambdas` writes,
/// `../target/lambda/<binary>/bootstrap.zip` (one build: `sam deploy` uploads it as it is).
pub fn binary_of(function: &Value) -> Option<&str> {
    function["Properties"]["CodeUri"]
        .as_str()?
        .strip_prefix("../target/lambda/")?
        .strip_suffix("/bootstrap.zip")
        .filter(|binary| !binary.contains('/'))
}

/// The resources of one type, whole (with `Metadata`), with their logical ids.
fn of_type_with_metadata<'a>(resources: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
        .collect()
}

fn functions(resources: &Value, found: &mut Vec<String>) {
    let binaries: BTreeSet<&str> = resources
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|(_, function)| binary_of(function))
        .collect();
    let local: BTreeSet<&str> = LAMBDA_BINARIES.into_iter().collect();
    if binaries != local {
        found.push(format!(
            "functions {binaries:?} differ from the binaries {local:?}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::action_matches;

    #[test]
    fn an_action_pattern_matches_as_iam_compares_actions() {
        for pattern in [
            "events:PutEvents",
            "events:putevents",
            "events:*",
            "events:Put*",
            "events:*Events",
            "events:P*t*s",
            "events:?utEvent?",
            "*:*",
            "*",
        ] {
            assert!(action_matches(pattern, "events:PutEvents"), "{pattern}");
        }
        for pattern in [
            "events:PutEvent",
            "events:PutEventsX",
            "events:Put?",
            "events:Describe*",
            "event*:Put",
            "s3:*",
            "",
        ] {
            assert!(!action_matches(pattern, "events:PutEvents"), "{pattern}");
        }
    }
}

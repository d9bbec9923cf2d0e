//! `roster-client` checked against the OpenAPI documents the two APIs serve: every operation
//! of each document has exactly one client method, and each request and response body the
//! client sends or reads has the documented shape (the same properties, the same required
//! ones, the same types, nested all the way down). The end-to-end tests then call the running
//! APIs through the client (`journey`, `users`).

use std::collections::{BTreeMap, BTreeSet};

use roster_client::*;
use roster_platform::openapi::operations;
use serde_json::{Value, json};

type SchemaOf = fn() -> Value;

/// An operation's request body (if any), and each success status with its body (if any).
type Bodies = (Option<SchemaOf>, Vec<(&'static str, Option<SchemaOf>)>);

fn schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap()
}

fn documents() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        (
            "auth",
            serde_json::to_value(roster_auth_api::openapi()).unwrap(),
        ),
        (
            "users",
            serde_json::to_value(roster_user_api::openapi()).unwrap(),
        ),
    ])
}

/// A schema reduced to what a client depends on: properties (and which are required), types,
/// nullability, enum values, array items, map values and alternatives. Descriptions,
/// patterns, limits and formats are the server's to enforce.
fn shape(schema: &Value, root: &Value) -> Value {
    if schema == &Value::Bool(true) {
        return json!("any");
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let target = if let Some(name) = reference.strip_prefix("#/components/schemas/") {
            &root["components"]["schemas"][name]
        } else if let Some(name) = reference.strip_prefix("#/$defs/") {
            &root["$defs"][name]
        } else {
            panic!("unexpected reference {reference}")
        };
        return shape(target, root);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) = alternatives
                .iter()
                .partition(|alternative| alternative["type"] == "null");
            let mut shapes: Vec<Value> = others.iter().map(|other| shape(other, root)).collect();
            shapes.sort_by_key(Value::to_string);
            let inner = if shapes.len() == 1 {
                shapes.remove(0)
            } else {
                json!({ "oneOf": shapes })
            };
            return if nulls.is_empty() {
                inner
            } else {
                json!({ "nullable": inner })
            };
        }
    }
    let types: BTreeSet<&str> = match &schema["type"] {
        Value::String(one) => BTreeSet::from([one.as_str()]),
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => BTreeSet::new(),
    };
    let nullable = types.contains("null");
    let kinds: Vec<&str> = types.into_iter().filter(|kind| *kind != "null").collect();
    let inner = match kinds.as_slice() {
        [] => json!("any"),
        ["object"] => {
            if let Some(properties) = schema["properties"].as_object() {
                let required: BTreeSet<&str> = schema["required"]
                    .as_array()
                    .map(|names| names.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let fields: serde_json::Map<String, Value> = properties
                    .iter()
                    .map(|(name, property)| {
                        (
                            name.clone(),
                            json!({
                                "required": required.contains(name.as_str()),
                                "shape": shape(property, root),
                            }),
                        )
                    })
                    .collect();
                json!({ "object": fields })
            } else if schema["additionalProperties"].is_object() {
                json!({ "map": shape(&schema["additionalProperties"], root) })
            } else {
                json!("any-object")
            }
        }
        ["array"] => json!({ "array": shape(&schema["items"], root) }),
        ["string"] if schema["enum"].is_array() => {
            let mut values: Vec<String> = schema["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|value| value.as_str().unwrap().to_owned())
                .collect();
            values.sort();
            json!({ "enum": values })
        }
        [one] => json!(one),
        many => panic!("a schema of several types: {many:?}"),
    };
    if nullable {
        json!({ "nullable": inner })
    } else {
        inner
    }
}

fn client_shape(schema_of: SchemaOf) -> Value {
    let root = schema_of();
    shape(&root, &root)
}

/// What each operation sends and reads, by the client's types: the request body (if any)
/// and each success status with its body (`None`: no body).
fn client_bodies() -> BTreeMap<(&'static str, &'static str), Bodies> {
    let user: Option<SchemaOf> = Some(schema::<User>);
    let object: SchemaOf = schema::<serde_json::Map<String, Value>>;
    BTreeMap::from([
        (
            ("POST", "/auth/register"),
            (
                Some(schema::<RegisterRequest> as SchemaOf),
                vec![("201", Some(schema::<Registered> as SchemaOf))],
            ),
        ),
        (
            ("POST", "/auth/login"),
            (
                Some(schema::<LoginRequest>),
                vec![("200", Some(schema::<Tokens>))],
            ),
        ),
        (
            ("POST", "/auth/token/refresh"),
            (
                Some(schema::<RefreshRequest>),
                vec![("200", Some(schema::<Tokens>))],
            ),
        ),
        (
            ("POST", "/auth/login/mfa"),
            (
                Some(schema::<MfaLoginRequest>),
                vec![("200", Some(schema::<Tokens>))],
            ),
        ),
        (
            ("POST", "/auth/mfa/totp"),
            (None, vec![("200", Some(schema::<TotpEnrolment>))]),
        ),
        (
            ("POST", "/auth/mfa/totp/confirm"),
            (Some(schema::<TotpConfirmRequest>), vec![("204", None)]),
        ),
        (
            ("DELETE", "/auth/mfa/totp"),
            (Some(schema::<TotpDisableRequest>), vec![("204", None)]),
        ),
        (("POST", "/auth/logout"), (None, vec![("204", None)])),
        (
            ("POST", "/auth/token/verify"),
            (
                Some(schema::<VerifyRequest>),
                vec![("200", Some(schema::<VerifiedToken>))],
            ),
        ),
        (
            ("GET", "/auth/token/{token_type}/verify/{token}"),
            (None, vec![("200", Some(schema::<VerifiedToken>))]),
        ),
        (
            ("POST", "/auth/activation/resend"),
            (
                Some(schema::<ResendRequest>),
                vec![("202", Some(schema::<Accepted>))],
            ),
        ),
        (
            ("POST", "/auth/password/forgot"),
            (
                Some(schema::<ForgotRequest>),
                vec![("202", Some(schema::<Accepted>))],
            ),
        ),
        (
            ("POST", "/auth/password/confirm"),
            (Some(schema::<ConfirmRequest>), vec![("204", None)]),
        ),
        (
            ("POST", "/auth/password/change"),
            (Some(schema::<ChangeRequest>), vec![("204", None)]),
        ),
        (
            ("GET", "/auth/me/export"),
            (None, vec![("200", Some(schema::<IdentityExport>))]),
        ),
        (
            ("GET", "/auth/users/{id}/export"),
            (None, vec![("200", Some(schema::<IdentityExport>))]),
        ),
        (
            ("DELETE", "/auth/me"),
            (
                Some(schema::<DeleteAccountRequest>),
                vec![("202", Some(schema::<DeletionRequested>))],
            ),
        ),
        (("GET", "/user/{id}"), (None, vec![("200", user)])),
        (
            ("GET", "/users"),
            (None, vec![("200", Some(schema::<UserList>))]),
        ),
        (
            ("GET", "/user/{id}/export"),
            (None, vec![("200", Some(schema::<UserExport>))]),
        ),
        (
            ("GET", "/public/user/me/export"),
            (None, vec![("200", Some(schema::<UserExport>))]),
        ),
        (("GET", "/user/name/{name}"), (None, vec![("200", user)])),
        (("GET", "/user/email/{email}"), (None, vec![("200", user)])),
        (
            ("GET", "/user/handle/{handle}"),
            (None, vec![("200", user)]),
        ),
        (("DELETE", "/user/{id}"), (None, vec![("204", None)])),
        (
            ("GET", "/user/activate/{activationCode}"),
            (None, vec![("200", user)]),
        ),
        (
            ("POST", "/user/activate"),
            (Some(schema::<ActivationRequest>), vec![("200", user)]),
        ),
        (
            ("PATCH", "/user/{id}/status/{status}"),
            (None, vec![("200", user)]),
        ),
        (
            ("PUT", "/user/{id}/data/update"),
            (Some(object), vec![("200", user)]),
        ),
        (
            ("PATCH", "/user/{id}/data/update"),
            (Some(object), vec![("200", user)]),
        ),
        (
            ("POST", "/user/{id}/badge/{name}"),
            (None, vec![("200", user), ("201", user)]),
        ),
        (
            ("DELETE", "/user/{id}/badge/{name}"),
            (None, vec![("200", user)]),
        ),
        (
            ("POST", "/user/{id}/avatar"),
            (
                Some(schema::<AvatarRequest>),
                vec![("200", user), ("201", Some(schema::<AvatarUpload>))],
            ),
        ),
        (("GET", "/public/user/me"), (None, vec![("200", user)])),
        (
            ("PATCH", "/public/user/me/profile"),
            (Some(schema::<ProfileUpdate>), vec![("200", user)]),
        ),
    ])
}

/// The one JSON body of a request or response in the document, if it has one.
fn body_schema(content: &Value) -> Option<&Value> {
    let content = content.as_object()?;
    let (_, media) = content
        .iter()
        .find(|(media_type, _)| !media_type.contains("problem"))?;
    Some(&media["schema"])
}

#[test]
fn every_operation_of_both_documents_has_exactly_one_client_method() {
    let documented: BTreeSet<(String, String, String)> = [
        ("auth", roster_auth_api::openapi()),
        ("users", roster_user_api::openapi()),
    ]
    .into_iter()
    .flat_map(|(api, document)| {
        operations(&document)
            .into_iter()
            .map(move |(method, path)| (api.to_owned(), method, path))
    })
    .collect();
    let listed: BTreeSet<(String, String, String)> = OPERATIONS
        .iter()
        .map(|operation| {
            (
                operation.api.to_owned(),
                operation.method.to_owned(),
                operation.path.to_owned(),
            )
        })
        .collect();
    assert_eq!(listed.len(), OPERATIONS.len(), "an operation listed twice");
    assert_eq!(
        listed, documented,
        "roster-client's OPERATIONS and the documents differ"
    );
    let described: BTreeSet<(String, String)> = client_bodies()
        .keys()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    let operations: BTreeSet<(String, String)> = listed
        .into_iter()
        .map(|(_, method, path)| (method, path))
        .collect();
    assert_eq!(
        described, operations,
        "every operation's bodies are checked"
    );
}

#[test]
fn every_body_the_client_sends_or_reads_has_the_documented_shape() {
    let bodies = client_bodies();
    let mut checked = 0;
    for operation in OPERATIONS {
        let document = &documents()[operation.api];
        let documented = &document["paths"][operation.path][operation.method.to_lowercase()];
        let (request, responses) = &bodies[&(operation.method, operation.path)];
        let what = format!("{} {}", operation.method, operation.path);

        let documented_request = body_schema(&documented["requestBody"]["content"]);
        match (request, documented_request) {
            (Some(client), Some(documented)) => {
                assert_eq!(
                    client_shape(*client),
                    shape(documented, document),
                    "{what}: the request body"
                );
                checked += 1;
            }
            (None, None) => {}
            (client, documented) => panic!(
                "{what}: the client sends {} body, the document {}",
                if client.is_some() { "a" } else { "no" },
                if documented.is_some() {
                    "wants one"
                } else {
                    "none"
                }
            ),
        }

        let successes: BTreeSet<&str> = documented["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|status| status.starts_with('2'))
            .collect();
        let read: BTreeSet<&str> = responses.iter().map(|(status, _)| *status).collect();
        assert_eq!(read, successes, "{what}: the success statuses");
        for (status, client) in responses {
            let documented_body = body_schema(&documented["responses"][*status]["content"]);
            match (client, documented_body) {
                (Some(client), Some(documented)) => {
                    assert_eq!(
                        client_shape(*client),
                        shape(documented, document),
                        "{what}: the {status} body"
                    );
                    checked += 1;
                }
                (None, None) => {}
                _ => panic!("{what}: the {status} body is read differently than documented"),
            }
        }
    }
    assert!(checked >= 30, "{checked} bodies checked");
}

#[test]
fn every_refusal_is_a_problem_of_the_documented_shape() {
    for (_, document) in documents() {
        assert_eq!(
            client_shape(schema::<Problem>),
            shape(&document["components"]["schemas"]["Problem"], &document)
        );
    }
}

#[test]
fn the_shape_comparison_sees_a_missing_field_a_required_field_and_a_type_change() {
    let document = json!({"components": {"schemas": {}}});
    let documented = json!({
        "type": "object", "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}}
    });
    let same = shape(&documented, &document);
    for changed in [
        json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}),
        json!({"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}}}),
        json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"type": ["integer", "null"]}}}),
        json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}),
    ] {
        assert_ne!(shape(&changed, &document), same, "{changed}");
    }
}

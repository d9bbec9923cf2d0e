//! The OpenAPI document is OpenAPI 3.1, lists every route of the router with its security and
//! its problem+json error answers.

use std::collections::BTreeSet;

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(roster_auth_api::openapi()).unwrap()
}

#[test]
fn is_openapi_3_1_with_every_route() {
    let document = document();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: BTreeSet<String> =
        roster_platform::openapi::operations(&roster_auth_api::openapi())
            .into_iter()
            .map(|(method, path)| format!("{method} {path}"))
            .collect();
    let expected: BTreeSet<String> = [
        "POST /auth/register",
        "POST /auth/login",
        "POST /auth/token/refresh",
        "POST /auth/logout",
        "GET /auth/token/{token_type}/verify/{token}",
        "POST /auth/token/verify",
        "POST /auth/password/forgot",
        "POST /auth/password/confirm",
        "POST /auth/password/change",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(operations, expected);
}

#[test]
fn every_operation_has_security_and_problem_json_errors() {
    let document = document();
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    assert!(schemes.contains_key("apiKey") && schemes.contains_key("bearer"));
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty()),
                "{name} has no security"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{name} documents no 401");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{name} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

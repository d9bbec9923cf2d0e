//! The User API's OpenAPI document is OpenAPI 3.1, lists every route of the router with its
//! security and its problem+json error answers.

use std::collections::BTreeSet;

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(roster_user_api::openapi()).unwrap()
}

#[test]
fn is_openapi_3_1_with_every_seed_route() {
    let document = document();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let operations: BTreeSet<String> =
        roster_platform::openapi::operations(&roster_user_api::openapi())
            .into_iter()
            .map(|(method, path)| format!("{method} {path}"))
            .collect();
    let expected: BTreeSet<String> = [
        "GET /public/user/me",
        "PATCH /public/user/me/profile",
        "GET /user/{id}",
        "DELETE /user/{id}",
        "GET /user/name/{name}",
        "GET /user/email/{email}",
        "GET /user/handle/{handle}",
        "GET /user/activate/{activationCode}",
        "POST /user/activate",
        "PATCH /user/{id}/status/{status}",
        "PUT /user/{id}/data/update",
        "PATCH /user/{id}/data/update",
        "POST /user/{id}/badge/{name}",
        "DELETE /user/{id}/badge/{name}",
        "POST /user/{id}/avatar",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(operations, expected);
}

#[test]
fn every_operation_has_security_and_problem_json_errors() {
    let document = document();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let security = operation["security"].as_array().expect("security");
            assert!(!security.is_empty(), "{name} has no security");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{name} documents no 401");
            if security[0].get("apiKey").is_some() {
                assert!(responses.contains_key("403"), "{name} documents no 403");
            }
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

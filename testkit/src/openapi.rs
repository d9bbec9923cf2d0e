//! What both APIs' OpenAPI documents must be, asserted once for both: OpenAPI 3.1, exactly the
//! router's operations, an API-key and a Bearer scheme, and on every operation a security
//! requirement, a documented 401 (and a 403 where an API key's scope can refuse), and
//! `application/problem+json` for every error answer.

use std::collections::BTreeSet;

use serde_json::Value;

/// Fails the test, naming each fault, unless `document` (an API's OpenAPI document as JSON)
/// has exactly the `operations` (`"POST /auth/login"`, …) and documents them as above.
pub fn assert_documented(document: &Value, operations: &[&str]) {
    let mut faults = Vec::new();
    let version = document["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.1") {
        faults.push(format!("OpenAPI {version:?}, not 3.1"));
    }
    let schemes = &document["components"]["securitySchemes"];
    for scheme in ["apiKey", "bearer"] {
        if !schemes[scheme].is_object() {
            faults.push(format!("no security scheme {scheme:?}"));
        }
    }
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let name = format!("{} {path}", method.to_uppercase());
            let security = operation["security"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if security.is_empty() {
                faults.push(format!("{name} has no security requirement"));
            }
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if !responses.contains_key("401") {
                faults.push(format!("{name} documents no 401"));
            }
            if security
                .iter()
                .any(|requirement| requirement.get("apiKey").is_some())
                && !responses.contains_key("403")
            {
                faults.push(format!("{name} takes an API key but documents no 403"));
            }
            for (status, response) in &responses {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if is_error && !response["content"]["application/problem+json"].is_object() {
                    faults.push(format!("{name} {status} is not application/problem+json"));
                }
            }
            documented.insert(name);
        }
    }
    let expected: BTreeSet<String> = operations.iter().map(|&op| op.to_owned()).collect();
    for missing in expected.difference(&documented) {
        faults.push(format!("{missing} is not documented"));
    }
    for extra in documented.difference(&expected) {
        faults.push(format!("{extra} is documented but not expected"));
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::assert_documented;

    fn document() -> serde_json::Value {
        json!({
            "openapi": "3.1.0",
            "components": {"securitySchemes": {"apiKey": {}, "bearer": {}}},
            "paths": {"/auth/login": {"post": {
                "security": [{"apiKey": []}],
                "responses": {
                    "200": {"content": {"application/json": {}}},
                    "401": {"content": {"application/problem+json": {}}},
                    "403": {"content": {"application/problem+json": {}}}
                }
            }}}
        })
    }

    #[test]
    fn a_well_documented_api_passes() {
        assert_documented(&document(), &["POST /auth/login"]);
    }

    #[test]
    #[should_panic(expected = "POST /auth/login 401 is not application/problem+json")]
    fn an_error_answer_that_is_not_a_problem_is_named() {
        let mut document = document();
        document["paths"]["/auth/login"]["post"]["responses"]["401"] =
            json!({"content": {"application/json": {}}});
        assert_documented(&document, &["POST /auth/login"]);
    }

    #[test]
    #[should_panic(expected = "POST /auth/login takes an API key but documents no 403")]
    fn an_api_key_route_without_a_403_is_named() {
        let mut document = document();
        document["paths"]["/auth/login"]["post"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("403");
        assert_documented(&document, &["POST /auth/login"]);
    }

    #[test]
    #[should_panic(expected = "POST /auth/logout is not documented")]
    fn a_missing_route_is_named() {
        assert_documented(&document(), &["POST /auth/login", "POST /auth/logout"]);
    }
}

//! Every User API route against bad input, over HTTP on the real adapters: each mistake gets
//! its documented 4xx as `application/problem+json`, never a 5xx, and nothing changes.

use reqwest::{Method, StatusCode};
use roster_testkit::harness;
use serde_json::{Value, json};

use crate::support::{Api, profiles_of, seed_profile};

struct Case {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Option<String>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
}

fn case(method: Method, path: impl Into<String>, status: StatusCode) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: None,
        body: None,
        headers: Vec::new(),
        status,
    }
}

impl Case {
    fn body(mut self, content_type: &'static str, body: impl Into<String>) -> Self {
        self.content_type = Some(content_type);
        self.body = Some(body.into());
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[tokio::test]
async fn every_route_answers_bad_input_with_its_documented_problem() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let (url, key) = harness::user_api(&resources).await;
    // Raw for the cases, every one malformed or refused on purpose.
    let api = Api::new(&url, &key);
    let users = roster_client::UserApi::new(&url, &key).unwrap();
    let id = "5a0c0a8e-0000-4000-8000-000000000001";
    let archived = "5a0c0a8e-0000-4000-8000-000000000002";
    seed_profile(&profiles, id, "input_user", "hash-1").await;
    seed_profile(&profiles, archived, "archived_user", "hash-2").await;
    users
        .set_status(archived, roster_client::Status::Archived, None)
        .await
        .unwrap();
    let read_only = roster_platform::api_keys::KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&resources.sdk),
        resources.provisioned.api_key_secret.clone(),
    )
    .create("reader", &["users:read"], None)
    .await
    .unwrap()
    .plaintext;
    let unknown = "5a0c0a8e-0000-4000-8000-0000000000ff";
    let data = format!("/user/{id}/data/update");
    let avatar = format!("/user/{id}/avatar");
    let big_value = "x".repeat(roster_user_api::domain::MAX_DATA_BYTES);
    let huge_body = "y".repeat(roster_user_api::domain::MAX_DATA_BODY_BYTES + 1);
    let json_type = "application/json";
    use StatusCode as S;

    let cases = [
        // ids, names, emails, handles
        case(Method::GET, "/user/not%20an%20id", S::BAD_REQUEST),
        case(
            Method::GET,
            format!("/user/{}", "a".repeat(65)),
            S::BAD_REQUEST,
        ),
        case(Method::GET, format!("/user/{unknown}"), S::NOT_FOUND),
        case(Method::GET, "/user/name/two%20words", S::BAD_REQUEST),
        case(Method::GET, "/user/name/nobody_here", S::NOT_FOUND),
        case(Method::GET, "/user/email/not-an-email", S::BAD_REQUEST),
        case(Method::GET, "/user/email/nobody@example.com", S::NOT_FOUND),
        case(Method::GET, "/user/handle/@@double", S::BAD_REQUEST),
        case(Method::GET, "/user/handle/%F0%9F%98%80", S::BAD_REQUEST),
        case(Method::GET, "/user/handle/%FF", S::BAD_REQUEST),
        case(Method::GET, "/user/handle/Nobody", S::NOT_FOUND),
        case(Method::DELETE, "/user/bad%20id", S::BAD_REQUEST),
        case(Method::DELETE, format!("/user/{unknown}"), S::NOT_FOUND),
        case(
            Method::DELETE,
            format!("/user/{id}"),
            S::PRECONDITION_FAILED,
        )
        .header("if-match", "\"999\""),
        // activation
        case(Method::GET, "/user/activate/short", S::BAD_REQUEST),
        case(
            Method::GET,
            format!("/user/activate/{}", "z".repeat(32)),
            S::BAD_REQUEST,
        ),
        case(
            Method::GET,
            format!("/user/activate/{}", "0".repeat(32)),
            S::NOT_FOUND,
        ),
        case(Method::POST, "/user/activate", S::BAD_REQUEST)
            .body(json_type, r#"{"activationCode": "short"}"#),
        case(Method::POST, "/user/activate", S::BAD_REQUEST)
            .body(json_type, r#"{"activationCode": 42}"#),
        case(Method::POST, "/user/activate", S::BAD_REQUEST).body(json_type, "{}"),
        case(Method::POST, "/user/activate", S::BAD_REQUEST).body(
            json_type,
            format!(
                r#"{{"activationCode": "{}", "userId": "x"}}"#,
                "0".repeat(32)
            ),
        ),
        case(Method::POST, "/user/activate", S::UNSUPPORTED_MEDIA_TYPE)
            .body("text/plain", "0".repeat(32)),
        case(Method::POST, "/user/activate", S::NOT_FOUND).body(
            json_type,
            format!(r#"{{"activationCode": "{}"}}"#, "0".repeat(32)),
        ),
        // status
        case(
            Method::PATCH,
            format!("/user/{id}/status/confirmed"),
            S::BAD_REQUEST,
        ),
        case(
            Method::PATCH,
            format!("/user/{id}/status/BOGUS"),
            S::BAD_REQUEST,
        ),
        case(
            Method::PATCH,
            format!("/user/{unknown}/status/SUSPENDED"),
            S::NOT_FOUND,
        ),
        case(
            Method::PATCH,
            format!("/user/{archived}/status/CONFIRMED"),
            S::CONFLICT,
        ),
        case(
            Method::PATCH,
            format!("/user/{id}/status/SUSPENDED"),
            S::PRECONDITION_FAILED,
        )
        .header("if-match", "\"999\""),
        case(
            Method::PATCH,
            format!("/user/{id}/status/SUSPENDED"),
            S::BAD_REQUEST,
        )
        .header("if-match", "not-an-etag"),
        // data
        case(Method::PUT, &data, S::BAD_REQUEST).body(json_type, "{not json"),
        case(Method::PUT, &data, S::BAD_REQUEST).body(json_type, "[1, 2]"),
        case(Method::PUT, &data, S::UNSUPPORTED_MEDIA_TYPE).body("text/plain", "{}"),
        case(Method::PUT, &data, S::UNSUPPORTED_MEDIA_TYPE)
            .body("application/merge-patch+json", "{}"),
        case(Method::PUT, &data, S::PAYLOAD_TOO_LARGE)
            .body(json_type, json!({ "v": big_value }).to_string()),
        case(Method::PUT, &data, S::PAYLOAD_TOO_LARGE).body(json_type, huge_body.clone()),
        case(
            Method::PUT,
            format!("/user/{unknown}/data/update"),
            S::NOT_FOUND,
        )
        .body(json_type, "{}"),
        case(Method::PATCH, &data, S::BAD_REQUEST)
            .body("application/merge-patch+json", "\"a string\""),
        case(Method::PATCH, &data, S::BAD_REQUEST).body("application/merge-patch+json", "{"),
        case(Method::PATCH, &data, S::UNSUPPORTED_MEDIA_TYPE).body("application/xml", "<a/>"),
        case(Method::PATCH, &data, S::PAYLOAD_TOO_LARGE).body(
            "application/merge-patch+json",
            json!({ "v": big_value }).to_string(),
        ),
        case(Method::PATCH, &data, S::PRECONDITION_FAILED)
            .body(json_type, "{}")
            .header("if-match", "\"999\""),
        case(
            Method::PATCH,
            format!("/user/{unknown}/data/update"),
            S::NOT_FOUND,
        )
        .body(json_type, "{}"),
        // badges
        case(Method::POST, format!("/user/{id}/badge/NOPE"), S::NOT_FOUND),
        case(
            Method::POST,
            format!("/user/{id}/badge/new_member"),
            S::NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/user/{unknown}/badge/VERIFIED"),
            S::NOT_FOUND,
        ),
        case(
            Method::POST,
            "/user/bad%20id/badge/VERIFIED",
            S::BAD_REQUEST,
        ),
        case(
            Method::DELETE,
            format!("/user/{id}/badge/VERIFIED"),
            S::NOT_FOUND,
        ),
        case(
            Method::DELETE,
            format!("/user/{id}/badge/NOPE"),
            S::NOT_FOUND,
        ),
        // avatars
        case(Method::POST, &avatar, S::BAD_REQUEST).body(
            json_type,
            r#"{"contentType": "image/gif", "contentLength": 10}"#,
        ),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(
            json_type,
            r#"{"contentType": "image/png", "contentLength": 3000000}"#,
        ),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(
            json_type,
            r#"{"contentType": "image/png", "contentLength": 0}"#,
        ),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(json_type, r#"{"default": "99"}"#),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(
            json_type,
            r#"{"default": "01", "contentType": "image/png", "contentLength": 5}"#,
        ),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(json_type, r#"{"unknown": 1}"#),
        case(Method::POST, &avatar, S::BAD_REQUEST).body(json_type, "nope"),
        case(Method::POST, &avatar, S::UNSUPPORTED_MEDIA_TYPE).body("text/plain", "{}"),
        case(
            Method::POST,
            format!("/user/{unknown}/avatar"),
            S::NOT_FOUND,
        )
        .body(json_type, r#"{"default": "01"}"#),
        // Bearer routes
        case(Method::GET, "/public/user/me", S::UNAUTHORIZED),
        case(Method::GET, "/public/user/me", S::UNAUTHORIZED)
            .header("authorization", "Bearer not.a.jwt"),
        case(Method::GET, "/public/user/me", S::UNAUTHORIZED).header("authorization", "Basic abc"),
        case(Method::PATCH, "/public/user/me/profile", S::UNAUTHORIZED)
            .body(json_type, r#"{"lang": "de_de"}"#),
        // keys, routes, methods
        case(Method::GET, format!("/user/{id}"), S::UNAUTHORIZED).header("x-api-key", "rk_wrong"),
        case(Method::DELETE, format!("/user/{id}"), S::FORBIDDEN)
            .header("x-api-key", read_only.clone()),
        case(
            Method::POST,
            format!("/user/{id}/badge/VERIFIED"),
            S::FORBIDDEN,
        )
        .header("x-api-key", read_only),
        case(Method::GET, "/users/everyone", S::NOT_FOUND),
        case(Method::PUT, format!("/user/{id}"), S::METHOD_NOT_ALLOWED),
    ];

    let before = users.user(id).await.unwrap();
    for case in cases {
        let own_key = case.headers.iter().any(|(name, _)| *name == "x-api-key");
        let mut request = if own_key {
            api.http
                .request(case.method.clone(), format!("{url}{}", case.path))
        } else {
            api.request(case.method.clone(), &case.path)
        };
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        if let (Some(content_type), Some(body)) = (case.content_type, case.body) {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let what = format!(
            "{} {}",
            case.method,
            case.path.chars().take(80).collect::<String>()
        );
        assert_eq!(response.status(), case.status, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], case.status.as_u16(), "{what}");
        assert!(
            problem["type"].as_str().unwrap().starts_with("/problems/"),
            "{what}"
        );
    }
    assert_eq!(
        users.user(id).await.unwrap(),
        before,
        "no bad request changed anything (its ETag included)"
    );
}

//! CORS over HTTP, on both APIs as the local stack configures them: a frontend origin on the
//! allow-list gets its preflight answered and its responses marked; any other origin gets no
//! `Access-Control-Allow-Origin`, so a browser stops at the preflight. Browsers may send a
//! Bearer token, never an API key.

use reqwest::{Method, StatusCode};
use roster_local::stack::LOCAL_FRONTEND_ORIGINS;
use roster_testkit::harness;

async fn preflight(url: &str, path: &str, origin: &str, headers: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{url}{path}"))
        .header("origin", origin)
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn allowed_frontend_origins_pass_the_preflight_and_others_are_stopped_there() {
    let resources = harness::provisioned().await;
    let auth = harness::auth_api(&resources).await.0;
    let users = harness::user_api(&resources).await.0;
    let allowed = LOCAL_FRONTEND_ORIGINS[0];
    for (url, path) in [
        (&auth, "/auth/password/change"),
        (&users, "/public/user/me/profile"),
    ] {
        let response = preflight(url, path, allowed, "authorization,content-type,if-match").await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(allowed)
        );
        let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("PATCH"), "{methods}");
        let headers = header(&response, "access-control-allow-headers").unwrap_or_default();
        for needed in ["authorization", "content-type", "if-match"] {
            assert!(headers.contains(needed), "{path}: {headers}");
        }
        assert!(
            !headers.contains("x-api-key"),
            "an API key is never sent from a browser: {headers}"
        );

        let response = preflight(url, path, "https://evil.example", "authorization").await;
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{path}: a foreign origin is refused at the preflight"
        );
        let response = preflight(url, path, "http://localhost:5174", "authorization").await;
        assert_eq!(header(&response, "access-control-allow-origin"), None);
    }

    // A real request from the allowed origin is marked for it, with the headers a page reads.
    let response = reqwest::Client::new()
        .get(format!("{users}/health"))
        .header("origin", allowed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(allowed)
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed.contains("etag") && exposed.contains("x-correlation-id"),
        "{exposed}"
    );
    // Without an Origin (a server-to-server call), nothing changes.
    let response = reqwest::get(format!("{users}/health")).await.unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

//! Both API routers served in-process on port 0, over real HTTP: health answers, and every
//! miss is an `application/problem+json` 4xx.

use roster_testkit::harness;
use serde_json::Value;

#[tokio::test]
async fn both_apis_answer_health_and_misses_with_problem_json() {
    let resources = harness::provisioned().await;
    let (auth_url, _) = harness::auth_api(&resources).await;
    let (user_url, _) = harness::user_api(&resources).await;
    for (url, service) in [(auth_url, "auth-api"), (user_url, "user-api")] {
        let health = reqwest::get(format!("{url}/health")).await.unwrap();
        assert_eq!(health.status(), 200);
        assert_eq!(health.json::<Value>().await.unwrap()["service"], service);

        let client = reqwest::Client::new();
        for (method, path, status) in [
            (reqwest::Method::GET, "/no/such/route", 404),
            (reqwest::Method::POST, "/health", 405),
        ] {
            let response = client
                .request(method, format!("{url}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{service} {path}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["status"], status);
        }
    }
}

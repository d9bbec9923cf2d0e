//! No secret reaches a log line. The whole stack runs in this test's single thread with a
//! capturing subscriber at `debug` (more than production's `info`), every flow that handles a
//! secret is driven — passwords, activation codes (mailed at registration and on a resend, used
//! in a body and a URL path), access, id and refresh tokens (in bodies, headers and a URL
//! path), API keys valid and invalid — and then every captured line is searched for each
//! secret.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_testkit::harness;
use serde_json::json;

use crate::support::{Api, answer, eventually};

/// Every byte the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_any_log_line() {
    // A second live dispatcher, never installed: with exactly one registered, tracing-core
    // (0.1.36) computes a callsite's interest from the thread that first reaches it, so a
    // parallel test registering a user first would cache "never" for our `registered` line
    // (tokio-rs/tracing#3611). With two, every callsite asks each registered dispatcher.
    let _general_path = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    // Every task of the stack runs on this thread, so this subscriber sees all of them.
    let _guard = tracing::subscriber::set_default(subscriber);

    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let auth = Api::new(&facts.auth_url, &facts.api_key);
    let users = Api::new(&facts.user_url, &facts.api_key);
    let password = "Hygiene-Secret-1";
    let reset_password = "Hygiene-Secret-2";
    let changed_password = "Hygiene-Secret-3";
    let wrong_key =
        "rk_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000";

    let (status, registered) = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "hygiene@example.com", "name": "hygiene_user", "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = registered["id"].as_str().unwrap().to_owned();
    let mail_domain = stack.provisioned().mail_domain.clone();
    // The registration's mail, then a resend's: the first code stops working.
    let first_code = crate::support::activation_code(&mail_domain, "hygiene@example.com", 1).await;
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/activation/resend",
            json!({"email": "hygiene@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let code = crate::support::activation_code(&mail_domain, "hygiene@example.com", 2).await;
    assert_ne!(code, first_code);

    let login = |password: &'static str| {
        let auth = auth.clone();
        async move {
            let (status, tokens) = auth
                .json(
                    Method::POST,
                    "/auth/login",
                    json!({"email": "hygiene@example.com", "password": password}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{tokens}");
            tokens
        }
    };
    let tokens = login(password).await;
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let id_token = tokens["idToken"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();

    // Tokens in a URL path, in a body, in a header; a refresh; a wrong password; a wrong key.
    assert_eq!(
        auth.get(&format!("/auth/token/access/verify/{access}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        auth.json(
            Method::POST,
            "/auth/token/verify",
            json!({"tokenType": "id", "token": id_token})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        auth.json(
            Method::POST,
            "/auth/token/refresh",
            json!({"refreshToken": refresh})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        auth.json(
            Method::POST,
            "/auth/login",
            json!({"email": "hygiene@example.com", "password": "Not-The-Password-9"})
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let refused = answer(
        users
            .http
            .get(format!("{}/user/{id}", facts.user_url))
            .header("x-api-key", wrong_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.0, StatusCode::UNAUTHORIZED);

    // The profile, through the bus; activation with the code; the user's own view.
    eventually("the profile", Duration::from_secs(10), || async {
        (users.get(&format!("/user/{id}")).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    // The resent code works once the User API has it (until then it is unknown: 404), in
    // the URL path; then the first one, in a body, is refused.
    eventually(
        "the resent code in force",
        Duration::from_secs(10),
        || async {
            let (status, _) = users.get(&format!("/user/activate/{code}")).await;
            (status == StatusCode::OK).then_some(())
        },
    )
    .await;
    assert_eq!(
        users
            .json(
                Method::POST,
                "/user/activate",
                json!({"activationCode": first_code}),
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        users
            .bearer(Method::GET, "/public/user/me", &access, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        users
            .bearer(Method::GET, "/public/user/me", "not.a.token", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Password reset and change, then sign-out.
    assert_eq!(
        auth.json(
            Method::POST,
            "/auth/password/forgot",
            json!({"email": "hygiene@example.com"})
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    let (status, body) = auth
        .json(Method::POST, "/auth/password/confirm", json!({"email": "hygiene@example.com", "code": "246813", "newPassword": reset_password}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let fresh = login(reset_password).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/password/change",
            &fresh,
            Some(json!({"oldPassword": reset_password, "newPassword": changed_password})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The change ended every session: sign in again to sign out.
    let fresh = login(changed_password).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        auth.bearer(Method::POST, "/auth/logout", &fresh, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("registered") && logs.contains("activated"),
        "the capture saw the services' logs"
    );
    let signature = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let secrets = [
        ("password", password.to_owned()),
        ("reset password", reset_password.to_owned()),
        ("changed password", changed_password.to_owned()),
        ("activation code", code),
        ("first activation code", first_code),
        ("access token signature", signature(&access)),
        ("id token signature", signature(&id_token)),
        ("fresh access token signature", signature(&fresh)),
        ("refresh token", refresh),
        ("API key", facts.api_key.clone()),
        (
            "API key secret part",
            facts.api_key.rsplit('_').next().unwrap().to_owned(),
        ),
        ("wrong API key", wrong_key.to_owned()),
    ];
    for (what, secret) in secrets {
        let line = logs.lines().find(|line| line.contains(&secret));
        assert!(
            line.is_none(),
            "the {what} is in a log line: {}",
            line.unwrap_or_default()
        );
    }
}

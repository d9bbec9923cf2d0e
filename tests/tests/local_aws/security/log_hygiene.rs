//! No secret reaches a log line. The whole stack runs in this test's single thread with a
//! capturing subscriber at `debug` (more than production's `info`), every flow that handles a
//! secret is driven — passwords, activation codes (mailed at registration and on a resend, used
//! in a body and a URL path), access, id and refresh tokens (in bodies, headers and a URL
//! path), API keys valid and invalid — and then every captured line is searched for each
//! secret.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, ChangeRequest, ConfirmRequest, ForgotRequest, LoginRequest, RefreshRequest,
    RegisterRequest, ResendRequest, TokenUse, UserApi, VerifyRequest,
};
use roster_testkit::harness;

use crate::support::{eventually, refusal_status};

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
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let password = "Hygiene-Secret-1";
    let reset_password = "Hygiene-Secret-2";
    let changed_password = "Hygiene-Secret-3";
    let wrong_key =
        "rk_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000";

    let registered = auth
        .register(
            &RegisterRequest::new("hygiene@example.com", "hygiene_user", password),
            None,
        )
        .await
        .unwrap();
    let id = registered.id;
    let mail_domain = stack.provisioned().mail_domain.clone();
    // The registration's mail, then a resend's: the first code stops working.
    let first_code = crate::support::activation_code(&mail_domain, "hygiene@example.com", 1).await;
    auth.resend_activation(&ResendRequest::email("hygiene@example.com"))
        .await
        .unwrap();
    let code = crate::support::activation_code(&mail_domain, "hygiene@example.com", 2).await;
    assert_ne!(code, first_code);

    let login = |password: &'static str| {
        let auth = auth.clone();
        async move {
            auth.login(&LoginRequest::new("hygiene@example.com", password))
                .await
                .unwrap()
        }
    };
    let tokens = login(password).await;
    let access = tokens.access_token;
    let id_token = tokens.id_token;
    let refresh = tokens.refresh_token.unwrap();

    // Tokens in a URL path, in a body, in a header; a refresh; a wrong password; a wrong key.
    auth.verify_in_path(TokenUse::Access, &access)
        .await
        .unwrap();
    auth.verify(&VerifyRequest::new(&id_token, TokenUse::Id))
        .await
        .unwrap();
    auth.refresh(&RefreshRequest {
        refresh_token: refresh.clone(),
        client_id: None,
    })
    .await
    .unwrap();
    assert_eq!(
        refusal_status(
            auth.login(&LoginRequest::new(
                "hygiene@example.com",
                "Not-The-Password-9"
            ))
            .await
        ),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        refusal_status(
            UserApi::new(&facts.user_url, wrong_key)
                .unwrap()
                .user(&id)
                .await
        ),
        Some(StatusCode::UNAUTHORIZED)
    );

    // The profile, through the bus; activation with the code; the user's own view.
    eventually("the profile", Duration::from_secs(10), || async {
        users.user(&id).await.is_ok().then_some(())
    })
    .await;
    // The resent code works once the User API has it (until then it is unknown: 404), in
    // the URL path; then the first one, in a body, is refused.
    eventually(
        "the resent code in force",
        Duration::from_secs(10),
        || async { users.activate_in_path(&code).await.is_ok().then_some(()) },
    )
    .await;
    assert_eq!(
        refusal_status(users.activate(&first_code).await),
        Some(StatusCode::NOT_FOUND)
    );
    users.me(&access).await.unwrap();
    assert_eq!(
        refusal_status(users.me("not.a.token").await),
        Some(StatusCode::UNAUTHORIZED)
    );

    // Password reset and change, then sign-out.
    auth.forgot_password(&ForgotRequest {
        email: "hygiene@example.com".to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    auth.confirm_password(&ConfirmRequest {
        email: "hygiene@example.com".to_owned(),
        code: "246813".to_owned(),
        new_password: reset_password.to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    let fresh = login(reset_password).await.access_token;
    auth.change_password(
        &fresh,
        &ChangeRequest {
            old_password: reset_password.to_owned(),
            new_password: changed_password.to_owned(),
        },
    )
    .await
    .unwrap();
    // The change ended every session: sign in again to sign out.
    let fresh = login(changed_password).await.access_token;
    auth.logout(&fresh).await.unwrap();

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

//! Two-step sign-in with an authenticator app (TOTP, Cognito's software tokens), end to end
//! on the local pool (moto, with the launcher's patches: a key per user, real RFC 6238 codes,
//! challenge sessions that expire and belong to one user and app client): enrolment, a
//! challenged sign-in, wrong and right codes in sequence, expired, spent and foreign sessions,
//! removal, and the events. Codes are computed here from the key, as the user's app would.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, Error, LoginRequest, MfaLoginRequest, TotpConfirmRequest, TotpDisableRequest,
    VerifyRequest,
};
use roster_testkit::harness::{self, TestResources};
use roster_testkit::totp::{code_now, wrong_code_now};
use serde_json::{Value, json};

use crate::support::{Api, receive_bodies, seed_user, tap};

const PASSWORD: &str = "Two-Factor-Secret-7";

fn refused<T: std::fmt::Debug>(
    result: Result<T, Error>,
    status: StatusCode,
    kind: &str,
    what: &str,
) {
    match result {
        Err(Error::Api {
            status: got,
            problem,
        }) => {
            assert_eq!(got, status, "{what}: {problem:?}");
            assert_eq!(problem.kind, kind, "{what}: {problem:?}");
        }
        other => panic!("{what}: expected {status} {kind}, got {other:?}"),
    }
}

/// The challenge a sign-in answers for a user with two-step sign-in on.
async fn challenged(api: &AuthApi, request: &LoginRequest) -> (String, u64) {
    match api.login(request).await {
        Err(Error::MfaRequired {
            session,
            expires_in,
        }) => (session, expires_in),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// The user's second factors as the pool records them.
async fn pool_factors(resources: &TestResources, email: &str) -> Vec<String> {
    aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk)
        .admin_get_user()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .username(email)
        .send()
        .await
        .unwrap()
        .user_mfa_setting_list()
        .to_vec()
}

/// Waits until the step changes if fewer than `margin` seconds are left of it, so that a code
/// computed now is still the current one when the pool checks it.
async fn clear_of_step_end(margin: i64) {
    let left = 30 - chrono::Utc::now().timestamp().rem_euclid(30);
    if left < margin {
        tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap() + 1)).await;
    }
}

#[tokio::test]
async fn enrol_then_every_sign_in_asks_for_a_code_until_the_user_turns_it_off() {
    let resources = harness::provisioned().await;
    let bus = &resources.provisioned.bus_name;
    let events = tap(
        &resources.sdk,
        bus,
        &format!("{}-mfa-tap", resources.provisioned.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["MfaEnabled", "MfaDisabled", "UserLoggedIn"]}),
    )
    .await;
    seed_user(&resources, "ada@example.com", PASSWORD).await;
    let (url, key) = harness::auth_api(&resources).await;
    let api = AuthApi::new(&url, &key).unwrap();
    // For the challenge's document as it is, malformed second steps and one without a key.
    let raw = Api::new(&url, &key);
    let web = resources.provisioned.client_ids["account-web"].clone();
    let portal = resources.provisioned.client_ids["partner-portal"].clone();
    let login = LoginRequest {
        client_id: Some(web.clone()),
        ..LoginRequest::new("ada@example.com", PASSWORD)
    };

    // Not enrolled: a sign-in gives tokens, and confirming without a started enrolment fails.
    let tokens = api.login(&login).await.unwrap();
    let access = tokens.access_token.clone();
    refused(
        api.confirm_totp(
            &access,
            &TotpConfirmRequest {
                code: "123456".into(),
            },
        )
        .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "confirm before start",
    );

    // Enrolment: the key, the URI an app scans; wrong and malformed codes, then the right one.
    let enrolment = api.start_totp(&access).await.unwrap();
    assert_eq!(enrolment.secret.len(), 32, "a 160-bit key in base32");
    assert_eq!(
        enrolment.otpauth_uri,
        format!(
            "otpauth://totp/Roster:ada%40example.com?secret={}&issuer=Roster",
            enrolment.secret
        )
    );
    assert_eq!(
        pool_factors(&resources, "ada@example.com").await,
        Vec::<String>::new()
    );
    refused(
        api.confirm_totp(
            &access,
            &TotpConfirmRequest {
                code: wrong_code_now(&enrolment.secret),
            },
        )
        .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "a wrong first code",
    );
    for malformed in ["12ab56", "12345", "1234567", ""] {
        refused(
            api.confirm_totp(
                &access,
                &TotpConfirmRequest {
                    code: malformed.into(),
                },
            )
            .await,
            StatusCode::BAD_REQUEST,
            "/problems/invalid-input",
            malformed,
        );
    }
    assert_eq!(
        pool_factors(&resources, "ada@example.com").await,
        Vec::<String>::new()
    );
    clear_of_step_end(3).await;
    api.confirm_totp(
        &access,
        &TotpConfirmRequest {
            code: code_now(&enrolment.secret),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        pool_factors(&resources, "ada@example.com").await,
        ["SOFTWARE_TOKEN_MFA"]
    );
    // The session that enrolled goes on.
    api.verify(&VerifyRequest::new(
        &access,
        roster_client::TokenUse::Access,
    ))
    .await
    .unwrap();
    api.logout(&access).await.unwrap();

    // A wrong password is still the plain refusal: the challenge comes only after the password.
    refused(
        api.login(&LoginRequest::new("ada@example.com", "Not-The-Password-1"))
            .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-credentials",
        "a wrong password",
    );

    // The sign-in answers with a challenge: a problem document, no tokens. (Raw: the document
    // itself is the point; `roster-client` turns it into `Error::MfaRequired`.)
    let response = raw
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD, "clientId": web}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/mfa-required");
    assert_eq!(problem["expiresIn"], 180);
    for absent in ["accessToken", "idToken", "refreshToken"] {
        assert!(problem.get(absent).is_none(), "{problem}");
    }
    let session = problem["session"].as_str().unwrap().to_owned();
    assert!(session.starts_with("ms1."), "a sealed handle");

    // A wrong code is refused and the session stands: the right code follows and works.
    let mfa = |session: &str, code: String| MfaLoginRequest {
        session: session.to_owned(),
        code,
        client_id: None,
    };
    refused(
        api.login_mfa(&mfa(&session, wrong_code_now(&enrolment.secret)))
            .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "a wrong code",
    );
    refused(
        api.login_mfa(&mfa(&session, wrong_code_now(&enrolment.secret)))
            .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "a wrong code again",
    );
    clear_of_step_end(3).await;
    let tokens = api
        .login_mfa(&mfa(&session, code_now(&enrolment.secret)))
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_some());
    let verified = api
        .verify(&VerifyRequest::new(
            &tokens.access_token,
            roster_client::TokenUse::Access,
        ))
        .await
        .unwrap();
    assert_eq!(verified.client_id, web);
    let sub = verified.sub.clone();
    // Spent: the same session cannot sign in twice.
    refused(
        api.login_mfa(&mfa(&session, code_now(&enrolment.secret)))
            .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-mfa-session",
        "a spent session",
    );

    // Foreign, forged and malformed sessions and codes: each a clear 4xx, none signs in.
    let (session, _) = challenged(&api, &login).await;
    let other_key = AuthApi::new(&url, &harness::test_key(&resources).await).unwrap();
    refused(
        other_key
            .login_mfa(&mfa(&session, code_now(&enrolment.secret)))
            .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-mfa-session",
        "a session of another API key",
    );
    refused(
        api.login_mfa(&MfaLoginRequest {
            client_id: Some(portal.clone()),
            ..mfa(&session, code_now(&enrolment.secret))
        })
        .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-mfa-session",
        "a session of another app client",
    );
    let mut forged: Vec<char> = session.chars().collect();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == 'A' { 'B' } else { 'A' };
    for (what, text) in [
        ("a changed session", forged.into_iter().collect::<String>()),
        (
            "an invented session",
            "ms1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ),
        (
            "a bare uuid",
            "0b5e3c52-3d1f-4a55-9f0e-6c1d2b7a9e41".to_owned(),
        ),
    ] {
        refused(
            api.login_mfa(&mfa(&text, code_now(&enrolment.secret)))
                .await,
            StatusCode::UNAUTHORIZED,
            "/problems/invalid-mfa-session",
            what,
        );
    }
    for (what, body) in [
        ("no session", json!({"code": "123456"})),
        ("an empty session", json!({"session": "", "code": "123456"})),
        ("no code", json!({"session": session})),
        (
            "letters for a code",
            json!({"session": session, "code": "abcdef"}),
        ),
        (
            "a 7-digit code",
            json!({"session": session, "code": "1234567"}),
        ),
        (
            "a number for a code",
            json!({"session": session, "code": 123456}),
        ),
        (
            "an unknown field",
            json!({"session": session, "code": "123456", "user": "x"}),
        ),
    ] {
        let response = raw.post("/auth/login/mfa", body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
    }
    let response = raw
        .http
        .post(format!("{url}/auth/login/mfa"))
        .json(&json!({"session": session, "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "no API key");
    // After all of that, the session is still good for the right code.
    clear_of_step_end(3).await;
    let second = api
        .login_mfa(&MfaLoginRequest {
            client_id: Some(web.clone()),
            ..mfa(&session, code_now(&enrolment.secret))
        })
        .await
        .unwrap();

    // An expired session: refused even with the right code (an instance whose sessions last
    // 2 seconds; Cognito's last 3 minutes, and so do this API's by default).
    let (short_url, short_key) =
        harness::auth_api_configured(&resources, harness::endpoint_url().await, |config| {
            config.mfa_challenge_lifetime = Duration::from_secs(2);
        })
        .await;
    let short = AuthApi::new(&short_url, &short_key).unwrap();
    let (session, expires_in) = challenged(&short, &login).await;
    assert_eq!(expires_in, 2);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    refused(
        short
            .login_mfa(&mfa(&session, code_now(&enrolment.secret)))
            .await,
        StatusCode::UNAUTHORIZED,
        "/problems/invalid-mfa-session",
        "an expired session",
    );

    // Turning it off: the password is asked again; then sign-ins give tokens at once.
    refused(
        api.disable_totp(
            &second.access_token,
            &TotpDisableRequest {
                password: "Not-The-Password-1".into(),
            },
        )
        .await,
        StatusCode::FORBIDDEN,
        "/problems/wrong-password",
        "disable with a wrong password",
    );
    assert_eq!(
        pool_factors(&resources, "ada@example.com").await,
        ["SOFTWARE_TOKEN_MFA"]
    );
    api.disable_totp(
        &second.access_token,
        &TotpDisableRequest {
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        pool_factors(&resources, "ada@example.com").await,
        Vec::<String>::new()
    );
    let plain = api.login(&login).await.unwrap();
    // Off already: nothing changes and no second MfaDisabled.
    api.disable_totp(
        &plain.access_token,
        &TotpDisableRequest {
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap();

    // The events: one MfaEnabled, one MfaDisabled, and a UserLoggedIn per completed sign-in
    // (the plain one, two with a code, the last plain one); none holds the key, a code or a
    // session.
    let bodies = receive_bodies(&resources.sdk, &events, 6, Duration::from_secs(15)).await;
    let of = |kind: &str| {
        bodies
            .iter()
            .map(|body| serde_json::from_str::<Value>(body).unwrap())
            .filter(|event| event["detail-type"] == kind)
            .collect::<Vec<_>>()
    };
    let enabled = of("MfaEnabled");
    assert_eq!(enabled.len(), 1, "{bodies:?}");
    assert_eq!(enabled[0]["detail"]["data"]["userId"], sub.as_str());
    assert_eq!(enabled[0]["detail"]["data"]["factor"], "TOTP");
    let disabled = of("MfaDisabled");
    assert_eq!(disabled.len(), 1, "{bodies:?}");
    assert_eq!(disabled[0]["detail"]["data"]["userId"], sub.as_str());
    assert_eq!(of("UserLoggedIn").len(), 4, "{bodies:?}");
    for body in &bodies {
        for secret in [enrolment.secret.as_str(), session.as_str(), PASSWORD] {
            assert!(!body.contains(secret), "an event carries a secret: {body}");
        }
    }
}

#[tokio::test]
async fn a_user_who_never_enrolled_signs_in_as_before_while_another_has_a_code() {
    let resources = harness::provisioned().await;
    seed_user(&resources, "grace@example.com", PASSWORD).await;
    seed_user(&resources, "alan@example.com", PASSWORD).await;
    let (url, key) = harness::auth_api(&resources).await;
    let api = AuthApi::new(&url, &key).unwrap();

    let alan = api
        .login(&LoginRequest::new("alan@example.com", PASSWORD))
        .await
        .unwrap();
    let enrolment = api.start_totp(&alan.access_token).await.unwrap();
    // A new start replaces the pending key: a code of the first one no longer confirms.
    let again = api.start_totp(&alan.access_token).await.unwrap();
    assert_ne!(again.secret, enrolment.secret);
    clear_of_step_end(3).await;
    refused(
        api.confirm_totp(
            &alan.access_token,
            &TotpConfirmRequest {
                code: code_now(&enrolment.secret),
            },
        )
        .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "a code of the replaced key",
    );
    api.confirm_totp(
        &alan.access_token,
        &TotpConfirmRequest {
            code: code_now(&again.secret),
        },
    )
    .await
    .unwrap();
    let (alan_session, _) =
        challenged(&api, &LoginRequest::new("alan@example.com", PASSWORD)).await;

    // Grace never enrolled: tokens at once, every time, and her key is not Alan's.
    for _ in 0..2 {
        api.login(&LoginRequest::new("grace@example.com", PASSWORD))
            .await
            .unwrap();
    }
    assert_eq!(
        pool_factors(&resources, "grace@example.com").await,
        Vec::<String>::new()
    );
    let grace = api
        .login(&LoginRequest::new("grace@example.com", PASSWORD))
        .await
        .unwrap();
    let grace_key = api.start_totp(&grace.access_token).await.unwrap();
    assert_ne!(grace_key.secret, again.secret, "a key per user");
    // Grace's code does not open Alan's challenge.
    refused(
        api.login_mfa(&MfaLoginRequest::new(
            &alan_session,
            code_now(&grace_key.secret),
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-code",
        "another user's code",
    );
    // Unconfirmed, Grace's pending key changes nothing about her sign-in.
    api.login(&LoginRequest::new("grace@example.com", PASSWORD))
        .await
        .unwrap();

    // Bearer routes without a valid token.
    for (method, path, body) in [
        (reqwest::Method::POST, "/auth/mfa/totp", json!({})),
        (
            reqwest::Method::POST,
            "/auth/mfa/totp/confirm",
            json!({"code": "123456"}),
        ),
        (
            reqwest::Method::DELETE,
            "/auth/mfa/totp",
            json!({"password": PASSWORD}),
        ),
    ] {
        let response = reqwest::Client::new()
            .request(method.clone(), format!("{url}{path}"))
            .bearer_auth("not-a-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
}

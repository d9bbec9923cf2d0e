//! The Auth API end to end on a running local stack, as a BFF would use it: register (and see
//! `UserRegistered` published), log in, verify both tokens, refresh, log out, and find the
//! refresh token refused. Every call goes through `roster-client`. Each refused request is
//! followed by a call that must succeed on the same stack, and the journey ends with a new
//! registration whose event is still published.

use reqwest::StatusCode;
use roster_client::{
    AuthApi, LoginRequest, RefreshRequest, RegisterRequest, TokenUse, VerifyRequest,
};
use roster_testkit::harness;
use serde_json::json;

use crate::support::{next_message, tap};

#[tokio::test]
async fn register_login_verify_refresh_logout_on_the_local_stack() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let tap_queue = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-tap", facts.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["UserRegistered"]}),
    )
    .await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();

    let registered = auth
        .register(
            &RegisterRequest::new("journey@example.com", "journey_user", "Journey-Secret-1"),
            None,
        )
        .await
        .unwrap();
    let taken = auth
        .register(
            &RegisterRequest::new("JOURNEY@example.com", "journey_other", "Journey-Secret-1"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(taken.status(), Some(StatusCode::CONFLICT), "{taken}");

    // The stack's plumbing publishes the committed identity as UserRegistered.
    let event = next_message(&sdk, &tap_queue).await;
    assert_eq!(event["detail-type"], "UserRegistered");
    assert_eq!(event["detail"]["data"]["userId"], registered.id.as_str());
    assert_eq!(event["detail"]["data"]["handle"], "@JourneyUser");
    // The code travels in the user's mail only, never in the event.
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, "journey@example.com", 1)
            .await;
    assert!(!event.to_string().contains(&code));

    let wrong_password = auth
        .login(&LoginRequest::new("journey@example.com", "Wrong-Secret-1"))
        .await
        .unwrap_err();
    assert_eq!(
        wrong_password.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{wrong_password}"
    );
    let tokens = auth
        .login(&LoginRequest::new(
            "journey@example.com",
            "Journey-Secret-1",
        ))
        .await
        .unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    let refresh = tokens.refresh_token.clone().unwrap();

    let claims = auth
        .verify(&VerifyRequest::new(&tokens.access_token, TokenUse::Access))
        .await
        .unwrap();
    assert_eq!(claims.sub, registered.id);
    assert_eq!(claims.token_use, TokenUse::Access);
    assert_eq!(claims.groups, ["USER"]);
    let id_claims = auth
        .verify_in_path(TokenUse::Id, &tokens.id_token)
        .await
        .unwrap();
    assert_eq!(id_claims.email.as_deref(), Some("journey@example.com"));
    let wrong_use = auth
        .verify(&VerifyRequest::new(&tokens.id_token, TokenUse::Access))
        .await
        .unwrap_err();
    assert_eq!(
        wrong_use.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{wrong_use}"
    );

    let garbage = auth
        .verify(&VerifyRequest::new("not.a.token", TokenUse::Access))
        .await
        .unwrap_err();
    assert_eq!(
        garbage.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{garbage}"
    );
    let refresh_request = RefreshRequest {
        refresh_token: refresh,
        client_id: None,
    };
    let unknown = auth
        .refresh(&RefreshRequest {
            refresh_token: "00000000-0000-0000-0000-000000000000".to_owned(),
            client_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        unknown.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{unknown}"
    );
    let refreshed = auth.refresh(&refresh_request).await.unwrap();
    assert!(refreshed.refresh_token.is_none());

    auth.logout(&tokens.access_token).await.unwrap();
    let refused = auth.refresh(&refresh_request).await.unwrap_err();
    assert_eq!(
        refused.status(),
        Some(StatusCode::UNAUTHORIZED),
        "{refused}"
    );
    assert!(
        refused.problem_type().is_some(),
        "a problem document: {refused}"
    );

    // After all those refusals, the same stack signs the user in again and still turns the
    // next registration into a published UserRegistered.
    auth.login(&LoginRequest::new(
        "journey@example.com",
        "Journey-Secret-1",
    ))
    .await
    .unwrap();
    let next = auth
        .register(
            &RegisterRequest::new("journey2@example.com", "journey_two", "Journey-Secret-2"),
            None,
        )
        .await
        .unwrap();
    let event = next_message(&sdk, &tap_queue).await;
    assert_eq!(event["detail"]["data"]["userId"], next.id.as_str());

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

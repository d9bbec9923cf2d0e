//! The Auth API end to end, as a BFF would use it: register (and see `UserRegistered`
//! published and the profile readable), log in, verify both tokens, refresh, log out, and find
//! the refresh token refused. Every call goes through `roster-client`. Each refused request is
//! followed at once by a call that must succeed on the same stack, and the journey ends with a
//! new registration whose event is published and whose profile appears.
//!
//! It runs on the same stack after the refusals and the fuzzing of
//! `resilience::refusals::refusals_then_fuzzing_then_the_journey_on_one_running_stack`.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, Error, LoginRequest, RefreshRequest, RegisterRequest, TokenUse, UserApi, VerifyRequest,
};
use roster_local::clients::await_profile;
use roster_local::stack::RunningStack;
use roster_testkit::harness;
use serde_json::json;

use crate::support::{next_message, tap};

fn refused(result: Result<impl std::fmt::Debug, Error>, status: StatusCode, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error.status(), Some(status), "{what}: {error}");
    assert!(error.problem_type().is_some(), "{what}: a problem document");
}

/// The journey on a running stack.
pub(crate) async fn journey(stack: &RunningStack) {
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let tap_queue = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-journey-tap", facts.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["UserRegistered"]}),
    )
    .await;
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let within = Duration::from_secs(20);

    let registered = auth
        .register(
            &RegisterRequest::new("journey@example.com", "journey_user", "Journey-Secret-1"),
            None,
        )
        .await
        .unwrap();
    refused(
        auth.register(
            &RegisterRequest::new("JOURNEY@example.com", "journey_other", "Journey-Secret-1"),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "the same email again",
    );
    // Then: the stack's plumbing publishes the committed identity as UserRegistered, and the
    // User API has its profile.
    let event = next_message(&sdk, &tap_queue).await;
    assert_eq!(event["detail-type"], "UserRegistered");
    assert_eq!(event["detail"]["data"]["userId"], registered.id.as_str());
    assert_eq!(event["detail"]["data"]["handle"], "@JourneyUser");
    let profile = await_profile(&users, &registered.id, within).await.unwrap();
    assert_eq!(profile.handle, "@JourneyUser");
    // The code travels in the user's mail only, never in the event.
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, "journey@example.com", 1)
            .await;
    assert!(!event.to_string().contains(&code));

    refused(
        auth.login(&LoginRequest::new("journey@example.com", "Wrong-Secret-1"))
            .await,
        StatusCode::UNAUTHORIZED,
        "a wrong password",
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
    let access = VerifyRequest::new(&tokens.access_token, TokenUse::Access);

    let claims = auth.verify(&access).await.unwrap();
    assert_eq!(claims.sub, registered.id);
    assert_eq!(claims.token_use, TokenUse::Access);
    assert_eq!(claims.groups, ["USER"]);
    let id_claims = auth
        .verify_in_path(TokenUse::Id, &tokens.id_token)
        .await
        .unwrap();
    assert_eq!(id_claims.email.as_deref(), Some("journey@example.com"));

    refused(
        auth.verify(&VerifyRequest::new(&tokens.id_token, TokenUse::Access))
            .await,
        StatusCode::UNAUTHORIZED,
        "an id token as an access token",
    );
    assert_eq!(auth.verify(&access).await.unwrap().sub, registered.id);

    refused(
        auth.verify(&VerifyRequest::new("not.a.token", TokenUse::Access))
            .await,
        StatusCode::UNAUTHORIZED,
        "a token that is none",
    );
    assert_eq!(
        auth.verify_in_path(TokenUse::Access, &tokens.access_token)
            .await
            .unwrap()
            .sub,
        registered.id
    );

    let refresh_request = RefreshRequest {
        refresh_token: refresh,
        client_id: None,
    };
    refused(
        auth.refresh(&RefreshRequest {
            refresh_token: "00000000-0000-0000-0000-000000000000".to_owned(),
            client_id: None,
        })
        .await,
        StatusCode::UNAUTHORIZED,
        "an unknown refresh token",
    );
    let refreshed = auth.refresh(&refresh_request).await.unwrap();
    assert!(refreshed.refresh_token.is_none());

    auth.logout(&tokens.access_token).await.unwrap();
    refused(
        auth.refresh(&refresh_request).await,
        StatusCode::UNAUTHORIZED,
        "a refresh token after sign-out",
    );
    // After the sign-out, the user signs in again and the new token verifies.
    let again = auth
        .login(&LoginRequest::new(
            "journey@example.com",
            "Journey-Secret-1",
        ))
        .await
        .unwrap();
    let verified = crate::support::eventually(
        "a token issued after the sign-out's revocation second",
        within,
        || async {
            auth.verify(&VerifyRequest::new(&again.access_token, TokenUse::Access))
                .await
                .ok()
        },
    )
    .await;
    assert_eq!(verified.sub, registered.id);

    // And the same stack still turns the next registration into a published UserRegistered
    // and a profile.
    let next = auth
        .register(
            &RegisterRequest::new("journey2@example.com", "journey_two", "Journey-Secret-2"),
            None,
        )
        .await
        .unwrap();
    let event = next_message(&sdk, &tap_queue).await;
    assert_eq!(event["detail"]["data"]["userId"], next.id.as_str());
    await_profile(&users, &next.id, within).await.unwrap();
}

//! Look-alike spellings of one email address are one address (issue 14, part 5): emails are
//! NFKC-normalised (then lowercased) before they are reserved, signed in with or looked up,
//! so a fullwidth `ａｄａ@example.com` or `ada＠example.com` is `ada@example.com`. On one
//! running stack, each look-alike registration is the 409 of a taken email, and the next
//! registration still reaches its profile.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{AuthApi, LoginRequest, RegisterRequest, UserApi, VerifyRequest};
use roster_testkit::harness;

use crate::support::eventually;

const PASSWORD: &str = "Lookalike-Secret-7";

#[tokio::test]
async fn look_alike_spellings_of_one_email_collide_sign_in_and_find_the_same_user() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let profile_of = |id: String| {
        let users = users.clone();
        async move {
            eventually("the profile", Duration::from_secs(20), || async {
                users.user(&id).await.ok()
            })
            .await
        }
    };

    let ada = auth
        .register(
            &RegisterRequest::new("ada@example.com", "ada_l", PASSWORD),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ada.email, "ada@example.com");
    profile_of(ada.id.clone()).await;

    let look_alikes = [
        "ａｄａ@example.com",        // fullwidth local part
        "ada@ｅｘａｍｐｌｅ.ｃｏｍ", // fullwidth domain
        "ada＠example.com",          // fullwidth commercial at
        "ＡＤＡ@Example.com",        // fullwidth capitals
    ];
    for (i, email) in look_alikes.into_iter().enumerate() {
        let error = auth
            .register(
                &RegisterRequest::new(email, format!("twin_{i}"), PASSWORD),
                None,
            )
            .await
            .expect_err(email);
        assert_eq!(
            error.status(),
            Some(StatusCode::CONFLICT),
            "{email}: {error}"
        );
        assert_eq!(error.problem_type(), Some("/problems/conflict"), "{email}");
        assert!(error.to_string().contains("email"), "{email}: {error}");

        // Signing in and looking up with the look-alike find the same user.
        let tokens = auth
            .login(&LoginRequest::new(email, PASSWORD))
            .await
            .unwrap_or_else(|error| panic!("sign-in as {email}: {error}"));
        let verified = auth
            .verify(&VerifyRequest::new(
                &tokens.access_token,
                roster_client::TokenUse::Access,
            ))
            .await
            .unwrap();
        assert_eq!(verified.sub, ada.id, "{email}");
        let found = users
            .user_by_email(email)
            .await
            .unwrap_or_else(|error| panic!("looking up {email}: {error}"));
        assert_eq!(found.id, ada.id, "{email}");

        // The happy path still works after the refusal.
        let next = auth
            .register(
                &RegisterRequest::new(
                    format!("next{i}@example.com"),
                    format!("next_{i}"),
                    PASSWORD,
                ),
                None,
            )
            .await
            .unwrap_or_else(|error| panic!("a registration after {email}: {error}"));
        profile_of(next.id).await;
    }

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

//! Both services end to end on a running local stack, through the bus: register with the Auth
//! API, watch the profile appear in the User API, activate, change status, badges, data and
//! avatar, delete — and check each effect where it lands (the User API's answers, Cognito, the
//! bucket). A downstream consumer's queue on the bus receives every event meanwhile, and each
//! one must validate against the committed JSON Schema of its type. Every API call goes through
//! `roster-client`.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{
    AuthApi, AvatarChange, AvatarRequest, ChangeRequest, ConfirmRequest, ForgotRequest,
    LoginRequest, MfaLoginRequest, ProfileUpdate, RefreshRequest, RegisterRequest, ResendRequest,
    Status, TotpConfirmRequest, TotpDisableRequest, UploadRequest, UserApi,
};
use roster_events::catalog::events;
use roster_testkit::harness;
use serde_json::{Value, json};

use crate::support::{Api, eventually, receive_bodies, tap};

const PASSWORD: &str = "Journey-Secret-1";

/// The Cognito user of `email`: whether it is enabled and its `email_verified`.
async fn cognito_user(
    sdk: &aws_config::SdkConfig,
    pool: &str,
    email: &str,
) -> Option<(bool, String)> {
    let user = aws_sdk_cognitoidentityprovider::Client::new(sdk)
        .admin_get_user()
        .user_pool_id(pool)
        .username(email)
        .send()
        .await
        .ok()?;
    let verified = user
        .user_attributes()
        .iter()
        .find(|attribute| attribute.name() == "email_verified")
        .and_then(|attribute| attribute.value())
        .unwrap_or("false")
        .to_owned();
    Some((user.enabled(), verified))
}

#[tokio::test]
async fn every_flow_across_both_services_with_a_downstream_consumer_validating_each_event() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = harness::sdk().await;
    let pool = facts.user_pool_id.clone();
    let downstream = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-downstream", facts.prefix),
        json!({"source": ["roster.auth", "roster.user"]}),
    )
    .await;
    // Every call goes through roster-client, as a server-to-server caller's would.
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    let status_of = |error: roster_client::Error| error.status();

    // Register: the profile appears through UserRegistered, within a few seconds.
    let registered = auth
        .correlated("journey-correlation-1")
        .register(
            &RegisterRequest::new("Grace@Example.com", "grace.hopper", PASSWORD),
            None,
        )
        .await
        .unwrap();
    let id = registered.id.clone();
    // The code comes by mail, to the address as registered in its one normal form.
    assert_eq!(registered.email, "grace@example.com");
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, &registered.email, 1)
            .await;
    let profile = eventually("the profile", Duration::from_secs(10), || async {
        users.user(&id).await.ok()
    })
    .await;
    assert!(profile.etag.is_some(), "a read carries the version");
    assert_eq!(profile.status, "UNCONFIRMED");
    assert_eq!(profile.role, "USER");
    assert_eq!(profile.handle, "@GraceHopper");
    assert_eq!(profile.profile.profile_data.lang, "en_us");
    assert_eq!(profile.profile.profile_data.currency, "USD");
    assert_eq!(profile.profile.badges[0].name, "NEW_MEMBER");
    assert!(
        !serde_json::to_string(&*profile).unwrap().contains(&code),
        "no activation code in a User API answer"
    );
    let avatar = profile.profile.profile_data.avatar_url.clone();
    let default_avatar = reqwest::get(&avatar).await.unwrap();
    assert_eq!(default_avatar.status(), StatusCode::OK, "{avatar}");
    assert_eq!(default_avatar.headers()["content-type"], "image/png");

    // Every lookup finds the same user, whatever the case or the handle's spelling.
    let found = [
        users.user_by_name("GRACE.HOPPER").await,
        users.user_by_email("grace@EXAMPLE.com").await,
        users.user_by_handle("@gracehopper").await,
        users.user_by_handle("GraceHopper").await,
    ];
    for user in found {
        assert_eq!(user.unwrap().id, id);
    }
    // Raw: the `@` percent-encoded, as some callers send it; `roster-client` sends it as is.
    let raw = Api::new(&facts.user_url, &facts.api_key);
    let (status, body) = raw.get("/user/handle/%40GraceHopper").await;
    assert_eq!(
        (status, body["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );

    // A sign-in is recorded on the profile.
    let login = LoginRequest::new("grace@example.com", PASSWORD);
    let tokens = auth.login(&login).await.unwrap();
    let access = tokens.access_token.clone();
    let refresh = tokens.refresh_token.clone().unwrap();
    eventually("lastLoginAt", Duration::from_secs(10), || async {
        users.user(&id).await.ok()?.value.last_login_at
    })
    .await;

    // The user's own view, and self-service settings.
    assert_eq!(users.me(&access).await.unwrap().id, id);
    let changed = users
        .update_my_profile(
            &access,
            &ProfileUpdate {
                lang: Some("de_de".into()),
                currency: Some("EUR".into()),
                avatar: Some("04".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.profile.profile_data.lang, "de_de");
    assert!(
        changed
            .profile
            .profile_data
            .avatar_url
            .ends_with("/x256/04.png")
    );

    // A new code by mail (ActivationCodeReissued); the first one stops working.
    let first_code = code;
    auth.resend_activation(&ResendRequest::email("grace@example.com"))
        .await
        .unwrap();
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, "grace@example.com", 2)
            .await;
    assert_ne!(code, first_code);

    // Activation: CONFIRMED, the email verified in Cognito, VERIFIED awarded by the rule.
    let activated = eventually(
        "the resent code in force",
        Duration::from_secs(10),
        || async { users.activate(&code).await.ok() },
    )
    .await;
    assert_eq!(activated.status, "CONFIRMED");
    assert_eq!(
        users
            .activate(&first_code)
            .await
            .map_err(status_of)
            .unwrap_err(),
        Some(StatusCode::NOT_FOUND),
        "the first code no longer works"
    );
    assert_eq!(
        users.activate(&code).await.map_err(status_of).unwrap_err(),
        Some(StatusCode::NOT_FOUND),
        "single use"
    );
    eventually(
        "email_verified in Cognito",
        Duration::from_secs(10),
        || async {
            let (_, verified) = cognito_user(&sdk, &pool, "grace@example.com").await?;
            (verified == "true").then_some(())
        },
    )
    .await;
    let has_badge = |name: &'static str| {
        let users = users.clone();
        let id = id.clone();
        async move {
            let user = users.user(&id).await.ok()?;
            user.profile
                .badges
                .iter()
                .any(|badge| badge.name == name)
                .then_some(())
        }
    };
    eventually("the VERIFIED badge", Duration::from_secs(10), || {
        has_badge("VERIFIED")
    })
    .await;

    // Badges: award (once), revoke.
    let awarded = users
        .award_badge(&id, "CONVERSATION_STARTER")
        .await
        .unwrap();
    assert!(awarded.awarded_now);
    let again = users
        .award_badge(&id, "CONVERSATION_STARTER")
        .await
        .unwrap();
    assert!(!again.awarded_now, "already awarded: nothing changed");
    assert_eq!(again.user.etag, awarded.user.etag);
    let revoked = users
        .revoke_badge(&id, "CONVERSATION_STARTER")
        .await
        .unwrap();
    assert!(
        !revoked
            .profile
            .badges
            .iter()
            .any(|badge| badge.name == "CONVERSATION_STARTER")
    );

    // Data: replace, then merge (with the version just read); the merge result is exact.
    let object = |value: Value| value.as_object().unwrap().clone();
    let replaced = users
        .replace_data(
            &id,
            &object(json!({"theme": "dark", "tags": ["a"], "nested": {"x": 1, "y": 2}})),
            None,
        )
        .await
        .unwrap();
    let merged = users
        .merge_data(
            &id,
            &object(
                json!({"theme": null, "tags": ["b"], "nested": {"y": null, "z": 3}, "new": true}),
            ),
            replaced.etag.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(
        Value::Object(merged.profile.data.clone()),
        json!({"tags": ["b"], "nested": {"x": 1, "z": 3}, "new": true})
    );
    let stale = users
        .merge_data(
            &id,
            &object(json!({"lost": true})),
            replaced.etag.as_deref(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        stale.status(),
        Some(StatusCode::PRECONDITION_FAILED),
        "{stale}"
    );

    // An avatar of her own: the presigned PUT, then the public URL serves it; PHOTOGENIC follows.
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/02.png"
    ))
    .unwrap();
    let request = AvatarRequest::Upload(UploadRequest {
        content_type: "image/png".into(),
        content_length: png.len() as u64,
    });
    let AvatarChange::Upload(upload) = users.avatar(&id, &request).await.unwrap() else {
        panic!("an upload asks for an upload URL");
    };
    let mut put = reqwest::Client::new().put(&upload.upload_url);
    for (name, value) in &upload.headers {
        if name != "content-length" {
            put = put.header(name, value);
        }
    }
    assert!(
        put.body(png.clone())
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let served = reqwest::get(&upload.avatar_url).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
    eventually("the PHOTOGENIC badge", Duration::from_secs(10), || {
        has_badge("PHOTOGENIC")
    })
    .await;

    // Suspension blocks sign-in and the refresh token; confirming again lets her back in.
    users
        .set_status(&id, Status::Suspended, None)
        .await
        .unwrap();
    eventually(
        "the Cognito user disabled",
        Duration::from_secs(10),
        || async {
            let (enabled, _) = cognito_user(&sdk, &pool, "grace@example.com").await?;
            (!enabled).then_some(())
        },
    )
    .await;
    assert_eq!(
        auth.login(&login).await.map_err(status_of).unwrap_err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let refresh_request = RefreshRequest {
        refresh_token: refresh.clone(),
        client_id: None,
    };
    assert_eq!(
        auth.refresh(&refresh_request)
            .await
            .map_err(status_of)
            .unwrap_err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    users
        .set_status(&id, Status::Confirmed, None)
        .await
        .unwrap();
    eventually("sign-in allowed again", Duration::from_secs(10), || async {
        auth.login(&login).await.ok()
    })
    .await;

    // Two-step sign-in on and off, so MfaEnabled and MfaDisabled show up downstream.
    // (A token issued in the second of the suspension's revocation is refused: sign in again
    // until the Bearer route takes it.)
    let (signed_in, enrolment) = eventually(
        "a token issued after the revocation",
        Duration::from_secs(10),
        || async {
            let tokens = auth.login(&login).await.ok()?;
            let enrolment = auth.start_totp(&tokens.access_token).await.ok()?;
            Some((tokens, enrolment))
        },
    )
    .await;
    let totp_code = || {
        // A code with a few seconds of its step left (the pool checks it a moment later).
        let now = chrono::Utc::now().timestamp();
        let at = if 30 - now.rem_euclid(30) < 3 {
            now + 3
        } else {
            now
        };
        roster_testkit::totp::code_at(&enrolment.secret, at).unwrap()
    };
    auth.confirm_totp(
        &signed_in.access_token,
        &TotpConfirmRequest { code: totp_code() },
    )
    .await
    .unwrap();
    let session = match auth.login(&login).await {
        Err(roster_client::Error::MfaRequired { session, .. }) => session,
        other => panic!("expected a challenge, got {other:?}"),
    };
    let second = auth
        .login_mfa(&MfaLoginRequest::new(session, totp_code()))
        .await
        .unwrap();
    auth.disable_totp(
        &second.access_token,
        &TotpDisableRequest {
            password: PASSWORD.into(),
        },
    )
    .await
    .unwrap();

    // A password reset and a change, so the Auth API's password events show up downstream.
    let accepted = auth
        .forgot_password(&ForgotRequest {
            email: "grace@example.com".into(),
            client_id: None,
        })
        .await
        .unwrap();
    assert!(!accepted.detail.is_empty());
    // Cognito mails the code through the stack's SES identity (the launcher has moto do so).
    let reset = eventually("the reset mail", Duration::from_secs(10), || async {
        crate::support::mail_to(&stack.provisioned().mail_domain, "grace@example.com")
            .await
            .into_iter()
            .find(|mail| mail.subject.as_deref() == Some("Your password reset code"))
    })
    .await;
    let reset_code = reset
        .text
        .as_deref()
        .and_then(|text| text.split_whitespace().last())
        .unwrap()
        .to_owned();
    auth.confirm_password(&ConfirmRequest {
        email: "grace@example.com".into(),
        code: reset_code.clone(),
        new_password: "Journey-Secret-2".into(),
        client_id: None,
    })
    .await
    .unwrap();
    let tokens = auth
        .login(&LoginRequest::new("grace@example.com", "Journey-Secret-2"))
        .await
        .unwrap();
    auth.change_password(
        &tokens.access_token,
        &ChangeRequest {
            old_password: "Journey-Secret-2".into(),
            new_password: "Journey-Secret-3".into(),
        },
    )
    .await
    .unwrap();

    // Delete: gone from every lookup, the upload gone, the Cognito user gone, the email free.
    users.delete(&id, None).await.unwrap();
    let lookups = [
        users.user(&id).await,
        users.user_by_name("grace.hopper").await,
        users.user_by_email("grace@example.com").await,
        users.user_by_handle("GraceHopper").await,
    ];
    for lookup in lookups {
        let refused = lookup.unwrap_err();
        assert_eq!(refused.status(), Some(StatusCode::NOT_FOUND), "{refused}");
        assert_eq!(refused.problem_type(), Some("/problems/not-found"));
    }
    let upload_gone = reqwest::get(&upload.avatar_url).await.unwrap();
    assert!(
        upload_gone.status().is_client_error(),
        "the uploaded avatar is deleted"
    );
    eventually(
        "the Cognito user deleted",
        Duration::from_secs(10),
        || async {
            cognito_user(&sdk, &pool, "grace@example.com")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    let again = eventually("the email free again", Duration::from_secs(10), || async {
        auth.register(
            &RegisterRequest::new("grace@example.com", "grace.hopper", PASSWORD),
            None,
        )
        .await
        .ok()
    })
    .await;
    assert_ne!(again.id, id);

    // Deleted outside Roster (by the user through Cognito, or an operator): a reconciler run
    // finds it (IdentityDeleted), and the profile goes as any deletion.
    aws_sdk_cognitoidentityprovider::Client::new(&sdk)
        .admin_delete_user()
        .user_pool_id(&pool)
        .username(&again.id)
        .send()
        .await
        .unwrap();
    let stores = roster_local::stack::auth_stores(stack.provisioned());
    roster_auth_api::registration::reconcile_with(
        &stores.table(&sdk),
        &stores.pool(&sdk),
        chrono::Duration::minutes(5),
        roster_auth_api::registration::IdentitySlice::WHOLE,
    )
    .await
    .unwrap();
    eventually(
        "the profile of an identity deleted outside Roster gone",
        Duration::from_secs(20),
        || async { users.user(&again.id).await.err() },
    )
    .await;

    // A user deleting its own account, the password proven again: UserDeletionRequested, and
    // the profile goes as any deletion.
    let leaver = auth
        .register(
            &RegisterRequest::new("leaver@example.com", "leaver", PASSWORD),
            None,
        )
        .await
        .unwrap();
    eventually("the leaver's profile", Duration::from_secs(20), || async {
        users.user(&leaver.id).await.ok()
    })
    .await;
    let tokens = auth
        .login(&LoginRequest::new("leaver@example.com", PASSWORD))
        .await
        .unwrap();
    auth.delete_me(
        &tokens.access_token,
        &roster_client::DeleteAccountRequest {
            password: PASSWORD.to_owned(),
        },
    )
    .await
    .unwrap();
    eventually(
        "the profile of a user that deleted its account gone",
        Duration::from_secs(20),
        || async { users.user(&leaver.id).await.err() },
    )
    .await;

    // Downstream: every event type arrived, and each one validates against its schema.
    let expected: BTreeSet<&str> = events().iter().map(|event| event.detail_type).collect();
    let mut seen = BTreeSet::new();
    let mut received = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < expected.len() && std::time::Instant::now() < deadline {
        for body in receive_bodies(&sdk, &downstream, 1, Duration::from_secs(1)).await {
            let event: Value = serde_json::from_str(&body).unwrap();
            seen.insert(event["detail-type"].as_str().unwrap().to_owned());
            received.push(event);
        }
    }
    for event in &received {
        let detail_type = event["detail-type"].as_str().unwrap();
        let spec = events()
            .into_iter()
            .find(|spec| spec.detail_type == detail_type && spec.source == event["source"])
            .unwrap_or_else(|| {
                panic!(
                    "{detail_type} from {} is not in the contract",
                    event["source"]
                )
            });
        let validator = jsonschema::validator_for(&spec.schema()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&event["detail"])
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{detail_type} breaks its schema: {errors:?}\n{}",
            event["detail"]
        );
        for secret in [
            code.as_str(),
            first_code.as_str(),
            reset_code.as_str(),
            enrolment.secret.as_str(),
            PASSWORD,
            access.as_str(),
            refresh.as_str(),
            facts.api_key.as_str(),
        ] {
            assert!(
                !event.to_string().contains(secret),
                "{detail_type} carries a secret"
            );
        }
    }
    // The registration's correlation id follows it across both services.
    for detail_type in ["UserRegistered", "UserProfileCreated"] {
        let event = received
            .iter()
            .find(|event| {
                event["detail-type"] == detail_type && event["detail"]["data"]["userId"] == id
            })
            .unwrap_or_else(|| panic!("no {detail_type} for the first registration"));
        assert_eq!(
            event["detail"]["correlationId"], "journey-correlation-1",
            "{detail_type}"
        );
    }
    let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(
        seen, expected,
        "every event type reaches a downstream consumer"
    );

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

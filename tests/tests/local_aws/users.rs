//! Both services end to end on a running local stack, through the bus: register with the Auth
//! API, watch the profile appear in the User API, activate, change status, badges, data and
//! avatar, delete — and check each effect where it lands (the User API's answers, Cognito, the
//! bucket). A downstream consumer's queue on the bus receives every event meanwhile, and each
//! one must validate against the committed JSON Schema of its type.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_events::catalog::events;
use roster_local::testing;
use serde_json::{Value, json};

use crate::support::{Api, answer, eventually, receive_bodies, tap};

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
    let (stack, state_dir) = testing::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let sdk = testing::sdk().await;
    let pool = facts.user_pool_id.clone();
    let downstream = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-downstream", facts.prefix),
        json!({"source": ["roster.auth", "roster.user"]}),
    )
    .await;
    let auth = Api::new(&facts.auth_url, &facts.api_key);
    let users = Api::new(&facts.user_url, &facts.api_key);

    // Register: the profile appears through UserRegistered, within a few seconds.
    let registered = answer(
        auth.request(Method::POST, "/auth/register")
            .header("x-correlation-id", "journey-correlation-1")
            .json(&json!({"email": "Grace@Example.com", "name": "grace.hopper", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(registered.0, StatusCode::CREATED);
    let id = registered.1["id"].as_str().unwrap().to_owned();
    let code = registered.1["activationCode"].as_str().unwrap().to_owned();
    let profile = eventually("the profile", Duration::from_secs(10), || async {
        let (status, body) = users.get(&format!("/user/{id}")).await;
        (status == StatusCode::OK).then_some(body)
    })
    .await;
    assert_eq!(profile["status"], "UNCONFIRMED");
    assert_eq!(profile["role"], "USER");
    assert_eq!(profile["handle"], "@GraceHopper");
    assert_eq!(profile["profile"]["profileData"]["lang"], "en_us");
    assert_eq!(profile["profile"]["profileData"]["currency"], "USD");
    assert_eq!(profile["profile"]["badges"][0]["name"], "NEW_MEMBER");
    assert!(
        !profile.to_string().contains(&code),
        "no activation code in a User API answer"
    );
    let avatar = profile["profile"]["profileData"]["avatarUrl"]
        .as_str()
        .unwrap();
    let default_avatar = reqwest::get(avatar).await.unwrap();
    assert_eq!(default_avatar.status(), StatusCode::OK, "{avatar}");
    assert_eq!(default_avatar.headers()["content-type"], "image/png");

    // Every lookup finds the same user, whatever the case or the handle's spelling.
    for path in [
        "/user/name/GRACE.HOPPER".to_owned(),
        "/user/email/grace@EXAMPLE.com".to_owned(),
        "/user/handle/@gracehopper".to_owned(),
        "/user/handle/GraceHopper".to_owned(),
        "/user/handle/%40GraceHopper".to_owned(),
    ] {
        let (status, body) = users.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["id"], id, "{path}");
    }

    // A sign-in is recorded on the profile.
    let (status, tokens) = auth
        .json(
            Method::POST,
            "/auth/login",
            json!({"email": "grace@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    eventually("lastLoginAt", Duration::from_secs(10), || async {
        let (_, body) = users.get(&format!("/user/{id}")).await;
        body["lastLoginAt"].as_str().map(ToOwned::to_owned)
    })
    .await;

    // The user's own view, and self-service settings.
    let me = users
        .bearer(Method::GET, "/public/user/me", &access, None)
        .await;
    assert_eq!(me.0, StatusCode::OK);
    assert_eq!(me.1["id"], id);
    let (status, body) = users
        .bearer(
            Method::PATCH,
            "/public/user/me/profile",
            &access,
            Some(json!({"lang": "de_de", "currency": "EUR", "avatar": "04"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["profile"]["profileData"]["lang"], "de_de");
    assert!(
        body["profile"]["profileData"]["avatarUrl"]
            .as_str()
            .unwrap()
            .ends_with("/x256/04.png")
    );

    // Activation: CONFIRMED, the email verified in Cognito, VERIFIED awarded by the rule.
    let (status, body) = users.get(&format!("/user/activate/{code}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "CONFIRMED");
    assert_eq!(
        users.get(&format!("/user/activate/{code}")).await.0,
        StatusCode::NOT_FOUND,
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
    eventually("the VERIFIED badge", Duration::from_secs(10), || async {
        let (_, body) = users.get(&format!("/user/{id}")).await;
        body["profile"]["badges"]
            .as_array()?
            .iter()
            .any(|badge| badge["name"] == "VERIFIED")
            .then_some(())
    })
    .await;

    // Badges: award (once), revoke.
    let badge = format!("/user/{id}/badge/CONVERSATION_STARTER");
    let awarded = users.send(Method::POST, &badge).await;
    assert_eq!(awarded.status(), StatusCode::CREATED);
    assert_eq!(awarded.headers()["badge-award"], "awarded");
    let again = users.send(Method::POST, &badge).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["badge-award"], "already-awarded");
    let (status, body) = users.call(Method::DELETE, &badge, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains("CONVERSATION_STARTER"));

    // Data: replace, then merge; the merge result is exact.
    let data = format!("/user/{id}/data/update");
    let (status, _) = users
        .json(
            Method::PUT,
            &data,
            json!({"theme": "dark", "tags": ["a"], "nested": {"x": 1, "y": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = users
        .merge_patch(
            &data,
            json!({"theme": null, "tags": ["b"], "nested": {"y": null, "z": 3}, "new": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["profile"]["data"],
        json!({"tags": ["b"], "nested": {"x": 1, "z": 3}, "new": true})
    );

    // An avatar of her own: the presigned PUT, then the public URL serves it; PHOTOGENIC follows.
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/02.png"
    ))
    .unwrap();
    let (status, upload) = users
        .json(
            Method::POST,
            &format!("/user/{id}/avatar"),
            json!({"contentType": "image/png", "contentLength": png.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{upload}");
    let mut put = reqwest::Client::new().put(upload["uploadUrl"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            put = put.header(name, value.as_str().unwrap());
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
    let served = reqwest::get(upload["avatarUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
    eventually("the PHOTOGENIC badge", Duration::from_secs(10), || async {
        let (_, body) = users.get(&format!("/user/{id}")).await;
        body["profile"]["badges"]
            .as_array()?
            .iter()
            .any(|badge| badge["name"] == "PHOTOGENIC")
            .then_some(())
    })
    .await;

    // Suspension blocks sign-in and the refresh token; confirming again lets her back in.
    let (status, _) = users
        .call(Method::PATCH, &format!("/user/{id}/status/SUSPENDED"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    eventually(
        "the Cognito user disabled",
        Duration::from_secs(10),
        || async {
            let (enabled, _) = cognito_user(&sdk, &pool, "grace@example.com").await?;
            (!enabled).then_some(())
        },
    )
    .await;
    let login = json!({"email": "grace@example.com", "password": PASSWORD});
    assert_eq!(
        auth.json(Method::POST, "/auth/login", login.clone())
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = auth
        .json(
            Method::POST,
            "/auth/token/refresh",
            json!({"refreshToken": refresh}),
        )
        .await;
    assert_eq!(refreshed.0, StatusCode::UNAUTHORIZED, "{}", refreshed.1);
    let (status, _) = users
        .call(Method::PATCH, &format!("/user/{id}/status/CONFIRMED"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    eventually("sign-in allowed again", Duration::from_secs(10), || async {
        let (status, _) = auth.json(Method::POST, "/auth/login", login.clone()).await;
        (status == StatusCode::OK).then_some(())
    })
    .await;

    // A password reset and change, so the Auth API's password events show up downstream.
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/password/forgot",
            json!({"email": "grace@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, tokens) = auth.json(Method::POST, "/auth/login", login.clone()).await;
    let (status, body) = users
        .bearer_on(
            &facts.auth_url,
            Method::POST,
            "/auth/password/change",
            tokens["accessToken"].as_str().unwrap(),
            Some(json!({"oldPassword": PASSWORD, "newPassword": "Journey-Secret-2"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Delete: gone from every lookup, the upload gone, the Cognito user gone, the email free.
    assert_eq!(
        users
            .call(Method::DELETE, &format!("/user/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    for path in [
        format!("/user/{id}"),
        "/user/name/grace.hopper".to_owned(),
        "/user/email/grace@example.com".to_owned(),
        "/user/handle/GraceHopper".to_owned(),
    ] {
        assert_eq!(users.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let upload_gone = reqwest::get(upload["avatarUrl"].as_str().unwrap())
        .await
        .unwrap();
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
        let (status, body) = auth
            .json(
                Method::POST,
                "/auth/register",
                json!({"email": "grace@example.com", "name": "grace.hopper", "password": PASSWORD}),
            )
            .await;
        (status == StatusCode::CREATED).then_some(body)
    })
    .await;
    assert_ne!(again["id"], id);

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

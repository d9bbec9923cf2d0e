//! The activation mail and its resend (issue 18, part 3), on running local stacks: the code
//! travels only in the mail (never in the 201, an event or a log), goes to the address in its
//! normal form exactly once, and activates; a resend mails a new code and the old one stops
//! working; resends are limited per target (429 with `Retry-After`) and answered alike for an
//! unknown target; an activated user gets nothing; an SES failure loses no mail.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_client::{
    AuthApi, Error, RegisterRequest, Registered, ResendRequest, User, UserApi, Versioned,
};
use roster_infra::resources::{AUTH_TABLE, USERS_TABLE};
use roster_local::stack::RunningStack;
use roster_testkit::faults::{Fault, FaultProxy, Kind, When};
use roster_testkit::harness;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    Api, activation_code, eventually, mail_to, receive_bodies, refusal_status, tap, wait_for_mail,
};

const PASSWORD: &str = "Mail-Secret-12";

fn sha256(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// An item of `table`, as JSON (`None` if absent).
async fn item(table: &str, key: &[(&str, &str)]) -> Option<Value> {
    let mut request = aws_sdk_dynamodb::Client::new(&harness::sdk().await)
        .get_item()
        .table_name(table)
        .consistent_read(true);
    for (name, value) in key {
        request = request.key(
            *name,
            aws_sdk_dynamodb::types::AttributeValue::S((*value).to_owned()),
        );
    }
    request
        .send()
        .await
        .unwrap()
        .item
        .map(|item| serde_dynamo::from_item(item).unwrap())
}

async fn identity(stack: &RunningStack, id: &str) -> Value {
    let table = &stack.provisioned().table(&AUTH_TABLE).name;
    item(table, &[("pk", &format!("USER#{id}")), ("sk", "IDENTITY")])
        .await
        .expect("the identity")
}

async fn profile_generation(stack: &RunningStack, id: &str) -> Option<u64> {
    let table = &stack.provisioned().table(&USERS_TABLE).name;
    item(table, &[("id", id)])
        .await
        .and_then(|profile| profile["activationGeneration"].as_u64())
}

async fn register(auth: &AuthApi, email: &str, name: &str) -> Registered {
    auth.register(&RegisterRequest::new(email, name, PASSWORD), None)
        .await
        .unwrap()
}

async fn activate(users: &UserApi, code: &str) -> Result<Versioned<User>, Error> {
    users.activate(code).await
}

/// A resend of a body of any shape, for the malformed ones.
async fn resend(auth: &Api, body: Value) -> (StatusCode, Value) {
    auth.json(Method::POST, "/auth/activation/resend", body)
        .await
}

/// The clients of a running stack: both APIs through `roster-client`, and the Auth API raw.
fn clients(facts: &roster_local::stack::LocalFacts) -> (AuthApi, UserApi, Api) {
    (
        AuthApi::new(&facts.auth_url, &facts.api_key).unwrap(),
        UserApi::new(&facts.user_url, &facts.api_key).unwrap(),
        Api::new(&facts.auth_url, &facts.api_key),
    )
}

#[tokio::test]
async fn registration_mails_one_code_to_the_normalised_address_and_it_activates() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let domain = stack.provisioned().mail_domain.clone();
    let sdk = harness::sdk().await;
    let events = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-mail-tap", facts.prefix),
        json!({"source": ["roster.auth", "roster.user"]}),
    )
    .await;
    let (auth, users, raw) = clients(&facts);

    // Raw: the 201's shape is the point (no `activationCode`, which a typed answer would drop
    // unseen).
    let (status, registered) = raw
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "  Mail.User@EXAMPLE.com ", "name": "mail_user", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert!(
        registered.get("activationCode").is_none(),
        "whoever registers an address does not get its code: {registered}"
    );
    let id = registered["id"].as_str().unwrap().to_owned();

    let mail = wait_for_mail(&domain, "mail.user@example.com", 1).await;
    let first = &mail[0];
    assert_eq!(first.to, ["mail.user@example.com"], "{first:?}");
    assert_eq!(
        first.from,
        format!("Roster <no-reply@{domain}>"),
        "the stack's verified sender"
    );
    assert_eq!(
        first.subject.as_deref(),
        Some("Activate your account, mail_user")
    );
    let code = first.activation_code().expect("a code in the text body");
    let html = first.html.as_deref().expect("an HTML body");
    assert!(html.contains(&code), "{html}");
    assert_eq!(
        first.link(),
        Some(format!("{}/#activate={code}", facts.web_url)),
        "the link leads to the account page, the code in its fragment"
    );
    assert_eq!(
        identity(&stack, &id).await["activationCodeHash"],
        sha256(&code),
        "the identity keeps the hash of the mailed code"
    );

    // A malformed code is refused and the mailed one activates (once).
    assert_eq!(
        refusal_status(activate(&users, "not-a-code").await),
        Some(StatusCode::BAD_REQUEST)
    );
    let activated = eventually(
        "the profile to activate",
        Duration::from_secs(20),
        || async { activate(&users, &code).await.ok() },
    )
    .await;
    assert_eq!(activated.status, "CONFIRMED");
    assert_eq!(
        refusal_status(activate(&users, &code).await),
        Some(StatusCode::NOT_FOUND)
    );

    // Activated: the Auth API records it, and a resend then issues and mails nothing.
    eventually(
        "the activation recorded",
        Duration::from_secs(20),
        || async {
            identity(&stack, &id).await["activatedAt"]
                .is_string()
                .then_some(())
        },
    )
    .await;
    auth.resend_activation(&ResendRequest::user_id(&id))
        .await
        .unwrap();
    let after = identity(&stack, &id).await;
    assert!(
        after.get("activationGeneration").is_none(),
        "no new code for an activated user: {after}"
    );
    // Another registration's mail arrives (the mailer is running) and the first user still
    // has its one mail: the resend published nothing that could mail it.
    register(&auth, "second.mail@example.com", "second_mail").await;
    wait_for_mail(&domain, "second.mail@example.com", 1).await;
    assert_eq!(mail_to(&domain, "mail.user@example.com").await.len(), 1);

    // No event carries a code: neither the registration's nor the second one's.
    let second = activation_code(&domain, "second.mail@example.com", 1).await;
    let published = receive_bodies(&sdk, &events, 6, Duration::from_secs(10)).await;
    assert!(
        published.iter().any(|body| body.contains("UserRegistered")),
        "{published:?}"
    );
    for body in &published {
        assert!(
            !body.contains(&code) && !body.contains(&second),
            "an event carries a code: {body}"
        );
    }

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn a_resend_mails_a_new_code_and_the_old_one_stops_working() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let domain = stack.provisioned().mail_domain.clone();
    let sdk = harness::sdk().await;
    let reissues = tap(
        &sdk,
        &facts.event_bus,
        &format!("{}-reissue-tap", facts.prefix),
        json!({"source": ["roster.auth"], "detail-type": ["ActivationCodeReissued"]}),
    )
    .await;
    let (client, users, _) = clients(&facts);

    let registered = client
        .register(
            &RegisterRequest::new("resend@example.com", "resend_user", PASSWORD),
            None,
        )
        .await
        .unwrap();
    let old = activation_code(&domain, "resend@example.com", 1).await;
    eventually("the profile", Duration::from_secs(20), || async {
        users.user(&registered.id).await.is_ok().then_some(())
    })
    .await;

    // Through roster-client, by user id.
    let accepted = client
        .resend_activation(&ResendRequest::user_id(registered.id.clone()))
        .await
        .unwrap();
    assert_eq!(accepted.status, "accepted");
    let new = activation_code(&domain, "resend@example.com", 2).await;
    assert_ne!(new, old, "a new code");
    let mail = mail_to(&domain, "resend@example.com").await;
    assert_eq!(
        mail.len(),
        2,
        "one mail for the registration, one for the resend"
    );

    // The event carries the new code's hash and generation, never a code.
    let event: Value =
        serde_json::from_str(&receive_bodies(&sdk, &reissues, 1, Duration::from_secs(20)).await[0])
            .unwrap();
    let data = &event["detail"]["data"];
    assert_eq!(data["userId"], registered.id.as_str());
    assert_eq!(data["generation"], 1);
    assert_eq!(data["activationCodeHash"], sha256(&new));
    assert!(!event.to_string().contains(&new) && !event.to_string().contains(&old));

    // Once the User API has the new hash, the old code is unknown and the new one activates.
    eventually(
        "the new code on the profile",
        Duration::from_secs(20),
        || async { (profile_generation(&stack, &registered.id).await == Some(1)).then_some(()) },
    )
    .await;
    assert_eq!(
        refusal_status(activate(&users, &old).await),
        Some(StatusCode::NOT_FOUND)
    );
    let user = users.activate_in_path(&new).await.unwrap();
    assert_eq!(user.status, "CONFIRMED");
    assert_eq!(
        refusal_status(activate(&users, &new).await),
        Some(StatusCode::NOT_FOUND),
        "used"
    );
    assert_eq!(
        refusal_status(activate(&users, &old).await),
        Some(StatusCode::NOT_FOUND)
    );

    // The same user by email: one limit per user, whichever way it is named.
    assert_eq!(
        refusal_status(
            client
                .resend_activation(&ResendRequest::email("resend@example.com"))
                .await
        ),
        Some(StatusCode::TOO_MANY_REQUESTS),
        "within the minute, whatever the user's state"
    );

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn resends_are_limited_per_target_and_answered_alike_for_anyone() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let domain = stack.provisioned().mail_domain.clone();
    // Raw (`auth`): the malformed bodies, a form body, no key, and the 429's headers.
    let (client, users, auth) = clients(&facts);

    let registered = register(&client, "limited@example.com", "limited_user").await;
    let id = registered.id;
    wait_for_mail(&domain, "limited@example.com", 1).await;

    // Bad input: a clear 400, nothing else.
    for body in [
        json!({}),
        json!({"userId": id, "email": "limited@example.com"}),
        json!({"email": "not-an-address"}),
        json!({"userId": "not/an/id"}),
        json!({"email": "limited@example.com", "extra": true}),
        json!({"email": 42}),
    ] {
        let (status, problem) = resend(&auth, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert!(problem["type"].is_string(), "{body}: {problem}");
    }
    let no_json = auth
        .request(Method::POST, "/auth/activation/resend")
        .body("email=limited@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(no_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let no_key = reqwest::Client::new()
        .post(format!("{}/auth/activation/resend", facts.auth_url))
        .json(&json!({"email": "limited@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);

    // The user, someone unknown by email and by id: the same 202, then the same 429.
    let targets = [
        ResendRequest::email("LIMITED@example.com"),
        ResendRequest::email("nobody@example.com"),
        ResendRequest::user_id("00000000-0000-4000-8000-000000000000"),
    ];
    let mut first_answers = Vec::new();
    for target in &targets {
        let accepted = client
            .resend_activation(target)
            .await
            .unwrap_or_else(|error| panic!("{target:?}: {error}"));
        first_answers.push(accepted);
    }
    assert!(
        first_answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{first_answers:?}"
    );
    for target in &targets {
        let response = auth
            .request(Method::POST, "/auth/activation/resend")
            .json(target)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{target:?}"
        );
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{target:?}: {retry_after}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/resend-limited", "{problem}");
    }
    // By id the user's limit is the same one as by email.
    assert_eq!(
        refusal_status(client.resend_activation(&ResendRequest::user_id(&id)).await),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );

    // The happy path after the refusals: the resend that got through mailed a code that
    // activates, and another user's resend goes through.
    let code = activation_code(&domain, "limited@example.com", 2).await;
    let user = eventually(
        "the resent code in force",
        Duration::from_secs(20),
        || async { activate(&users, &code).await.ok() },
    )
    .await;
    assert_eq!(user.status, "CONFIRMED");
    register(&client, "unlimited@example.com", "unlimited_user").await;
    // Its registration's mail first: a resend before it is sent supersedes it (the mailer
    // sends only the newest generation), and that user would get one mail.
    wait_for_mail(&domain, "unlimited@example.com", 1).await;
    client
        .resend_activation(&ResendRequest::email("unlimited@example.com"))
        .await
        .unwrap();
    wait_for_mail(&domain, "unlimited@example.com", 2).await;
    // Nobody's mail went anywhere.
    assert!(mail_to(&domain, "nobody@example.com").await.is_empty());

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

#[tokio::test]
async fn an_ses_failure_loses_no_mail_and_a_lost_answer_may_only_repeat_it() {
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (stack, state_dir) = harness::running_stack_through(proxy.url()).await.unwrap();
    let facts = stack.facts().clone();
    let domain = stack.provisioned().mail_domain.clone();
    let (auth, users, _) = clients(&facts);

    // SES fails every send: the registration succeeds all the same, and no mail goes out.
    proxy.inject(Fault::always("SendEmail", When::Before));
    let down = register(&auth, "ses.down@example.com", "ses_down").await;
    eventually("sends refused", Duration::from_secs(30), || async {
        (proxy.calls("SendEmail") >= 2).then_some(())
    })
    .await;
    assert!(mail_to(&domain, "ses.down@example.com").await.is_empty());
    // SES is back: the redelivered event's mail goes out, once, with a code that works.
    proxy.clear();
    let code = activation_code(&domain, "ses.down@example.com", 1).await;
    let user = eventually("activation", Duration::from_secs(20), || async {
        activate(&users, &code).await.ok()
    })
    .await;
    assert_eq!(user.id, down.id);
    assert_eq!(mail_to(&domain, "ses.down@example.com").await.len(), 1);

    // SES accepts a send but its answer is lost: the send is retried, and the user may get a
    // second copy of the same code, never another code.
    proxy.inject(Fault {
        operation: "SendEmail",
        skip: proxy.calls("SendEmail"),
        times: 1,
        when: When::After,
        kind: Kind::Error,
    });
    register(&auth, "ses.lost@example.com", "ses_lost").await;
    let mail = wait_for_mail(&domain, "ses.lost@example.com", 2).await;
    let codes: Vec<String> = mail
        .iter()
        .map(|mail| mail.activation_code().unwrap())
        .collect();
    assert!(codes.iter().all(|code| *code == codes[0]), "{codes:?}");
    proxy.clear();
    eventually(
        "the copy's code activates",
        Duration::from_secs(20),
        || async { activate(&users, &codes[0]).await.ok().map(drop) },
    )
    .await;

    // No dead letter: every mail went out in the end.
    let status = eventually("a fresh measurement", Duration::from_secs(10), || async {
        let status = stack.status();
        (!status.checked_at.is_empty()).then_some(status)
    })
    .await;
    assert!(
        status.dead_letters_waiting().is_empty(),
        "{:?}",
        status.dead_letters
    );
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

//! The roles in the transformed template allow what the functions really call (issue 16), for
//! every function of the template. A whole local stack runs behind one counting proxy, and
//! each function's adapters sign with an access key id of their own
//! (`roster_local::stack::function_sdk`), so the proxy attributes every call to the function
//! that made it. A flow makes each function do its work: registration (the auth projector
//! publishes `UserRegistered`, the user subscriber creates the profile, the activation mailer
//! mails the code), a resend of the code (mailed again), sign-in, every route
//! that takes a token, two-step sign-in (enrol, a challenged sign-in, turning it off) and each
//! way sessions end; activation (the badge rules award VERIFIED,
//! the auth subscriber verifies the email); an avatar upload (PHOTOGENIC); a listing of users
//! a page at a time; a suspension and a
//! reinstatement (the auth subscriber disables, signs out and enables); both parts of a data
//! export, one upload link followed; a user deleting its own account (`DELETE /auth/me`: the
//! user subscriber deletes the profile on `UserDeletionRequested`); a deletion (the auth
//! subscriber deletes the Cognito user); the avatar sweeper's run after a deletion with an
//! upload; the reconciler's run over an abandoned registration and an identity deleted
//! outside Roster (the user subscriber deletes its profile and avatar).
//!
//! Every operation a function was seen calling must be allowed by its role after the SAM
//! transform, a transaction's items included (`TransactWriteItems.Put` needs
//! `dynamodb:PutItem`, and so on: the proxy reads them from the body); and every action a role
//! grants must be seen or listed below with its reason. moto enforces no IAM, so without this
//! a missing action shows only on AWS (a forgot-password that never sends a code:
//! `AdminGetUser`).
//!
//! Not checked here: what Lambda's own pollers do on a function's behalf (`ReceiveMessage`,
//! `DeleteMessage`, `GetRecords`, the on-failure destination's `SendMessage`). Locally the
//! plumbing makes those calls with an identity of its own; on AWS they are granted by the
//! managed policies SAM attaches to a function with an SQS or DynamoDB event (which the offline
//! transform does not expand) and by SAM's `<Function>StreamSQSPolicy`. Nor are resources: an
//! action is checked against the role's actions, not against the table, index, bucket prefix
//! or pool its statement names.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_auth_api::registration::{IdentitySlice, reconcile_with};
use roster_infra::resources::LAMBDA_BINARIES;
use roster_infra::sam::{granted_actions, not_allowed, required_actions, template_path, transform};
use roster_local::stack::{EVENT_SOURCE_MAPPINGS, auth_stores, function_sdk, user_config};
use roster_testkit::faults::{Call, Fault, FaultProxy, When};
use roster_testkit::harness::{self, REGION};
use serde_json::{Value, json};

use crate::support::{Api, eventually};

/// Actions a role grants that the flow below does not see its function call, each with its
/// reason.
const GRANTED_FOR_OTHER_PATHS: [(&str, &str); 2] = [
    (
        "AuthProjectorFunction sqs:SendMessage",
        "SAM's AuthProjectorFunctionStreamSQSPolicy: Lambda's poller sends a record it gives up \
         on to the on-failure destination, not the function (locally: the plumbing's FailureQueue)",
    ),
    (
        "UsersProjectorFunction sqs:SendMessage",
        "SAM's UsersProjectorFunctionStreamSQSPolicy: Lambda's poller sends a record it gives up \
         on to the on-failure destination, not the function (locally: the plumbing's FailureQueue)",
    ),
];

/// The callers besides the functions: the stack's provisioning (the base configuration's
/// key), the local event source mappings, and unsigned requests (the JWKS, public assets).
const NOT_A_FUNCTION: [&str; 3] = ["roster-local", EVENT_SOURCE_MAPPINGS, ""];

fn transformed(name: &str, edit: impl FnOnce(String) -> String) -> Value {
    let dir = std::env::temp_dir().join(format!("roster-iam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &source,
        edit(std::fs::read_to_string(template_path()).unwrap()),
    )
    .unwrap();
    transform(&source, &dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Every function of the transformed template: its binary (what its `FunctionName`
/// `roster-${Stage}-<binary>` ends in, the access key id it signs with locally) and its
/// logical id.
fn functions(template: &Value) -> BTreeMap<String, String> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Lambda::Function")
        .map(|(id, resource)| {
            let name = &resource["Properties"]["FunctionName"]["Fn::Sub"];
            let binary = name
                .as_str()
                .and_then(|name| name.strip_prefix("roster-${Stage}-"))
                .unwrap_or_else(|| panic!("{id}: FunctionName {name}"));
            (binary.to_owned(), id.clone())
        })
        .collect()
}

/// Each caller's operations, a transaction's item kinds included.
fn by_caller(calls: &[Call]) -> BTreeMap<String, Vec<String>> {
    let mut callers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for call in calls {
        callers
            .entry(call.caller.clone())
            .or_default()
            .extend(call.operations());
    }
    callers
}

/// Registers `email`, and waits for the profile the user subscriber makes of it.
async fn register(auth: &Api, users: &Api, email: &str, name: &str) -> Value {
    let (status, registered) = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": email, "name": name, "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let id = registered["id"].as_str().unwrap().to_owned();
    eventually("the profile", Duration::from_secs(20), || async {
        (users.get(&format!("/user/{id}")).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    registered
}

/// Asks for an avatar upload URL for `id` and PUTs a PNG to it; returns what was answered.
async fn upload_avatar(users: &Api, id: &str, put_now: bool) -> Value {
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/05.png"
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
    if put_now {
        assert!(put(&upload).await.is_success());
    }
    upload
}

/// PUTs the PNG to an upload URL with the headers it was issued with.
async fn put(upload: &Value) -> StatusCode {
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/05.png"
    ))
    .unwrap();
    let mut request = reqwest::Client::new().put(upload["uploadUrl"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.body(png).send().await.unwrap().status()
}

/// Whether the user's profile has `badge`.
async fn has_badge(users: &Api, id: &str, badge: &str) -> bool {
    let (_, user) = users.get(&format!("/user/{id}")).await;
    user["profile"]["badges"]
        .as_array()
        .is_some_and(|badges| badges.iter().any(|b| b["name"] == badge))
}

/// The pool's user `username`: whether it is enabled, and its `email_verified`; `None` if it
/// is gone.
async fn pool_user(
    pool: &aws_sdk_cognitoidentityprovider::Client,
    pool_id: &str,
    username: &str,
) -> Option<(bool, Option<String>)> {
    let user = pool
        .admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .ok()?;
    let verified = user
        .user_attributes()
        .iter()
        .find(|attribute| attribute.name() == "email_verified")
        .and_then(|attribute| attribute.value().map(ToOwned::to_owned));
    Some((user.enabled(), verified))
}

#[tokio::test]
async fn every_function_s_calls_are_allowed_by_its_role_and_its_role_grants_only_what_is_used() {
    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let (stack, state_dir) = harness::running_stack_through(proxy.url()).await.unwrap();
    let facts = stack.facts().clone();
    let provisioned = stack.provisioned().clone();
    let sdk = harness::sdk().await;
    let pool = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool_id = provisioned.user_pool_id.clone();
    let auth = Api::new(&facts.auth_url, &facts.api_key);
    let users = Api::new(&facts.user_url, &facts.api_key);
    // What the scheduled functions run with, through the proxy: their own keys.
    let through_proxy = roster_platform::aws::local(proxy.url(), REGION).await;

    // Registration: the auth projector publishes UserRegistered, the user subscriber makes the
    // profile (and awards NEW_MEMBER).
    let registered = register(&auth, &users, "iam@example.com", "iam_user").await;
    let id = registered["id"].as_str().unwrap().to_owned();
    // The activation mailer mails the code (SES SendEmail); a resend issues a new one (a
    // transaction on the identity and the resend record) and the mailer mails that too.
    crate::support::wait_for_mail(&provisioned.mail_domain, "iam@example.com", 1).await;
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/activation/resend",
            json!({"email": "iam@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let code =
        crate::support::activation_code(&provisioned.mail_domain, "iam@example.com", 2).await;
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "iam@example.com", "name": "iam_other", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The email of a user made in the pool out of band: registration looks the user up
    // (AdminGetUser) before answering 409.
    pool.admin_create_user()
        .user_pool_id(&pool_id)
        .username("operator@example.com")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/register",
            json!({"email": "operator@example.com", "name": "not_operator", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Sign-in (UserLoggedIn: the user subscriber records it), the routes that take a token,
    // a refresh, and each way sessions end: a password change, a reset, a sign-out.
    let login = |password: &'static str| {
        let auth = auth.clone();
        async move {
            let (status, tokens) = auth
                .json(
                    Method::POST,
                    "/auth/login",
                    json!({"email": "iam@example.com", "password": password}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{tokens}");
            tokens
        }
    };
    let tokens = login("Iam-Secret-42").await;
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/token/verify",
            json!({"token": access, "tokenType": "access"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/token/refresh",
            json!({"refreshToken": tokens["refreshToken"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (method, path, body) in [
        (Method::GET, "/public/user/me", None),
        (
            Method::PATCH,
            "/public/user/me/profile",
            Some(json!({"lang": "de_de"})),
        ),
    ] {
        let (status, body) = users.bearer(method, path, &access, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // Two-step sign-in: enrolment (authorised by the access token), a challenged sign-in and
    // its second step (AdminRespondToAuthChallenge), and turning it off (the password checked
    // by a sign-in that ends in a challenge, GetUser, SetUserMFAPreference).
    let (status, enrolment) = auth
        .bearer(Method::POST, "/auth/mfa/totp", &access, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let totp = || {
        let now = chrono::Utc::now().timestamp();
        let at = if 30 - now.rem_euclid(30) < 3 {
            now + 3
        } else {
            now
        };
        roster_testkit::totp::code_at(&secret, at).unwrap()
    };
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/mfa/totp/confirm",
            &access,
            Some(json!({"code": totp()})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, challenge) = auth
        .json(
            Method::POST,
            "/auth/login",
            json!({"email": "iam@example.com", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{challenge}");
    let (status, second) = auth
        .json(
            Method::POST,
            "/auth/login/mfa",
            json!({"session": challenge["session"], "code": totp()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, body) = auth
        .bearer(
            Method::DELETE,
            "/auth/mfa/totp",
            second["accessToken"].as_str().unwrap(),
            Some(json!({"password": "Iam-Secret-42"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = auth
        .json(
            Method::POST,
            "/auth/password/forgot",
            json!({"email": "iam@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/password/change",
            &access,
            Some(json!({"oldPassword": "Iam-Secret-42", "newPassword": "Iam-Secret-43"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = auth
        .json(
            Method::POST,
            "/auth/password/confirm",
            json!({"email": "iam@example.com", "code": "123456", "newPassword": "Iam-Secret-44"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let tokens = login("Iam-Secret-44").await;
    let (status, body) = auth
        .bearer(
            Method::POST,
            "/auth/logout",
            tokens["accessToken"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // The User API's server-to-server routes.
    for path in [
        format!("/user/{id}"),
        "/user/email/iam@example.com".to_owned(),
        "/user/name/iam_user".to_owned(),
        format!("/user/handle/{}", registered["handle"].as_str().unwrap()),
    ] {
        let (status, body) = users.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, body) = users
        .json(
            Method::PUT,
            &format!("/user/{id}/data/update"),
            json!({"plan": "pro"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = users
        .merge_patch(&format!("/user/{id}/data/update"), json!({"seats": 3}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let badge = format!("/user/{id}/badge/EARLY_ADOPTER");
    assert_eq!(
        users.json(Method::POST, &badge, Value::Null).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        users.json(Method::DELETE, &badge, Value::Null).await.0,
        StatusCode::OK
    );

    // Activation: the users projector publishes UserActivated; the badge rules award VERIFIED
    // and the auth subscriber marks the email verified.
    // The resent code works once the User API has applied ActivationCodeReissued (404 until
    // then: an unknown code).
    eventually(
        "the resent code in force",
        Duration::from_secs(20),
        || async {
            let (status, _) = users.get(&format!("/user/activate/{code}")).await;
            (status == StatusCode::OK).then_some(())
        },
    )
    .await;
    eventually(
        "VERIFIED and email_verified",
        Duration::from_secs(20),
        || {
            let (users, pool, pool_id, id) = (&users, &pool, &pool_id, &id);
            async move {
                let verified = pool_user(pool, pool_id, id).await?.1;
                (has_badge(users, id, "VERIFIED").await && verified.as_deref() == Some("true"))
                    .then_some(())
            }
        },
    )
    .await;
    // An avatar of the user's own: UserProfileUpdated, and the badge rules award PHOTOGENIC.
    upload_avatar(&users, &id, true).await;
    eventually("PHOTOGENIC", Duration::from_secs(20), || async {
        has_badge(&users, &id, "PHOTOGENIC").await.then_some(())
    })
    .await;

    // The data export, both parts and both ways: the identity record and the pool's record
    // (the Auth API), the profile and its uploads with presigned links (the User API), one of
    // which is followed (signed by the User API: a GET of an object version).
    let tokens = login("Iam-Secret-44").await;
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let (status, export) = users
        .bearer(Method::GET, "/public/user/me/export", &access, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let link = export["uploads"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        StatusCode::OK,
        "{link}"
    );
    let (status, body) = auth
        .bearer(Method::GET, "/auth/me/export", &access, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (api, path) in [
        (&users, format!("/user/{id}/export")),
        (&auth, format!("/auth/users/{id}/export")),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // A user deleting its own account (the password proven again): the auth projector
    // publishes UserDeletionRequested, the user subscriber deletes the profile, the auth
    // subscriber the Cognito user.
    let leaver = register(&auth, &users, "leaver@example.com", "leaver").await;
    let leaver = leaver["id"].as_str().unwrap().to_owned();
    // A listing of the two users a page at a time: the Queries of its index, and the User
    // API's key, read to seal the cursor.
    let (status, page) = users.get("/users?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let cursor = page["nextCursor"].as_str().unwrap();
    // A cursor is URL-safe base64 after its `c1.`: it goes into a query string as it is.
    let (status, page) = users.get(&format!("/users?limit=1&cursor={cursor}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let (status, tokens) = auth
        .json(
            Method::POST,
            "/auth/login",
            json!({"email": "leaver@example.com", "password": "Iam-Secret-42"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, body) = auth
        .bearer(
            Method::DELETE,
            "/auth/me",
            tokens["accessToken"].as_str().unwrap(),
            Some(json!({"password": "Iam-Secret-42"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    eventually(
        "the leaver's Cognito user deleted",
        Duration::from_secs(20),
        || async {
            pool_user(&pool, &pool_id, &leaver)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;

    // A suspension and a reinstatement: the auth subscriber disables the user and signs it
    // out, then enables it.
    for (status, enabled) in [("SUSPENDED", false), ("CONFIRMED", true)] {
        let (answer, body) = users
            .json(
                Method::PATCH,
                &format!("/user/{id}/status/{status}"),
                Value::Null,
            )
            .await;
        assert_eq!(answer, StatusCode::OK, "{status}: {body}");
        eventually(status, Duration::from_secs(20), || async {
            (pool_user(&pool, &pool_id, &id).await?.0 == enabled).then_some(())
        })
        .await;
    }

    // A deletion with an upload URL issued before it and used after it: the User API erases
    // the profile and avatars, the auth subscriber deletes the Cognito user and releases the
    // identifiers, and the avatar sweeper's run finds what the late upload left.
    let late = upload_avatar(&users, &id, false).await;
    let (status, body) = users
        .json(Method::DELETE, &format!("/user/{id}"), Value::Null)
        .await;
    assert!(status.is_success(), "{status}: {body}");
    eventually(
        "the Cognito user deleted",
        Duration::from_secs(20),
        || async {
            pool_user(&pool, &pool_id, &id)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(put(&late).await.is_success());
    let swept = user_config(&provisioned, proxy.url())
        .profiles(&function_sdk(&through_proxy, "avatar-sweeper"))
        .sweep_deleted_uploads(chrono::Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    // Both deleted users: the one that deleted its own account, and this one.
    assert_eq!((swept.swept, swept.failed), (2, 0), "{swept:?}");

    // The reconciler's run: a registration whose rollback could not finish (rolled back), and
    // an identity (with an avatar) whose Cognito user was deleted outside Roster (recorded:
    // IdentityDeleted, and the user subscriber deletes the profile and the avatar).
    let gone = register(&auth, &users, "gone@example.com", "gone_user").await;
    let gone = gone["id"].as_str().unwrap().to_owned();
    upload_avatar(&users, &gone, true).await;
    proxy.inject(Fault::always("AdminAddUserToGroup", When::Before));
    proxy.inject(Fault::always("AdminDeleteUser", When::Before));
    let abandoned = auth
        .request(Method::POST, "/auth/register")
        .header("idempotency-key", "iam-abandoned-registration")
        .json(&json!({"email": "abandoned@example.com", "name": "abandoned", "password": "Iam-Secret-42"}))
        .send()
        .await
        .unwrap();
    assert!(abandoned.status().is_server_error(), "{abandoned:?}");
    proxy.clear();
    pool.admin_delete_user()
        .user_pool_id(&pool_id)
        .username(&gone)
        .send()
        .await
        .unwrap();
    let reconciler = function_sdk(&through_proxy, "auth-reconciler");
    let stores = auth_stores(&provisioned);
    let report = reconcile_with(
        &stores.table(&reconciler),
        &stores.pool(&reconciler),
        chrono::Duration::zero(),
        IdentitySlice::WHOLE,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.rolled_back, report.identities_gone, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    eventually(
        "the profile of the identity deleted outside Roster gone",
        Duration::from_secs(20),
        || async {
            (users.get(&format!("/user/{gone}")).await.0 == StatusCode::NOT_FOUND).then_some(())
        },
    )
    .await;

    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
    let calls = by_caller(&proxy.take_attributed());

    // Every call is attributed: to a function of the template, or to what is not one.
    let template = transformed("committed", |text| text);
    let functions = functions(&template);
    assert_eq!(
        functions
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        LAMBDA_BINARIES.into_iter().collect(),
        "the template's functions are the binaries the stack runs"
    );
    let strangers: Vec<&String> = calls
        .keys()
        .filter(|caller| {
            !functions.contains_key(*caller) && !NOT_A_FUNCTION.contains(&caller.as_str())
        })
        .collect();
    assert!(
        strangers.is_empty(),
        "calls by unknown callers: {strangers:?}"
    );
    // What Lambda's pollers do is done by the plumbing, not by a function.
    let mappings = &calls[EVENT_SOURCE_MAPPINGS];
    for operation in ["GetRecords", "ReceiveMessage", "DeleteMessageBatch"] {
        assert!(mappings.iter().any(|seen| seen == operation), "{operation}");
    }

    let mut unused = Vec::new();
    for (binary, function) in &functions {
        let seen = calls.get(binary).cloned().unwrap_or_default();
        assert!(!seen.is_empty(), "{function} made no call");
        assert_eq!(
            not_allowed(&template, function, &seen),
            Vec::<String>::new()
        );
        let used: BTreeSet<String> = seen.iter().flat_map(|op| required_actions(op)).collect();
        for action in granted_actions(&template, function) {
            let entry = format!("{function} {action}");
            let explained = GRANTED_FOR_OTHER_PATHS
                .iter()
                .any(|(listed, _)| *listed == entry);
            if !used.contains(&action) && !explained {
                unused.push(entry);
            }
        }
    }
    assert_eq!(
        unused,
        Vec::<String>::new(),
        "granted, never called, and no reason listed"
    );

    // The faults this check exists for: without AdminGetUser a forgot-password (and a
    // registration) fails on AWS; without AdminDisableUser a suspension leaves the user able
    // to sign in; without PutItem the registration's transaction is refused. Here the check
    // fails, naming each.
    let without = transformed("without-needed-actions", |text| {
        text.replacen("                - cognito-idp:AdminGetUser\n", "", 1)
            .replacen("                - cognito-idp:AdminDisableUser\n", "", 1)
            .replacen("                - dynamodb:PutItem\n", "", 1)
    });
    let missing: Vec<String> = ["auth-api", "auth-subscriber"]
        .into_iter()
        .flat_map(|binary| not_allowed(&without, &functions[binary], &calls[binary]))
        .collect();
    assert_eq!(
        missing,
        [
            "AuthApiFunction: AdminGetUser needs cognito-idp:AdminGetUser",
            "AuthApiFunction: PutItem needs dynamodb:PutItem",
            "AuthApiFunction: TransactWriteItems.Put needs dynamodb:PutItem",
            "AuthSubscriberFunction: AdminDisableUser needs cognito-idp:AdminDisableUser",
        ]
    );
}

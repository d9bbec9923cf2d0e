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

use reqwest::StatusCode;
use roster_auth_api::registration::{IdentitySlice, reconcile_with};
use roster_client::{
    AuthApi, AvatarChange, AvatarRequest, ChangeRequest, ConfirmRequest, DeleteAccountRequest,
    ForgotRequest, ListUsers, LoginRequest, MfaLoginRequest, RefreshRequest, RegisterRequest,
    ResendRequest, Status, TokenUse, TotpConfirmRequest, TotpDisableRequest, UploadRequest,
    UserApi, VerifyRequest,
};
use roster_infra::resources::LAMBDA_BINARIES;
use roster_infra::sam::{granted_actions, not_allowed, required_actions, template_path, transform};
use roster_local::stack::{EVENT_SOURCE_MAPPINGS, auth_stores, function_sdk, user_config};
use roster_testkit::faults::{Call, Fault, FaultProxy, When};
use roster_testkit::harness::{self, REGION};
use serde_json::{Value, json};

use crate::support::{eventually, refused};

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
async fn register(
    auth: &AuthApi,
    users: &UserApi,
    email: &str,
    name: &str,
) -> roster_client::Registered {
    let registered = auth
        .register(&RegisterRequest::new(email, name, "Iam-Secret-42"), None)
        .await
        .unwrap();
    let id = registered.id.clone();
    eventually("the profile", Duration::from_secs(20), || async {
        users.user(&id).await.is_ok().then_some(())
    })
    .await;
    registered
}

/// Asks for an avatar upload URL for `id` and PUTs a PNG to it; returns what was answered.
async fn upload_avatar(users: &UserApi, id: &str, put_now: bool) -> roster_client::AvatarUpload {
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/05.png"
    ))
    .unwrap();
    let request = AvatarRequest::Upload(UploadRequest {
        content_type: "image/png".to_owned(),
        content_length: png.len() as u64,
    });
    // An upload is the 201 answer; a chosen default (200) would be another.
    let AvatarChange::Upload(upload) = users.avatar(id, &request).await.unwrap() else {
        panic!("no upload URL for {id}");
    };
    if put_now {
        assert!(put(&upload).await.is_success());
    }
    upload
}

/// PUTs the PNG to an upload URL with the headers it was issued with.
async fn put(upload: &roster_client::AvatarUpload) -> StatusCode {
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../user-api/assets/avatars/x128/05.png"
    ))
    .unwrap();
    let mut request = reqwest::Client::new().put(&upload.upload_url);
    for (name, value) in &upload.headers {
        if name != "content-length" {
            request = request.header(name, value);
        }
    }
    request.body(png).send().await.unwrap().status()
}

/// Whether the user's profile has `badge`.
async fn has_badge(users: &UserApi, id: &str, badge: &str) -> bool {
    users
        .user(id)
        .await
        .is_ok_and(|user| user.profile.badges.iter().any(|b| b.name == badge))
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
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let users = UserApi::new(&facts.user_url, &facts.api_key).unwrap();
    // What the scheduled functions run with, through the proxy: their own keys.
    let through_proxy = roster_platform::aws::local(proxy.url(), REGION).await;

    // Registration: the auth projector publishes UserRegistered, the user subscriber makes the
    // profile (and awards NEW_MEMBER).
    let registered = register(&auth, &users, "iam@example.com", "iam_user").await;
    let id = registered.id.clone();
    // The activation mailer mails the code (SES SendEmail); a resend issues a new one (a
    // transaction on the identity and the resend record) and the mailer mails that too.
    crate::support::wait_for_mail(&provisioned.mail_domain, "iam@example.com", 1).await;
    auth.resend_activation(&ResendRequest::email("iam@example.com"))
        .await
        .unwrap();
    let code =
        crate::support::activation_code(&provisioned.mail_domain, "iam@example.com", 2).await;
    refused(
        auth.register(
            &RegisterRequest::new("iam@example.com", "iam_other", "Iam-Secret-42"),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    );
    // The email of a user made in the pool out of band: registration looks the user up
    // (AdminGetUser) before answering 409.
    pool.admin_create_user()
        .user_pool_id(&pool_id)
        .username("operator@example.com")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    refused(
        auth.register(
            &RegisterRequest::new("operator@example.com", "not_operator", "Iam-Secret-42"),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    );

    // Sign-in (UserLoggedIn: the user subscriber records it), the routes that take a token,
    // a refresh, and each way sessions end: a password change, a reset, a sign-out.
    let login = |password: &'static str| {
        let auth = auth.clone();
        async move {
            auth.login(&LoginRequest::new("iam@example.com", password))
                .await
                .unwrap()
        }
    };
    let tokens = login("Iam-Secret-42").await;
    let access = tokens.access_token.clone();
    auth.verify(&VerifyRequest::new(&access, TokenUse::Access))
        .await
        .unwrap();
    auth.refresh(&RefreshRequest {
        refresh_token: tokens.refresh_token.clone().unwrap(),
        client_id: None,
    })
    .await
    .unwrap();
    users.me(&access).await.unwrap();
    users
        .update_my_profile(
            &access,
            &roster_client::ProfileUpdate {
                lang: Some("de_de".to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Two-step sign-in: enrolment (authorised by the access token), a challenged sign-in and
    // its second step (AdminRespondToAuthChallenge), and turning it off (the password checked
    // by a sign-in that ends in a challenge, GetUser, SetUserMFAPreference).
    let secret = auth.start_totp(&access).await.unwrap().secret;
    let totp = || {
        let now = chrono::Utc::now().timestamp();
        let at = if 30 - now.rem_euclid(30) < 3 {
            now + 3
        } else {
            now
        };
        roster_testkit::totp::code_at(&secret, at).unwrap()
    };
    auth.confirm_totp(&access, &TotpConfirmRequest { code: totp() })
        .await
        .unwrap();
    let Err(roster_client::Error::MfaRequired { session, .. }) = auth
        .login(&LoginRequest::new("iam@example.com", "Iam-Secret-42"))
        .await
    else {
        panic!("a sign-in with two-step sign-in on is challenged");
    };
    let second = auth
        .login_mfa(&MfaLoginRequest::new(session, totp()))
        .await
        .unwrap();
    auth.disable_totp(
        &second.access_token,
        &TotpDisableRequest {
            password: "Iam-Secret-42".to_owned(),
        },
    )
    .await
    .unwrap();
    auth.forgot_password(&ForgotRequest {
        email: "iam@example.com".to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    auth.change_password(
        &access,
        &ChangeRequest {
            old_password: "Iam-Secret-42".to_owned(),
            new_password: "Iam-Secret-43".to_owned(),
        },
    )
    .await
    .unwrap();
    auth.confirm_password(&ConfirmRequest {
        email: "iam@example.com".to_owned(),
        code: "123456".to_owned(),
        new_password: "Iam-Secret-44".to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    let tokens = login("Iam-Secret-44").await;
    auth.logout(&tokens.access_token).await.unwrap();

    // The User API's server-to-server routes.
    users.user(&id).await.unwrap();
    users.user_by_email("iam@example.com").await.unwrap();
    users.user_by_name("iam_user").await.unwrap();
    users.user_by_handle(&registered.handle).await.unwrap();
    let object = |value: Value| value.as_object().unwrap().clone();
    users
        .replace_data(&id, &object(json!({"plan": "pro"})), None)
        .await
        .unwrap();
    users
        .merge_data(&id, &object(json!({"seats": 3})), None)
        .await
        .unwrap();
    assert!(
        users
            .award_badge(&id, "EARLY_ADOPTER")
            .await
            .unwrap()
            .awarded_now,
        "201: a new award"
    );
    users.revoke_badge(&id, "EARLY_ADOPTER").await.unwrap();

    // Activation: the users projector publishes UserActivated; the badge rules award VERIFIED
    // and the auth subscriber marks the email verified.
    // The resent code works once the User API has applied ActivationCodeReissued (404 until
    // then: an unknown code).
    eventually(
        "the resent code in force",
        Duration::from_secs(20),
        || async { users.activate_in_path(&code).await.is_ok().then_some(()) },
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
    let access = login("Iam-Secret-44").await.access_token;
    let export = users.export_me(&access).await.unwrap();
    let link = export.uploads[0].url.clone();
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        StatusCode::OK,
        "{link}"
    );
    auth.export_me(&access).await.unwrap();
    users.export(&id).await.unwrap();
    auth.export_user(&id).await.unwrap();

    // A user deleting its own account (the password proven again): the auth projector
    // publishes UserDeletionRequested, the user subscriber deletes the profile, the auth
    // subscriber the Cognito user.
    let leaver = register(&auth, &users, "leaver@example.com", "leaver").await;
    let leaver = leaver.id;
    // A listing of the two users a page at a time: the Queries of its index, and the User
    // API's key, read to seal the cursor.
    let one = ListUsers {
        limit: Some(1),
        ..Default::default()
    };
    let page = users.list_users(&one, None).await.unwrap();
    let cursor = page.next_cursor.unwrap();
    // A cursor is URL-safe base64 after its `c1.`: it goes into a query string as it is.
    let page = users.list_users(&one, Some(&cursor)).await.unwrap();
    assert_eq!(page.users.len(), 1);
    let tokens = auth
        .login(&LoginRequest::new("leaver@example.com", "Iam-Secret-42"))
        .await
        .unwrap();
    auth.delete_me(
        &tokens.access_token,
        &DeleteAccountRequest {
            password: "Iam-Secret-42".to_owned(),
        },
    )
    .await
    .unwrap();
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
    for (status, enabled) in [(Status::Suspended, false), (Status::Confirmed, true)] {
        users.set_status(&id, status, None).await.unwrap();
        eventually(status.as_str(), Duration::from_secs(20), || async {
            (pool_user(&pool, &pool_id, &id).await?.0 == enabled).then_some(())
        })
        .await;
    }

    // A deletion with an upload URL issued before it and used after it: the User API erases
    // the profile and avatars, the auth subscriber deletes the Cognito user and releases the
    // identifiers, and the avatar sweeper's run finds what the late upload left.
    let late = upload_avatar(&users, &id, false).await;
    users.delete(&id, None).await.unwrap();
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
    let gone = gone.id;
    upload_avatar(&users, &gone, true).await;
    proxy.inject(Fault::always("AdminAddUserToGroup", When::Before));
    proxy.inject(Fault::always("AdminDeleteUser", When::Before));
    let abandoned = auth
        .register(
            &RegisterRequest::new("abandoned@example.com", "abandoned", "Iam-Secret-42"),
            Some("iam-abandoned-registration"),
        )
        .await
        .expect_err("the pool's faults fail the registration");
    assert!(
        abandoned
            .status()
            .is_some_and(|status| status.is_server_error()),
        "{abandoned:?}"
    );
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
            let status = users
                .user(&gone)
                .await
                .err()
                .and_then(|error| error.status());
            (status == Some(StatusCode::NOT_FOUND)).then_some(())
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

//! Probes of the AWS resources behind a test stack, as a test reads and seeds them: waiting
//! for a condition, seeding pool users as an operator would, reading the auth table and the
//! pool, tapping the bus with a queue of one's own, reading queues.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use roster_infra::resources::AUTH_TABLE;
use serde_json::Value;

use crate::harness::TestResources;

/// Polls `check` until it returns `Some`, or fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates a confirmed user with a permanent password directly in the pool.
pub async fn seed_user(resources: &TestResources, email: &str, password: &str) {
    seed_pool_user(
        &resources.sdk,
        &resources.provisioned.user_pool_id,
        email,
        password,
        &[],
    )
    .await;
}

/// A user made in `pool` without the Auth API (as an operator would): confirmed, with a
/// permanent password and `groups`. Returns its username.
pub async fn seed_pool_user(
    sdk: &aws_config::SdkConfig,
    pool: &str,
    email: &str,
    password: &str,
    groups: &[&str],
) -> String {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let created = cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(email)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .unwrap(),
        )
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let username = created.user().unwrap().username().unwrap().to_owned();
    cognito
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(&username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    for group in groups {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(&username)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    username
}

/// Every item of the Auth API's table, as JSON.
pub async fn auth_items(resources: &TestResources) -> Vec<Value> {
    let output = aws_sdk_dynamodb::Client::new(&resources.sdk)
        .scan()
        .table_name(resources.names.table(&AUTH_TABLE))
        .send()
        .await
        .unwrap();
    output
        .items()
        .iter()
        .map(|item| serde_dynamo::from_item(item.clone()).unwrap())
        .collect()
}

/// The emails of every user in the pool, sorted.
pub async fn cognito_emails(resources: &TestResources) -> Vec<String> {
    let users = aws_sdk_cognitoidentityprovider::Client::new(&resources.sdk)
        .list_users()
        .user_pool_id(&resources.provisioned.user_pool_id)
        .send()
        .await
        .unwrap();
    let mut emails: Vec<String> = users
        .users()
        .iter()
        .filter_map(|user| {
            user.attributes()
                .iter()
                .find(|attribute| attribute.name() == "email")
                .and_then(|attribute| attribute.value().map(ToOwned::to_owned))
        })
        .collect();
    emails.sort();
    emails
}

/// A queue that receives the bus's events matching `pattern`, as a downstream subscriber
/// would; returns its URL.
pub async fn tap(sdk: &aws_config::SdkConfig, bus: &str, name: &str, pattern: Value) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_attributes(&sqs, &url).await[&QueueAttributeName::QueueArn].clone();
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("tap")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// Waits for one message on `queue` and returns its body as JSON.
pub async fn next_message(sdk: &aws_config::SdkConfig, queue: &str) -> Value {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    eventually("a message on the tap", Duration::from_secs(20), || async {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .first()
            .and_then(|message| message.body())
            .map(|body| serde_json::from_str(body).unwrap())
    })
    .await
}

/// The bodies of the messages on `queue`: received until `expected` have come or `timeout`
/// passed, plus whatever one more receive finds (so a surplus shows too).
pub async fn receive_bodies(
    sdk: &aws_config::SdkConfig,
    queue: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let receive = || async {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received
            .messages()
            .iter()
            .filter_map(|message| message.body().map(ToOwned::to_owned))
            .collect::<Vec<_>>()
    };
    let mut bodies = Vec::new();
    let deadline = Instant::now() + timeout;
    while bodies.len() < expected && Instant::now() < deadline {
        bodies.extend(receive().await);
    }
    bodies.extend(receive().await);
    bodies
}

/// Every attribute of a queue.
pub async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String> {
    sqs.get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
}

pub use roster_local::mailbox::Mail;

/// The mail sent from the stack whose mail domain is `mail_domain` (its
/// `Provisioned::mail_domain`) to `to`, oldest first: the local endpoint's mailbox, as the
/// stack's mailbox page reads it.
pub async fn mail_to(mail_domain: &str, to: &str) -> Vec<Mail> {
    roster_local::mailbox::messages(
        &reqwest::Client::new(),
        crate::harness::endpoint_url().await,
        mail_domain,
        Some(to),
    )
    .await
    .unwrap_or_else(|error| panic!("the mailbox: {error:#}"))
}

/// Waits until at least `count` mails to `to` have come from the stack of `mail_domain`;
/// returns them all, oldest first.
pub async fn wait_for_mail(mail_domain: &str, to: &str, count: usize) -> Vec<Mail> {
    eventually(
        &format!("{count} mail(s) to {to}"),
        Duration::from_secs(30),
        || async {
            let mail = mail_to(mail_domain, to).await;
            (mail.len() >= count).then_some(mail)
        },
    )
    .await
}

/// The activation code of the `nth` mail (1 for the first) to `to`, waiting for it: the code a
/// user reads in its mail.
pub async fn activation_code(mail_domain: &str, to: &str, nth: usize) -> String {
    let mail = wait_for_mail(mail_domain, to, nth).await;
    mail[nth - 1]
        .activation_code()
        .unwrap_or_else(|| panic!("no activation code in {:?}", mail[nth - 1].text))
}

//! What the `roster` operations command works with: a target (the running local stack, or a
//! deployed stage on AWS) and the operations on it that are more than one SDK call: users,
//! and a live tail of the event bus.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use roster_user_api::config::UserConfig;
use roster_user_api::domain::{Lookup, UserId};
use roster_user_api::error::UserError;
use roster_user_api::listing::{ListRequest, MAX_LIMIT};
use roster_user_api::model::{User, UserSummary};
use roster_user_api::profiles::{Context, Profiles};
use serde_json::Value;

use roster_infra::resources::{Names, USERS_TABLE};
use roster_local::stack::LocalFacts;

/// Where the command acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The local stack whose `local.json` is in this directory.
    Local(PathBuf),
    /// A stage deployed from `infra/template.yaml`: its resources are named `roster-{stage}-*`.
    Aws {
        stage: String,
        profile: Option<String>,
        region: Option<String>,
        /// The assets bucket (its name ends in the account id); only user commands need it.
        bucket: Option<String>,
    },
}

/// A target, connected: SDK configuration and the names of its resources.
pub struct Ops {
    pub sdk: SdkConfig,
    pub names: Names,
    /// The users table, bucket and public assets URL, as the User API's functions see them.
    users: Option<UserConfig>,
}

impl Target {
    pub async fn connect(self) -> Result<Ops> {
        match self {
            Target::Local(state_dir) => {
                let facts = LocalFacts::read(&state_dir).with_context(|| {
                    format!(
                        "no running local stack ({} has no local.json); start one with \
                         `cargo stack`, or choose a stage on AWS with --stage",
                        state_dir.display()
                    )
                })?;
                let sdk = roster_platform::aws::local(&facts.aws_endpoint, &facts.region).await;
                let users = UserConfig {
                    table: facts
                        .tables
                        .get(USERS_TABLE.name)
                        .cloned()
                        .unwrap_or_default(),
                    bucket: facts.bucket.clone(),
                    assets_base_url: facts.assets_url(),
                    cors: Default::default(),
                    // The operator lists in process, with no cursor to seal.
                    key_secret: None,
                };
                Ok(Ops {
                    sdk,
                    names: Names::new(facts.prefix),
                    users: Some(users),
                })
            }
            Target::Aws {
                stage,
                profile,
                region,
                bucket,
            } => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .timeout_config(roster_platform::aws::timeouts());
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(region) = region {
                    loader = loader.region(Region::new(region));
                }
                let sdk = loader.load().await;
                let names = Names::new(format!("roster-{stage}"));
                let users = bucket.map(|bucket| {
                    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
                    UserConfig {
                        table: names.table(&USERS_TABLE),
                        assets_base_url: format!("https://{bucket}.s3.{region}.amazonaws.com"),
                        bucket,
                        cors: Default::default(),
                        key_secret: None,
                    }
                });
                Ok(Ops { sdk, names, users })
            }
        }
    }
}

impl Ops {
    fn profiles(&self) -> Result<Profiles> {
        let config = self
            .users
            .as_ref()
            .context("user commands on AWS need --bucket (the stage's assets bucket)")?;
        Ok(config.profiles(&self.sdk))
    }

    /// A user by id, in the User API's response shape.
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let profiles = self.profiles()?;
        let id = UserId::parse(id).map_err(|error| anyhow::anyhow!("{error}"))?;
        found(profiles.get(&id).await, &profiles)
    }

    /// A user by email, name or handle.
    pub async fn find(&self, lookup: &Lookup) -> Result<Option<User>> {
        let profiles = self.profiles()?;
        found(profiles.find(lookup).await, &profiles)
    }

    /// The target's app clients: the client id of each frontend, found by name in the
    /// target's user pool (`<prefix>-users`, clients `<prefix>-<frontend>`), as provisioning
    /// and the SAM template name them.
    pub async fn app_clients(&self) -> Result<BTreeMap<String, String>> {
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&self.sdk);
        let pool_name = self.names.user_pool();
        let pool = roster_local::provision::find_user_pool(&cognito, &pool_name)
            .await?
            .with_context(|| format!("no user pool named {pool_name}"))?;
        let prefix = format!("{}-", self.names.prefix());
        let mut clients = BTreeMap::new();
        let mut pages = cognito
            .list_user_pool_clients()
            .user_pool_id(&pool)
            .max_results(60)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for found in page.context("listing app clients")?.user_pool_clients() {
                if let (Some(name), Some(id)) = (found.client_name(), found.client_id())
                    && let Some(frontend) = name.strip_prefix(&prefix)
                {
                    clients.insert(frontend.to_owned(), id.to_owned());
                }
            }
        }
        Ok(clients)
    }

    /// Deletes a user as `DELETE /user/{id}` does: profile and uploads gone, `UserDeleted`
    /// published from the table's stream, and the Cognito user removed by the Auth API's
    /// subscriber. Returns the profile as it was, or `None` if there was none.
    /// Everything Roster holds about a user, as one JSON document: the User API's part (the
    /// profile, its bookkeeping, every version of its uploads with links valid for 15 minutes)
    /// and the Auth API's (the identity record and the user pool's record). Read straight from
    /// the target's tables, bucket and pool with the operator's credentials; either part is
    /// null when that service holds nothing of the user. `None` when neither does.
    pub async fn export_user(&self, id: &str) -> Result<Option<Value>> {
        use roster_auth_api::account::{AccountError, export_identity};

        let profiles = self.profiles()?;
        let user_id = UserId::parse(id).map_err(|error| anyhow::anyhow!("{error}"))?;
        let profile = match profiles.get(&user_id).await {
            Ok(profile) => Some(
                profiles
                    .export(&profile)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?,
            ),
            Err(UserError::UserNotFound) => None,
            Err(error) => bail!("{error}"),
        };
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&self.sdk);
        let pool_name = self.names.user_pool();
        let pool = roster_local::provision::find_user_pool(&cognito, &pool_name)
            .await?
            .with_context(|| format!("no user pool named {pool_name}"))?;
        let table = roster_auth_api::store::AuthTable::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            self.names.table(&roster_infra::resources::AUTH_TABLE),
        );
        let directory = roster_auth_api::cognito::CognitoDirectory::new(cognito, pool);
        let identity = match export_identity(&table, &directory, user_id.as_str()).await {
            Ok(identity) => Some(identity),
            Err(AccountError::NoIdentity) => None,
            Err(error) => bail!("{error}"),
        };
        if profile.is_none() && identity.is_none() {
            return Ok(None);
        }
        Ok(Some(
            serde_json::json!({ "profile": profile, "identity": identity }),
        ))
    }

    /// Users of a listing (`GET /users`'s parameters, with its rules), read straight from the
    /// target's listing indexes a page at a time: at most `max` (every one when `None`).
    /// Returns them, and whether more follow.
    pub async fn list_users(
        &self,
        params: &[(String, String)],
        max: Option<usize>,
    ) -> Result<(Vec<UserSummary>, bool)> {
        let profiles = self.profiles()?;
        let request = ListRequest::parse(params).map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut users = Vec::new();
        let mut after = None;
        loop {
            let limit = match max {
                Some(max) => (max - users.len()).clamp(1, MAX_LIMIT),
                None => MAX_LIMIT,
            };
            let page = profiles
                .list(&request.query, after.as_ref(), limit)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            users.extend(page.items.into_iter().map(UserSummary::from));
            after = page.next;
            let full = max.is_some_and(|max| users.len() >= max);
            if after.is_none() || full {
                return Ok((users, after.is_some()));
            }
        }
    }

    pub async fn delete_user(&self, id: &str) -> Result<Option<User>> {
        let profiles = self.profiles()?;
        let id = UserId::parse(id).map_err(|error| anyhow::anyhow!("{error}"))?;
        let context = Context {
            correlation_id: Some(format!("roster-cli-{}", uuid::Uuid::new_v4().simple())),
            if_match: None,
        };
        found(profiles.delete(&id, &context).await, &profiles)
    }
}

fn found(
    result: Result<roster_user_api::domain::Profile, UserError>,
    profiles: &Profiles,
) -> Result<Option<User>> {
    match result {
        Ok(item) => Ok(Some(User::from_profile(&item, &profiles.assets))),
        Err(UserError::UserNotFound) => Ok(None),
        Err(error) => Err(anyhow::anyhow!("{error}")),
    }
}

/// The tail's queue, as its rule's target.
const TARGET_ID: &str = "tail";

/// How long one receive waits for an event.
pub const LONG_POLL_SECONDS: i32 = 10;

/// A live subscription to the event bus: a queue of its own and a rule sending every Roster
/// event to it, removed again by [`Tail::close`]. Messages expire after five minutes, so a
/// tail killed before it could clean up leaves little behind.
pub struct Tail {
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    bus: String,
    pub rule: String,
    pub queue_url: String,
}

impl Tail {
    pub async fn open(ops: &Ops) -> Result<Self> {
        use aws_sdk_sqs::types::QueueAttributeName;

        // A long poll outlasts the workspace's 3 s attempt timeout: give it room.
        let long_poll = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(Duration::from_secs(LONG_POLL_SECONDS as u64 + 5))
            .operation_timeout(Duration::from_secs(LONG_POLL_SECONDS as u64 + 15))
            .build();
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&ops.sdk)
                .timeout_config(long_poll)
                .build(),
        );
        let events = aws_sdk_eventbridge::Client::new(&ops.sdk);
        let bus = ops.names.bus();
        let name = format!(
            "{}-tail-{}",
            ops.names.prefix(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "300")
            .send()
            .await
            .context("creating the tail's queue")?
            .queue_url
            .context("the new queue has no URL")?;
        let tail = Self {
            sqs,
            events,
            bus,
            rule: name,
            queue_url,
        };
        if let Err(error) = tail.subscribe().await {
            tail.close().await;
            return Err(error);
        }
        Ok(tail)
    }

    async fn subscribe(&self) -> Result<()> {
        let pattern = serde_json::json!({
            "source": [roster_events::source::AUTH, roster_events::source::USER],
        });
        let rule_arn = self
            .events
            .put_rule()
            .name(&self.rule)
            .event_bus_name(&self.bus)
            .event_pattern(pattern.to_string())
            .description("roster events tail: removed when the tail stops")
            .send()
            .await
            .with_context(|| format!("creating a rule on the bus {}", self.bus))?
            .rule_arn
            .context("the new rule has no ARN")?;
        roster_local::provision::deliver_to_queue(
            &self.sqs,
            &self.events,
            &self.bus,
            &self.rule,
            &rule_arn,
            &self.queue_url,
            TARGET_ID,
        )
        .await?;
        Ok(())
    }

    /// The next events, waiting up to [`LONG_POLL_SECONDS`] for the first.
    pub async fn next(&self) -> Result<Vec<Value>> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(LONG_POLL_SECONDS)
            .send()
            .await?;
        let mut events = Vec::new();
        for message in received.messages.unwrap_or_default() {
            let body = message.body.as_deref().unwrap_or("null");
            events.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())));
            if let Some(handle) = message.receipt_handle {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        Ok(events)
    }

    /// Removes the rule and the queue; what cannot be removed is reported, not fatal.
    pub async fn close(&self) {
        let removed = async {
            self.events
                .remove_targets()
                .rule(&self.rule)
                .event_bus_name(&self.bus)
                .ids(TARGET_ID)
                .send()
                .await?;
            self.events
                .delete_rule()
                .name(&self.rule)
                .event_bus_name(&self.bus)
                .send()
                .await?;
            anyhow::Ok(())
        };
        if let Err(error) = removed.await {
            eprintln!("could not remove the rule {}: {error:#}", self.rule);
        }
        if let Err(error) = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await
        {
            eprintln!("could not remove the queue {}: {error}", self.queue_url);
        }
    }
}

/// One event as a line: time, type, and its detail.
pub fn event_line(event: &Value) -> String {
    let time = event["time"].as_str().unwrap_or("?");
    let kind = event["detail-type"].as_str().unwrap_or("?");
    let source = event["source"].as_str().unwrap_or("?");
    format!("{time}  {kind:<22} {source:<12} {}", event["detail"])
}

/// Parses `--email`, `--name` or `--handle` with its value into a lookup.
pub fn lookup(flag: &str, value: &str) -> Result<Lookup> {
    let parsed = match flag {
        "--email" => Lookup::email(value),
        "--name" => Lookup::name(value),
        "--handle" => Lookup::handle(value),
        other => bail!("find takes --email, --name or --handle, not {other}"),
    };
    parsed.map_err(|error| anyhow::anyhow!("{error}"))
}

/// The depths of a target's queues: each subscriber's queue, its dead-letter queue and the
/// stream-failures queue. A stream's lag is not here: on AWS it is the mapping's
/// `IteratorAge` metric (CloudWatch); the local stack's watchdog measures it itself.
pub async fn queue_status(ops: &Ops) -> Result<roster_local::plumbing::watch::PlumbingStatus> {
    use crate::dead_letters::queue_url;
    use roster_infra::resources::SUBSCRIBERS;
    use roster_local::plumbing::watch::{PlumbingStatus, QueueDepth, QueueLag, counts};

    let sqs = aws_sdk_sqs::Client::new(&ops.sdk);
    let mut status = PlumbingStatus {
        checked_at: chrono::Utc::now().to_rfc3339(),
        ..PlumbingStatus::default()
    };
    for spec in SUBSCRIBERS {
        let name = ops.names.queue(spec);
        let (waiting, in_flight) = counts(&sqs, &queue_url(&sqs, &name).await?).await?;
        status.queues.push(QueueLag {
            queue: name,
            waiting,
            in_flight,
            waiting_for_seconds: None,
        });
    }
    let dead = SUBSCRIBERS
        .iter()
        .map(|spec| ops.names.dead_letter_queue(spec))
        .chain([ops.names.stream_failures_queue()]);
    for name in dead {
        let (waiting, in_flight) = counts(&sqs, &queue_url(&sqs, &name).await?).await?;
        status.dead_letters.push(QueueDepth {
            queue: name,
            messages: waiting + in_flight,
        });
    }
    Ok(status)
}

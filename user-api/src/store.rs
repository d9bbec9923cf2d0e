//! The users table, which the User API owns: its declaration ([`TABLE`], read by the template's
//! parity check and local provisioning), its item types, and the adapter. One item per user
//! keyed by the Cognito `sub`, with an index per lookup (`lookup-by-name`, `lookup-by-email`,
//! `lookup-by-handle`, `by-activation-code`).
//!
//! Every change is one conditional request on the item: it names the state it expects
//! (the item exists and is no tombstone; a status it may leave; a badge it lacks; the version
//! read), so concurrent writers never lose each other's changes. Each change raises `version`
//! by one; only `lastLoginAt` does not (it is not a change of the profile, and must not make a
//! caller's `If-Match` fail). A deletion leaves a tombstone (no personal data, expiring with
//! the table's TTL after [`TOMBSTONE_DAYS`]) so that a late redelivery of `UserRegistered`
//! cannot bring the profile back.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

use roster_events::{Email, Role, Timestamp, UserId, UserStatus};

use crate::domain::{Lookup, Profile, Settings};
use roster_platform::table::{IndexSpec, Projection, StreamView, TableSpec};
use sha2::{Digest, Sha256};

/// One index per lookup, keyed by the lowercase key the lookup gives. They hold only the keys
/// (the user's `id` and the lookup key), so a profile write that leaves name, email and handle
/// alone writes none of them: a sign-in's `lastLoginAt`, a badge, data or settings is 1 WRU
/// instead of 4, a status change 7 instead of 10 (BENCHMARKS.md, "Cost per request and per
/// user"). A lookup is a Query for the id, then a strongly consistent GetItem of the profile.
///
/// Named `lookup-by-*` because they replaced `by-name`, `by-email` and `by-handle`, which
/// projected every attribute: DynamoDB cannot change an index's projection in place
/// (docs/deploy.md, "Moving a stage to the KEYS_ONLY lookup indexes").
pub const BY_NAME: IndexSpec = IndexSpec {
    name: "lookup-by-name",
    partition_key: "nameKey",
    sort_key: None,
    projection: Projection::KeysOnly,
};
pub const BY_EMAIL: IndexSpec = IndexSpec {
    name: "lookup-by-email",
    partition_key: "emailKey",
    sort_key: None,
    projection: Projection::KeysOnly,
};
pub const BY_HANDLE: IndexSpec = IndexSpec {
    name: "lookup-by-handle",
    partition_key: "handleKey",
    sort_key: None,
    projection: Projection::KeysOnly,
};
/// How many entries a lookup reads from its index. Names, emails and handles are unique among
/// live profiles (the Auth API reserves them), so more than one entry is a stale one: a deleted
/// user's, not yet removed from the index, next to the key's new holder.
const LOOKUP_CANDIDATES: i32 = 4;

/// The profile `item` is, if it is a profile and still holds `key` as `index`'s key: what a
/// lookup answers with, past an index's stale entries.
fn holding(item: Item, index: &IndexSpec, key: &str) -> Result<Option<Profile>, StoreError> {
    let holds_key = matches!(item.get(index.partition_key), Some(AttributeValue::S(k)) if k == key);
    if !holds_key {
        return Ok(None);
    }
    Ok(Stored::from_item(item)?.profile())
}

/// Sparse: profiles whose activation code is unused.
pub const BY_ACTIVATION_CODE: IndexSpec = IndexSpec {
    name: "by-activation-code",
    partition_key: "activationCodeHash",
    sort_key: None,
    projection: Projection::All,
};
/// Sparse: tombstones whose uploads are still to be swept, by deletion time.
pub const UPLOADS_SWEEP: IndexSpec = IndexSpec {
    name: "uploads-sweep",
    partition_key: "sweepShard",
    sort_key: Some("deletedAt"),
    projection: Projection::All,
};

/// How many partitions each listing index spreads its users over: a user's is a hash of its
/// id ([`list_shard`]), and a page of a listing takes one Query per shard. 32 keeps every
/// partition-key value under 63% of DynamoDB's 1,000 writes a second at 10,000 registrations
/// and as many activations a second (README, "Listing users at scale"; ADR 8). Changing it
/// moves every user to another shard: a reindex.
pub const LIST_SHARDS: u32 = 32;

/// What the listing indexes hold besides their keys: the summary `GET /users` answers with,
/// nothing that changes on a sign-in, a data write or a badge.
pub const LISTED: &[&str] = &["name", "handle", "email", "status", "createdAt"];

/// Every profile by creation: `listShard` / `createdKey` (`<createdAt, UTC, ms>#<id>`).
pub const LIST_BY_CREATED: IndexSpec = IndexSpec {
    name: "list-by-created",
    partition_key: "listShard",
    sort_key: Some("createdKey"),
    projection: Projection::Include(LISTED),
};
/// Profiles of one status by creation: `statusShard` (`<status>#<listShard>`) / `createdKey`.
pub const LIST_BY_STATUS: IndexSpec = IndexSpec {
    name: "list-by-status",
    partition_key: "statusShard",
    sort_key: Some("createdKey"),
    projection: Projection::Include(LISTED),
};
/// Profiles by name (its lowercase key): `listShard` / `nameKey`, for prefixes.
pub const LIST_BY_NAME: IndexSpec = IndexSpec {
    name: "list-by-name",
    partition_key: "listShard",
    sort_key: Some("nameKey"),
    projection: Projection::Include(LISTED),
};
/// Profiles by normalised email: `listShard` / `emailKey`, for prefixes.
pub const LIST_BY_EMAIL: IndexSpec = IndexSpec {
    name: "list-by-email",
    partition_key: "listShard",
    sort_key: Some("emailKey"),
    projection: Projection::Include(LISTED),
};
/// Profiles by handle (`@` and lowercase): `listShard` / `handleKey`, for prefixes.
pub const LIST_BY_HANDLE: IndexSpec = IndexSpec {
    name: "list-by-handle",
    partition_key: "listShard",
    sort_key: Some("handleKey"),
    projection: Projection::Include(LISTED),
};

/// This table, as the template declares it and local provisioning creates it: one profile per
/// user keyed by the Cognito `sub`, with one index per lookup and one per listing order.
/// Profiles never expire; the TTL only removes the tombstones deleted profiles leave (they
/// guard against a late `UserRegistered`). Its stream carries both images: the projector
/// publishes what changed between them.
pub const TABLE: TableSpec = TableSpec {
    name: "users",
    partition_key: "id",
    sort_key: None,
    indexes: &[
        BY_NAME,
        BY_EMAIL,
        BY_HANDLE,
        BY_ACTIVATION_CODE,
        UPLOADS_SWEEP,
        LIST_BY_CREATED,
        LIST_BY_STATUS,
        LIST_BY_NAME,
        LIST_BY_EMAIL,
        LIST_BY_HANDLE,
    ],
    ttl_attribute: Some("expiresAt"),
    stream_view: StreamView::NewAndOldImages,
};

/// The listing shard of a user: the first four bytes of the SHA-256 of its id, modulo
/// [`LIST_SHARDS`], as two digits.
pub fn list_shard(id: &UserId) -> String {
    format!("{:02}", shard_number(id))
}

fn shard_number(id: &UserId) -> u32 {
    let digest = Sha256::digest(id.as_str().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % LIST_SHARDS
}

/// The partition of `list-by-status` holding users of `status` in `shard`.
pub fn status_shard(status: UserStatus, shard: &str) -> String {
    format!("{}#{shard}", status.as_str())
}

/// A creation time as the created-order indexes sort it: UTC with milliseconds, fixed width.
pub fn created_sort_time(at: &Timestamp) -> String {
    at.to_datetime()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The sort key of the created-order indexes: unique, so a position in them is exact.
pub fn created_key(at: &Timestamp, id: &UserId) -> String {
    format!("{}#{}", created_sort_time(at), id.as_str())
}

/// How long a tombstone outlives the profile: longer than a live delivery of `UserRegistered`
/// can take (a day in the auth table's stream, a day of the bus's retries, 14 days in the
/// subscriber's queue and its dead-letter queue), so none of those is refused by the replay
/// guard ([`crate::profiles::beyond_the_tombstones`]), which refuses anything older.
pub const TOMBSTONE_DAYS: i64 = 17;

pub type Item = HashMap<String, AttributeValue>;

/// A profile as stored. Separate from the API's JSON: index keys, the version and the
/// activation-code hash live here and nowhere else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileItem {
    pub id: UserId,
    pub email: Email,
    pub email_key: String,
    pub name: String,
    pub name_key: String,
    pub handle: String,
    pub handle_key: String,
    pub role: Role,
    pub status: UserStatus,
    pub source_system: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<Timestamp>,
    /// Present until the code is used: the `by-activation-code` index is sparse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_code_hash: Option<String>,
    /// Epoch seconds after which the code is refused with 410.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_expires_at: Option<i64>,
    /// The generation of the code whose hash is kept (absent: 0, the registration's): only a
    /// newer `ActivationCodeReissued` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_generation: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<Timestamp>,
    pub profile_data: ProfileDataItem,
    /// Badge name to when it was awarded.
    pub badges: BTreeMap<String, BadgeItem>,
    /// The user's free-form data as JSON text: kept byte-exact, whatever it holds.
    pub data: String,
    pub version: u64,
    pub updated_at: Timestamp,
    /// The correlation id of the request (or event) behind the latest change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The `UserRegistered` event the profile was created from.
    pub registered_event_id: String,
    /// A fresh id per change: a retried call whose first attempt landed (its answer lost)
    /// finds its own id here and is not applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_write_id: Option<String>,
    /// Epoch seconds: the user's tokens issued at or before it are refused (`SessionsRevoked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_revoked_before: Option<i64>,
    /// The listing indexes' keys ([`list_shard`], [`status_shard`], [`created_key`]), written
    /// with the profile; `statusShard` changes with the status. Absent on a profile written
    /// before the listing indexes existed, which they do not list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileDataItem {
    pub lang: String,
    pub currency: String,
    pub avatar_url: String,
    /// The bucket key of an uploaded avatar; absent for a default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BadgeItem {
    pub awarded_at: Timestamp,
}

/// The one partition of the `uploads-sweep` index: deletions are few, and each tombstone stays
/// in it only until its sweep, minutes after the deletion.
pub const SWEEP_SHARD: &str = "SWEEP";

/// What is left of a deleted profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub id: UserId,
    pub deleted_at: Timestamp,
    pub version: u64,
    /// Epoch seconds: the table's TTL removes the tombstone after that.
    pub expires_at: i64,
    /// [`SWEEP_SHARD`] until the user's upload prefix has been swept once more, after every
    /// upload URL issued before the deletion expired; it puts the tombstone in the sparse
    /// `uploads-sweep` index (sorted by `deletedAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// As [`ProfileItem::last_write_id`]: the delete that wrote this tombstone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_write_id: Option<String>,
}

/// What one item of the table is, as stored.
#[derive(Debug, Clone, PartialEq)]
enum Image {
    Profile(Box<ProfileItem>),
    Deleted(Tombstone),
}

impl Image {
    fn from_item(item: Item) -> Result<Self, StoreError> {
        if item.contains_key("deletedAt") {
            Ok(Self::Deleted(serde_dynamo::from_item(item)?))
        } else {
            Ok(Self::Profile(Box::new(serde_dynamo::from_item(item)?)))
        }
    }
}

/// What the table holds for a user id: a profile, or the tombstone of a deleted one.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Profile(Box<Profile>),
    Deleted,
}

impl Stored {
    fn from_item(item: Item) -> Result<Self, StoreError> {
        Ok(Image::from_item(item)?.into())
    }

    pub fn profile(self) -> Option<Profile> {
        match self {
            Self::Profile(profile) => Some(*profile),
            Self::Deleted => None,
        }
    }
}

impl From<Image> for Stored {
    fn from(image: Image) -> Self {
        match image {
            Image::Profile(item) => Self::Profile(Box::new((*item).into())),
            Image::Deleted(_) => Self::Deleted,
        }
    }
}

impl From<ProfileItem> for Profile {
    fn from(item: ProfileItem) -> Self {
        Self {
            id: item.id,
            email: item.email,
            name: item.name,
            handle: item.handle,
            role: item.role,
            status: item.status,
            source_system: item.source_system,
            created_at: item.created_at,
            last_login_at: item.last_login_at,
            activation_code_hash: item.activation_code_hash,
            activation_expires_at: item.activation_expires_at,
            activated_at: item.activated_at,
            settings: Settings {
                lang: item.profile_data.lang,
                currency: item.profile_data.currency,
                avatar_url: item.profile_data.avatar_url,
                avatar_key: item.profile_data.avatar_key,
            },
            badges: item
                .badges
                .into_iter()
                .map(|(name, badge)| (name, badge.awarded_at))
                .collect(),
            data: item.data,
            version: item.version,
            sessions_revoked_before: item.sessions_revoked_before,
        }
    }
}

impl ProfileItem {
    /// A new profile as stored: with its index keys, created by `registered_event_id` at
    /// `at`, for the request or event `correlation_id`.
    fn new(
        profile: &Profile,
        registered_event_id: &str,
        at: &Timestamp,
        correlation_id: Option<&str>,
    ) -> Self {
        Self {
            id: profile.id.clone(),
            email: profile.email.clone(),
            email_key: roster_events::email::normalise(profile.email.as_str()),
            name: profile.name.clone(),
            name_key: profile.name.to_ascii_lowercase(),
            handle: profile.handle.clone(),
            handle_key: profile.handle.to_ascii_lowercase(),
            role: profile.role,
            status: profile.status,
            source_system: profile.source_system.clone(),
            created_at: profile.created_at.clone(),
            last_login_at: profile.last_login_at.clone(),
            activation_code_hash: profile.activation_code_hash.clone(),
            activation_expires_at: profile.activation_expires_at,
            activation_generation: None,
            activated_at: profile.activated_at.clone(),
            profile_data: ProfileDataItem {
                lang: profile.settings.lang.clone(),
                currency: profile.settings.currency.clone(),
                avatar_url: profile.settings.avatar_url.clone(),
                avatar_key: profile.settings.avatar_key.clone(),
            },
            badges: profile
                .badges
                .iter()
                .map(|(name, awarded_at)| {
                    (
                        name.clone(),
                        BadgeItem {
                            awarded_at: awarded_at.clone(),
                        },
                    )
                })
                .collect(),
            data: profile.data.clone(),
            version: profile.version,
            updated_at: at.clone(),
            correlation_id: correlation_id.map(str::to_owned),
            registered_event_id: registered_event_id.to_owned(),
            last_write_id: None,
            sessions_revoked_before: profile.sessions_revoked_before,
            list_shard: Some(list_shard(&profile.id)),
            status_shard: Some(status_shard(profile.status, &list_shard(&profile.id))),
            created_key: Some(created_key(&profile.created_at, &profile.id)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the users table is unavailable: {0}")]
    Unavailable(String),
    #[error("the users table is throttling")]
    Throttled,
    #[error("a stored item does not read as a profile: {0}")]
    Corrupt(#[from] serde_dynamo::Error),
    #[error("a stored item does not read: {0}")]
    Unreadable(String),
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        let code = error.as_service_error().and_then(|e| e.code());
        match code {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded",
            ) => StoreError::Throttled,
            _ => StoreError::Unavailable(
                aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
            ),
        }
    }
}

/// The outcome of a conditional update.
#[derive(Debug)]
pub enum Updated {
    /// It landed; the profile as it is now.
    Done(Box<Profile>),
    /// A condition did not hold; the item as it was (none if there is no item).
    Refused(Option<Stored>),
}

/// One conditional update of a profile: `SET`/`REMOVE` clauses and conditions on top of the
/// ones every change has (the profile exists and is not deleted). Built only here, by the
/// intent-level methods of [`UsersTable`].
struct Change {
    /// Set by [`Change::new`]: see [`ProfileItem::last_write_id`].
    write_id: Option<String>,
    sets: Vec<String>,
    removes: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Change {
    /// A change that raises the version and records when, and why (the correlation id).
    fn new(now: &Timestamp, correlation_id: Option<&str>) -> Self {
        let mut change = Self::without_version();
        change.sets.push("version = version + :one".to_owned());
        change.value(":one", AttributeValue::N("1".to_owned()));
        change.set("updatedAt", ":now", AttributeValue::S(now.to_string()));
        match correlation_id {
            Some(id) => change.set(
                "correlationId",
                ":correlation",
                AttributeValue::S(id.to_owned()),
            ),
            None => change.remove("correlationId"),
        };
        // A retry of this very change (its first attempt landed, the answer was lost) is
        // refused here, and recognised as done by `UsersTable::update`.
        let write_id = new_write_id();
        change.set("lastWriteId", ":write", AttributeValue::S(write_id.clone()));
        change
            .condition("(attribute_not_exists(#lastWriteId) OR #lastWriteId <> :write)".to_owned());
        change.write_id = Some(write_id);
        change
    }

    /// A change that is no change of the profile (`lastLoginAt`).
    fn without_version() -> Self {
        Self {
            write_id: None,
            sets: Vec::new(),
            removes: Vec::new(),
            conditions: vec![
                "attribute_exists(id)".to_owned(),
                "attribute_not_exists(deletedAt)".to_owned(),
            ],
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }

    /// `SET path = placeholder`; `path` is a dotted attribute path, each part named safely.
    fn set(&mut self, path: &str, placeholder: &str, value: AttributeValue) -> &mut Self {
        let path = self.path(path);
        self.sets.push(format!("{path} = {placeholder}"));
        self.value(placeholder, value)
    }

    /// `SET status`, and the `list-by-status` partition that goes with it.
    fn status(&mut self, id: &UserId, to: UserStatus) -> &mut Self {
        self.set("status", ":to", AttributeValue::S(to.as_str().to_owned()))
            .set(
                "statusShard",
                ":toShard",
                AttributeValue::S(status_shard(to, &list_shard(id))),
            )
    }

    fn remove(&mut self, path: &str) -> &mut Self {
        let path = self.path(path);
        self.removes.push(path);
        self
    }

    /// An extra condition, written with the `#names` of [`Change::path`] and placeholders.
    fn condition(&mut self, condition: String) -> &mut Self {
        self.conditions.push(condition);
        self
    }

    /// The version the caller read (`If-Match`), when it gave one.
    fn expect_version(&mut self, version: Option<u64>) -> &mut Self {
        if let Some(version) = version {
            self.conditions.push("version = :expected".to_owned());
            self.value(":expected", AttributeValue::N(version.to_string()));
        }
        self
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) -> &mut Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// `a.b` as `#a.#b`, so no part collides with a reserved word.
    fn path(&mut self, path: &str) -> String {
        path.split('.')
            .map(|part| {
                let name = format!(
                    "#{}",
                    part.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                );
                self.names.insert(name.clone(), part.to_owned());
                name
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    fn expression(&self) -> String {
        let mut expression = String::new();
        if !self.sets.is_empty() {
            expression.push_str("SET ");
            expression.push_str(&self.sets.join(", "));
        }
        if !self.removes.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&self.removes.join(", "));
        }
        expression
    }
}

#[derive(Clone)]
pub struct UsersTable {
    client: Client,
    table: String,
}

impl UsersTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(id: &UserId) -> Item {
        HashMap::from([("id".to_owned(), AttributeValue::S(id.to_string()))])
    }

    /// The item of `id`, profile or tombstone. A strongly consistent read.
    pub async fn get(&self, id: &UserId) -> Result<Option<Stored>, StoreError> {
        self.get_item(id.as_str())
            .await?
            .map(Stored::from_item)
            .transpose()
    }

    /// The raw item of `id`: a strongly consistent GetItem.
    async fn get_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await?;
        Ok(output.item)
    }

    /// The profile of `id`, if there is one (a tombstone is none).
    pub async fn profile(&self, id: &UserId) -> Result<Option<Profile>, StoreError> {
        Ok(self.get(id).await?.and_then(Stored::profile))
    }

    /// The profile a lookup finds: a Query of its index for the ids it holds under the key,
    /// then a strongly consistent GetItem of each until one is a profile that still carries
    /// the key. Indexes are eventually consistent: a profile created a moment ago may not be
    /// found yet, and an entry may still name a user since deleted (a tombstone has no name,
    /// email or handle), whose name a new registration may already hold. Those stale entries
    /// are skipped, so what is answered is the profile as it is now, never an index's copy.
    pub async fn find(&self, lookup: &Lookup) -> Result<Option<Profile>, StoreError> {
        let index = match lookup {
            Lookup::Name(_) => &BY_NAME,
            Lookup::Email(_) => &BY_EMAIL,
            Lookup::Handle(_) => &BY_HANDLE,
        };
        let key = lookup.key();
        let entries = self.query(index, key, LOOKUP_CANDIDATES).await?;
        let full = entries.len() >= LOOKUP_CANDIDATES as usize;
        for entry in entries {
            let Some(AttributeValue::S(id)) = entry.get("id") else {
                continue;
            };
            let Some(item) = self.get_item(id).await? else {
                continue;
            };
            if let Some(profile) = holding(item, index, key)? {
                return Ok(Some(profile));
            }
        }
        if full {
            // More stale entries than a lookup reads: a live holder further on is missed.
            // The key is personal data and stays out of the log.
            tracing::warn!(
                index = index.name,
                entries = LOOKUP_CANDIDATES,
                "a lookup read only stale index entries; it answers not found"
            );
        }
        Ok(None)
    }

    /// The profile holding this activation-code hash, if the code is unused.
    pub async fn find_by_activation(&self, code_hash: &str) -> Result<Option<Profile>, StoreError> {
        self.query_one(&BY_ACTIVATION_CODE, code_hash).await
    }

    async fn query_one(&self, index: &IndexSpec, key: &str) -> Result<Option<Profile>, StoreError> {
        match self.query(index, key, 1).await?.into_iter().next() {
            Some(item) => Ok(Stored::from_item(item)?.profile()),
            None => Ok(None),
        }
    }

    /// Up to `limit` entries of `index` under the partition key `key`.
    async fn query(
        &self,
        index: &IndexSpec,
        key: &str,
        limit: i32,
    ) -> Result<Vec<Item>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", index.partition_key)
            .expression_attribute_values(":k", AttributeValue::S(key.to_owned()))
            .limit(limit)
            .send()
            .await?;
        Ok(output.items.unwrap_or_default())
    }

    /// Creates the profile unless an item of that id exists (a profile, or the tombstone of a
    /// deleted one): created at `at` from the `UserRegistered` event `registered_event_id`.
    /// Returns whether it was created.
    pub async fn create(
        &self,
        profile: &Profile,
        registered_event_id: &str,
        at: &Timestamp,
        correlation_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let item = ProfileItem::new(profile, registered_event_id, at, correlation_id);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_conditional_failure(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Applies a change to `id` in one conditional UpdateItem.
    async fn update(&self, id: &UserId, change: Change) -> Result<Updated, StoreError> {
        let write_id = change.write_id.clone();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression(change.expression())
            .condition_expression(change.conditions.join(" AND "))
            .set_expression_attribute_names(Some(change.names))
            .set_expression_attribute_values(Some(change.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                match Stored::from_item(item)? {
                    Stored::Profile(profile) => Ok(Updated::Done(profile)),
                    Stored::Deleted => Ok(Updated::Refused(None)),
                }
            }
            Err(error) => match conditional_failure_item(&error) {
                Some(old) => match old.map(Image::from_item).transpose()? {
                    // An SDK retry of a change whose first attempt landed.
                    Some(Image::Profile(profile))
                        if write_id.is_some() && profile.last_write_id == write_id =>
                    {
                        Ok(Updated::Done(Box::new((*profile).into())))
                    }
                    old => Ok(Updated::Refused(old.map(Stored::from))),
                },
                None => Err(error.into()),
            },
        }
    }

    /// Replaces `profile` (as the caller read it) by its tombstone, unless it is gone already
    /// (or, with `expected_version`, has changed). Returns the deleted profile, or what was
    /// there instead.
    pub async fn delete(
        &self,
        profile: Profile,
        expected_version: Option<u64>,
        now: &Timestamp,
        expires_at: i64,
        correlation_id: Option<&str>,
    ) -> Result<Result<Profile, Option<Stored>>, StoreError> {
        let tombstone = Tombstone {
            id: profile.id.clone(),
            deleted_at: now.clone(),
            version: profile.version + 1,
            expires_at,
            sweep_shard: Some(SWEEP_SHARD.to_owned()),
            correlation_id: correlation_id.map(str::to_owned),
            last_write_id: Some(new_write_id()),
        };
        // Only a caller's `If-Match` pins the version: without one, a change that lands
        // between the read and the delete is deleted with the rest.
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(&tombstone)?));
        request = match expected_version {
            Some(version) => request
                .condition_expression(
                    "attribute_exists(id) AND attribute_not_exists(deletedAt) AND version = :v",
                )
                .expression_attribute_values(":v", AttributeValue::N(version.to_string())),
            None => request
                .condition_expression("attribute_exists(id) AND attribute_not_exists(deletedAt)"),
        };
        let result = request
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(profile)),
            Err(error) => match conditional_failure_item(&error) {
                Some(old) => match old.map(Image::from_item).transpose()? {
                    // An SDK retry of this delete whose first attempt landed.
                    Some(Image::Deleted(written))
                        if written.last_write_id == tombstone.last_write_id =>
                    {
                        Ok(Ok(profile))
                    }
                    old => Ok(Err(old.map(Stored::from))),
                },
                None => Err(error.into()),
            },
        }
    }
}

/// What every change of a profile records: when, why (the correlation id of the request or
/// event behind it), and the version the caller read (`If-Match`), if it named one.
#[derive(Debug, Clone, Copy)]
pub struct Revision<'a> {
    pub at: &'a Timestamp,
    pub correlation_id: Option<&'a str>,
    pub expected_version: Option<u64>,
}

impl Revision<'_> {
    fn change(&self) -> Change {
        let mut change = Change::new(self.at, self.correlation_id);
        change.expect_version(self.expected_version);
        change
    }
}

/// A change of a profile's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate<'a> {
    pub lang: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub avatar: Option<AvatarUpdate<'a>>,
}

/// Which avatar a profile points at.
#[derive(Debug, Clone, Copy)]
pub enum AvatarUpdate<'a> {
    /// One of the default avatars, at this URL.
    Default { url: &'a str },
    /// An upload of the user's own, at this key of the bucket and this URL.
    Uploaded { url: &'a str, key: &'a str },
}

/// The changes the User API makes to a profile, each one conditional request. A change that
/// refuses tells why with the item as it was ([`Updated::Refused`]).
impl UsersTable {
    /// Records a sign-in at `at`, unless a later one is recorded. Not a change of the profile:
    /// the version stays.
    pub async fn record_login(&self, id: &UserId, at: &Timestamp) -> Result<Updated, StoreError> {
        let mut change = Change::without_version();
        change
            .set("lastLoginAt", ":at", AttributeValue::S(at.to_string()))
            .condition("(attribute_not_exists(#lastLoginAt) OR #lastLoginAt < :at)".to_owned());
        self.update(id, change).await
    }

    /// Records that the user's tokens issued at or before `revoked_before` (epoch seconds) are
    /// revoked, unless a later revocation is recorded. Not a change of the profile.
    pub async fn record_revocation(
        &self,
        id: &UserId,
        revoked_before: i64,
    ) -> Result<Updated, StoreError> {
        let mut change = Change::without_version();
        change
            .set(
                "sessionsRevokedBefore",
                ":revoked",
                AttributeValue::N(revoked_before.to_string()),
            )
            .condition(
                "(attribute_not_exists(#sessionsRevokedBefore) OR #sessionsRevokedBefore < :revoked)"
                    .to_owned(),
            );
        self.update(id, change).await
    }

    /// Replaces the unused activation code's hash by the one of a newer generation (a resend),
    /// usable until `expires_at` (epoch seconds): only while the profile is UNCONFIRMED with a
    /// code, and only with a newer generation than the one kept, so a late or repeated event
    /// never brings an old code back. Not a change of the profile: the version stays.
    pub async fn reissue_activation(
        &self,
        id: &UserId,
        code_hash: &str,
        generation: u32,
        expires_at: i64,
    ) -> Result<Updated, StoreError> {
        let mut change = Change::without_version();
        change
            .set(
                "activationCodeHash",
                ":hash",
                AttributeValue::S(code_hash.to_owned()),
            )
            .set(
                "activationExpiresAt",
                ":expires",
                AttributeValue::N(expires_at.to_string()),
            )
            .set(
                "activationGeneration",
                ":generation",
                AttributeValue::N(generation.to_string()),
            )
            .value(
                ":unconfirmed",
                AttributeValue::S(UserStatus::Unconfirmed.as_str().to_owned()),
            );
        let status = change.path("status");
        change.condition(format!(
            "{status} = :unconfirmed AND attribute_exists(#activationCodeHash) \
             AND (attribute_not_exists(#activationGeneration) OR #activationGeneration < :generation)"
        ));
        self.update(id, change).await
    }

    /// Uses the activation code whose hash is `code_hash`: an UNCONFIRMED profile holding it
    /// becomes CONFIRMED, activated at `revision.at`, and the code is gone.
    pub async fn activate(
        &self,
        id: &UserId,
        code_hash: &str,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        change
            .status(id, UserStatus::Confirmed)
            .set(
                "activatedAt",
                ":at",
                AttributeValue::S(revision.at.to_string()),
            )
            .remove("activationCodeHash")
            .remove("activationExpiresAt")
            .remove("activationGeneration")
            .value(":hash", AttributeValue::S(code_hash.to_owned()))
            .value(
                ":from",
                AttributeValue::S(UserStatus::Unconfirmed.as_str().to_owned()),
            )
            .condition("#activationCodeHash = :hash AND #status = :from".to_owned());
        self.update(id, change).await
    }

    /// Moves the profile to `to` if it is in one of `from` (none: only an item that does not
    /// exist, so never). With `drop_activation_code`, an unused activation code goes too.
    pub async fn set_status(
        &self,
        id: &UserId,
        to: UserStatus,
        from: &[UserStatus],
        drop_activation_code: bool,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        change.status(id, to);
        if drop_activation_code {
            change
                .remove("activationCodeHash")
                .remove("activationExpiresAt")
                .remove("activationGeneration");
        }
        if from.is_empty() {
            change.condition("attribute_not_exists(id)".to_owned());
        } else {
            let placeholders: Vec<String> = from
                .iter()
                .enumerate()
                .map(|(index, status)| {
                    let placeholder = format!(":from{index}");
                    change.value(&placeholder, AttributeValue::S(status.as_str().to_owned()));
                    placeholder
                })
                .collect();
            change.condition(format!("#status IN ({})", placeholders.join(", ")));
        }
        self.update(id, change).await
    }

    /// Awards `badge` at `revision.at`, unless the profile holds it.
    pub async fn award_badge(
        &self,
        id: &UserId,
        badge: &str,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        let field = format!("badges.{badge}");
        let path = change.path(&field);
        change
            .set(
                &field,
                ":badge",
                AttributeValue::M(
                    [(
                        "awardedAt".to_owned(),
                        AttributeValue::S(revision.at.to_string()),
                    )]
                    .into(),
                ),
            )
            .condition(format!("attribute_not_exists({path})"));
        self.update(id, change).await
    }

    /// Takes `badge` away, if the profile holds it.
    pub async fn revoke_badge(
        &self,
        id: &UserId,
        badge: &str,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        let field = format!("badges.{badge}");
        let path = change.path(&field);
        change
            .remove(&field)
            .condition(format!("attribute_exists({path})"));
        self.update(id, change).await
    }

    /// Writes the user's data (JSON text, kept as given).
    pub async fn write_data(
        &self,
        id: &UserId,
        data: &str,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        change.set("data", ":data", AttributeValue::S(data.to_owned()));
        self.update(id, change).await
    }

    /// Changes the profile's settings: language, currency, avatar.
    pub async fn update_settings(
        &self,
        id: &UserId,
        settings: &SettingsUpdate<'_>,
        revision: Revision<'_>,
    ) -> Result<Updated, StoreError> {
        let mut change = revision.change();
        if let Some(lang) = settings.lang {
            change.set(
                "profileData.lang",
                ":lang",
                AttributeValue::S(lang.to_owned()),
            );
        }
        if let Some(currency) = settings.currency {
            change.set(
                "profileData.currency",
                ":currency",
                AttributeValue::S(currency.to_owned()),
            );
        }
        match settings.avatar {
            None => {}
            Some(AvatarUpdate::Default { url }) => {
                change
                    .set(
                        "profileData.avatarUrl",
                        ":avatar",
                        AttributeValue::S(url.to_owned()),
                    )
                    .remove("profileData.avatarKey");
            }
            Some(AvatarUpdate::Uploaded { url, key }) => {
                change
                    .set(
                        "profileData.avatarUrl",
                        ":avatar",
                        AttributeValue::S(url.to_owned()),
                    )
                    .set(
                        "profileData.avatarKey",
                        ":key",
                        AttributeValue::S(key.to_owned()),
                    );
            }
        }
        self.update(id, change).await
    }
}

impl UsersTable {
    /// Ids of deleted users still awaiting their uploads sweep whose deletion is at or before
    /// `deleted_before` (RFC 3339, as `deletedAt` is written), oldest first, at most `limit`.
    /// One Query of the sparse `uploads-sweep` index per page.
    pub async fn awaiting_sweep(
        &self,
        deleted_before: &Timestamp,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(UPLOADS_SWEEP.name)
                .key_condition_expression("sweepShard = :shard AND deletedAt <= :before")
                .expression_attribute_values(":shard", AttributeValue::S(SWEEP_SHARD.to_owned()))
                .expression_attribute_values(
                    ":before",
                    AttributeValue::S(deleted_before.to_string()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await?;
            for item in page.items() {
                if let Some(id) = item.get("id").and_then(|id| id.as_s().ok()) {
                    found.push(UserId::parse(id).map_err(|error| {
                        StoreError::Unreadable(format!("a tombstone's id {id:?}: {error}"))
                    })?);
                }
                if found.len() >= limit {
                    return Ok(found);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Takes a swept tombstone out of the `uploads-sweep` index. A tombstone that is gone
    /// (expired) is fine; a profile of that id is never touched.
    pub async fn swept(&self, id: &UserId) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression("REMOVE sweepShard")
            .condition_expression("attribute_exists(deletedAt)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// The listing index a listing reads ([`LIST_BY_CREATED`], ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListIndex {
    /// Every profile, by creation.
    Created,
    /// The profiles of one status, by creation.
    Status(UserStatus),
    Name,
    Email,
    Handle,
}

impl ListIndex {
    pub fn spec(self) -> &'static IndexSpec {
        match self {
            Self::Created => &LIST_BY_CREATED,
            Self::Status(_) => &LIST_BY_STATUS,
            Self::Name => &LIST_BY_NAME,
            Self::Email => &LIST_BY_EMAIL,
            Self::Handle => &LIST_BY_HANDLE,
        }
    }

    /// The partition-key value of `shard` in this index.
    fn partition(self, shard: u32) -> String {
        let shard = format!("{shard:02}");
        match self {
            Self::Status(status) => status_shard(status, &shard),
            _ => shard,
        }
    }
}

/// The condition on a listing index's sort key, the same in every shard. Bounds are
/// inclusive, written as the sort key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortRange {
    All,
    From(String),
    To(String),
    Between(String, String),
    Prefix(String),
}

/// A profile as a listing index holds it: the summary, and where it sorts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: UserId,
    pub name: String,
    pub handle: String,
    pub email: Email,
    pub status: UserStatus,
    pub created_at: Timestamp,
    /// The item's sort key in the index it was read from.
    pub sort: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedItem {
    id: UserId,
    name: String,
    handle: String,
    email: Email,
    status: UserStatus,
    created_at: Timestamp,
}

/// What one shard's Query returned: its items in the listing's order, and whether it may hold
/// more after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPage {
    pub shard: u32,
    pub items: Vec<Listed>,
    pub more: bool,
}

/// One listing read: the same Query of every shard in `shards`, each from just after the sort
/// key `after` (from the start when none) for at most `limit` items.
#[derive(Debug, Clone)]
pub struct ShardQueries<'a> {
    pub index: ListIndex,
    pub range: &'a SortRange,
    pub descending: bool,
    pub after: Option<&'a str>,
    pub shards: &'a [u32],
    pub limit: i32,
}

impl UsersTable {
    /// Reads one page of each shard of a listing index, all shards at once: one Query per
    /// shard, eventually consistent (an index can be read no other way).
    pub async fn list_shards(
        &self,
        queries: &ShardQueries<'_>,
    ) -> Result<Vec<ShardPage>, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        for &shard in queries.shards {
            let table = self.clone();
            let index = queries.index;
            let range = queries.range.clone();
            let descending = queries.descending;
            let after = queries.after.map(str::to_owned);
            let limit = queries.limit;
            tasks.spawn(async move {
                table
                    .list_shard(index, shard, &range, descending, after, limit)
                    .await
            });
        }
        let mut pages = Vec::with_capacity(queries.shards.len());
        while let Some(page) = tasks.join_next().await {
            pages.push(page.map_err(|error| StoreError::Unavailable(error.to_string()))??);
        }
        pages.sort_by_key(|page| page.shard);
        Ok(pages)
    }

    async fn list_shard(
        &self,
        index: ListIndex,
        shard: u32,
        range: &SortRange,
        descending: bool,
        after: Option<String>,
        limit: i32,
    ) -> Result<ShardPage, StoreError> {
        let spec = index.spec();
        let sort_key = spec.sort_key.unwrap_or_default();
        let (condition, skip) = key_condition(range, after.as_deref(), descending);
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let mut names = HashMap::from([("#pk".to_owned(), spec.partition_key.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), text(&index.partition(shard)))]);
        let expression = match &condition {
            KeyCondition::Any => "#pk = :pk",
            KeyCondition::Above(low) => {
                values.insert(":lo".to_owned(), text(low));
                "#pk = :pk AND #sk > :lo"
            }
            KeyCondition::Below(high) => {
                values.insert(":hi".to_owned(), text(high));
                "#pk = :pk AND #sk < :hi"
            }
            KeyCondition::AtLeast(low) => {
                values.insert(":lo".to_owned(), text(low));
                "#pk = :pk AND #sk >= :lo"
            }
            KeyCondition::AtMost(high) => {
                values.insert(":hi".to_owned(), text(high));
                "#pk = :pk AND #sk <= :hi"
            }
            KeyCondition::Between(low, high) => {
                values.insert(":lo".to_owned(), text(low));
                values.insert(":hi".to_owned(), text(high));
                "#pk = :pk AND #sk BETWEEN :lo AND :hi"
            }
            KeyCondition::BeginsWith(prefix) => {
                values.insert(":prefix".to_owned(), text(prefix));
                "#pk = :pk AND begins_with(#sk, :prefix)"
            }
        };
        if condition != KeyCondition::Any {
            names.insert("#sk".to_owned(), sort_key.to_owned());
        }
        // The position itself is read again where the condition includes it: one more item,
        // so that the shard's page still holds `limit` after it.
        let limit = if skip.is_some() {
            limit.saturating_add(1)
        } else {
            limit
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(spec.name)
            .key_condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!descending)
            .limit(limit)
            .send()
            .await?;
        let more = output.last_evaluated_key.is_some();
        let mut items = Vec::new();
        for item in output.items.unwrap_or_default() {
            let sort = item
                .get(sort_key)
                .and_then(|value| value.as_s().ok())
                .cloned()
                .ok_or_else(|| {
                    StoreError::Unreadable(format!("an item of {} without {sort_key}", spec.name))
                })?;
            if skip.as_deref() == Some(sort.as_str()) {
                continue;
            }
            let listed: ListedItem = serde_dynamo::from_item(item)?;
            items.push(Listed {
                id: listed.id,
                name: listed.name,
                handle: listed.handle,
                email: listed.email,
                status: listed.status,
                created_at: listed.created_at,
                sort,
            });
        }
        Ok(ShardPage { shard, items, more })
    }
}

/// A condition on a listing index's sort key, as a Query's key condition takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCondition {
    Any,
    Above(String),
    Below(String),
    AtLeast(String),
    AtMost(String),
    Between(String, String),
    BeginsWith(String),
}

/// Above every string that starts with a given prefix, when appended to it: the highest code
/// point, whose UTF-8 (`F4 8F BF BF`) is above that of any other character.
const ABOVE_ANY_CHARACTER: char = '\u{10FFFF}';

/// The key condition that reads `range` in the listing's order from just after the position
/// `after` (a sort key the listing reached, so inside `range`; sort keys are unique in a
/// listing index). A key condition takes one comparison of the sort key, so a range with an
/// end on the far side becomes a `BETWEEN` that includes the position: the position's sort
/// key is returned too, to skip (the second value). Positions are sort keys, not items: the
/// conditions hold in every shard, whether or not it holds the position's user.
pub fn key_condition(
    range: &SortRange,
    after: Option<&str>,
    descending: bool,
) -> (KeyCondition, Option<String>) {
    use KeyCondition as K;
    let Some(after) = after else {
        let condition = match range {
            SortRange::All => K::Any,
            SortRange::From(low) => K::AtLeast(low.clone()),
            SortRange::To(high) => K::AtMost(high.clone()),
            SortRange::Between(low, high) => K::Between(low.clone(), high.clone()),
            SortRange::Prefix(prefix) => K::BeginsWith(prefix.clone()),
        };
        return (condition, None);
    };
    let at = after.to_owned();
    let skip = Some(at.clone());
    match (range, descending) {
        (SortRange::All | SortRange::From(_), false) => (K::Above(at), None),
        (SortRange::All | SortRange::To(_), true) => (K::Below(at), None),
        (SortRange::To(high) | SortRange::Between(_, high), false) => {
            (K::Between(at, high.clone()), skip)
        }
        (SortRange::From(low) | SortRange::Between(low, _), true) => {
            (K::Between(low.clone(), at), skip)
        }
        (SortRange::Prefix(prefix), false) => (
            K::Between(at, format!("{prefix}{ABOVE_ANY_CHARACTER}")),
            skip,
        ),
        (SortRange::Prefix(prefix), true) => (K::Between(prefix.clone(), at), skip),
    }
}

fn new_write_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn is_conditional_failure<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    error
        .as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

/// When `error` is a failed condition: the item as it was (`None` if there was none).
fn conditional_failure_item<E, R>(error: &SdkError<E, R>) -> Option<Option<Item>>
where
    E: ConditionalFailure,
{
    error
        .as_service_error()
        .and_then(ConditionalFailure::old_item)
}

/// The conditional-check failures of the operations this store conditions.
trait ConditionalFailure {
    fn old_item(&self) -> Option<Option<Item>>;
}

impl ConditionalFailure for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn old_item(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(failure) => Some(failure.item.clone()),
            _ => None,
        }
    }
}

impl ConditionalFailure for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn old_item(&self) -> Option<Option<Item>> {
        match self {
            Self::ConditionalCheckFailedException(failure) => Some(failure.item.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Settings;

    fn stored(name: &str) -> Item {
        let profile = Profile {
            id: UserId::parse("u-1").unwrap(),
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            name: name.to_owned(),
            handle: format!("@{name}"),
            role: Role::User,
            status: UserStatus::Confirmed,
            source_system: "tests".to_owned(),
            created_at: Timestamp::now(),
            last_login_at: None,
            activation_code_hash: None,
            activation_expires_at: None,
            activated_at: None,
            settings: Settings {
                lang: "en_us".to_owned(),
                currency: "USD".to_owned(),
                avatar_url: "https://assets.invalid/a.png".to_owned(),
                avatar_key: None,
            },
            badges: BTreeMap::new(),
            data: "{}".to_owned(),
            version: 1,
            sessions_revoked_before: None,
        };
        let item = ProfileItem::new(&profile, "UserRegistered-u-1", &Timestamp::now(), None);
        serde_dynamo::to_item(&item).unwrap()
    }

    /// On AWS an index entry can outlive its item's key (a user deleted, its tombstone holding
    /// no key): the lookup answers only an item that holds the key now. moto keeps its indexes in step with
    /// the table, so only this test sees the case.
    #[test]
    fn a_lookup_answers_only_a_profile_that_still_holds_the_key() {
        let found = holding(stored("ada"), &BY_NAME, "ada").unwrap().unwrap();
        assert_eq!(found.name, "ada");
        assert!(
            holding(stored("ada"), &BY_EMAIL, "ada@example.com")
                .unwrap()
                .is_some()
        );
        assert!(
            holding(stored("ada"), &BY_HANDLE, "@ada")
                .unwrap()
                .is_some()
        );

        // The index's entry says "grace"; the item holds "ada" now.
        assert_eq!(holding(stored("ada"), &BY_NAME, "grace").unwrap(), None);
        // The item lacks the key altogether (a tombstone keeps none).
        let mut keyless = stored("ada");
        keyless.remove("handleKey");
        assert_eq!(holding(keyless, &BY_HANDLE, "@ada").unwrap(), None);
        // A tombstone that still holds a key is no profile.
        let mut tombstone = HashMap::from([
            ("id".to_owned(), AttributeValue::S("u-1".to_owned())),
            (
                "deletedAt".to_owned(),
                AttributeValue::S("2026-01-01T00:00:00Z".to_owned()),
            ),
            ("version".to_owned(), AttributeValue::N("2".to_owned())),
            ("expiresAt".to_owned(), AttributeValue::N("1".to_owned())),
        ]);
        tombstone.insert("nameKey".to_owned(), AttributeValue::S("ada".to_owned()));
        assert_eq!(holding(tombstone, &BY_NAME, "ada").unwrap(), None);
    }
}

//! The Auth API's DynamoDB table, which it owns: its declaration ([`TABLE`], read by the
//! template's parity check and local provisioning), its item types and the adapter.
//! Uniqueness reservations, pending registrations, identities and idempotency records, under
//! a generic `pk`/`sk` key. The item layouts here are storage types; `serde_dynamo` is used
//! nowhere else in the service.
//!
//! - `EMAIL#<email>`, `NAME#<name key>`, `HANDLE#<handle key>` / `RESERVATION`: who holds an
//!   identifier (`registrationId`), `PENDING` until the registration commits, then
//!   `COMMITTED` with the `userId`.
//! - `REGISTRATION#<id>` / `REGISTRATION`: a registration in flight, listed by the `pending`
//!   index for the reconciler. Removed by the commit (atomically) or by a rollback.
//! - `USER#<sub>` / `IDENTITY`: the committed identity; its stream INSERT is `UserRegistered`.
//!   `idempotencyRecord` names its registration's idempotency record, removed with it.
//!   `username` is the Cognito user's immutable username, which every admin call addresses;
//!   `deletingSince` records a deletion under way (before its AdminDeleteUser), and
//!   `identityGoneAt` the reconciler's finding that the Cognito user is gone (a MODIFY the
//!   projector publishes as `IdentityDeleted`).
//! - `IDEMPOTENCY#<api key id>/<key>` / `IDEMPOTENCY`: one registration per API key and
//!   `Idempotency-Key`, expiring after a day (TTL `expiresAt`).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

use roster_events::{Email, Role, Timestamp, UserId, UserStatus};
use roster_platform::table::{IndexSpec, Projection, StreamView, TableSpec};

use crate::domain::uniqueness_key;

/// The `pending` index: registrations in flight by when they started, for the reconciler.
pub const PENDING_INDEX: IndexSpec = IndexSpec {
    name: "pending",
    partition_key: "pendingShard",
    sort_key: Some("pendingSince"),
    projection: Projection::All,
};

/// This table, as the template declares it and local provisioning creates it: identity
/// records, uniqueness reservations (`EMAIL#…`, `NAME#…`, `HANDLE#…`) and idempotency records
/// under a generic `pk`/`sk` key; the [`PENDING_INDEX`] lets the reconciler find
/// registrations that never finished; idempotency and revocation records expire (`expiresAt`).
/// Its stream carries both images: the projector publishes an identity newly marked
/// `identityGoneAt` (a MODIFY) by comparing them.
pub const TABLE: TableSpec = TableSpec {
    name: "auth",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[PENDING_INDEX],
    ttl_attribute: Some("expiresAt"),
    stream_view: StreamView::NewAndOldImages,
};

const RESERVATION: &str = "RESERVATION";
const REGISTRATION: &str = "REGISTRATION";
const IDENTITY: &str = "IDENTITY";
const IDEMPOTENCY: &str = "IDEMPOTENCY";
/// The identity's attribute naming its registration's idempotency record (`pk`), if any.
const IDEMPOTENCY_RECORD: &str = "idempotencyRecord";
/// A reservation condition: held by registration `:reg` and still `:pending` (`#state`).
const HELD_PENDING: &str = "registrationId = :reg AND #state = :pending";
/// The same, or no reservation at all.
const FREE_OR_HELD_PENDING: &str =
    "attribute_not_exists(pk) OR (registrationId = :reg AND #state = :pending)";
/// The single partition of the `pending` index: pending registrations are few and short-lived.
pub const PENDING_SHARD: &str = "PENDING";

/// Which unique identifier a reservation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Name,
    Handle,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::Handle => "handle",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} is already taken", .0.as_str())]
    Taken(Field),
    #[error("the change conflicts with the table's current state")]
    Conflict,
    #[error("DynamoDB: {0}")]
    Unavailable(String),
}

/// Whether DynamoDB answered with this error code (a refused condition, a cancelled
/// transaction), matched on the typed error's code, never on its message.
fn code_is<E: ProvideErrorMetadata>(
    error: &aws_sdk_dynamodb::error::SdkError<E>,
    code: &str,
) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        == Some(code)
}

/// A conditional write's outcome: `true` if it landed, `false` if its condition did not hold.
fn landed<T, E>(result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if code_is(&error, "ConditionalCheckFailedException") => Ok(false),
        Err(error) => Err(unavailable(error)),
    }
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn unavailable<E>(error: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

/// A registration in flight, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRegistration {
    pub registration_id: String,
    pub email: Email,
    pub name: String,
    pub handle: String,
    pub name_key: String,
    pub handle_key: String,
    pub source_system: String,
    /// RFC 3339, also the `pending` index's sort key.
    pub pending_since: Timestamp,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl PendingRegistration {
    fn reservation_keys(&self) -> [(Field, String); 3] {
        reservation_keys(self.email.as_str(), &self.name_key, &self.handle_key)
    }
}

/// The partition keys of the three reservations of one email, name key and handle key.
fn reservation_keys(email: &str, name_key: &str, handle_key: &str) -> [(Field, String); 3] {
    [
        (Field::Email, format!("EMAIL#{email}")),
        (Field::Name, format!("NAME#{name_key}")),
        (Field::Handle, format!("HANDLE#{handle_key}")),
    ]
}

/// A committed identity, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The Cognito user's `sub`.
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub handle: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: Timestamp,
    pub source_system: String,
    pub activation_code_hash: String,
    pub registration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The User API status last applied to the pool, and the profile version it came with:
    /// status changes arriving out of order never undo a newer one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_status: Option<UserStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_status_version: Option<u64>,
    /// The Cognito user's username: immutable, unlike the email. Identities committed before
    /// it was recorded have none; in this pool (email as the username attribute) the username
    /// is the `sub`, which is the identity's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// RFC 3339: the user's deletion began (recorded before the Cognito user is deleted), so a
    /// retry that finds no Cognito user knows it was deleted already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting_since: Option<Timestamp>,
    /// RFC 3339: the reconciler found the Cognito user gone, deleted outside Roster (by the
    /// user through Cognito, or by an operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_gone_at: Option<Timestamp>,
    /// RFC 3339: the user asked to delete its account (`DELETE /auth/me`); the stream MODIFY
    /// is published as `UserDeletionRequested`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_requested_at: Option<Timestamp>,
    /// The generation of the current activation code (absent: 0, the registration's). Each
    /// resend raises it by one with a conditional write, and the code is derived from the
    /// server key, the registration id and it ([`crate::activation::ActivationCodes`]): nothing
    /// stores a code. The stream MODIFY that raises it is published as `ActivationCodeReissued`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_generation: Option<u32>,
    /// RFC 3339: when the current code stops working, for a code a resend issued (the
    /// registration's stops [`roster_events::auth::ACTIVATION_CODE_LIFETIME_SECONDS`] after
    /// `createdAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_expires_at: Option<Timestamp>,
    /// RFC 3339: when the current code was issued by a resend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_reissued_at: Option<Timestamp>,
    /// The newest generation whose activation mail SES accepted: a redelivered or replayed
    /// event of that generation sends nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_mailed_generation: Option<u32>,
    /// RFC 3339: the User API reported the user activated (`UserActivated`): no activation
    /// mail and no resend any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<Timestamp>,
}

impl Identity {
    /// The name every admin call addresses the user by: immutable, never the email.
    pub fn pool_username(&self) -> &str {
        self.username.as_deref().unwrap_or(self.id.as_str())
    }

    /// Whether the table explains a Cognito user that is not there: its deletion was under
    /// way before, or the reconciler found it deleted outside Roster.
    pub fn known_gone(&self) -> bool {
        self.deleting_since.is_some() || self.identity_gone_at.is_some()
    }

    /// The generation of the current activation code.
    pub fn activation_generation(&self) -> u32 {
        self.activation_generation.unwrap_or(0)
    }

    /// Whether an activation code still means anything for this user: it is not activated
    /// (nor confirmed, suspended or archived by an operator, which the applied status tells),
    /// and it is neither being deleted, nor asked to be, nor gone.
    pub fn awaits_activation(&self) -> bool {
        self.activated_at.is_none()
            && self
                .applied_status
                .is_none_or(|status| status == UserStatus::Unconfirmed)
            && self.deletion_requested_at.is_none()
            && !self.known_gone()
    }

    /// When the current activation code stops working.
    pub fn activation_expiry(&self) -> Timestamp {
        self.activation_expires_at.clone().unwrap_or_else(|| {
            Timestamp::from_datetime(
                self.created_at.to_datetime()
                    + chrono::Duration::seconds(
                        roster_events::auth::ACTIVATION_CODE_LIFETIME_SECONDS,
                    ),
            )
        })
    }
}

/// An idempotency record, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub registration_id: String,
    pub state: String,
    /// Epoch seconds until which the registration is being worked on.
    pub lease_until: i64,
    /// Epoch seconds; DynamoDB's TTL removes the record after that.
    pub expires_at: i64,
    /// The JSON response of a completed registration, activation code left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_response: Option<String>,
}

/// How an `Idempotency-Key` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request may run, as registration `registration_id`.
    Run { registration_id: String },
    /// The same request completed before: replay its response.
    Replay {
        registration_id: String,
        response: String,
    },
    /// The key was used with another body.
    Mismatch,
    /// The same request is running right now.
    InProgress,
}

#[derive(Debug, Clone)]
pub struct AuthTable {
    client: Client,
    table: String,
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn item<T: Serialize>(
    pk: &str,
    sk: &str,
    value: &T,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(value)
        .map_err(|error| StoreError::Unavailable(format!("serialising an item: {error}")))?;
    item.extend(key(pk, sk));
    Ok(item)
}

impl AuthTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Claims an idempotency key for a request with fingerprint `request_hash`. A running
    /// claim whose lease ran out (its process died) can be taken over by the same request;
    /// it keeps its registration id, so the takeover finds its own reservations.
    pub async fn claim_idempotency_key(
        &self,
        key_value: &str,
        request_hash: &str,
        registration_id: &str,
        now: i64,
        lease_seconds: i64,
    ) -> Result<Claim, StoreError> {
        let pk = format!("IDEMPOTENCY#{key_value}");
        let record = IdempotencyRecord {
            request_hash: request_hash.to_owned(),
            registration_id: registration_id.to_owned(),
            state: "RUNNING".to_owned(),
            lease_until: now + lease_seconds,
            expires_at: now + 24 * 3600,
            stored_response: None,
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&pk, IDEMPOTENCY, &record)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => {
                return Ok(Claim::Run {
                    registration_id: registration_id.to_owned(),
                });
            }
            Err(error) => match error.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                    failed,
                ) => failed.item.unwrap_or_default(),
                other => return Err(StoreError::Unavailable(DisplayErrorContext(other).to_string())),
            },
        };
        let existing: IdempotencyRecord = serde_dynamo::from_item(existing)
            .map_err(|error| StoreError::Unavailable(format!("reading a record: {error}")))?;
        if existing.request_hash != request_hash {
            return Ok(Claim::Mismatch);
        }
        if let Some(response) = existing.stored_response {
            return Ok(Claim::Replay {
                registration_id: existing.registration_id,
                response,
            });
        }
        if existing.lease_until > now {
            return Ok(Claim::InProgress);
        }
        // Take over the abandoned run, as long as nobody else just did.
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&pk, IDEMPOTENCY)))
            .update_expression("SET leaseUntil = :lease")
            .condition_expression("leaseUntil = :seen AND attribute_not_exists(storedResponse)")
            .expression_attribute_values(
                ":lease",
                AttributeValue::N((now + lease_seconds).to_string()),
            )
            .expression_attribute_values(
                ":seen",
                AttributeValue::N(existing.lease_until.to_string()),
            )
            .send()
            .await;
        match taken {
            Ok(_) => Ok(Claim::Run {
                registration_id: existing.registration_id,
            }),
            Err(error) if code_is(&error, "ConditionalCheckFailedException") => {
                Ok(Claim::InProgress)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Forgets an idempotency key whose registration was rolled back, so a retry runs anew.
    pub async fn release_idempotency_key(
        &self,
        key_value: &str,
        registration_id: &str,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&format!("IDEMPOTENCY#{key_value}"), IDEMPOTENCY)))
            .condition_expression("registrationId = :reg AND attribute_not_exists(storedResponse)")
            .expression_attribute_values(":reg", s(registration_id))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error) if code_is(&error, "ConditionalCheckFailedException") => Ok(()),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Reserves email, name and handle for `registration` and records it as pending, all or
    /// nothing. An identifier already held by another registration is [`StoreError::Taken`];
    /// one held by this same registration (a retry) is fine.
    pub async fn reserve(&self, registration: &PendingRegistration) -> Result<(), StoreError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Reservation<'a> {
            kind: &'a str,
            registration_id: &'a str,
            state: &'a str,
            created_at: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Pending<'a> {
            #[serde(flatten)]
            registration: &'a PendingRegistration,
            pending_shard: &'a str,
        }
        let mut writes = Vec::new();
        for (field, pk) in registration.reservation_keys() {
            let reservation = Reservation {
                kind: field.as_str(),
                registration_id: &registration.registration_id,
                state: "PENDING",
                created_at: registration.pending_since.as_str(),
            };
            writes.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(item(&pk, RESERVATION, &reservation)?))
                            .condition_expression(FREE_OR_HELD_PENDING)
                            .expression_attribute_names("#state", "state")
                            .expression_attribute_values(":reg", s(&registration.registration_id))
                            .expression_attribute_values(":pending", s("PENDING"))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        let pending = Pending {
            registration,
            pending_shard: PENDING_SHARD,
        };
        writes.push(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item(
                            &format!("REGISTRATION#{}", registration.registration_id),
                            REGISTRATION,
                            &pending,
                        )?))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        );
        let outcome = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(error) => Err(match error.into_service_error() {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                    canceled,
                ) => {
                    let reasons: &[CancellationReason] = canceled.cancellation_reasons();
                    let taken = [Field::Email, Field::Name, Field::Handle]
                        .into_iter()
                        .zip(reasons)
                        .find(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                        .map(|(field, _)| field);
                    match taken {
                        Some(field) => StoreError::Taken(field),
                        // Cancelled for another reason (a concurrent transaction on the same
                        // items): retryable.
                        None => StoreError::Unavailable(format!(
                            "reservation cancelled: {:?}",
                            reasons.iter().map(|r| r.code()).collect::<Vec<_>>()
                        )),
                    }
                }
                other => StoreError::Unavailable(DisplayErrorContext(other).to_string()),
            }),
        }
    }

    /// Commits a registration in one transaction: the identity appears (its stream record is
    /// the `UserRegistered` event), the pending record goes, the reservations become the
    /// user's, and the idempotency record keeps the response. Fails with
    /// [`StoreError::Conflict`] if the registration is no longer pending (rolled back).
    pub async fn commit(
        &self,
        registration: &PendingRegistration,
        identity: &Identity,
        response: Option<&str>,
    ) -> Result<(), StoreError> {
        let idempotency_pk = registration
            .idempotency_key
            .as_ref()
            .map(|key_value| format!("IDEMPOTENCY#{key_value}"));
        let mut identity_item = item(&format!("USER#{}", identity.id), IDENTITY, identity)?;
        if let Some(pk) = &idempotency_pk {
            // Where the idempotency record (which keeps the response: email, name, handle)
            // is, so that the user's deletion removes it too (`release`).
            identity_item.insert(IDEMPOTENCY_RECORD.to_owned(), s(pk));
        }
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(identity_item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
            self.delete_pending(
                &registration.registration_id,
                "attribute_exists(pk) AND attribute_not_exists(rollingBack)",
            )?,
        ];
        for (_, pk) in registration.reservation_keys() {
            writes.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(&pk, RESERVATION)))
                            .update_expression("SET #state = :committed, userId = :user")
                            .condition_expression(HELD_PENDING)
                            .expression_attribute_names("#state", "state")
                            .expression_attribute_values(":committed", s("COMMITTED"))
                            .expression_attribute_values(":pending", s("PENDING"))
                            .expression_attribute_values(":user", s(identity.id.as_str()))
                            .expression_attribute_values(":reg", s(&registration.registration_id))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        if let (Some(pk), Some(response)) = (&idempotency_pk, response) {
            writes.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(pk, IDEMPOTENCY)))
                            .update_expression("SET #state = :done, storedResponse = :response")
                            .condition_expression("registrationId = :reg")
                            .expression_attribute_names("#state", "state")
                            .expression_attribute_values(":done", s("COMPLETED"))
                            .expression_attribute_values(":response", s(response))
                            .expression_attribute_values(":reg", s(&registration.registration_id))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        self.transact(writes, Some(&registration.registration_id))
            .await
    }

    /// Runs `writes` as one transaction (idempotent under `token` for ten minutes, if given);
    /// a cancelled transaction is a [`StoreError::Conflict`].
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        let outcome = self
            .client
            .transact_write_items()
            .set_client_request_token(token.map(ToOwned::to_owned))
            .set_transact_items(Some(writes))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(error) if code_is(&error, "TransactionCanceledException") => {
                Err(StoreError::Conflict)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Deletes the pending record of `registration_id` within a transaction, if `condition`.
    fn delete_pending(
        &self,
        registration_id: &str,
        condition: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                &format!("REGISTRATION#{registration_id}"),
                REGISTRATION,
            )))
            .condition_expression(condition)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The item at `pk`/`sk`, if there is one (a consistent read).
    async fn read(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// The record at `pk`/`sk` as a `T`, if there is one (a consistent read); `what` names it
    /// in the error when it does not read as one.
    async fn read_record<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        self.read(pk, sk)
            .await?
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|error| StoreError::Unavailable(format!("reading {what}: {error}")))
            })
            .transpose()
    }

    /// An update of `user_id`'s identity record, to be given its expressions.
    fn update_identity(
        &self,
        user_id: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&format!("USER#{user_id}"), IDENTITY)))
    }

    /// Whether the identity of `user_id` exists (a consistent read).
    pub async fn identity(&self, user_id: &str) -> Result<Option<Identity>, StoreError> {
        self.read_record(&format!("USER#{user_id}"), IDENTITY, "an identity")
            .await
    }

    /// Records that status `status` of profile version `version` is being applied to the pool,
    /// unless a newer one was. The same version again is allowed, so that a retry after a
    /// failed apply gets through. `Ok(false)` when the identity is gone or a newer status won.
    pub async fn claim_status(
        &self,
        user_id: &str,
        status: UserStatus,
        version: u64,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .update_identity(user_id)
            .update_expression("SET appliedStatus = :status, appliedStatusVersion = :version")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(appliedStatusVersion) OR appliedStatusVersion <= :version)",
            )
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await;
        landed(claimed)
    }

    /// Records that the user's deletion is under way (once: a retry keeps the first time),
    /// before its Cognito user is deleted. Returns the identity as it was before, so the
    /// caller knows whether an earlier attempt began the deletion; `None` when there is no
    /// identity (released already).
    pub async fn begin_deletion(
        &self,
        user_id: &str,
        at: &Timestamp,
    ) -> Result<Option<Identity>, StoreError> {
        let updated = self
            .update_identity(user_id)
            .update_expression("SET deletingSince = if_not_exists(deletingSince, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match updated {
            Ok(output) => output
                .attributes
                .map(|item| {
                    serde_dynamo::from_item(item).map_err(|error| {
                        StoreError::Unavailable(format!("reading an identity: {error}"))
                    })
                })
                .transpose(),
            Err(error) if code_is(&error, "ConditionalCheckFailedException") => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Takes back a deletion's record made by an attempt whose delete found no Cognito user
    /// (so nothing it did explains the absence), leaving the identity to the reconciler.
    pub async fn cancel_deletion(&self, user_id: &str) -> Result<(), StoreError> {
        let removed = self
            .update_identity(user_id)
            .update_expression("REMOVE deletingSince")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        landed(removed).map(|_| ())
    }

    /// Records that the user asked to delete its account, once: its stream MODIFY is published
    /// as `UserDeletionRequested`. `Ok(false)` when there is no identity or it was asked
    /// already (the first request's event stands).
    pub async fn request_deletion(
        &self,
        user_id: &str,
        at: &Timestamp,
    ) -> Result<bool, StoreError> {
        self.stamp_identity_once(user_id, "deletionRequestedAt", "", at)
            .await
    }

    /// Records the reconciler's finding that the user's Cognito user is gone, unless the
    /// identity is gone too, was found gone before, or is being deleted. Its stream MODIFY is
    /// published as `IdentityDeleted`. `Ok(false)` when nothing was recorded.
    pub async fn mark_identity_gone(
        &self,
        user_id: &str,
        at: &Timestamp,
    ) -> Result<bool, StoreError> {
        self.stamp_identity_once(
            user_id,
            "identityGoneAt",
            " AND attribute_not_exists(deletingSince)",
            at,
        )
        .await
    }

    /// The identities of one segment of the table (a parallel-scan segment: `segment` of
    /// `segments`), every page of it. The reconciler's work for one run: it reads about
    /// 1/`segments` of the table (every item of the segment, identity or not; DynamoDB bills
    /// what it reads, the filter only shortens the answer).
    pub async fn identities_in(
        &self,
        segment: u32,
        segments: u32,
    ) -> Result<Vec<Identity>, StoreError> {
        let to_i32 =
            |n: u32| i32::try_from(n).map_err(|error| StoreError::Unavailable(error.to_string()));
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(to_i32(segment)?)
                .total_segments(to_i32(segments)?)
                .filter_expression("sk = :identity")
                .expression_attribute_values(":identity", s(IDENTITY))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                found.push(serde_dynamo::from_item(item.clone()).map_err(|error| {
                    StoreError::Unavailable(format!("reading an identity: {error}"))
                })?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Removes a deleted user's identity and frees its email, name and handle, in one
    /// transaction. Reservations held by someone else (or already gone) are left alone.
    /// First the idempotency record of the user's registration goes, if it is still there
    /// (it keeps the registration's response: email, name, handle), and the password-reset
    /// requests recorded for the email; a retry after a failed transaction finds the identity,
    /// and so the record's key and the email, again.
    pub async fn release(&self, identity: &Identity) -> Result<(), StoreError> {
        self.forget_registration_response(identity).await?;
        self.forget_reset_requests(identity.email.as_str()).await?;
        let mut writes = vec![
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(&format!("USER#{}", identity.id), IDENTITY)))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        ];
        let reservations = reservation_keys(
            identity.email.as_str(),
            &uniqueness_key(&identity.name),
            &uniqueness_key(&identity.handle),
        );
        for (_, pk) in reservations {
            writes.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(&pk, RESERVATION)))
                            .condition_expression("attribute_not_exists(pk) OR userId = :user")
                            .expression_attribute_values(":user", s(identity.id.as_str()))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        self.transact(writes, None).await
    }

    /// Deletes the idempotency record the identity's registration completed, unless the key
    /// has meanwhile expired and been used by another registration.
    async fn forget_registration_response(&self, identity: &Identity) -> Result<(), StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&format!("USER#{}", identity.id), IDENTITY)))
            .projection_expression("#record")
            .expression_attribute_names("#record", IDEMPOTENCY_RECORD)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(AttributeValue::S(pk)) = output
            .item
            .and_then(|mut item| item.remove(IDEMPOTENCY_RECORD))
        else {
            return Ok(());
        };
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&pk, IDEMPOTENCY)))
            .condition_expression("registrationId = :reg")
            .expression_attribute_values(":reg", s(&identity.registration_id))
            .send()
            .await;
        landed(deleted).map(|_| ())
    }

    /// Deletes the password-reset requests recorded for `email` (they name the user and the
    /// email for a day). One Query, then one DeleteItem each; a record already gone is fine.
    async fn forget_reset_requests(&self, email: &str) -> Result<(), StoreError> {
        let pk = reset_request_pk(email);
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(&pk))
                .projection_expression("pk, sk")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(item.clone()))
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// Marks a pending registration as rolling back, which stops its commit from ever landing.
    /// `Ok(false)` when there is no pending registration any more: it committed, or its
    /// rollback already finished.
    pub async fn begin_roll_back(&self, registration_id: &str) -> Result<bool, StoreError> {
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                &format!("REGISTRATION#{registration_id}"),
                REGISTRATION,
            )))
            .update_expression("SET rollingBack = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        landed(marked)
    }

    /// Finishes a rollback begun with [`Self::begin_roll_back`]: the reservations and the
    /// pending record go, in one transaction.
    pub async fn roll_back(&self, registration: &PendingRegistration) -> Result<(), StoreError> {
        let mut writes =
            vec![self.delete_pending(&registration.registration_id, "attribute_exists(pk)")?];
        for (_, pk) in registration.reservation_keys() {
            writes.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(&pk, RESERVATION)))
                            // Only our own, still pending reservation; a missing one is fine.
                            .condition_expression(FREE_OR_HELD_PENDING)
                            .expression_attribute_names("#state", "state")
                            .expression_attribute_values(":reg", s(&registration.registration_id))
                            .expression_attribute_values(":pending", s("PENDING"))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        self.transact(writes, None).await
    }

    /// Registrations pending since before `before`, oldest first: the reconciler's work list.
    /// The bound compares as text with `pendingSince` (the index's sort key), both written by
    /// [`Timestamp`] in the same width.
    pub async fn stale_registrations(
        &self,
        before: &Timestamp,
    ) -> Result<Vec<PendingRegistration>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(PENDING_INDEX.name)
                .key_condition_expression("pendingShard = :shard AND pendingSince < :before")
                .expression_attribute_values(":shard", s(PENDING_SHARD))
                .expression_attribute_values(":before", s(before.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let registration: PendingRegistration = serde_dynamo::from_item(item.clone())
                    .map_err(|error| {
                        StoreError::Unavailable(format!("reading a registration: {error}"))
                    })?;
                found.push(registration);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

/// Revocation records: `REVOKED#<shard>` / `<revokedAt, 10 digits>#<sub>`. One per revocation
/// (sign-out, password change or reset, suspension, archive, deletion): every token of `sub`
/// issued at or before `revokedAt` (epoch seconds) is refused. A record expires (TTL) once
/// every token it covers has. The shard spreads writes over [`REVOCATION_SHARDS`] partitions;
/// readers Query each shard for the records after the last one they saw.
pub const REVOCATION_SHARDS: u32 = 4;

/// How long a revocation record is kept: the longest access or id token lifetime (60 minutes,
/// `infra/src/resources.rs`) plus the verifier's clock leeway and a margin.
pub const REVOCATION_KEEP_SECONDS: i64 = 60 * 60 + 5 * 60;

/// A stored revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    pub sub: String,
    /// Epoch seconds: tokens issued at or before it are refused.
    pub revoked_at: i64,
    /// Why: `SIGNED_OUT`, `PASSWORD_CHANGED`, `PASSWORD_RESET`, `SUSPENDED`, `ARCHIVED` or
    /// `DELETED`.
    pub reason: String,
    pub expires_at: i64,
    /// Whether `sub` is a Roster registration (has an identity here); only those become
    /// `SessionsRevoked`, since only they have a profile whose `/public/*` it concerns.
    #[serde(default)]
    pub registered: bool,
}

/// The partition of `sub`'s revocations.
pub fn revocation_shard(sub: &str) -> u32 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(sub.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % REVOCATION_SHARDS
}

fn revocation_sort_key(revoked_at: i64, sub: &str) -> String {
    format!("{revoked_at:010}#{sub}")
}

impl AuthTable {
    /// Records that every token of `sub` issued at or before `revoked_at` is revoked.
    pub async fn revoke(&self, sub: &str, revoked_at: i64, reason: &str) -> Result<(), StoreError> {
        let record = Revocation {
            sub: sub.to_owned(),
            revoked_at,
            reason: reason.to_owned(),
            expires_at: revoked_at + REVOCATION_KEEP_SECONDS,
            registered: self.identity(sub).await?.is_some(),
        };
        let pk = format!("REVOKED#{}", revocation_shard(sub));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(
                &pk,
                &revocation_sort_key(revoked_at, sub),
                &record,
            )?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The revocations of `shard` recorded at or after `since` (epoch seconds) that have not
    /// expired, oldest first. One Query (more pages only past 1 MB).
    pub async fn revocations_since(
        &self,
        shard: u32,
        since: i64,
    ) -> Result<Vec<Revocation>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk >= :since")
                .consistent_read(true)
                .expression_attribute_values(":pk", s(&format!("REVOKED#{shard}")))
                .expression_attribute_values(":since", s(&format!("{since:010}")))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let record: Revocation =
                    serde_dynamo::from_item(item.clone()).map_err(|error| {
                        StoreError::Unavailable(format!("reading a revocation: {error}"))
                    })?;
                // TTL deletes lazily: an expired record covers no live token.
                if record.expires_at > now {
                    found.push(record);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

impl AuthTable {
    /// The user holding `email`, once its registration committed (a consistent read of the
    /// email's reservation).
    pub async fn user_id_by_email(&self, email: &str) -> Result<Option<String>, StoreError> {
        let item = self.read(&format!("EMAIL#{email}"), RESERVATION).await?;
        Ok(item.and_then(|item| match item.get("userId") {
            Some(AttributeValue::S(user_id)) => Some(user_id.clone()),
            _ => None,
        }))
    }
}

/// How long a password-reset request record is kept.
const RESET_REQUEST_KEEP_SECONDS: i64 = 24 * 60 * 60;

/// A password-reset request, as stored: `RESET#<SHA-256 of the email>` / `<requestedAt>`. The
/// user id and email only when the email belongs to a user, so that a request for an unknown
/// address leaves nothing personal behind (only the hash, for a day). Its stream INSERT
/// becomes `PasswordResetRequested` for a user; the request route makes the same calls either
/// way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub requested_at: String,
    pub expires_at: i64,
}

/// The partition of the password-reset requests for `email`.
fn reset_request_pk(email: &str) -> String {
    use sha2::Digest as _;
    format!(
        "RESET#{}",
        hex::encode(sha2::Sha256::digest(email.as_bytes()))
    )
}

impl AuthTable {
    /// Records a password-reset request for `email`, naming `user_id` when it is a user's.
    pub async fn record_reset_request(
        &self,
        email: &str,
        user_id: Option<&str>,
        requested_at: &str,
    ) -> Result<(), StoreError> {
        let record = ResetRequest {
            user_id: user_id.map(ToOwned::to_owned),
            email: user_id.map(|_| email.to_owned()),
            requested_at: requested_at.to_owned(),
            expires_at: chrono::Utc::now().timestamp() + RESET_REQUEST_KEEP_SECONDS,
        };
        let pk = reset_request_pk(email);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&pk, requested_at, &record)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// The resend limit's record of one user (or of one unknown address or id, so that a resend
/// answers the same either way): `RESEND#<SHA-256 of the key>` / `RESEND`. Nothing personal in
/// it; it expires (TTL) a day after its window began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResendRecord {
    /// Epoch seconds of the latest resend.
    pub last_at: i64,
    /// Epoch seconds: the day's window of resends began then.
    pub window_start: i64,
    /// Resends in the window.
    pub count: u32,
}

const RESEND: &str = "RESEND";

/// The partition of the resend record of `key` (a user id, or the target an unknown caller
/// named).
fn resend_pk(key: &str) -> String {
    use sha2::Digest as _;
    format!(
        "RESEND#{}",
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    )
}

/// A new activation code to record on an identity: its generation, its hash, when it stops
/// working and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reissue {
    pub user_id: String,
    /// The generation read from the identity: the write lands only if it is still current.
    pub seen_generation: u32,
    pub generation: u32,
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub reissued_at: Timestamp,
}

impl AuthTable {
    /// The resend record of `key`, if there is one (a consistent read).
    pub async fn resend_record(&self, key: &str) -> Result<Option<ResendRecord>, StoreError> {
        self.read_record(&resend_pk(key), RESEND, "a resend record")
            .await
    }

    /// Records a resend of `limit_key` as `next` (only if the record is still as it was read:
    /// `seen`), and with it, in the same transaction, the new code of `reissue`: the identity's
    /// generation goes up only if it is still the one read and the user still awaits
    /// activation. [`StoreError::Conflict`] when either changed meanwhile: read again.
    pub async fn record_resend(
        &self,
        limit_key: &str,
        seen: Option<&ResendRecord>,
        next: &ResendRecord,
        reissue: Option<&Reissue>,
    ) -> Result<(), StoreError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Stored<'a> {
            #[serde(flatten)]
            record: &'a ResendRecord,
            expires_at: i64,
        }
        let stored = Stored {
            record: next,
            expires_at: next.window_start + 24 * 60 * 60 + 60,
        };
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item(
            &resend_pk(limit_key),
            RESEND,
            &stored,
        )?));
        put = match seen {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(seen) => put
                .condition_expression("lastAt = :last AND #count = :count")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":last", AttributeValue::N(seen.last_at.to_string()))
                .expression_attribute_values(":count", AttributeValue::N(seen.count.to_string())),
        };
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(build_error)?)
                .build(),
        ];
        if let Some(reissue) = reissue {
            let generation_as_read = if reissue.seen_generation == 0 {
                "attribute_not_exists(activationGeneration)"
            } else {
                "activationGeneration = :seen"
            };
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(&format!("USER#{}", reissue.user_id), IDENTITY)))
                .update_expression(
                    "SET activationGeneration = :generation, activationCodeHash = :hash, \
                     activationExpiresAt = :expires, activationReissuedAt = :at",
                )
                .condition_expression(format!(
                    "attribute_exists(pk) AND {generation_as_read} \
                     AND attribute_not_exists(activatedAt) \
                     AND (attribute_not_exists(appliedStatus) OR appliedStatus = :unconfirmed) \
                     AND attribute_not_exists(deletionRequestedAt) \
                     AND attribute_not_exists(deletingSince) \
                     AND attribute_not_exists(identityGoneAt)"
                ))
                .expression_attribute_values(
                    ":generation",
                    AttributeValue::N(reissue.generation.to_string()),
                )
                .expression_attribute_values(":hash", s(&reissue.code_hash))
                .expression_attribute_values(":expires", s(reissue.expires_at.as_str()))
                .expression_attribute_values(":at", s(reissue.reissued_at.as_str()))
                .expression_attribute_values(":unconfirmed", s(UserStatus::Unconfirmed.as_str()));
            if reissue.seen_generation != 0 {
                update = update.expression_attribute_values(
                    ":seen",
                    AttributeValue::N(reissue.seen_generation.to_string()),
                );
            }
            writes.push(
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_error)?)
                    .build(),
            );
        }
        self.transact(writes, None).await
    }

    /// Records that the User API activated the user (once): no activation mail or resend
    /// after this. `Ok(false)` when there is no identity or it was recorded already.
    pub async fn mark_activated(&self, user_id: &str, at: &Timestamp) -> Result<bool, StoreError> {
        self.stamp_identity_once(user_id, "activatedAt", "", at)
            .await
    }

    /// Sets the identity's `attribute` to `at` once: only if the identity exists, the attribute
    /// is not set yet, and `also` (more of the condition, `" AND …"`, or empty) holds.
    /// `Ok(false)` when nothing was written.
    async fn stamp_identity_once(
        &self,
        user_id: &str,
        attribute: &str,
        also: &str,
        at: &Timestamp,
    ) -> Result<bool, StoreError> {
        let marked = self
            .update_identity(user_id)
            .update_expression(format!("SET {attribute} = :at"))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({attribute}){also}"
            ))
            .expression_attribute_values(":at", s(at.as_str()))
            .send()
            .await;
        landed(marked)
    }

    /// Records that SES accepted the activation mail of `generation`, unless a mail of that
    /// or a newer generation was recorded already.
    pub async fn mark_activation_mailed(
        &self,
        user_id: &str,
        generation: u32,
    ) -> Result<bool, StoreError> {
        let marked = self
            .update_identity(user_id)
            .update_expression("SET activationMailedGeneration = :generation")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(activationMailedGeneration) \
                 OR activationMailedGeneration < :generation)",
            )
            .expression_attribute_values(":generation", AttributeValue::N(generation.to_string()))
            .send()
            .await;
        landed(marked)
    }
}

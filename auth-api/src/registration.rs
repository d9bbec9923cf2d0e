//! Registration: a distributed write made all-or-nothing from the caller's view.
//!
//! 1. Claim the `Idempotency-Key` (if any): a repeat gets the first response back.
//! 2. Reserve email, name and handle and record the registration as pending — one
//!    transaction, so a taken identifier is a 409 naming it and nothing else is written.
//! 3. Create the Cognito user (no message), set its permanent password, add it to `USER`.
//! 4. Commit — one transaction: the identity record appears (its stream record is published as
//!    `UserRegistered`), the pending record goes, the reservations become the user's.
//!
//! The Cognito user is marked with the registration's id (`custom:registrationId`, immutable):
//! a registration adopts an existing user only if it carries its own id (a retry after a lost
//! answer). A user created any other way (an operator, an import) holds its email like a
//! reservation would: the registration is a 409 `email` and that user is never touched.
//!
//! Any failure after step 2 rolls back: the pending record is marked first (which stops a
//! late commit from landing), then the Cognito user is deleted if this registration created
//! it (its mark says so), then the reservations and the pending record. A rollback that
//! cannot finish leaves the marked pending record behind, and the reconciler ([`reconcile`])
//! finishes it, as it does for registrations whose process died.

use std::sync::Arc;

use chrono::Utc;
use roster_events::{Role, Timestamp, UserId, UserStatus};
use serde::{Deserialize, Serialize};

use crate::activation::{ActivationCodes, code_hash};

use crate::cognito::{CognitoDirectory, CognitoError, Creation, Deletion, Presence};
use crate::domain::{Email, IdempotencyKey, Name, NewPassword, SourceSystem};
use crate::store::{AuthTable, Claim, Field, Identity, PendingRegistration, StoreError};
use roster_platform::metrics::Count;
use roster_platform::secret_key::SecretKey;

/// How long a running registration keeps its idempotency key from a concurrent retry.
pub const LEASE_SECONDS: i64 = 30;

/// A registration pending for longer than this is abandoned: the reconciler rolls it back.
/// Far above the few seconds a registration takes, and above [`LEASE_SECONDS`].
pub const ABANDONED_AFTER_SECONDS: i64 = 300;

/// A registration request, parsed.
#[derive(Debug, Clone)]
pub struct RegisterCommand {
    pub email: Email,
    pub name: Name,
    pub password: NewPassword,
    pub source_system: SourceSystem,
    /// The request's correlation id, stored with the identity so `UserRegistered` carries it.
    pub correlation_id: Option<String>,
}

/// The 201 body. No activation code: it goes to the user's address only (an activation mail
/// follows the registration), so activating proves the address.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    #[schema(value_type = String)]
    pub id: UserId,
    #[schema(value_type = String)]
    pub email: Email,
    pub name: String,
    pub handle: String,
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = String)]
    pub status: UserStatus,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    pub source_system: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{} is already taken", .0.as_str())]
    Taken(Field),
    #[error("the Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is in progress")]
    InProgress,
    #[error("the user pool refused the password")]
    PasswordRefused,
    #[error("the user pool refused the email")]
    EmailRefused,
    #[error("registration failed: {0}")]
    Unavailable(String),
}

impl From<StoreError> for RegisterError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Taken(field) => RegisterError::Taken(field),
            other => RegisterError::Unavailable(other.to_string()),
        }
    }
}

impl From<CognitoError> for RegisterError {
    fn from(error: CognitoError) -> Self {
        match error {
            CognitoError::InvalidPassword => RegisterError::PasswordRefused,
            CognitoError::InvalidParameter => RegisterError::EmailRefused,
            other => RegisterError::Unavailable(other.to_string()),
        }
    }
}

pub struct Registrar {
    table: AuthTable,
    directory: CognitoDirectory,
    key: Arc<SecretKey>,
    codes: ActivationCodes,
}

impl Registrar {
    pub fn new(table: AuthTable, directory: CognitoDirectory, key: Arc<SecretKey>) -> Self {
        Self {
            table,
            directory,
            codes: ActivationCodes::new(Arc::clone(&key)),
            key,
        }
    }

    pub async fn register(
        &self,
        command: &RegisterCommand,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Registered, RegisterError> {
        let now = Utc::now();
        let mut registration_id = uuid::Uuid::new_v4().to_string();
        if let Some(idempotency_key) = idempotency_key {
            let fingerprint = self.fingerprint(command).await?;
            match self
                .table
                .claim_idempotency_key(
                    idempotency_key.as_str(),
                    &fingerprint,
                    &registration_id,
                    now.timestamp(),
                    LEASE_SECONDS,
                )
                .await?
            {
                Claim::Run {
                    registration_id: claimed,
                } => registration_id = claimed,
                Claim::Replay { response, .. } => {
                    return serde_json::from_str(&response)
                        .map_err(|error| RegisterError::Unavailable(error.to_string()));
                }
                Claim::Mismatch => return Err(RegisterError::IdempotencyMismatch),
                Claim::InProgress => return Err(RegisterError::InProgress),
            }
        }
        let handle = command.name.handle();
        let pending = PendingRegistration {
            registration_id: registration_id.clone(),
            email: command.email.clone(),
            name: command.name.as_str().to_owned(),
            handle: handle.as_str().to_owned(),
            name_key: command.name.key(),
            handle_key: handle.key(),
            source_system: command.source_system.as_str().to_owned(),
            pending_since: Timestamp::from_datetime(now),
            idempotency_key: idempotency_key.map(|key| key.as_str().to_owned()),
        };
        if let Err(error) = self.table.reserve(&pending).await {
            self.release_key(&pending).await;
            return Err(error.into());
        }
        match self.create_and_commit(command, &pending).await {
            Ok(registered) => {
                roster_platform::metrics::count(Count::Registrations, 1);
                Ok(registered)
            }
            Err(error) => {
                tracing::warn!(registration = %pending.registration_id, %error, "registration failed; rolling back");
                if let Err(rollback) = roll_back(&self.table, &self.directory, &pending).await {
                    tracing::error!(
                        registration = %pending.registration_id,
                        error = %rollback,
                        "rollback unfinished; the reconciler will finish it"
                    );
                }
                Err(error)
            }
        }
    }

    async fn create_and_commit(
        &self,
        command: &RegisterCommand,
        pending: &PendingRegistration,
    ) -> Result<Registered, RegisterError> {
        let user = match self
            .directory
            .create_user(
                &command.email,
                &pending.name,
                &pending.handle,
                &pending.registration_id,
            )
            .await?
        {
            Creation::Created(user) | Creation::Adopted(user) => user,
            Creation::NotOurs => {
                // An operator's or imported user holds the email without a reservation. It is
                // taken like any other email; the rollback leaves that user alone.
                tracing::warn!(
                    registration = %pending.registration_id,
                    "the email belongs to a Cognito user this registration did not create"
                );
                return Err(RegisterError::Taken(Field::Email));
            }
        };
        self.directory
            .set_password(&user.username, &command.password)
            .await?;
        self.directory
            .add_to_group(&user.username, Role::User.as_str())
            .await?;
        let sub = UserId::parse(&user.sub).map_err(|error| {
            RegisterError::Unavailable(format!("the pool's sub {:?}: {error}", user.sub))
        })?;
        let code = self
            .codes
            .code(&pending.registration_id, 0)
            .await
            .map_err(|error| RegisterError::Unavailable(error.to_string()))?;
        let identity = Identity {
            id: sub.clone(),
            email: pending.email.clone(),
            name: pending.name.clone(),
            handle: pending.handle.clone(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            created_at: Timestamp::now(),
            source_system: pending.source_system.clone(),
            activation_code_hash: code_hash(&code),
            registration_id: pending.registration_id.clone(),
            correlation_id: command.correlation_id.clone(),
            applied_status: None,
            applied_status_version: None,
            username: Some(user.username.clone()),
            deleting_since: None,
            identity_gone_at: None,
            deletion_requested_at: None,
            activation_generation: None,
            activation_expires_at: None,
            activation_reissued_at: None,
            activation_mailed_generation: None,
            activated_at: None,
        };
        let registered = Registered {
            id: identity.id.clone(),
            email: identity.email.clone(),
            name: identity.name.clone(),
            handle: identity.handle.clone(),
            role: identity.role,
            status: identity.status,
            created_at: identity.created_at.clone(),
            source_system: identity.source_system.clone(),
        };
        let stored_response = serde_json::to_string(&registered)
            .map_err(|error| RegisterError::Unavailable(error.to_string()))?;
        match self
            .table
            .commit(pending, &identity, Some(&stored_response))
            .await
        {
            Ok(()) => {}
            Err(error) => {
                // The outcome may be unknown (a timeout): an identity of this registration
                // means the commit landed.
                let committed = self
                    .table
                    .identity(sub.as_str())
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|found| found.registration_id == pending.registration_id);
                if !committed {
                    return Err(error.into());
                }
            }
        }
        tracing::info!(user = %sub, registration = %pending.registration_id, "registered");
        Ok(registered)
    }

    /// A keyed fingerprint of the request, so that a stored one reveals nothing about it.
    async fn fingerprint(&self, command: &RegisterCommand) -> Result<String, RegisterError> {
        let mac = self
            .key
            .mac(&[
                b"register",
                command.email.as_str().as_bytes(),
                command.name.as_str().as_bytes(),
                command.source_system.as_str().as_bytes(),
                command.password.expose().as_bytes(),
            ])
            .await
            .map_err(|error| RegisterError::Unavailable(error.to_string()))?;
        Ok(hex::encode(mac))
    }

    async fn release_key(&self, pending: &PendingRegistration) {
        if let Some(key) = &pending.idempotency_key
            && let Err(error) = self
                .table
                .release_idempotency_key(key, &pending.registration_id)
                .await
        {
            // It expires with its lease: a retry after that runs anew.
            tracing::warn!(%error, "could not release an idempotency key");
        }
    }
}

/// Rolls a pending registration back: mark it (no commit can land after that), delete the
/// Cognito user if this registration created it (never anyone else's), delete the
/// reservations and the pending record, free the idempotency key. Safe to repeat; does
/// nothing to a registration that committed.
pub async fn roll_back(
    table: &AuthTable,
    directory: &CognitoDirectory,
    pending: &PendingRegistration,
) -> Result<(), RegisterError> {
    if !table.begin_roll_back(&pending.registration_id).await? {
        return Ok(());
    }
    if directory
        .delete_user_of_registration(pending.email.as_str(), &pending.registration_id)
        .await?
        == Deletion::NotOurs
    {
        tracing::info!(
            registration = %pending.registration_id,
            "the Cognito user with this email is not this registration's; left untouched"
        );
    }
    match table.roll_back(pending).await {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(error) => return Err(error.into()),
    }
    if let Some(key) = &pending.idempotency_key {
        table
            .release_idempotency_key(key, &pending.registration_id)
            .await?;
    }
    tracing::info!(registration = %pending.registration_id, "registration rolled back");
    roster_platform::metrics::count(Count::RegistrationRollbacks, 1);
    Ok(())
}

/// What a reconciler run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    pub rolled_back: usize,
    /// Registrations, identities or a slice whose reconciling failed; the next run (or the
    /// next round of slices) tries again.
    pub failed: usize,
    /// Identities whose Cognito user was looked up (one AdminGetUser each).
    pub identities_checked: usize,
    /// Identities whose Cognito user was gone, deleted outside Roster: recorded, and so
    /// published as `IdentityDeleted`, which deletes the profile.
    pub identities_gone: usize,
    /// Identities that looked gone in a run where too many did (see [`looks_like_a_wrong_pool`]):
    /// none of them was recorded.
    pub identities_gone_refused: usize,
}

/// Whether `gone` of `checked` identities looking deleted from the pool in one run is more
/// than users deleting themselves explain: more than 5% of them, and more than 3. A wrong,
/// replaced or restored pool makes every identity look gone; recording them would delete every
/// profile it reaches, so such a run records none and says so.
pub fn looks_like_a_wrong_pool(gone: usize, checked: usize) -> bool {
    gone > 3 && gone * 20 > checked
}

#[cfg(test)]
mod wrong_pool_tests {
    use super::looks_like_a_wrong_pool;

    #[test]
    fn a_few_self_deletions_are_recorded_and_a_pool_that_lost_everyone_is_not() {
        assert!(!looks_like_a_wrong_pool(1, 1));
        assert!(!looks_like_a_wrong_pool(3, 3));
        assert!(!looks_like_a_wrong_pool(5, 1000));
        assert!(looks_like_a_wrong_pool(4, 4));
        assert!(looks_like_a_wrong_pool(100, 700));
        assert!(looks_like_a_wrong_pool(51, 1000));
    }
}

/// How many segments the auth table's identities are checked in by default, one segment per
/// run: with a run a minute, every identity once a day.
pub const IDENTITY_SEGMENTS: u32 = 24 * 60;

/// At most this many identities are recorded gone in one run: a fault that made every user
/// look deleted (a wrong pool, say) would otherwise delete every profile in a minute. The
/// rest wait for the next round, and the report says so.
pub const MAX_GONE_PER_RUN: usize = 100;

/// The identities one reconciler run checks against the pool: `segment` of `segments` equal
/// parts of the auth table (DynamoDB's parallel-scan segments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentitySlice {
    pub segment: u32,
    pub segments: u32,
}

impl IdentitySlice {
    /// Every identity in one run (the local stack's tables are small; and the tests).
    pub const WHOLE: Self = Self {
        segment: 0,
        segments: 1,
    };

    /// The slice of the minute `now`: minute after minute, each segment in turn, so that
    /// with a run a minute every identity is checked once every `segments` minutes.
    pub fn of_minute(now: chrono::DateTime<Utc>, segments: u32) -> Self {
        let segments = segments.max(1);
        let minute = now.timestamp().div_euclid(60);
        let segment = u32::try_from(minute.rem_euclid(i64::from(segments))).unwrap_or(0);
        Self { segment, segments }
    }
}

/// [`reconcile_with`] the slice of the current minute of [`IDENTITY_SEGMENTS`].
pub async fn reconcile(
    table: &AuthTable,
    directory: &CognitoDirectory,
    older_than: chrono::Duration,
) -> Result<Reconciled, RegisterError> {
    let slice = IdentitySlice::of_minute(Utc::now(), IDENTITY_SEGMENTS);
    reconcile_with(table, directory, older_than, slice).await
}

/// One reconciler run:
/// - rolls back every registration pending for longer than `older_than` (its process died,
///   or its rollback could not finish; a registration still running is younger than that);
/// - checks the identities of `slice` against the pool, and records each whose Cognito user
///   is gone (deleted by the user through Cognito, or by an operator): the projector
///   publishes that as `IdentityDeleted`, on which the User API deletes the profile like any
///   deletion, whose `UserDeleted` then releases the identifiers here.
///
/// The identity check costs, per run: reading 1/`segments` of the auth table (one Scan
/// segment, a few pages at most; reservations, revocations and idempotency records are read
/// and filtered out) and one AdminGetUser per identity in it. With [`IDENTITY_SEGMENTS`] and a
/// run a minute that is `users / 1440` AdminGetUser calls a minute (a million users: about
/// 700 a minute, 12 a second), and a user deleted outside Roster keeps its profile for up to
/// a day. Identities being deleted or found gone already are skipped.
pub async fn reconcile_with(
    table: &AuthTable,
    directory: &CognitoDirectory,
    older_than: chrono::Duration,
    slice: IdentitySlice,
) -> Result<Reconciled, RegisterError> {
    let before = Timestamp::from_datetime(Utc::now() - older_than);
    let mut report = Reconciled::default();
    for pending in table.stale_registrations(&before).await? {
        match roll_back(table, directory, &pending).await {
            Ok(()) => report.rolled_back += 1,
            Err(error) => {
                tracing::error!(registration = %pending.registration_id, %error, "reconciling failed; next run retries");
                report.failed += 1;
            }
        }
    }
    match table.identities_in(slice.segment, slice.segments).await {
        Ok(identities) => {
            let mut gone = Vec::new();
            for found in identities.iter().filter(|found| !found.known_gone()) {
                report.identities_checked += 1;
                match looks_gone(directory, found).await {
                    Ok(true) => gone.push(found),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::error!(user = %found.id, %error, "checking the identity failed; its next round retries");
                        report.failed += 1;
                    }
                }
            }
            if looks_like_a_wrong_pool(gone.len(), report.identities_checked) {
                tracing::error!(
                    gone = gone.len(),
                    checked = report.identities_checked,
                    "too many identities look deleted from the pool in one run (a wrong, \
                     replaced or restored pool?): none is recorded; check the pool"
                );
                report.identities_gone_refused = gone.len();
            } else {
                for found in gone {
                    match record_gone(table, found, &report).await {
                        Ok(true) => report.identities_gone += 1,
                        Ok(false) => {}
                        Err(error) => {
                            tracing::error!(user = %found.id, %error, "recording a gone identity failed; its next round retries");
                            report.failed += 1;
                        }
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(segment = slice.segment, segments = slice.segments, %error, "reading the identities failed");
            report.failed += 1;
        }
    }
    Ok(report)
}

/// Whether `found`'s Cognito user is gone. Gone means: no user by its
/// username, and none with its `sub` by its email either (so a username the pool does not
/// know, or a changed email, never passes for a deletion).
async fn looks_gone(directory: &CognitoDirectory, found: &Identity) -> Result<bool, RegisterError> {
    if directory.presence(found.pool_username()).await? == Presence::Found {
        return Ok(false);
    }
    if directory.sub_of(found.email.as_str()).await?.as_deref() == Some(found.id.as_str()) {
        return Err(RegisterError::Unavailable(format!(
            "the pool knows the user by its email but not by {}",
            found.pool_username()
        )));
    }
    Ok(true)
}

/// Records that `found`'s Cognito user is gone (the projector publishes `IdentityDeleted`).
async fn record_gone(
    table: &AuthTable,
    found: &Identity,
    report: &Reconciled,
) -> Result<bool, RegisterError> {
    if report.identities_gone >= MAX_GONE_PER_RUN {
        return Err(RegisterError::Unavailable(format!(
            "more than {MAX_GONE_PER_RUN} identities gone in one run; left for the next round"
        )));
    }
    let recorded = table
        .mark_identity_gone(found.id.as_str(), &Timestamp::now())
        .await?;
    if recorded {
        tracing::warn!(user = %found.id, "the Cognito user was deleted outside Roster; the profile's deletion follows");
    }
    Ok(recorded)
}

//! The User API's use cases over the users table and the assets bucket, shared by the routes
//! and the subscribers. Each is one conditional write (data merges: a read and a conditional
//! write, retried on a concurrent change).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_events::auth::UserRegistered;
use roster_events::user::UserStatus;
use roster_events::{Role, Timestamp};
use serde_json::Value;

use crate::assets::{Assets, Upload};
use crate::domain::{
    self, ACTIVATION_LIFETIME_SECONDS, ActivationCode, DEFAULT_CURRENCY, DEFAULT_LANG, Lookup,
    NEW_MEMBER, Profile, Settings, UserId, checked_data, merge_patch, reachable_from,
};
use crate::error::UserError;
use crate::store::{
    AvatarUpdate, Revision, SettingsUpdate, Stored, TOMBSTONE_DAYS, Updated, UsersTable,
};

/// How often a data merge re-reads and retries when another writer got in between: enough
/// for dozens of writers on one profile at once, each waiting a jittered backoff of at most
/// 100 ms between attempts.
pub const MERGE_ATTEMPTS: u32 = 64;

/// Who asked for a change: the correlation id it carries on, and the version the caller read
/// (`If-Match`), if it named one.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub correlation_id: Option<String>,
    pub if_match: Option<u64>,
}

impl Context {
    /// The revision of a change made at `at` in this context.
    fn revision<'a>(&'a self, at: &'a Timestamp) -> Revision<'a> {
        Revision {
            at,
            correlation_id: self.correlation_id.as_deref(),
            expected_version: self.if_match,
        }
    }

    /// Refuses with 412 when the caller named a version and the profile is at another.
    fn check_version(&self, profile: &Profile) -> Result<(), UserError> {
        match self.if_match {
            Some(version) if version != profile.version => Err(UserError::PreconditionFailed),
            _ => Ok(()),
        }
    }
}

/// A self-service change of profile settings.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub lang: Option<String>,
    pub currency: Option<String>,
    pub default_avatar: Option<&'static str>,
}

/// How long after a deletion its uploads are swept once more: the lifetime of an upload URL
/// (one issued just before the deletion may still be used until then) and a minute's margin
/// for an upload in flight and for clocks.
pub const UPLOAD_SWEEP_AFTER_SECONDS: i64 = domain::AVATAR_UPLOAD_SECONDS as i64 + 60;

/// Whether a registration made at `created` is too old to create a profile at `now`: older
/// than a tombstone lives, less an hour for the two services' clocks.
///
/// This is the guard against a replay of the event archive (it keeps events 30 days) bringing a
/// deleted user back once the tombstone is gone: a deletion comes after the registration, so
/// while a registration is younger than [`TOMBSTONE_DAYS`] any deletion of that user still has
/// its tombstone (which refuses the creation), and once the tombstone has expired the
/// registration is older than that, and refused here. A live delivery is younger: the stream
/// keeps records a day, the bus retries a day, a queue and its dead-letter queue keep a message
/// 14 days in all (16 days, and a tombstone lives 17). Nothing needs to ask the Auth API, and no
/// marker outlives the tombstone.
pub fn beyond_the_tombstones(created: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - created >= chrono::Duration::days(TOMBSTONE_DAYS) - chrono::Duration::hours(1)
}

/// How many deleted users one sweep takes on at most (the rest wait a minute).
pub const SWEEP_BATCH: usize = 200;

/// What one sweep of deleted users' uploads did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    /// Deleted users whose upload prefix was emptied and who left the sweep.
    pub swept: usize,
    /// Deleted users whose sweep failed; the next run tries again.
    pub failed: usize,
}

#[derive(Clone)]
pub struct Profiles {
    pub table: UsersTable,
    pub assets: Assets,
}

impl Profiles {
    pub fn new(table: UsersTable, assets: Assets) -> Self {
        Self { table, assets }
    }

    pub async fn get(&self, id: &UserId) -> Result<Profile, UserError> {
        self.table.profile(id).await?.ok_or(UserError::UserNotFound)
    }

    pub async fn find(&self, lookup: &Lookup) -> Result<Profile, UserError> {
        self.table
            .find(lookup)
            .await?
            .ok_or(UserError::UserNotFound)
    }

    /// Creates the profile of a registration: role USER, status UNCONFIRMED, the NEW_MEMBER
    /// badge, default settings. The same event twice, or an event for a profile that exists
    /// or was deleted, changes nothing; nor does a registration older than a tombstone lives
    /// (see [`beyond_the_tombstones`]: an archive replayed after a deleted user's tombstone
    /// expired must not bring the user back). Returns whether it created the profile.
    pub async fn create_from_registration(
        &self,
        event_id: &str,
        registered: &UserRegistered,
        correlation_id: Option<&str>,
    ) -> Result<bool, UserError> {
        let id = &registered.user_id;
        let created = &registered.created_at;
        if beyond_the_tombstones(created.to_datetime(), Utc::now()) {
            tracing::warn!(
                user = %id.as_str(),
                event = event_id,
                created_at = %registered.created_at,
                "a registration older than any tombstone creates no profile (a replay?)"
            );
            return Ok(false);
        }
        let avatar = domain::default_avatar_for(id.as_str());
        let now = Timestamp::now();
        let profile = Profile {
            id: id.clone(),
            email: registered.email.clone(),
            name: registered.name.clone(),
            handle: registered.handle.clone(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: registered.source_system.clone(),
            created_at: registered.created_at.clone(),
            last_login_at: None,
            activation_code_hash: Some(registered.activation_code_hash.clone()),
            activation_expires_at: Some(created.timestamp() + ACTIVATION_LIFETIME_SECONDS),
            activated_at: None,
            settings: Settings {
                lang: DEFAULT_LANG.to_owned(),
                currency: DEFAULT_CURRENCY.to_owned(),
                avatar_url: self.assets.default_avatar_url(avatar),
                avatar_key: None,
            },
            badges: BTreeMap::from([(NEW_MEMBER.to_owned(), now.clone())]),
            data: "{}".to_owned(),
            version: 1,
            sessions_revoked_before: None,
        };
        Ok(self
            .table
            .create(&profile, event_id, &now, correlation_id)
            .await?)
    }

    /// Records a sign-in. An older sign-in than the one recorded changes nothing; so does one
    /// of a deleted user. Fails while the profile does not exist yet, so the event is retried.
    pub async fn record_login(&self, id: &UserId, at: &Timestamp) -> Result<bool, UserError> {
        match self.table.record_login(id, at).await? {
            Updated::Done(_) => Ok(true),
            Updated::Refused(Some(_)) => Ok(false),
            Updated::Refused(None) => Err(UserError::ProfileNotReady),
        }
    }

    /// Replaces the unused activation code by a newer generation's (`ActivationCodeReissued`):
    /// the earlier codes stop working. Nothing for a profile activated, confirmed, suspended,
    /// archived or deleted, nor for a generation not newer than the one kept. Fails while the
    /// profile does not exist yet, so the event is retried. Returns whether it replaced it.
    pub async fn reissue_activation(
        &self,
        id: &UserId,
        code_hash: &str,
        generation: u32,
        expires_at: &Timestamp,
    ) -> Result<bool, UserError> {
        match self
            .table
            .reissue_activation(id, code_hash, generation, expires_at.timestamp())
            .await?
        {
            Updated::Done(_) => Ok(true),
            Updated::Refused(Some(_)) => Ok(false),
            Updated::Refused(None) => Err(UserError::ProfileNotReady),
        }
    }

    /// Uses an activation code: UNCONFIRMED becomes CONFIRMED and the code is gone.
    pub async fn activate(
        &self,
        code: &ActivationCode,
        context: &Context,
    ) -> Result<Profile, UserError> {
        let hash = code.hash();
        let profile = self
            .table
            .find_by_activation(&hash)
            .await?
            .ok_or(UserError::ActivationNotFound)?;
        if profile
            .activation_expires_at
            .is_some_and(|expires| expires < Utc::now().timestamp())
        {
            return Err(UserError::ActivationExpired);
        }
        let now = Timestamp::now();
        // A code is used once, whatever version the caller read.
        let revision = Revision {
            expected_version: None,
            ..context.revision(&now)
        };
        match self.table.activate(&profile.id, &hash, revision).await? {
            Updated::Done(profile) => {
                roster_platform::metrics::count(roster_platform::metrics::Count::Activations, 1);
                Ok(*profile)
            }
            Updated::Refused(Some(Stored::Profile(now))) if now.activation_code_hash.is_some() => {
                Err(UserError::IllegalTransition {
                    from: now.status,
                    to: UserStatus::Confirmed,
                })
            }
            Updated::Refused(_) => Err(UserError::ActivationNotFound),
        }
    }

    /// Moves a user to `to` if the status machine allows it from the current status. Setting
    /// the current status again changes nothing. Returns the profile and whether it changed.
    pub async fn set_status(
        &self,
        id: &UserId,
        to: UserStatus,
        context: &Context,
    ) -> Result<(Profile, bool), UserError> {
        let now = Timestamp::now();
        // An operator's confirmation makes the unused code pointless.
        let drop_activation_code = to == UserStatus::Confirmed;
        let updated = self
            .table
            .set_status(
                id,
                to,
                reachable_from(to),
                drop_activation_code,
                context.revision(&now),
            )
            .await?;
        self.settle(
            updated,
            context,
            |profile| (profile, true),
            |profile| {
                if profile.status == to {
                    Ok((profile, false))
                } else {
                    Err(UserError::IllegalTransition {
                        from: profile.status,
                        to,
                    })
                }
            },
        )
    }

    /// Awards a badge of the catalog. Awarding one the user holds changes nothing. Returns
    /// the profile and whether the badge is new.
    pub async fn award(
        &self,
        id: &UserId,
        badge: &str,
        context: &Context,
    ) -> Result<(Profile, bool), UserError> {
        let badge = domain::badge(badge).ok_or(UserError::UnknownBadge)?;
        let now = Timestamp::now();
        let updated = self
            .table
            .award_badge(id, badge.name, context.revision(&now))
            .await?;
        self.settle(
            updated,
            context,
            |profile| (profile, true),
            |profile| Ok((profile, false)),
        )
    }

    /// Takes a badge away; 404 when the user does not hold it.
    pub async fn revoke(
        &self,
        id: &UserId,
        badge: &str,
        context: &Context,
    ) -> Result<Profile, UserError> {
        let badge = domain::badge(badge).ok_or(UserError::UnknownBadge)?;
        let now = Timestamp::now();
        let updated = self
            .table
            .revoke_badge(id, badge.name, context.revision(&now))
            .await?;
        self.settle(
            updated,
            context,
            |profile| profile,
            |_| Err(UserError::BadgeNotHeld),
        )
    }

    /// Replaces the user's data with `data` (an object within the limits).
    pub async fn replace_data(
        &self,
        id: &UserId,
        data: Value,
        context: &Context,
    ) -> Result<Profile, UserError> {
        let data = checked_data(data)?;
        let now = Timestamp::now();
        let updated = self
            .table
            .write_data(id, &data.to_string(), context.revision(&now))
            .await?;
        self.expect_done(updated, context)
    }

    /// Applies a JSON Merge Patch to the user's data: read, merge, write on the version read;
    /// when another writer got in between, again, up to [`MERGE_ATTEMPTS`] times. With
    /// `If-Match`, only against that version, once.
    pub async fn merge_data(
        &self,
        id: &UserId,
        patch: &Value,
        context: &Context,
    ) -> Result<Profile, UserError> {
        if !patch.is_object() {
            return Err(domain::InputError::DataNotObject.into());
        }
        for attempt in 0..MERGE_ATTEMPTS {
            let current = self.get(id).await?;
            context.check_version(&current)?;
            let mut data: Value = serde_json::from_str(&current.data)
                .map_err(|error| UserError::Internal(format!("stored data: {error}")))?;
            merge_patch(&mut data, patch);
            let data = checked_data(data)?;
            let now = Timestamp::now();
            let revision = Revision {
                expected_version: Some(current.version),
                ..context.revision(&now)
            };
            match self
                .table
                .write_data(id, &data.to_string(), revision)
                .await?
            {
                Updated::Done(profile) => return Ok(*profile),
                Updated::Refused(Some(Stored::Profile(_))) if context.if_match.is_none() => {
                    let delay = roster_platform::events::jittered_backoff(
                        attempt,
                        Duration::from_millis(2),
                        Duration::from_millis(100),
                    );
                    tokio::time::sleep(delay).await;
                }
                Updated::Refused(Some(Stored::Profile(_))) => {
                    return Err(UserError::PreconditionFailed);
                }
                Updated::Refused(_) => return Err(UserError::UserNotFound),
            }
        }
        Err(UserError::Contended)
    }

    /// A self-service change of language, currency or default avatar.
    pub async fn update_settings(
        &self,
        id: &UserId,
        settings: &SettingsChange,
        context: &Context,
    ) -> Result<Profile, UserError> {
        let avatar_url = settings
            .default_avatar
            .map(|avatar| self.assets.default_avatar_url(avatar));
        let update = SettingsUpdate {
            lang: settings.lang.as_deref(),
            currency: settings.currency.as_deref(),
            avatar: avatar_url
                .as_deref()
                .map(|url| AvatarUpdate::Default { url }),
        };
        let now = Timestamp::now();
        let updated = self
            .table
            .update_settings(id, &update, context.revision(&now))
            .await?;
        self.expect_done(updated, context)
    }

    /// Starts an avatar upload: a presigned PUT of exactly `length` bytes of `content_type`,
    /// and the profile already pointing at the URL the avatar will have.
    pub async fn start_avatar_upload(
        &self,
        id: &UserId,
        content_type: &str,
        length: i64,
        context: &Context,
    ) -> Result<(Profile, Upload), UserError> {
        let extension = domain::avatar_extension(content_type)?;
        let length = domain::check_avatar_size(length)?;
        let key = format!(
            "{}{}.{extension}",
            Assets::upload_prefix(id.as_str()),
            uuid::Uuid::new_v4()
        );
        let upload = self
            .assets
            .presign_upload(
                &key,
                content_type,
                length,
                Duration::from_secs(domain::AVATAR_UPLOAD_SECONDS),
            )
            .await?;
        let url = self.assets.url(&key);
        let update = SettingsUpdate {
            avatar: Some(AvatarUpdate::Uploaded {
                url: &url,
                key: &key,
            }),
            ..SettingsUpdate::default()
        };
        let now = Timestamp::now();
        let updated = self
            .table
            .update_settings(id, &update, context.revision(&now))
            .await?;
        let profile = self.expect_done(updated, context)?;
        Ok((profile, upload))
    }

    /// Deletes the profile (leaving a tombstone) and every avatar the user uploaded. The
    /// uploads go first: if the profile's deletion then fails, a retry finishes it, and no
    /// upload is left without its profile.
    pub async fn delete(&self, id: &UserId, context: &Context) -> Result<Profile, UserError> {
        let profile = self.get(id).await?;
        context.check_version(&profile)?;
        self.assets.delete_uploads(id.as_str()).await?;
        let now = Utc::now();
        let expires_at = now.timestamp() + TOMBSTONE_DAYS * 24 * 60 * 60;
        match self
            .table
            .delete(
                profile,
                context.if_match,
                &Timestamp::from_datetime(now),
                expires_at,
                context.correlation_id.as_deref(),
            )
            .await?
        {
            Ok(profile) => Ok(profile),
            Err(Some(Stored::Profile(_))) => Err(UserError::PreconditionFailed),
            Err(_) => Err(UserError::UserNotFound),
        }
    }

    /// The uploads sweep (the `avatar-sweeper` function, every minute): every user deleted at
    /// least [`UPLOAD_SWEEP_AFTER_SECONDS`] before `now` has its upload prefix emptied once
    /// more, every version and marker, then leaves the sweep. An upload URL issued before the
    /// deletion has expired by then, so whatever it put there goes, and nothing can follow.
    /// A user whose sweep fails stays for the next run.
    pub async fn sweep_deleted_uploads(&self, now: DateTime<Utc>) -> Result<Swept, UserError> {
        let before =
            Timestamp::from_datetime(now - chrono::Duration::seconds(UPLOAD_SWEEP_AFTER_SECONDS));
        let mut report = Swept::default();
        for id in self.table.awaiting_sweep(&before, SWEEP_BATCH).await? {
            let swept = match self.assets.delete_uploads(id.as_str()).await {
                Ok(_) => self.table.swept(&id).await.map_err(UserError::from),
                Err(error) => Err(error.into()),
            };
            match swept {
                Ok(()) => report.swept += 1,
                Err(error) => {
                    tracing::warn!(user = %id, %error, "uploads sweep failed; retried next run");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// The outcome of a change whose only conditions are the common ones and the caller's
    /// `If-Match`.
    fn expect_done(&self, updated: Updated, context: &Context) -> Result<Profile, UserError> {
        self.settle(
            updated,
            context,
            |profile| profile,
            |_| {
                Err(UserError::Internal(
                    "a profile refused an unconditional change".to_owned(),
                ))
            },
        )
    }

    /// What a change's outcome means: `done` with the profile it produced, or, when a
    /// condition did not hold, a 404 for a missing or deleted user, a 412 for a stale
    /// `If-Match`, and otherwise whatever `refused` makes of the profile as it is.
    fn settle<T>(
        &self,
        updated: Updated,
        context: &Context,
        done: impl FnOnce(Profile) -> T,
        refused: impl FnOnce(Profile) -> Result<T, UserError>,
    ) -> Result<T, UserError> {
        match updated {
            Updated::Done(profile) => Ok(done(*profile)),
            Updated::Refused(Some(Stored::Profile(profile))) => {
                context.check_version(&profile)?;
                refused(*profile)
            }
            Updated::Refused(_) => Err(UserError::UserNotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_older_than_a_tombstone_lives_creates_nothing() {
        let now = Utc::now();
        let days = |days: i64| now - chrono::Duration::days(days);
        assert!(!beyond_the_tombstones(now, now));
        assert!(
            !beyond_the_tombstones(days(16), now),
            "the oldest live delivery"
        );
        assert!(beyond_the_tombstones(days(TOMBSTONE_DAYS), now));
        assert!(beyond_the_tombstones(days(30), now), "the archive's oldest");
        // A deletion right after the registration: its tombstone lives until the guard starts,
        // even with the services' clocks half an hour apart.
        let created = days(TOMBSTONE_DAYS);
        let tombstone_expires =
            created - chrono::Duration::minutes(30) + chrono::Duration::days(TOMBSTONE_DAYS);
        let guarded_from =
            created + chrono::Duration::days(TOMBSTONE_DAYS) - chrono::Duration::hours(1);
        assert!(guarded_from < tombstone_expires);
        assert!(beyond_the_tombstones(created, guarded_from));
        assert!(!beyond_the_tombstones(
            created,
            guarded_from - chrono::Duration::seconds(1)
        ));
    }
}

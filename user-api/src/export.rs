//! A user's data export, the User API's part: everything it holds about the user (the profile
//! with its settings, data, badges, status and timestamps, and every stored version of the
//! avatars the user uploaded, each with a presigned GET valid for 15 minutes), nothing about
//! anyone else, no secret. The identity record and the user pool's record are the Auth API's
//! (`GET /auth/me/export`, `GET /auth/users/{id}/export`): the services do not call each other,
//! and `roster-client` joins the two parts (ADR 7).

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Profile;
use crate::error::UserError;
use crate::model::User;
use crate::profiles::Profiles;

/// How long an export's download links work.
pub const LINK_SECONDS: u64 = 15 * 60;

/// What the User API holds but never exports.
pub const WITHHELD: [&str; 2] = [
    "the activation code's SHA-256, kept on the profile until the code is used",
    "storage bookkeeping: index keys, the ids of the writes that changed the profile",
];

/// Where the rest of the user's data is.
pub const IDENTITY_PART: &str = "The identity record and the user pool's record are held by \
    the Auth API: GET /auth/me/export (Bearer) or GET /auth/users/{id}/export (API key, \
    users:read); roster-client's export_my_data and export_user join both parts.";

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserExport {
    /// RFC 3339: when this document was made.
    pub exported_at: String,
    /// The profile, as every route returns it.
    pub user: User,
    pub account: AccountRecord,
    pub status_history: StatusHistory,
    /// Every stored version of every avatar the user uploaded, newest first per file.
    pub uploads: Vec<UploadLink>,
    /// RFC 3339: when the uploads' links stop working (15 minutes after the export).
    pub links_expire_at: String,
    /// Where the identity part of the export is.
    pub identity: String,
    /// What the User API holds about the user and does not export, and why.
    pub withheld: Vec<String>,
}

/// The profile's record beyond the user model.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    /// RFC 3339: when the account was activated; null while it is not.
    pub activated_at: Option<String>,
    /// RFC 3339: an unused activation code stops working then; null once used.
    pub activation_expires_at: Option<String>,
    /// The profile's version (its ETag).
    pub version: u64,
    /// RFC 3339: tokens issued at or before it are refused (the last sign-out, password change
    /// or reset); null if never.
    pub sessions_revoked_before: Option<String>,
}

/// Roster keeps the current status and the activation time, not a history of changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusHistory {
    /// Always false.
    pub kept: bool,
    pub detail: String,
}

/// One stored version of an uploaded avatar, with a time-limited link to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadLink {
    pub key: String,
    pub version_id: Option<String>,
    /// The file's current version (the others were replaced and are kept for a day).
    pub current: bool,
    pub size: i64,
    /// RFC 3339.
    pub last_modified: Option<String>,
    /// A presigned GET of this version.
    pub url: String,
}

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn epoch(seconds: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(seconds, 0).map(rfc3339)
}

impl Profiles {
    /// The User API's part of the data export of the user whose profile this is: one listing
    /// of the upload prefix, and a presigned link per version (no call).
    pub async fn export(&self, profile: &Profile) -> Result<UserExport, UserError> {
        let now = Utc::now();
        let lifetime = Duration::from_secs(LINK_SECONDS);
        let mut uploads = Vec::new();
        for version in self.assets.list_uploads(profile.id.as_str()).await? {
            let url = self
                .assets
                .presign_download(&version.key, version.version_id.as_deref(), lifetime)
                .await?;
            uploads.push(UploadLink {
                key: version.key,
                version_id: version.version_id,
                current: version.latest,
                size: version.size,
                last_modified: version.last_modified.map(rfc3339),
                url,
            });
        }
        let expire = now + chrono::Duration::seconds(LINK_SECONDS as i64);
        Ok(UserExport {
            exported_at: rfc3339(now),
            user: User::from_profile(profile, &self.assets),
            account: AccountRecord {
                activated_at: profile.activated_at.as_ref().map(ToString::to_string),
                activation_expires_at: profile
                    .activation_code_hash
                    .as_ref()
                    .and(profile.activation_expires_at)
                    .and_then(epoch),
                version: profile.version,
                sessions_revoked_before: profile.sessions_revoked_before.and_then(epoch),
            },
            status_history: StatusHistory {
                kept: false,
                detail: "Roster keeps the current status and when the account was activated; \
                    each change is published as UserStatusChanged (kept 30 days in the event \
                    archive), not stored as a history."
                    .to_owned(),
            },
            uploads,
            links_expire_at: rfc3339(expire),
            identity: IDENTITY_PART.to_owned(),
            withheld: WITHHELD.iter().map(|line| (*line).to_owned()).collect(),
        })
    }
}

//! Events of the Auth API (`source` `roster.auth`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DomainEvent, Email, Role, Timestamp, UserId, UserStatus, source};

/// A user signed in with email and password. Published with bounded retries after the sign-in
/// succeeded; a failed publication never fails the sign-in, so consumers must not treat this
/// event as an audit log of every sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserLoggedIn {
    pub user_id: UserId,
    /// The app client (frontend) the tokens were issued to.
    pub client_id: String,
    /// RFC 3339.
    pub logged_in_at: Timestamp,
}

impl DomainEvent for UserLoggedIn {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "UserLoggedIn";
    const VERSION: u32 = 1;
}

/// A password reset was started for an existing account: Cognito sent it a code. Never carries
/// the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    pub user_id: UserId,
    pub email: Email,
    /// RFC 3339.
    pub requested_at: Timestamp,
}

impl DomainEvent for PasswordResetRequested {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "PasswordResetRequested";
    const VERSION: u32 = 1;
}

/// How a password came to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PasswordChangeKind {
    /// With an emailed reset code.
    Reset,
    /// By the signed-in user, proving the old password.
    Change,
}

/// A user's password changed. Never carries a password or a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    /// The user id when known (a change); a reset knows only the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    pub kind: PasswordChangeKind,
    /// RFC 3339.
    pub changed_at: Timestamp,
}

impl DomainEvent for PasswordChanged {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "PasswordChanged";
    const VERSION: u32 = 1;
}

/// A registration committed: the identity exists in the pool and its email, name and handle
/// are its own. Published from the Auth API's table stream (so it is never lost), at least
/// once; `eventId` is the same on every delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub handle: String,
    pub role: Role,
    // Published with the schema of a plain string, which it keeps.
    #[schemars(with = "String")]
    pub status: UserStatus,
    pub source_system: String,
    /// RFC 3339.
    pub created_at: Timestamp,
    /// SHA-256 (hex) of the activation code mailed to the user (generation 0, usable for
    /// [`ACTIVATION_CODE_LIFETIME_SECONDS`] from `createdAt`). The code itself travels only in
    /// that mail; the User API looks the profile up by this hash when the code is used.
    pub activation_code_hash: String,
}

/// How long an activation code can be used: 7 days from its issue (the registration, or the
/// resend that issued it). Past that the User API answers 410 and a resend issues a new one.
pub const ACTIVATION_CODE_LIFETIME_SECONDS: i64 = 7 * 24 * 60 * 60;

/// A new activation code was issued for a user not yet activated (`POST
/// /auth/activation/resend`) and mailed to it: the codes of earlier generations stop working.
/// Published from the auth table's stream (the identity record's generation raised), at least
/// once; `eventId` is the same on every delivery. Consumers that keep the code's hash (the
/// User API) replace it only with a newer `generation`, and only while the user is not
/// activated. Carries the new code's hash, never the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivationCodeReissued {
    pub user_id: UserId,
    /// SHA-256 (hex) of the new code, as in `UserRegistered`.
    pub activation_code_hash: String,
    /// The code's generation: 0 is the registration's, each resend raises it by one.
    pub generation: u32,
    /// RFC 3339: when the new code stops working.
    pub expires_at: Timestamp,
    /// RFC 3339.
    pub reissued_at: Timestamp,
}

impl DomainEvent for ActivationCodeReissued {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "ActivationCodeReissued";
    const VERSION: u32 = 1;
}

impl DomainEvent for UserRegistered {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "UserRegistered";
    const VERSION: u32 = 1;
}

/// Every token of a user issued at or before `revokedBefore` is revoked: the user signed out,
/// changed or reset the password, or was suspended, archived or deleted. Refresh tokens are
/// revoked in Cognito already; services that accept the user's access or id tokens refuse
/// those issued at or before this second. Published from the Auth API's revocation record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsRevoked {
    pub user_id: UserId,
    /// Epoch seconds: tokens whose `iat` is at or before it are refused.
    pub revoked_before: i64,
    /// `SIGNED_OUT`, `PASSWORD_CHANGED`, `PASSWORD_RESET`, `SUSPENDED`, `ARCHIVED` or
    /// `DELETED`.
    pub reason: String,
}

impl DomainEvent for SessionsRevoked {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "SessionsRevoked";
    const VERSION: u32 = 1;
}

/// A user's identity is gone from the user pool, deleted outside Roster: the user deleted
/// its own account through Cognito (`DeleteUser`, which any of its access tokens allows), or
/// an operator deleted it there. Found by the Auth API's reconciler, which checks every
/// identity against the pool in slices (each one at least once a day), and published from the
/// auth table's stream (the identity record marked), at least once; `eventId` is the same on
/// every delivery. The User API deletes the profile as any deletion, so `UserDeleted` follows
/// and releases the email, name and handle. Consumers: the user can no longer sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityDeleted {
    pub user_id: UserId,
    /// RFC 3339: when Roster found the identity gone (it was deleted before that).
    pub detected_at: Timestamp,
}

impl DomainEvent for IdentityDeleted {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "IdentityDeleted";
    const VERSION: u32 = 1;
}

/// A user turned on two-step sign-in with an authenticator app (TOTP): it proved the app's
/// first code, and from now on a sign-in asks for a code after the password. Published with
/// bounded retries after the change; carries nothing that would help anyone sign in (no key
/// of the app, no one-time value, no sign-in session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaEnabled {
    pub user_id: UserId,
    /// The second factor: `TOTP` (an authenticator app). Other values may come.
    pub factor: String,
    /// RFC 3339.
    pub enabled_at: Timestamp,
}

impl DomainEvent for MfaEnabled {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "MfaEnabled";
    const VERSION: u32 = 1;
}

/// A user turned two-step sign-in off (proving its password): a sign-in asks for the password
/// only. Published with bounded retries after the change; carries nothing that would help
/// anyone sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaDisabled {
    pub user_id: UserId,
    /// The second factor turned off: `TOTP`.
    pub factor: String,
    /// RFC 3339.
    pub disabled_at: Timestamp,
}

impl DomainEvent for MfaDisabled {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "MfaDisabled";
    const VERSION: u32 = 1;
}

/// The user asked to delete its own account (`DELETE /auth/me`), proving its current password
/// to the Auth API. Published from the auth table's stream (the identity record marked), at
/// least once; `eventId` is the same on every delivery. The User API deletes the profile as
/// `DELETE /user/{id}` does (uploads, every version), so `UserDeleted` follows and makes the
/// Auth API delete the Cognito user and release the email, name and handle. Consumers: erase
/// what they hold of the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDeletionRequested {
    pub user_id: UserId,
    /// RFC 3339: when the user asked.
    pub requested_at: Timestamp,
}

impl DomainEvent for UserDeletionRequested {
    const SOURCE: &'static str = source::AUTH;
    const DETAIL_TYPE: &'static str = "UserDeletionRequested";
    const VERSION: u32 = 1;
}

//! The request and response bodies of both APIs, as their OpenAPI documents describe them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An RFC 9457 problem document: every refusal of both APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    /// A relative URI naming the problem type, such as `/problems/invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The problem type's extension members (RFC 9457 section 3.2), such as the `field` a
    /// 409 `/problems/taken` names.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `POST /auth/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    pub email: String,
    /// 3 to 30 letters, digits and single `_`, `.` or `-` between them.
    pub name: String,
    pub password: String,
    /// The calling system, for the record (`roster` when absent). An API key bound to source
    /// systems is refused outside them (403 `/problems/source-system-not-allowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
}

impl RegisterRequest {
    pub fn new(
        email: impl Into<String>,
        name: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            email: email.into(),
            name: name.into(),
            password: password.into(),
            source_system: None,
        }
    }
}

/// The 201 answer to a registration. It carries no activation code: the code goes to the
/// registered address by mail ([`crate::AuthApi::resend_activation`] sends a fresh one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub id: String,
    pub email: String,
    pub name: String,
    pub handle: String,
    pub role: String,
    pub status: String,
    pub created_at: String,
    pub source_system: String,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The frontend's app client; the API's default client when absent. An API key bound to
    /// app clients is refused outside them (403 `/problems/client-not-allowed`), the default
    /// client included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl LoginRequest {
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            client_id: None,
        }
    }
}

/// `POST /auth/token/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// As [`LoginRequest::client_id`]: the default client when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A signed-in user's tokens. `refresh_token` comes with a login, not with a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access and id tokens expire.
    pub expires_in: i32,
    pub token_type: String,
}

/// Which of the pool's tokens is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Id,
}

impl TokenUse {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

/// `POST /auth/token/verify`: the token in the body, where logs do not see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    pub token: String,
    /// `access` or `id`.
    pub token_type: String,
}

impl VerifyRequest {
    pub fn new(token: impl Into<String>, token_use: TokenUse) -> Self {
        Self {
            token: token.into(),
            token_type: token_use.as_str().to_owned(),
        }
    }
}

/// The claims a verified token vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VerifiedToken {
    pub sub: String,
    pub token_use: TokenUse,
    pub client_id: String,
    pub groups: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `POST /auth/password/forgot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ForgotRequest {
    pub email: String,
    /// As [`LoginRequest::client_id`]: the default client when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// `POST /auth/activation/resend`: whose activation code to send again, by id or by email
/// (exactly one of the two: [`ResendRequest::user_id`], [`ResendRequest::email`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResendRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl ResendRequest {
    /// The user of this id.
    pub fn user_id(id: impl Into<String>) -> Self {
        Self {
            user_id: Some(id.into()),
            email: None,
        }
    }

    /// The user of this email address.
    pub fn email(email: impl Into<String>) -> Self {
        Self {
            user_id: None,
            email: Some(email.into()),
        }
    }
}

/// The answer to a reset request (or an activation resend), the same whether or not the
/// account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Accepted {
    pub status: String,
    pub detail: String,
}

/// `POST /auth/password/confirm`: the emailed code and the new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfirmRequest {
    pub email: String,
    pub code: String,
    pub new_password: String,
    /// As [`LoginRequest::client_id`]: the default client when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// `POST /auth/password/change`, with the user's access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    pub old_password: String,
    pub new_password: String,
}

/// The answer to `POST /auth/mfa/totp`: the key to put into an authenticator app. Keep it out
/// of logs; show it to the user once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The key, base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/Roster:<email>?secret=...&issuer=Roster`, for a QR code.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(<redacted>)")
    }
}

/// `POST /auth/mfa/totp/confirm`: the app's current code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpConfirmRequest {
    /// 6 digits.
    pub code: String,
}

/// `DELETE /auth/mfa/totp`: the user's current password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpDisableRequest {
    pub password: String,
}

/// `POST /auth/login/mfa`: the second step of a sign-in that answered
/// [`crate::Error::MfaRequired`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaLoginRequest {
    /// The handle [`crate::Error::MfaRequired`] carried.
    pub session: String,
    /// The app's current code: 6 digits.
    pub code: String,
    /// If named, the app client the sign-in used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl MfaLoginRequest {
    pub fn new(session: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            session: session.into(),
            code: code.into(),
            client_id: None,
        }
    }
}

/// A user, as every User API route that answers with one shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    pub handle: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; `None` until the first sign-in is recorded.
    #[serde(default)]
    pub last_login_at: Option<String>,
    pub email: String,
    pub role: String,
    /// UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED.
    pub status: String,
    pub source_system: String,
    pub profile: Profile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub profile_data: ProfileData,
    /// In the order they were awarded.
    pub badges: Vec<BadgeView>,
    /// The user's free-form data.
    pub data: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfileData {
    pub lang: String,
    pub avatar_url: String,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BadgeView {
    pub name: String,
    pub icon_url: String,
    /// RFC 3339.
    pub awarded_at: String,
}

/// A user's status, as `PATCH /user/{id}/status/{status}` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Unconfirmed,
    Confirmed,
    Suspended,
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unconfirmed => "UNCONFIRMED",
            Status::Confirmed => "CONFIRMED",
            Status::Suspended => "SUSPENDED",
            Status::Archived => "ARCHIVED",
        }
    }
}

/// A user as `GET /users` lists it. The whole user is [`crate::UserApi::user`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: String,
    pub name: String,
    pub handle: String,
    pub email: String,
    /// UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One page of `GET /users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    /// At most the page's limit, in the listing's order; a page may hold fewer while more
    /// follow.
    pub users: Vec<UserSummary>,
    /// The next page's cursor; `None` once the listing is complete.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// The filters and order of a listing (`GET /users`). A status and a creation window
/// combine; a prefix of name, email or handle lists on its own (the API refuses other
/// combinations with 400).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUsers {
    pub status: Option<Status>,
    /// RFC 3339, exclusive.
    pub created_after: Option<String>,
    /// RFC 3339, exclusive.
    pub created_before: Option<String>,
    pub name_prefix: Option<String>,
    pub email_prefix: Option<String>,
    /// With or without `@`.
    pub handle_prefix: Option<String>,
    /// Newest first (or Z to A for a prefix) instead of oldest first.
    pub descending: bool,
    /// Users per page, 1 to 100 (the API's default, 50, when `None`).
    pub limit: Option<u32>,
}

impl ListUsers {
    /// The query string's parameters, without the cursor.
    pub(crate) fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        let mut add = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                params.push((name, value));
            }
        };
        add(
            "status",
            self.status.map(|status| status.as_str().to_owned()),
        );
        add("createdAfter", self.created_after.clone());
        add("createdBefore", self.created_before.clone());
        add("namePrefix", self.name_prefix.clone());
        add("emailPrefix", self.email_prefix.clone());
        add("handlePrefix", self.handle_prefix.clone());
        add("order", self.descending.then(|| "desc".to_owned()));
        add("limit", self.limit.map(|limit| limit.to_string()));
        params
    }
}

/// `POST /user/activate`: the code the Auth API returned at registration, in the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActivationRequest {
    pub activation_code: String,
}

/// `POST /user/{id}/avatar`: an upload of the user's own picture, or a default avatar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum AvatarRequest {
    Upload(UploadRequest),
    Default(DefaultAvatar),
}

/// A picture the caller is about to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest {
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: String,
    /// The exact size of the file in bytes (at most 2 MiB).
    pub content_length: u64,
}

/// One of the default avatars, `01` to `06`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DefaultAvatar {
    pub default: String,
}

/// Where to PUT the picture, and the avatar URL it will have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AvatarUpload {
    pub upload_url: String,
    pub method: String,
    /// Send exactly these headers with the upload.
    pub headers: BTreeMap<String, String>,
    pub expires_in_seconds: u64,
    pub max_bytes: i64,
    pub avatar_url: String,
}

/// `PATCH /public/user/me/profile`: what to change; `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdate {
    /// `en_us` style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// ISO 4217, such as `EUR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A default avatar, `01` to `06`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// `GET /public/user/me/export`, `GET /user/{id}/export`: the User API's part of a user's
/// data export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserExport {
    /// RFC 3339.
    pub exported_at: String,
    /// The profile, as every route returns it.
    pub user: User,
    pub account: AccountRecord,
    pub status_history: StatusHistory,
    /// Every stored version of every uploaded avatar, each with a presigned GET.
    pub uploads: Vec<UploadLink>,
    /// RFC 3339: when the uploads' links stop working.
    pub links_expire_at: String,
    /// Where the identity part is.
    pub identity: String,
    /// What the User API holds and does not export, and why.
    pub withheld: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    #[serde(default)]
    pub activated_at: Option<String>,
    #[serde(default)]
    pub activation_expires_at: Option<String>,
    pub version: u64,
    #[serde(default)]
    pub sessions_revoked_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusHistory {
    /// Roster keeps no history of status changes: always false.
    pub kept: bool,
    pub detail: String,
}

/// One stored version of an uploaded avatar, with a presigned GET (15 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadLink {
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
    pub current: bool,
    pub size: i64,
    #[serde(default)]
    pub last_modified: Option<String>,
    pub url: String,
}

/// `GET /auth/me/export`, `GET /auth/users/{id}/export`: the Auth API's part of a user's data
/// export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct IdentityExport {
    pub exported_at: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub handle: String,
    pub role: String,
    pub registered_status: String,
    #[serde(default)]
    pub applied_status: Option<String>,
    pub source_system: String,
    pub created_at: String,
    pub registration_id: String,
    pub username: String,
    pub reserved: Reserved,
    #[serde(default)]
    pub deletion_requested_at: Option<String>,
    #[serde(default)]
    pub deleting_since: Option<String>,
    #[serde(default)]
    pub identity_gone_at: Option<String>,
    /// What the user pool holds; `None` when the pool has no such user any more.
    #[serde(default)]
    pub pool: Option<PoolRecord>,
    pub withheld: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Reserved {
    pub email: String,
    pub name: String,
    pub handle: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolRecord {
    pub username: String,
    pub enabled: bool,
    #[serde(default)]
    pub user_status: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub last_modified_at: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub mfa_methods: Vec<String>,
    #[serde(default)]
    pub preferred_mfa: Option<String>,
}

/// A user's whole data export: both services' parts, joined by the client
/// ([`crate::export_my_data`], [`crate::export_user`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DataExport {
    /// The User API's part: profile, bookkeeping, uploads.
    pub profile: UserExport,
    /// The Auth API's part: identity record and user pool record.
    pub identity: IdentityExport,
}

/// `DELETE /auth/me`: the current password, proven again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountRequest {
    pub password: String,
}

/// `DELETE /auth/me`'s answer: the deletion is under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeletionRequested {
    pub user_id: String,
    pub requested_at: String,
}

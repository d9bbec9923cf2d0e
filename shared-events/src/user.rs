//! Events of the User API (`source` `roster.user`), derived by its projector from the old and
//! new images of the users table. Each carries the profile `version` the change produced, so
//! a consumer can order two changes of one user and drop a stale one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DomainEvent, Email, Timestamp, UserId, source};

/// The lifecycle status of a user. See the User API's state machine in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Registered, activation code not used yet.
    Unconfirmed,
    /// Activated (or confirmed by an operator).
    Confirmed,
    /// Blocked for now: cannot sign in; can come back.
    Suspended,
    /// Closed for good.
    Archived,
}

impl UserStatus {
    pub const ALL: [Self; 4] = [
        Self::Unconfirmed,
        Self::Confirmed,
        Self::Suspended,
        Self::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Confirmed => "CONFIRMED",
            Self::Suspended => "SUSPENDED",
            Self::Archived => "ARCHIVED",
        }
    }

    /// The status named `raw` (exactly, in capitals).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }
}

/// The profile settings a frontend shows and the user may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSettings {
    pub lang: String,
    pub currency: String,
    pub avatar_url: String,
    /// True when the avatar is one the user uploaded, false for a default avatar.
    pub custom_avatar: bool,
}

/// A profile exists for a registered user: the User API applied `UserRegistered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileCreated {
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub handle: String,
    pub status: UserStatus,
    pub profile_data: ProfileSettings,
    pub badges: Vec<String>,
    /// RFC 3339.
    pub created_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for UserProfileCreated {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserProfileCreated";
    const VERSION: u32 = 1;
}

/// The user used their activation code: UNCONFIRMED became CONFIRMED. A `UserStatusChanged`
/// for the same change is published beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserActivated {
    pub user_id: UserId,
    pub email: Email,
    /// RFC 3339.
    pub activated_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for UserActivated {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserActivated";
    const VERSION: u32 = 1;
}

/// A user's status changed, by activation or by an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStatusChanged {
    pub user_id: UserId,
    pub from: UserStatus,
    pub to: UserStatus,
    /// RFC 3339.
    pub changed_at: Timestamp,
    /// The profile version of this change: of two changes of one user, the higher wins.
    pub version: u64,
}

impl DomainEvent for UserStatusChanged {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserStatusChanged";
    const VERSION: u32 = 1;
}

/// A badge was awarded (by a rule or by a server-to-server caller). Once per user and badge
/// while the user holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeAwarded {
    pub user_id: UserId,
    pub badge: String,
    /// RFC 3339.
    pub awarded_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for BadgeAwarded {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "BadgeAwarded";
    const VERSION: u32 = 1;
}

/// A badge was taken away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeRevoked {
    pub user_id: UserId,
    pub badge: String,
    /// RFC 3339.
    pub revoked_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for BadgeRevoked {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "BadgeRevoked";
    const VERSION: u32 = 1;
}

/// The user's free-form `data` changed. Names the top-level keys whose value changed (added,
/// removed or replaced), never the values: `data` may hold anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDataUpdated {
    pub user_id: UserId,
    pub changed_keys: Vec<String>,
    /// RFC 3339.
    pub updated_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for UserDataUpdated {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserDataUpdated";
    const VERSION: u32 = 1;
}

/// The user changed their profile settings (language, currency, avatar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileUpdated {
    pub user_id: UserId,
    /// Which settings changed: `lang`, `currency`, `avatarUrl`.
    pub changed: Vec<String>,
    pub profile_data: ProfileSettings,
    /// RFC 3339.
    pub updated_at: Timestamp,
    pub version: u64,
}

impl DomainEvent for UserProfileUpdated {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserProfileUpdated";
    const VERSION: u32 = 1;
}

/// The profile was deleted. The Auth API deletes the identity and frees the email, name and
/// handle; other consumers should erase what they hold about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: UserId,
    /// RFC 3339.
    pub deleted_at: Timestamp,
}

impl DomainEvent for UserDeleted {
    const SOURCE: &'static str = source::USER;
    const DETAIL_TYPE: &'static str = "UserDeleted";
    const VERSION: u32 = 1;
}

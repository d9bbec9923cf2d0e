//! The User API's JSON: the seed's user model. Built from the domain profile, never sent as
//! it: the version travels as the ETag, and the activation-code hash stays inside.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::assets::Assets;
use crate::domain;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90", "name": "cortney_gutkowski67",
    "handle": "@CortneyGutkowski67", "createdAt": "2026-11-25T10:00:00.000Z",
    "lastLoginAt": null, "email": "cortney@example.com", "role": "USER", "status": "CONFIRMED",
    "sourceSystem": "account-web",
    "profile": {
        "profileData": {"lang": "en_us", "avatarUrl": "https://assets.example.com/public/avatars/x256/03.png", "currency": "USD"},
        "badges": [{"name": "NEW_MEMBER", "iconUrl": "https://assets.example.com/public/badges/NEW_MEMBER.svg", "awardedAt": "2026-11-25T10:00:01.000Z"}],
        "data": {"theme": "dark"}
    }
}))]
pub struct User {
    pub id: String,
    pub name: String,
    pub handle: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; null until the first sign-in is recorded.
    pub last_login_at: Option<String>,
    pub email: String,
    pub role: String,
    /// UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED.
    pub status: String,
    pub source_system: String,
    pub profile: Profile,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub profile_data: ProfileData,
    /// In the order they were awarded.
    pub badges: Vec<BadgeView>,
    /// The user's free-form data (a JSON object).
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileData {
    pub lang: String,
    pub avatar_url: String,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BadgeView {
    pub name: String,
    pub icon_url: String,
    /// RFC 3339.
    pub awarded_at: String,
}

impl User {
    pub fn from_profile(item: &domain::Profile, assets: &Assets) -> Self {
        let mut badges: Vec<BadgeView> = item
            .badges
            .iter()
            .map(|(name, awarded_at)| BadgeView {
                name: name.clone(),
                icon_url: assets.icon_url(name),
                awarded_at: awarded_at.to_string(),
            })
            .collect();
        badges.sort_by(|a, b| (&a.awarded_at, &a.name).cmp(&(&b.awarded_at, &b.name)));
        Self {
            id: item.id.to_string(),
            name: item.name.clone(),
            handle: item.handle.clone(),
            created_at: item.created_at.to_string(),
            last_login_at: item.last_login_at.as_ref().map(ToString::to_string),
            email: item.email.to_string(),
            role: item.role.to_string(),
            status: item.status.to_string(),
            source_system: item.source_system.clone(),
            profile: Profile {
                profile_data: ProfileData {
                    lang: item.settings.lang.clone(),
                    avatar_url: item.settings.avatar_url.clone(),
                    currency: item.settings.currency.clone(),
                },
                badges,
                data: serde_json::from_str(&item.data)
                    .unwrap_or_else(|_| Value::Object(Default::default())),
            },
        }
    }
}

/// A user as listings show it: who, and where in its lifecycle. The whole user model is
/// `GET /user/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "id": "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90", "name": "cortney_gutkowski67",
    "handle": "@CortneyGutkowski67", "email": "cortney@example.com", "status": "CONFIRMED",
    "createdAt": "2026-11-25T10:00:00.000Z"
}))]
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

impl From<crate::store::Listed> for UserSummary {
    fn from(listed: crate::store::Listed) -> Self {
        Self {
            id: listed.id.to_string(),
            name: listed.name,
            handle: listed.handle,
            email: listed.email.to_string(),
            status: listed.status.to_string(),
            created_at: listed.created_at.to_string(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    /// At most `limit` users, in the listing's order. A page may hold fewer while more follow.
    pub users: Vec<UserSummary>,
    /// The next page's `cursor`, to send with the same filters and order; null once the
    /// listing is complete.
    pub next_cursor: Option<String>,
}

//! The User API's rules as plain types: identifiers as callers give them, the status machine,
//! the badge catalog, profile settings, the data blob and its merge patch. No AWS in here.

use std::collections::BTreeMap;

use roster_events::user::UserStatus;
use roster_events::{Email, Role, Timestamp, ValueError};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the user id is not valid: 1 to 64 letters, digits or '-'")]
    UserId,
    #[error("the name is not valid: 1 to 64 letters, digits, '_', '.' or '-'")]
    Name,
    #[error("the email is not a valid address")]
    Email,
    #[error("the handle is not valid: an optional '@' and 1 to 64 letters or digits")]
    Handle,
    #[error("the activation code is not valid: 32 hexadecimal characters")]
    ActivationCode,
    #[error(
        "unknown status {0:?}: one of UNCONFIRMED, CONFIRMED, SUSPENDED, ARCHIVED (in capitals)"
    )]
    Status(String),
    #[error("lang must look like en_us: two letters, '_', two letters")]
    Lang,
    #[error("currency must be a three-letter ISO 4217 code in capitals, such as USD")]
    Currency,
    #[error("unknown default avatar {0:?}: one of {DEFAULT_AVATARS:?}")]
    Avatar(String),
    #[error("data must be a JSON object")]
    DataNotObject,
    #[error("data may nest at most {MAX_DATA_DEPTH} levels deep")]
    DataTooDeep,
    #[error("contentType must be one of image/png, image/jpeg, image/webp")]
    AvatarType,
    #[error("contentLength must be between 1 and {MAX_AVATAR_BYTES} bytes")]
    AvatarSize,
    #[error("If-Match must be one ETag, as returned by a read")]
    IfMatch,
    #[error(
        "unknown query parameter {0:?}: GET /users takes status, createdAfter, createdBefore, \
         namePrefix, emailPrefix, handlePrefix, order, limit and cursor"
    )]
    ListParameter(String),
    #[error("the query parameter {0:?} is given more than once")]
    ListParameterTwice(String),
    #[error("limit must be a whole number from 1 to {max}", max = crate::listing::MAX_LIMIT)]
    ListLimit,
    #[error("order must be asc or desc")]
    ListOrder,
    #[error("{0} must be an RFC 3339 timestamp, such as 2026-11-25T10:00:00Z")]
    ListTime(&'static str),
    #[error("createdAfter must be earlier than createdBefore (compared to the millisecond)")]
    ListWindow,
    #[error("{0}")]
    ListPrefix(&'static str),
    #[error(
        "namePrefix, emailPrefix and handlePrefix each list on their own, with no other filter: \
         only status, createdAfter and createdBefore combine"
    )]
    ListCombination,
    #[error(transparent)]
    Value(ValueError),
}

/// A user id: the Cognito `sub` ([`roster_events::UserId`], shared with the events).
pub use roster_events::UserId;

impl From<ValueError> for InputError {
    fn from(error: ValueError) -> Self {
        match error {
            ValueError::UserId => InputError::UserId,
            ValueError::Email => InputError::Email,
            other => InputError::Value(other),
        }
    }
}

/// How a profile is looked up, with the key its index holds. Every key is lowercase: lookups
/// are case-insensitive, as uniqueness is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Name(String),
    Email(String),
    Handle(String),
}

impl Lookup {
    pub fn name(raw: &str) -> Result<Self, InputError> {
        let name = raw.trim();
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        valid
            .then(|| Self::Name(name.to_ascii_lowercase()))
            .ok_or(InputError::Name)
    }

    /// An email in the normal form the Auth API reserves it in (NFKC, then lowercase), so a
    /// look-alike spelling finds the same user.
    ///
    /// The shape checked is the one `GET /user/email/{email}` documents, looser than
    /// [`roster_events::Email`] (which every stored address passed): an address that rule
    /// refuses, a 64-byte-plus local part or a domain ending in a dot, is looked up and not
    /// found (404), as before, rather than refused (400).
    pub fn email(raw: &str) -> Result<Self, InputError> {
        let email = roster_events::email::normalise(raw);
        let valid = email.chars().count() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            })
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        valid.then_some(Self::Email(email)).ok_or(InputError::Email)
    }

    /// `@CortneyGutkowski67`, `CortneyGutkowski67` and `%40CortneyGutkowski67` (the path is
    /// decoded before this) are one handle.
    pub fn handle(raw: &str) -> Result<Self, InputError> {
        let bare = raw.trim();
        let bare = bare.strip_prefix('@').unwrap_or(bare);
        let valid =
            (1..=64).contains(&bare.len()) && bare.bytes().all(|b| b.is_ascii_alphanumeric());
        valid
            .then(|| Self::Handle(format!("@{}", bare.to_ascii_lowercase())))
            .ok_or(InputError::Handle)
    }

    pub fn key(&self) -> &str {
        match self {
            Self::Name(key) | Self::Email(key) | Self::Handle(key) => key,
        }
    }
}

/// An activation code as presented: 32 hex characters. Only its hash is ever stored.
pub struct ActivationCode(String);

impl ActivationCode {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let valid = raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit());
        valid
            .then(|| Self(raw.to_ascii_lowercase()))
            .ok_or(InputError::ActivationCode)
    }

    /// The SHA-256 (hex) the Auth API published in `UserRegistered`.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// How long an activation code stays usable after registration: 7 days. Past that,
/// `GET /user/activate/{code}` answers 410 and an operator confirms the user instead.
pub const ACTIVATION_LIFETIME_SECONDS: i64 = roster_events::auth::ACTIVATION_CODE_LIFETIME_SECONDS;

/// The status machine. A status can only be reached from the statuses listed for it;
/// UNCONFIRMED is only ever the first status, and ARCHIVED is final.
///
/// | to | from |
/// |---|---|
/// | CONFIRMED | UNCONFIRMED, SUSPENDED |
/// | SUSPENDED | UNCONFIRMED, CONFIRMED |
/// | ARCHIVED | UNCONFIRMED, CONFIRMED, SUSPENDED |
pub fn reachable_from(to: UserStatus) -> &'static [UserStatus] {
    use UserStatus::*;
    match to {
        Unconfirmed => &[],
        Confirmed => &[Unconfirmed, Suspended],
        Suspended => &[Unconfirmed, Confirmed],
        Archived => &[Unconfirmed, Confirmed, Suspended],
    }
}

pub fn parse_status(raw: &str) -> Result<UserStatus, InputError> {
    UserStatus::parse(raw).ok_or_else(|| InputError::Status(raw.chars().take(32).collect()))
}

/// A badge of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every badge there is. Each has an icon at `public/badges/{name}.svg` in the bucket.
pub const BADGES: [Badge; 5] = [
    Badge {
        name: "NEW_MEMBER",
        description: "Joined: awarded with every new profile",
    },
    Badge {
        name: "VERIFIED",
        description: "Activated the account: awarded by a rule on UserActivated",
    },
    Badge {
        name: "PHOTOGENIC",
        description: "Uploaded an avatar of their own: awarded by a rule on UserProfileUpdated",
    },
    Badge {
        name: "CONVERSATION_STARTER",
        description: "Started a conversation: awarded by a product through the API",
    },
    Badge {
        name: "EARLY_ADOPTER",
        description: "Among the first users of a product: awarded by a product through the API",
    },
];

/// The catalog's badge of that name (exactly, in capitals).
pub fn badge(name: &str) -> Option<Badge> {
    BADGES.into_iter().find(|badge| badge.name == name)
}

pub const NEW_MEMBER: &str = "NEW_MEMBER";
pub const VERIFIED: &str = "VERIFIED";
pub const PHOTOGENIC: &str = "PHOTOGENIC";

/// The default avatars, each at `public/avatars/x{size}/{name}.png` for every size.
pub const DEFAULT_AVATARS: [&str; 6] = ["01", "02", "03", "04", "05", "06"];
pub const AVATAR_SIZES: [u32; 2] = [128, 256];
/// The size profiles link to.
pub const PROFILE_AVATAR_SIZE: u32 = 256;

/// The default avatar a new user starts with: picked from the user id, so it is stable.
pub fn default_avatar_for(user_id: &str) -> &'static str {
    let digest = Sha256::digest(user_id.as_bytes());
    DEFAULT_AVATARS[usize::from(digest[0]) % DEFAULT_AVATARS.len()]
}

pub fn parse_default_avatar(raw: &str) -> Result<&'static str, InputError> {
    DEFAULT_AVATARS
        .into_iter()
        .find(|name| *name == raw)
        .ok_or_else(|| InputError::Avatar(raw.chars().take(16).collect()))
}

/// Uploaded avatars: these types, at most this size, through a URL valid this long.
pub const AVATAR_TYPES: [(&str, &str); 3] = [
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/webp", "webp"),
];
pub const MAX_AVATAR_BYTES: i64 = 2 * 1024 * 1024;
pub const AVATAR_UPLOAD_SECONDS: u64 = 300;

/// The file extension of an accepted avatar type.
pub fn avatar_extension(content_type: &str) -> Result<&'static str, InputError> {
    AVATAR_TYPES
        .into_iter()
        .find(|(accepted, _)| *accepted == content_type)
        .map(|(_, extension)| extension)
        .ok_or(InputError::AvatarType)
}

pub fn check_avatar_size(bytes: i64) -> Result<i64, InputError> {
    (1..=MAX_AVATAR_BYTES)
        .contains(&bytes)
        .then_some(bytes)
        .ok_or(InputError::AvatarSize)
}

pub const DEFAULT_LANG: &str = "en_us";
pub const DEFAULT_CURRENCY: &str = "USD";

pub fn parse_lang(raw: &str) -> Result<String, InputError> {
    let bytes = raw.as_bytes();
    let valid = bytes.len() == 5
        && bytes[2] == b'_'
        && [0, 1, 3, 4].iter().all(|&i| bytes[i].is_ascii_lowercase());
    valid.then(|| raw.to_owned()).ok_or(InputError::Lang)
}

pub fn parse_currency(raw: &str) -> Result<String, InputError> {
    let valid = raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase());
    valid.then(|| raw.to_owned()).ok_or(InputError::Currency)
}

/// The most a user's `data` may hold, serialised: 16 KiB. A write above it is a 413.
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// The deepest `data` may nest (DynamoDB and most consumers cope with far less than 32).
pub const MAX_DATA_DEPTH: usize = 16;
/// The largest request body a data route reads before answering 413.
pub const MAX_DATA_BODY_BYTES: usize = 4 * MAX_DATA_BYTES;

/// A user's data after a replace or a merge: an object, not too deep, not too large.
pub fn checked_data(data: Value) -> Result<Value, DataError> {
    if !data.is_object() {
        return Err(InputError::DataNotObject.into());
    }
    if depth(&data) > MAX_DATA_DEPTH {
        return Err(InputError::DataTooDeep.into());
    }
    let size = serde_json::to_string(&data).map_or(usize::MAX, |text| text.len());
    if size > MAX_DATA_BYTES {
        return Err(DataError::TooLarge);
    }
    Ok(data)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("data would be larger than {MAX_DATA_BYTES} bytes")]
    TooLarge,
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Applies an RFC 7396 JSON Merge Patch: objects merge key by key, `null` removes a key, and
/// anything else (arrays included) replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(target) = target else {
        unreachable!("made an object above")
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The strong ETag of a profile version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` names: one strong ETag as [`etag`] writes it. `*` means any
/// version, as no `If-Match` does.
pub fn parse_if_match(raw: &str) -> Result<Option<u64>, InputError> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|version| version.parse().ok())
        .map(Some)
        .ok_or(InputError::IfMatch)
}

/// A user's profile, as the use cases, the routes and the tools see it: what the users table
/// holds, without its index keys, its write bookkeeping or its storage shape (those stay in
/// [`crate::store`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub handle: String,
    pub role: Role,
    pub status: UserStatus,
    pub source_system: String,
    pub created_at: Timestamp,
    /// None until the first sign-in is recorded.
    pub last_login_at: Option<Timestamp>,
    /// The hash of the unused activation code; none once it is used (or made pointless).
    pub activation_code_hash: Option<String>,
    /// Epoch seconds after which the code is refused.
    pub activation_expires_at: Option<i64>,
    pub activated_at: Option<Timestamp>,
    pub settings: Settings,
    /// Badge name to when it was awarded.
    pub badges: BTreeMap<String, Timestamp>,
    /// The user's free-form data as JSON text, byte-exact.
    pub data: String,
    /// Raised by every change of the profile: its ETag.
    pub version: u64,
    /// Epoch seconds: the user's tokens issued at or before it are refused.
    pub sessions_revoked_before: Option<i64>,
}

/// A profile's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub lang: String,
    pub currency: String,
    pub avatar_url: String,
    /// The bucket key of an uploaded avatar; none for a default one.
    pub avatar_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_appendix_a() {
        // The RFC's own examples.
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn data_must_be_a_small_shallow_object() {
        assert!(checked_data(json!({"a": 1})).is_ok());
        assert_eq!(
            checked_data(json!([1])),
            Err(DataError::Input(InputError::DataNotObject))
        );
        let big = json!({"blob": "x".repeat(MAX_DATA_BYTES)});
        assert_eq!(checked_data(big), Err(DataError::TooLarge));
        let mut deep = json!(1);
        for _ in 0..=MAX_DATA_DEPTH {
            deep = json!({ "d": deep });
        }
        assert_eq!(
            checked_data(deep),
            Err(DataError::Input(InputError::DataTooDeep))
        );
    }

    #[test]
    fn lookups_are_case_insensitive_and_handles_take_an_optional_at() {
        assert_eq!(Lookup::handle("@CortneyG").unwrap().key(), "@cortneyg");
        assert_eq!(Lookup::handle("CortneyG").unwrap().key(), "@cortneyg");
        assert_eq!(
            Lookup::email(" Ada@Example.COM ").unwrap().key(),
            "ada@example.com"
        );
        assert_eq!(Lookup::name("Ada_L").unwrap().key(), "ada_l");
        for bad in ["", "@", "a b", "@@x", "x/y", "ü"] {
            assert!(Lookup::handle(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "no-at", "a@b", "a @b.c"] {
            assert!(Lookup::email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn look_alike_spellings_of_an_email_look_up_one_address() {
        for raw in [
            "ａｄａ@example.com",
            "ada@ｅｘａｍｐｌｅ.ｃｏｍ",
            "ada＠example.com",
            "ＡＤＡ@Example.com",
        ] {
            assert_eq!(
                Lookup::email(raw).unwrap().key(),
                "ada@example.com",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn the_status_machine_never_returns_to_unconfirmed_nor_leaves_archived() {
        use UserStatus::*;
        assert!(reachable_from(Unconfirmed).is_empty());
        for to in UserStatus::ALL {
            assert!(!reachable_from(to).contains(&Archived));
            assert!(!reachable_from(to).contains(&to), "{to:?} to itself");
        }
        assert!(reachable_from(Confirmed).contains(&Suspended));
        assert!(parse_status("confirmed").is_err());
        assert_eq!(parse_status("SUSPENDED"), Ok(Suspended));
    }

    #[test]
    fn activation_codes_are_hashed_like_the_auth_api_does() {
        let code = ActivationCode::parse("00112233445566778899AABBCCDDEEFF").unwrap();
        assert_eq!(
            code.hash(),
            hex::encode(Sha256::digest(b"00112233445566778899aabbccddeeff"))
        );
        assert!(ActivationCode::parse("short").is_err());
        assert!(ActivationCode::parse(&"g".repeat(32)).is_err());
    }

    #[test]
    fn if_match_names_one_version() {
        assert_eq!(parse_if_match("\"7\""), Ok(Some(7)));
        assert_eq!(parse_if_match("*"), Ok(None));
        for bad in ["7", "W/\"7\"", "\"a\"", "\"1\", \"2\""] {
            assert!(parse_if_match(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_validated() {
        assert!(parse_lang("de_de").is_ok());
        assert!(parse_lang("de-DE").is_err());
        assert!(parse_currency("EUR").is_ok());
        assert!(parse_currency("eur").is_err());
        assert_eq!(avatar_extension("image/webp"), Ok("webp"));
        assert!(avatar_extension("image/svg+xml").is_err());
        assert!(check_avatar_size(MAX_AVATAR_BYTES + 1).is_err());
        assert!(DEFAULT_AVATARS.contains(&default_avatar_for("any-user")));
    }
}

//! The values every service and event share, as types: [`Timestamp`], [`UserId`], [`Role`],
//! [`Email`] and [`UserStatus`]. Each is written exactly as the string it replaces (on the
//! wire, in JSON Schemas, in stored items), so adopting one changes no format; reading one
//! checks it.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

pub use crate::email::Email;
pub use crate::user::UserStatus;

/// A value that does not read as its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("not an email address")]
    Email,
    #[error("not a user id: 1 to 64 letters, digits or '-'")]
    UserId,
    #[error("not an RFC 3339 timestamp")]
    Timestamp,
    #[error("not a role: USER or ADMIN")]
    Role,
    #[error("not a status: UNCONFIRMED, CONFIRMED, SUSPENDED or ARCHIVED")]
    Status,
}

/// Gives a type the JSON Schema of a plain string, which is what it is on the wire: the
/// schemas of the events that carry it stay what they were while it was a `String`.
macro_rules! string_schema {
    ($type:ty) => {
        impl schemars::JsonSchema for $type {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                "String".into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}
pub(crate) use string_schema;

/// Serialises a type as its `as_str`, and reads it with its `parse`.
macro_rules! string_serde {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <Cow<'de, str>>::deserialize(deserializer)?;
                <$type>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An instant, as RFC 3339 text. Roster writes UTC with milliseconds and `Z`
/// (`2026-11-25T10:00:00.000Z`): the same width everywhere, so two timestamps compare as text
/// (DynamoDB conditions do) as they compare in time. One read from elsewhere is kept exactly as
/// written.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    at: DateTime<Utc>,
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// `at`, with millisecond precision.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        let text = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        // Exactly the instant the text says.
        let at = DateTime::parse_from_rfc3339(&text)
            .map(|parsed| parsed.with_timezone(&Utc))
            .unwrap_or(at);
        Self { text, at }
    }

    /// Any RFC 3339 timestamp, kept as written.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let at = DateTime::parse_from_rfc3339(raw).map_err(|_| ValueError::Timestamp)?;
        Ok(Self {
            text: raw.to_owned(),
            at: at.with_timezone(&Utc),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn to_datetime(&self) -> DateTime<Utc> {
        self.at
    }

    /// Seconds since the Unix epoch.
    pub fn timestamp(&self) -> i64 {
        self.at.timestamp()
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, &self.text).cmp(&(other.at, &other.text))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

string_serde!(Timestamp);
string_schema!(Timestamp);

/// A user's id: the Cognito `sub` (1 to 64 ASCII letters, digits or `-`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let valid = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        valid
            .then(|| Self(raw.to_owned()))
            .ok_or(ValueError::UserId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

string_serde!(UserId);
string_schema!(UserId);

/// What a user is to Roster: the Cognito group it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Every registered user.
    User,
    /// An operator.
    Admin,
}

impl Role {
    pub const ALL: [Self; 2] = [Self::User, Self::Admin];

    /// The role's name, which is also its Cognito group's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Admin => "ADMIN",
        }
    }

    /// The role named `raw` (exactly, in capitals).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or(ValueError::Role)
    }
}

string_serde!(Role);
string_schema!(Role);

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_with_milliseconds_and_read_as_written() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Timestamp::from_datetime(at).as_str(),
            "2026-11-25T10:00:00.123Z"
        );
        for kept in ["2026-11-25T10:00:00Z", "2026-11-25T11:00:00.5+01:00"] {
            let read: Timestamp = serde_json::from_value(serde_json::json!(kept)).unwrap();
            assert_eq!(serde_json::to_value(&read).unwrap(), kept);
        }
        assert!(Timestamp::parse("t").is_err());
        assert!(Timestamp::parse("2026-11-25").is_err());
        let (a, b) = (
            Timestamp::parse("2026-11-25T10:00:00.000Z").unwrap(),
            Timestamp::parse("2026-11-25T10:00:00.001Z").unwrap(),
        );
        assert!(a < b && a.as_str() < b.as_str());
        assert_eq!(
            Timestamp::parse(a.as_str()).unwrap().timestamp(),
            1_795_600_800
        );
    }

    #[test]
    fn roles_statuses_and_ids_are_the_strings_they_replace() {
        assert_eq!(serde_json::to_value(Role::User).unwrap(), "USER");
        assert_eq!(Role::parse("ADMIN"), Ok(Role::Admin));
        assert!(Role::parse("user").is_err());
        assert!(serde_json::from_value::<Role>(serde_json::json!("ROOT")).is_err());
        assert_eq!(UserStatus::Confirmed.to_string(), "CONFIRMED");
        let id = UserId::parse("7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90").unwrap();
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90"
        );
        for bad in ["", "a b", "a/b", &"a".repeat(65)] {
            assert_eq!(UserId::parse(bad), Err(ValueError::UserId), "{bad:?}");
        }
    }

    #[test]
    fn each_has_the_schema_of_a_string() {
        let string = serde_json::to_value(schemars::schema_for!(String)).unwrap();
        for schema in [
            schemars::schema_for!(Timestamp),
            schemars::schema_for!(UserId),
            schemars::schema_for!(Role),
            schemars::schema_for!(Email),
        ] {
            let mut schema = serde_json::to_value(schema).unwrap();
            schema["title"] = string["title"].clone();
            assert_eq!(schema, string);
        }
    }
}

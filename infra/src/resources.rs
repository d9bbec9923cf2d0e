//! Every AWS resource Roster needs, declared once as data.
//!
//! Provisioning (the local stack, the test harness) creates exactly these, and the SAM template
//! is checked against them, so the laptop and AWS cannot drift apart silently.

use roster_events::source;

/// Names of one stack's resources. Every name starts with the stack's prefix, so several
/// stacks (the developer's and one per test) share one AWS endpoint without seeing each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// `prefix` must be lowercase letters, digits and dashes (it also names an S3 bucket).
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        assert!(
            !prefix.is_empty()
                && prefix.len() <= 40
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "invalid stack prefix {prefix:?}"
        );
        Self { prefix }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn table(&self, table: &TableSpec) -> String {
        format!("{}-{}", self.prefix, table.name)
    }

    pub fn user_pool(&self) -> String {
        format!("{}-users", self.prefix)
    }

    pub fn bus(&self) -> String {
        format!("{}-bus", self.prefix)
    }

    pub fn rule(&self, subscriber: &SubscriberSpec) -> String {
        format!("{}-{}", self.prefix, subscriber.name)
    }

    pub fn queue(&self, subscriber: &SubscriberSpec) -> String {
        format!("{}-{}", self.prefix, subscriber.name)
    }

    pub fn dead_letter_queue(&self, subscriber: &SubscriberSpec) -> String {
        format!("{}-{}-dlq", self.prefix, subscriber.name)
    }

    pub fn bucket(&self) -> String {
        format!("{}-assets", self.prefix)
    }

    pub fn api_key_secret(&self) -> String {
        format!("{}/api-keys", self.prefix)
    }

    pub fn server_key_secret(&self) -> String {
        format!("{}/auth-server-key", self.prefix)
    }
}

/// A DynamoDB table: string keys, on-demand, NEW_AND_OLD_IMAGES stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The name after the stack prefix.
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    /// Attribute holding an epoch-seconds expiry, for records that may vanish on their own.
    pub ttl_attribute: Option<&'static str>,
}

/// A global secondary index projecting all attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
}

/// The Auth API's table: identity records, uniqueness reservations (`EMAIL#…`, `NAME#…`,
/// `HANDLE#…`) and idempotency records, under a generic `pk`/`sk` key. The `pending` index
/// lets the reconciler find registrations that never finished.
pub const AUTH_TABLE: TableSpec = TableSpec {
    name: "auth",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[IndexSpec {
        name: "pending",
        partition_key: "pendingShard",
        sort_key: Some("pendingSince"),
    }],
    ttl_attribute: Some("expiresAt"),
};

/// The User API's table: one profile per user keyed by the Cognito `sub`, with one index per
/// lookup so each is a single round trip. Profiles never expire, so there is no TTL.
pub const USERS_TABLE: TableSpec = TableSpec {
    name: "users",
    partition_key: "id",
    sort_key: None,
    indexes: &[
        IndexSpec {
            name: "by-name",
            partition_key: "nameKey",
            sort_key: None,
        },
        IndexSpec {
            name: "by-email",
            partition_key: "emailKey",
            sort_key: None,
        },
        IndexSpec {
            name: "by-handle",
            partition_key: "handleKey",
            sort_key: None,
        },
        IndexSpec {
            name: "by-activation-code",
            partition_key: "activationCodeHash",
            sort_key: None,
        },
    ],
    ttl_attribute: None,
};

pub const TABLES: [&TableSpec; 2] = [&AUTH_TABLE, &USERS_TABLE];

/// The Cognito user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolSpec {
    pub password: PasswordPolicy,
    pub groups: &'static [&'static str],
    pub clients: &'static [AppClientSpec],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: i32,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

/// One app client per frontend: no secret (browsers and BFFs cannot keep one), admin
/// user-password and refresh flows only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppClientSpec {
    /// The frontend this client belongs to; also the client's name after the stack prefix.
    pub frontend: &'static str,
    pub access_token_minutes: i32,
    pub id_token_minutes: i32,
    pub refresh_token_days: i32,
}

pub const AUTH_FLOWS: [&str; 2] = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];

/// Attributes the id token carries (moto puts none in it unless they are listed).
pub const READ_ATTRIBUTES: [&str; 4] = ["email", "email_verified", "name", "preferred_username"];

pub const USER_POOL: UserPoolSpec = UserPoolSpec {
    password: PasswordPolicy {
        minimum_length: 10,
        require_lowercase: true,
        require_uppercase: true,
        require_numbers: true,
        require_symbols: false,
    },
    groups: &["USER", "ADMIN"],
    clients: &[
        AppClientSpec {
            frontend: "account-web",
            access_token_minutes: 60,
            id_token_minutes: 60,
            refresh_token_days: 30,
        },
        AppClientSpec {
            frontend: "partner-portal",
            access_token_minutes: 60,
            id_token_minutes: 60,
            refresh_token_days: 30,
        },
    ],
};

/// A subscriber: an EventBridge rule delivering into its SQS queue, which a function drains;
/// messages that keep failing move to the dead-letter queue after `max_receive_count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberSpec {
    pub name: &'static str,
    /// The sources the rule matches.
    pub sources: &'static [&'static str],
    pub max_receive_count: u32,
    pub visibility_timeout_seconds: u32,
}

pub const AUTH_SUBSCRIBER: SubscriberSpec = SubscriberSpec {
    name: "auth-subscriber",
    sources: &[source::USER],
    max_receive_count: 5,
    visibility_timeout_seconds: 30,
};

pub const USER_SUBSCRIBER: SubscriberSpec = SubscriberSpec {
    name: "user-subscriber",
    sources: &[source::AUTH],
    max_receive_count: 5,
    visibility_timeout_seconds: 30,
};

pub const SUBSCRIBERS: [&SubscriberSpec; 2] = [&AUTH_SUBSCRIBER, &USER_SUBSCRIBER];

impl SubscriberSpec {
    /// The rule's event pattern, as EventBridge expects it.
    pub fn event_pattern(&self) -> String {
        serde_json::json!({ "source": self.sources }).to_string()
    }
}

/// Static assets bundled with the User API and uploaded to the assets bucket: default avatars
/// and badge icons, served publicly under `public/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub key: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

pub const ASSETS: [Asset; 3] = [
    Asset {
        key: "public/avatars/default.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../user-api/assets/avatars/default.svg"),
    },
    Asset {
        key: "public/badges/NEW_MEMBER.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../user-api/assets/badges/NEW_MEMBER.svg"),
    },
    Asset {
        key: "public/badges/VERIFIED.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../user-api/assets/badges/VERIFIED.svg"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix() {
        let names = Names::new("dev");
        assert_eq!(names.table(&USERS_TABLE), "dev-users");
        assert_eq!(names.queue(&AUTH_SUBSCRIBER), "dev-auth-subscriber");
        assert_eq!(
            names.dead_letter_queue(&AUTH_SUBSCRIBER),
            "dev-auth-subscriber-dlq"
        );
        assert_eq!(names.bucket(), "dev-assets");
    }

    #[test]
    #[should_panic(expected = "invalid stack prefix")]
    fn rejects_a_prefix_that_cannot_name_a_bucket() {
        Names::new("Dev_Stack");
    }

    #[test]
    fn each_service_hears_the_other_one() {
        assert_eq!(
            AUTH_SUBSCRIBER.event_pattern(),
            r#"{"source":["roster.user"]}"#
        );
        assert_eq!(
            USER_SUBSCRIBER.event_pattern(),
            r#"{"source":["roster.auth"]}"#
        );
    }
}

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

    /// Where a stream's event source mapping records a batch it gave up on.
    pub fn stream_failures_queue(&self) -> String {
        format!("{}-stream-failures", self.prefix)
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

    /// The User API's own key (it seals list cursors).
    pub fn user_key_secret(&self) -> String {
        format!("{}/user-server-key", self.prefix)
    }

    /// The SES identity (a domain) the stack's mail is sent from. On AWS it is the template's
    /// `MailDomain`; locally a domain of the stack's own under `.test` (reserved, never a real
    /// address), so that each stack's mail is told apart by its sender.
    pub fn mail_domain(&self) -> String {
        format!("{}.roster.test", self.prefix)
    }

    /// The sender of the stack's mail: an address of [`Self::mail_domain`].
    pub fn mail_from(&self) -> String {
        format!("Roster <no-reply@{}>", self.mail_domain())
    }
}

pub use roster_platform::table::{IndexSpec, Projection, StreamView, TableSpec};

/// The Auth API's table, as its adapter declares it.
pub const AUTH_TABLE: TableSpec = roster_auth_api::store::TABLE;

/// The User API's table, as its adapter declares it.
pub const USERS_TABLE: TableSpec = roster_user_api::store::TABLE;

pub const TABLES: [&TableSpec; 2] = [&AUTH_TABLE, &USERS_TABLE];

/// How each table's stream reaches its projector: the event source mapping's settings, the
/// same locally (the stream poller) and in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamMappingSpec {
    pub batch_size: i32,
    /// Retries of a failing record before its coordinates go to the stream-failures queue and
    /// the mapping moves on.
    pub maximum_retry_attempts: u32,
}

pub const STREAM_MAPPING: StreamMappingSpec = StreamMappingSpec {
    batch_size: 100,
    maximum_retry_attempts: 20,
};

/// The Cognito user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolSpec {
    pub password: PasswordPolicy,
    pub groups: &'static [&'static str],
    pub clients: &'static [AppClientSpec],
    /// The pool's custom attributes (`custom:` + name).
    pub custom_attributes: &'static [CustomAttributeSpec],
    /// Multi-factor sign-in: CloudFormation's `MfaConfiguration` (`OFF`, `OPTIONAL`, `ON`).
    pub mfa_configuration: &'static str,
    /// The second factors users may turn on (`EnabledMfas`).
    pub enabled_mfas: &'static [&'static str],
}

/// A custom string attribute of the pool's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomAttributeSpec {
    /// The name without its `custom:` prefix.
    pub name: &'static str,
    /// An immutable attribute can only be set when the user is created (AdminCreateUser).
    pub mutable: bool,
    pub min_length: u32,
    pub max_length: u32,
}

impl CustomAttributeSpec {
    /// The name users and tokens carry: `custom:` + name.
    pub fn attribute_name(&self) -> String {
        format!("custom:{}", self.name)
    }
}

/// The registration that created a Cognito user (`custom:registrationId`): registration
/// adopts, and its rollback deletes, only a user carrying its own id. Immutable, so no one can
/// put it on a user afterwards, and no app client may read or write it.
pub const REGISTRATION_MARKER: CustomAttributeSpec = CustomAttributeSpec {
    name: "registrationId",
    mutable: false,
    min_length: 1,
    max_length: 64,
};
const _: () = assert!(
    !REGISTRATION_MARKER.mutable,
    "only a creation may set the marker"
);

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

/// Attributes the id token carries (moto puts none in it unless they are listed; it puts
/// every `custom:` attribute in, listed or not). Never the registration marker.
pub const READ_ATTRIBUTES: [&str; 4] = ["email", "email_verified", "name", "preferred_username"];

/// What a signed-in user may write about itself with its own access token (Cognito's
/// `UpdateUserAttributes`, which every access token's `aws.cognito.signin.user.admin` scope
/// allows): one standard attribute Roster never reads. Never the email (a sign-in name, held
/// by a reservation), `email_verified`, the name, the handle (`preferred_username`) or the
/// registration marker: identity attributes change only through the Auth API.
///
/// The list cannot be empty: Cognito (and so CloudFormation) reads an absent or empty
/// `WriteAttributes` as "every standard attribute", so the minimum is one harmless attribute.
/// Administrators' calls (`AdminUpdateUserAttributes`) are not limited by it.
pub const WRITE_ATTRIBUTES: [&str; 1] = ["zoneinfo"];

/// Attributes whose change takes effect only once the user verifies the new value
/// (`UserAttributeUpdateSettings`): an email changed out of band (an operator's update without
/// `email_verified`) leaves the old one in place. Cognito requires such attributes to be
/// auto-verified too (`AutoVerifiedAttributes`).
pub const VERIFIED_BEFORE_UPDATE: [&str; 1] = ["email"];

pub const USER_POOL: UserPoolSpec = UserPoolSpec {
    password: PasswordPolicy {
        minimum_length: 10,
        require_lowercase: true,
        require_uppercase: true,
        require_numbers: true,
        require_symbols: false,
    },
    groups: &["USER", "ADMIN"],
    custom_attributes: &[REGISTRATION_MARKER],
    // Each user chooses: two-step sign-in with an authenticator app (TOTP) is opt-in.
    mfa_configuration: "OPTIONAL",
    enabled_mfas: &["SOFTWARE_TOKEN_MFA"],
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
    /// The detail-types the rule matches; empty for all of them.
    pub detail_types: &'static [&'static str],
    pub max_receive_count: u32,
    /// At least 6 times the consumer's timeout on AWS (10 s); the local stack retries after
    /// its own short backoff instead.
    pub visibility_timeout_seconds: u32,
}

pub const AUTH_SUBSCRIBER: SubscriberSpec = SubscriberSpec {
    name: "auth-subscriber",
    sources: &[source::USER],
    detail_types: &roster_auth_api::subscriber::RULE_EVENTS,
    max_receive_count: 5,
    visibility_timeout_seconds: 60,
};

pub const USER_SUBSCRIBER: SubscriberSpec = SubscriberSpec {
    name: "user-subscriber",
    sources: &[source::AUTH],
    detail_types: &roster_user_api::subscriber::RULE_EVENTS,
    max_receive_count: 5,
    visibility_timeout_seconds: 60,
};

/// The badge rules: the User API's own events that earn a badge.
pub const BADGE_RULES: SubscriberSpec = SubscriberSpec {
    name: "badge-rules",
    sources: &[source::USER],
    detail_types: &roster_user_api::badge_rules::RULE_EVENTS,
    max_receive_count: 5,
    visibility_timeout_seconds: 60,
};

/// The activation mailer: the Auth API's own events that call for an activation mail.
pub const ACTIVATION_MAILER: SubscriberSpec = SubscriberSpec {
    name: "activation-mailer",
    sources: &[source::AUTH],
    detail_types: &["UserRegistered", "ActivationCodeReissued"],
    max_receive_count: 5,
    visibility_timeout_seconds: 60,
};

pub const SUBSCRIBERS: [&SubscriberSpec; 4] = [
    &AUTH_SUBSCRIBER,
    &USER_SUBSCRIBER,
    &BADGE_RULES,
    &ACTIVATION_MAILER,
];

impl SubscriberSpec {
    /// The rule's event pattern, as EventBridge expects it.
    pub fn event_pattern(&self) -> String {
        let mut pattern = serde_json::json!({ "source": self.sources });
        if !self.detail_types.is_empty() {
            pattern["detail-type"] = serde_json::json!(self.detail_types);
        }
        pattern.to_string()
    }
}

/// Every Lambda function's binary: what `infra/package` builds and the template deploys.
pub const LAMBDA_BINARIES: [&str; 10] = [
    "auth-api",
    "auth-subscriber",
    "activation-mailer",
    "auth-reconciler",
    "avatar-sweeper",
    "user-api",
    "user-subscriber",
    "badge-rules",
    "auth-projector",
    "users-projector",
];

/// Static assets bundled with the User API and uploaded to the assets bucket: default avatars
/// and badge icons, served publicly under `public/`. The User API owns them (its `assets/`
/// folder and `roster_user_api::assets::bundled`).
pub use roster_user_api::assets::BundledAsset as Asset;

/// Days after which the assets bucket's lifecycle rule removes a noncurrent object version
/// (and then the delete marker left alone), the same locally and in the template.
pub const NONCURRENT_VERSION_DAYS: i32 = 1;

/// The id of that lifecycle rule.
pub const NONCURRENT_VERSIONS_RULE: &str = "expire-noncurrent-versions";

/// The only prefix of the assets bucket anyone may read.
pub const PUBLIC_PREFIX: &str = "public/";

/// Badge icons (one per badge of the catalog) and the default avatars in every size.
pub const ASSETS: &[Asset] = roster_user_api::assets::bundled();

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
    fn the_registration_marker_is_the_one_the_auth_api_sets_and_no_client_reads_it() {
        assert_eq!(
            REGISTRATION_MARKER.attribute_name(),
            roster_auth_api::cognito::REGISTRATION_ATTRIBUTE
        );
        assert!(USER_POOL.custom_attributes.contains(&REGISTRATION_MARKER));
        assert!(
            READ_ATTRIBUTES
                .iter()
                .all(|attribute| !attribute.starts_with("custom:"))
        );
    }

    #[test]
    fn users_may_write_no_identity_attribute() {
        let identity = ["email", "email_verified", "name", "preferred_username"];
        assert!(!WRITE_ATTRIBUTES.is_empty(), "empty means every attribute");
        for attribute in WRITE_ATTRIBUTES {
            assert!(!identity.contains(&attribute), "{attribute}");
            assert!(!attribute.starts_with("custom:"), "{attribute}");
            assert!(
                !READ_ATTRIBUTES.contains(&attribute),
                "Roster never reads it"
            );
        }
        assert_eq!(VERIFIED_BEFORE_UPDATE, ["email"]);
    }

    #[test]
    fn the_badge_rules_hear_only_the_events_that_earn_badges() {
        assert_eq!(
            BADGE_RULES.event_pattern(),
            r#"{"detail-type":["UserActivated","UserProfileUpdated"],"source":["roster.user"]}"#
        );
    }

    #[test]
    fn the_mailer_hears_the_events_that_issue_a_code() {
        use roster_events::DomainEvent;
        use roster_events::auth::{ActivationCodeReissued, UserRegistered};
        assert_eq!(
            ACTIVATION_MAILER.detail_types,
            [
                UserRegistered::DETAIL_TYPE,
                ActivationCodeReissued::DETAIL_TYPE
            ]
        );
        assert_eq!(ACTIVATION_MAILER.sources, [UserRegistered::SOURCE]);
    }

    #[test]
    fn each_service_hears_the_other_one() {
        assert_eq!(
            AUTH_SUBSCRIBER.event_pattern(),
            r#"{"detail-type":["UserActivated","UserStatusChanged","UserDeleted"],"source":["roster.user"]}"#
        );
        assert_eq!(
            USER_SUBSCRIBER.event_pattern(),
            r#"{"detail-type":["UserRegistered","UserLoggedIn","ActivationCodeReissued","SessionsRevoked","IdentityDeleted","UserDeletionRequested"],"source":["roster.auth"]}"#
        );
    }
}

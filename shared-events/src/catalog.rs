//! Every event Roster publishes, in one list: what generates the committed JSON Schemas and
//! examples (`schemas/`), what the documentation and the contract tests walk.

use serde_json::Value;

use crate::auth::UserRegistered;
use crate::auth::{
    ActivationCodeReissued, IdentityDeleted, MfaDisabled, MfaEnabled, PasswordChangeKind,
    PasswordChanged, PasswordResetRequested, SessionsRevoked, UserDeletionRequested, UserLoggedIn,
};
use crate::user::{
    BadgeAwarded, BadgeRevoked, ProfileSettings, UserActivated, UserDataUpdated, UserDeleted,
    UserProfileCreated, UserProfileUpdated, UserStatus, UserStatusChanged,
};
use crate::{DomainEvent, Email, Envelope, Role, Timestamp, UserId};

/// One event of the contract.
#[derive(Debug, Clone, Copy)]
pub struct EventSpec {
    pub source: &'static str,
    pub detail_type: &'static str,
    pub version: u32,
    schema: fn() -> Value,
    example: fn() -> Value,
}

impl EventSpec {
    /// The JSON Schema (2020-12) of the event's `detail`: the envelope with its data.
    pub fn schema(&self) -> Value {
        (self.schema)()
    }

    /// A valid `detail` of this event.
    pub fn example(&self) -> Value {
        (self.example)()
    }

    /// `UserRegistered.v1`: the name of the committed files of this version.
    pub fn file_stem(&self) -> String {
        format!("{}.v{}", self.detail_type, self.version)
    }
}

/// A typical instance of an event, for the committed example and the documentation.
pub trait Example: DomainEvent + Sized {
    fn example() -> Self;
}

fn spec<D: Example>() -> EventSpec {
    EventSpec {
        source: D::SOURCE,
        detail_type: D::DETAIL_TYPE,
        version: D::VERSION,
        schema: || {
            let mut schema =
                serde_json::to_value(schemars::schema_for!(Envelope<D>)).expect("a schema is JSON");
            schema["title"] = Value::from(D::DETAIL_TYPE);
            schema
        },
        example: || {
            let envelope = Envelope::new(
                format!("{}-{}", D::DETAIL_TYPE, EXAMPLE_USER),
                at(),
                D::example(),
            )
            .with_correlation_id(Some("0b5e3c52-3d1f-4a55-9f0e-6c1d2b7a9e41".to_owned()));
            serde_json::to_value(envelope).expect("an example is JSON")
        },
    }
}

/// Every event, Auth API's first.
pub fn events() -> Vec<EventSpec> {
    vec![
        spec::<UserRegistered>(),
        spec::<UserLoggedIn>(),
        spec::<PasswordResetRequested>(),
        spec::<PasswordChanged>(),
        spec::<SessionsRevoked>(),
        spec::<IdentityDeleted>(),
        spec::<MfaEnabled>(),
        spec::<MfaDisabled>(),
        spec::<UserDeletionRequested>(),
        spec::<ActivationCodeReissued>(),
        spec::<UserProfileCreated>(),
        spec::<UserProfileUpdated>(),
        spec::<UserActivated>(),
        spec::<UserStatusChanged>(),
        spec::<BadgeAwarded>(),
        spec::<BadgeRevoked>(),
        spec::<UserDataUpdated>(),
        spec::<UserDeleted>(),
    ]
}

const EXAMPLE_USER: &str = "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90";
const AT: &str = "2026-11-25T10:00:00.000Z";

fn user() -> UserId {
    UserId::parse(EXAMPLE_USER).expect("the example user id is one")
}

fn at() -> Timestamp {
    Timestamp::parse(AT).expect("the example time is RFC 3339")
}

fn email() -> Email {
    Email::parse("cortney@example.com").expect("the example address is one")
}

impl Example for UserRegistered {
    fn example() -> Self {
        Self {
            user_id: user(),
            email: email(),
            name: "cortney_gutkowski67".to_owned(),
            handle: "@CortneyGutkowski67".to_owned(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: "account-web".to_owned(),
            created_at: at(),
            activation_code_hash:
                "5f2b9c0e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c".to_owned(),
        }
    }
}

impl Example for ActivationCodeReissued {
    fn example() -> Self {
        Self {
            user_id: user(),
            activation_code_hash:
                "9c4e1b7a2f0d8c6e5b3a1f9e7d5c3b1a0f8e6d4c2b0a9f7e5d3c1b9a7f5e3d1c".to_owned(),
            generation: 1,
            expires_at: Timestamp::parse("2026-12-02T10:00:00.000Z")
                .expect("the example time is RFC 3339"),
            reissued_at: at(),
        }
    }
}

impl Example for UserLoggedIn {
    fn example() -> Self {
        Self {
            user_id: user(),
            client_id: "6v3k1m0q8r2s4t5u7w9x1y3z5a".to_owned(),
            logged_in_at: at(),
        }
    }
}

impl Example for PasswordResetRequested {
    fn example() -> Self {
        Self {
            user_id: user(),
            email: email(),
            requested_at: at(),
        }
    }
}

impl Example for PasswordChanged {
    fn example() -> Self {
        Self {
            user_id: Some(user()),
            email: None,
            kind: PasswordChangeKind::Change,
            changed_at: at(),
        }
    }
}

impl Example for SessionsRevoked {
    fn example() -> Self {
        Self {
            user_id: user(),
            revoked_before: 1_764_064_800,
            reason: "SIGNED_OUT".to_owned(),
        }
    }
}

impl Example for UserDeletionRequested {
    fn example() -> Self {
        Self {
            user_id: user(),
            requested_at: at(),
        }
    }
}

impl Example for IdentityDeleted {
    fn example() -> Self {
        Self {
            user_id: user(),
            detected_at: at(),
        }
    }
}

impl Example for MfaEnabled {
    fn example() -> Self {
        Self {
            user_id: user(),
            factor: "TOTP".to_owned(),
            enabled_at: at(),
        }
    }
}

impl Example for MfaDisabled {
    fn example() -> Self {
        Self {
            user_id: user(),
            factor: "TOTP".to_owned(),
            disabled_at: at(),
        }
    }
}

fn settings() -> ProfileSettings {
    ProfileSettings {
        lang: "en_us".to_owned(),
        currency: "USD".to_owned(),
        avatar_url: "https://assets.example.com/public/avatars/x256/03.png".to_owned(),
        custom_avatar: false,
    }
}

impl Example for UserProfileCreated {
    fn example() -> Self {
        Self {
            user_id: user(),
            email: email(),
            name: "cortney_gutkowski67".to_owned(),
            handle: "@CortneyGutkowski67".to_owned(),
            status: UserStatus::Unconfirmed,
            profile_data: settings(),
            badges: vec!["NEW_MEMBER".to_owned()],
            created_at: at(),
            version: 1,
        }
    }
}

impl Example for UserProfileUpdated {
    fn example() -> Self {
        Self {
            user_id: user(),
            changed: vec!["lang".to_owned()],
            profile_data: ProfileSettings {
                lang: "de_de".to_owned(),
                ..settings()
            },
            updated_at: at(),
            version: 4,
        }
    }
}

impl Example for UserActivated {
    fn example() -> Self {
        Self {
            user_id: user(),
            email: email(),
            activated_at: at(),
            version: 2,
        }
    }
}

impl Example for UserStatusChanged {
    fn example() -> Self {
        Self {
            user_id: user(),
            from: UserStatus::Confirmed,
            to: UserStatus::Suspended,
            changed_at: at(),
            version: 5,
        }
    }
}

impl Example for BadgeAwarded {
    fn example() -> Self {
        Self {
            user_id: user(),
            badge: "VERIFIED".to_owned(),
            awarded_at: at(),
            version: 3,
        }
    }
}

impl Example for BadgeRevoked {
    fn example() -> Self {
        Self {
            user_id: user(),
            badge: "VERIFIED".to_owned(),
            revoked_at: at(),
            version: 6,
        }
    }
}

impl Example for UserDataUpdated {
    fn example() -> Self {
        Self {
            user_id: user(),
            changed_keys: vec!["newsletter".to_owned(), "theme".to_owned()],
            updated_at: at(),
            version: 7,
        }
    }
}

impl Example for UserDeleted {
    fn example() -> Self {
        Self {
            user_id: user(),
            deleted_at: at(),
        }
    }
}

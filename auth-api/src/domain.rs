//! Inputs of the Auth API as domain types: parsed once, at the edge, before anything reaches
//! AWS.

use std::fmt;

/// An email address in its one normal form, with the one validation rule both services
/// share: [`roster_events::Email`].
pub use roster_events::Email;
use roster_events::ValueError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("email is not a valid address")]
    Email,
    #[error(
        "password must be {min} to {max} characters with a lowercase letter, an uppercase letter and a digit"
    )]
    Password { min: usize, max: usize },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error(
        "name must be 3 to 30 characters: letters, digits, '_', '.' or '-', starting with a letter, with no two separators in a row"
    )]
    Name,
    #[error("sourceSystem must be 1 to 64 letters, digits, '_', '.' or '-'")]
    SourceSystem,
    #[error("Idempotency-Key must be 1 to 128 visible ASCII characters")]
    IdempotencyKey,
    #[error("code must be the 6 digits the authenticator app shows")]
    TotpCode,
    #[error("session must be the handle a sign-in answered with (1 to 4096 characters)")]
    MfaSession,
    #[error("name the user by exactly one of userId and email")]
    ResendTarget,
    #[error(transparent)]
    Value(ValueError),
}

impl From<ValueError> for InputError {
    fn from(error: ValueError) -> Self {
        match error {
            ValueError::Email => InputError::Email,
            other => InputError::Value(other),
        }
    }
}

/// A public user name, as the seed has them (`cortney_gutkowski67`): 3 to 30 ASCII letters,
/// digits and the separators `_`, `.`, `-`; it starts with a letter and never has two
/// separators in a row or ends with one. Unique case-insensitively. Kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let name = raw.trim();
        let separator = |c: char| matches!(c, '_' | '.' | '-');
        let valid = (3..=30).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && !name.ends_with(separator)
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || separator(c))
            && !name
                .as_bytes()
                .windows(2)
                .any(|pair| separator(pair[0] as char) && separator(pair[1] as char));
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InputError::Name)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key: names differing only in case are the same name.
    pub fn key(&self) -> String {
        uniqueness_key(&self.0)
    }

    /// The handle this name gets: `@` and the name in PascalCase, its separators dropped
    /// (`cortney_gutkowski67` → `@CortneyGutkowski67`).
    pub fn handle(&self) -> Handle {
        let mut handle = String::with_capacity(self.0.len() + 1);
        handle.push('@');
        for part in self.0.split(['_', '.', '-']) {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                handle.push(first.to_ascii_uppercase());
                handle.extend(chars);
            }
        }
        Handle(handle)
    }
}

/// `@` followed by a name in PascalCase. Unique case-insensitively: `john_doe` and `john.doe`
/// both want `@JohnDoe`, and the second one is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        uniqueness_key(&self.0)
    }
}

/// The key under which a name or handle is unique: the same letters in any case are taken.
pub fn uniqueness_key(name_or_handle: &str) -> String {
    name_or_handle.to_ascii_lowercase()
}

/// The system a registration came from (a frontend or partner); `roster` when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSystem(String);

impl SourceSystem {
    pub fn parse(raw: Option<&str>) -> Result<Self, InputError> {
        let Some(raw) = raw else {
            return Ok(Self("roster".to_owned()));
        };
        let valid = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InputError::SourceSystem)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A caller's `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as the API key `api_key_id` sent it: `<api key id>/<key>`, so each API key has
    /// keys of its own. Another API key sending the same value neither replays the first
    /// registration (its activation code) nor learns from a 422 whether its body (the
    /// password, say) matched the stored fingerprint.
    pub fn scoped_to(self, api_key_id: &str) -> Self {
        Self(format!("{api_key_id}/{}", self.0))
    }

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let valid = (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InputError::IdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The user pool's password policy (`infra/src/resources.rs` provisions the pool with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRules {
    pub minimum_length: usize,
    pub maximum_length: usize,
}

pub const PASSWORD_RULES: PasswordRules = PasswordRules {
    minimum_length: 10,
    maximum_length: 256,
};

/// A password that meets the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let rules = PASSWORD_RULES;
        let length = raw.chars().count();
        let valid = (rules.minimum_length..=rules.maximum_length).contains(&length)
            && raw.chars().any(|c| c.is_lowercase())
            && raw.chars().any(|c| c.is_uppercase())
            && raw.chars().any(|c| c.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InputError::Password {
                min: rules.minimum_length,
                max: rules.maximum_length,
            })
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A password presented to sign in: not checked against the policy (the policy may have
/// changed since it was set), only required to be non-empty and of sane length.
#[derive(Clone)]
pub struct PresentedPassword(String);

impl PresentedPassword {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        if raw.is_empty() || raw.len() > 1024 {
            return Err(InputError::Empty("password"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PresentedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresentedPassword(<redacted>)")
    }
}

/// A refresh token as presented: trimmed, not empty, at most 8 KiB. Its `Debug` never shows
/// it.
#[derive(Clone)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let token = raw.trim();
        if token.is_empty() || token.len() > 8 * 1024 {
            return Err(InputError::Empty("refreshToken"));
        }
        Ok(Self(token.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// A password-reset code as presented: trimmed, 1 to 64 bytes. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ResetCode(String);

impl ResetCode {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let code = raw.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(InputError::Empty("code"));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetCode(<redacted>)")
    }
}

/// A one-time code of an authenticator app (RFC 6238 TOTP, as Cognito's software tokens):
/// exactly 6 ASCII digits. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let code = raw.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(InputError::TotpCode)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

/// The text of a sign-in's challenge handle as a caller sent it back, before it is opened
/// ([`crate::mfa::ChallengeHandles`]): 1 to 4096 visible ASCII characters. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaSessionText(String);

impl MfaSessionText {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let text = raw.trim();
        if (1..=4096).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InputError::MfaSession)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MfaSessionText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MfaSessionText(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_totp_code_is_six_digits_and_nothing_else() {
        assert_eq!(TotpCode::parse(" 012345 ").unwrap().expose(), "012345");
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "１２３４５６",
            "12 456",
            "-12345",
        ] {
            assert_eq!(TotpCode::parse(bad), Err(InputError::TotpCode), "{bad:?}");
        }
        assert_eq!(
            format!("{:?}", TotpCode::parse("123456").unwrap()),
            "TotpCode(<redacted>)"
        );
    }

    #[test]
    fn a_session_handle_is_bounded_visible_ascii() {
        assert!(MfaSessionText::parse("ms1.abc-_").is_ok());
        for bad in ["", " ", "a b", "é", &"a".repeat(4097)] {
            assert!(MfaSessionText::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn handles_are_the_pascal_case_of_names() {
        let handle = |name: &str| Name::parse(name).unwrap().handle().as_str().to_owned();
        assert_eq!(handle("cortney_gutkowski67"), "@CortneyGutkowski67");
        assert_eq!(handle("john.doe"), "@JohnDoe");
        assert_eq!(handle("mary-jane_watson"), "@MaryJaneWatson");
        assert_eq!(handle("Ada"), "@Ada");
        assert_eq!(handle("x9y"), "@X9y");
        assert_eq!(
            Name::parse("John_Doe").unwrap().handle().key(),
            Name::parse("john.doe").unwrap().handle().key()
        );
    }

    #[test]
    fn names_follow_the_rules() {
        for good in ["ada", "cortney_gutkowski67", "a.b-c_d", &"a".repeat(30)] {
            assert!(Name::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "9lives",
            "_ada",
            "ada_",
            "ada__lovelace",
            "ada._b",
            "ada lovelace",
            "adà",
            "ada@home",
            &"a".repeat(31),
        ] {
            assert_eq!(Name::parse(bad), Err(InputError::Name), "{bad}");
        }
        assert_eq!(Name::parse("Ada").unwrap().key(), "ada");
    }

    #[test]
    fn source_systems_and_idempotency_keys_are_bounded() {
        assert_eq!(SourceSystem::parse(None).unwrap().as_str(), "roster");
        assert!(SourceSystem::parse(Some("web-shop")).is_ok());
        assert!(SourceSystem::parse(Some("")).is_err());
        assert!(SourceSystem::parse(Some("a b")).is_err());
        assert!(IdempotencyKey::parse("3f1c-req-42").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
        let key = || IdempotencyKey::parse("3f1c-req-42").unwrap();
        assert_eq!(
            key().scoped_to("0123456789ab").as_str(),
            "0123456789ab/3f1c-req-42"
        );
        assert_ne!(
            key().scoped_to("0123456789ab"),
            key().scoped_to("ba9876543210"),
            "each API key has keys of its own"
        );
    }

    #[test]
    fn new_passwords_follow_the_policy() {
        assert!(NewPassword::parse("Correct-Horse-9").is_ok());
        for weak in [
            "Short1A",
            "alllowercase1",
            "ALLUPPERCASE1",
            "NoDigitsHere",
            "",
        ] {
            assert!(NewPassword::parse(weak).is_err(), "{weak}");
        }
        assert!(!format!("{:?}", NewPassword::parse("Correct-Horse-9").unwrap()).contains("Horse"));
    }
}

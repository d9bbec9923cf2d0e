//! Inputs of the Auth API as domain types: parsed once, at the edge, before anything reaches
//! AWS.

use std::fmt;

/// An email address, normalised to lowercase so that uniqueness and sign-in are
/// case-insensitive. Deliberately modest validation: one `@`, a non-empty local part of at most
/// 64 bytes, a dotted domain, no whitespace or control characters, at most 254 bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

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
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let email = raw.trim().to_lowercase();
        let Some((local, domain)) = email.split_once('@') else {
            return Err(InputError::Email);
        };
        let valid = email.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(email))
        } else {
            Err(InputError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_trimmed() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn bad_emails_are_refused() {
        for raw in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada@.example.com",
            "ada@example.com.",
            "a da@example.com",
            "ada@exa\u{0}mple.com",
        ] {
            assert_eq!(Email::parse(raw), Err(InputError::Email), "{raw:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
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

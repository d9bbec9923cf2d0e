//! Email addresses: the one form of an address that both APIs reserve, sign in with, look up
//! and publish, so that spellings a reader cannot tell apart are one address; and [`Email`], an
//! address in that form that passed the one validation rule.
//!
//! The address is trimmed, put into Unicode Normalization Form KC and lowercased: fullwidth
//! letters (`ａｄａ@example.com`), a fullwidth `＠`, ligatures (`ﬀ`), the Kelvin sign and the
//! like become the ASCII they stand for, and case never matters. Letters NFKC leaves apart
//! (Cyrillic `а` and Latin `a`, say) stay apart: they are different addresses to a mail server
//! too.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::types::{ValueError, string_schema};

/// `raw` trimmed, NFKC-normalised and lowercased. Validation comes after this, on the result.
/// Normalising the result again changes nothing.
pub fn normalise(raw: &str) -> String {
    // Lowercasing can leave text that NFKC would change again, and NFKC can leave white space
    // at an end (`¨` is a space and a combining diaeresis): fold and trim until nothing
    // changes, which takes two or three passes.
    let mut current = raw.trim().to_owned();
    for _ in 0..4 {
        let next = fold(&current).trim().to_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

/// An email address in its one normal form ([`normalise`]: NFKC, then lowercase), so that
/// uniqueness, sign-in and lookups ignore case and look-alike spellings
/// (`ａｄａ@example.com` is `ada@example.com`). Deliberately modest validation, of the normal
/// form: one `@`, a non-empty local part of at most 64 bytes, a dotted domain that neither
/// starts nor ends with a dot, no whitespace or control characters, at most 254 bytes.
///
/// On the wire and in storage it is the address as a JSON string. Reading one applies the same
/// rule: every address Roster writes passed it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let email = normalise(raw);
        let Some((local, domain)) = email.split_once('@') else {
            return Err(ValueError::Email);
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
            Err(ValueError::Email)
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

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_schema!(Email);

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            Email::parse("\u{FB00}@example.com").unwrap().as_str(),
            "ff@example.com",
            "a ligature is its letters"
        );
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
            assert_eq!(Email::parse(raw), Err(ValueError::Email), "{raw:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        let json = serde_json::to_string(&Email::parse("ada@example.com").unwrap()).unwrap();
        assert_eq!(json, "\"ada@example.com\"");
        assert!(serde_json::from_str::<Email>("\"not-an-address\"").is_err());
    }

    #[test]
    fn look_alikes_become_the_address_they_show() {
        for raw in [
            "ada@example.com",
            " Ada@Example.COM ",
            "ａｄａ@example.com",
            "ada@ｅｘａｍｐｌｅ.ｃｏｍ",
            "ada＠example.com",
            "ＡＤＡ@Example.com",
        ] {
            assert_eq!(normalise(raw), "ada@example.com", "{raw:?}");
        }
        assert_eq!(normalise("\u{FB00}@example.com"), "ff@example.com");
        assert_eq!(normalise("\u{212A}@example.com"), "k@example.com");
        // NFKC makes a space of a diaeresis' spacing form: trimmed, and stable (found by the
        // property test below in CI).
        assert_eq!(normalise("\u{A8}"), normalise(&normalise("\u{A8}")));
        assert_eq!(
            normalise("\u{0430}da@example.com"),
            "\u{0430}da@example.com",
            "Cyrillic а is another letter"
        );
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent_and_lowercase(raw in "\\PC{0,40}") {
            let once = normalise(&raw);
            prop_assert_eq!(&normalise(&once), &once);
            prop_assert_eq!(&once.to_lowercase(), &once);
        }
    }
}

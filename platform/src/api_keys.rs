//! Server-to-server API keys: their format, and the document that stores them in Secrets
//! Manager. Only a SHA-256 hash of each key is stored (keys are 256-bit random, so a fast hash
//! is enough); the plaintext exists once, when the key is issued.
//!
//! A key reads `rk_<id>_<secret>`: `id` (12 hex) names the stored record, so a check is one
//! lookup and one constant-time comparison; `secret` is 64 hex characters of randomness.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "rk_";

/// The secret's JSON document: every key that is live. Two keys for one caller can be live at
/// once, which is how a rotation works.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySet {
    pub keys: Vec<ApiKeyRecord>,
}

/// One stored key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub id: String,
    /// Who holds the key (a BFF, a partner service); shows in logs instead of the key.
    pub caller: String,
    pub scopes: Vec<String>,
    /// Hex SHA-256 of the whole key.
    pub sha256: String,
    pub created_at: String,
}

/// A freshly issued key: the plaintext to hand over once, and the record to store.
pub struct IssuedKey {
    pub plaintext: String,
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("plaintext", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessError(getrandom::Error);

/// Issues a new key from the operating system's CSPRNG.
pub fn issue(
    caller: &str,
    scopes: &[&str],
    created_at: &str,
) -> Result<IssuedKey, RandomnessError> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).map_err(RandomnessError)?;
    getrandom::fill(&mut secret).map_err(RandomnessError)?;
    let id = hex::encode(id);
    let plaintext = format!("{PREFIX}{id}_{}", hex::encode(secret));
    let record = ApiKeyRecord {
        sha256: hash(&plaintext),
        id,
        caller: caller.to_owned(),
        scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        created_at: created_at.to_owned(),
    };
    Ok(IssuedKey { plaintext, record })
}

/// Hex SHA-256 of a presented key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The record id a presented key claims, if it has the key format at all.
pub fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == 12
        && secret.len() == 64
        && id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_names_its_record_and_matches_its_hash() {
        let issued = issue("bff", &["auth"], "2026-11-24T00:00:00Z").unwrap();
        assert_eq!(key_id(&issued.plaintext), Some(issued.record.id.as_str()));
        assert_eq!(hash(&issued.plaintext), issued.record.sha256);
        assert!(!format!("{issued:?}").contains(&issued.plaintext));
    }

    #[test]
    fn two_keys_differ() {
        let a = issue("bff", &[], "t").unwrap();
        let b = issue("bff", &[], "t").unwrap();
        assert_ne!(a.plaintext, b.plaintext);
        assert_ne!(a.record.id, b.record.id);
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for key in [
            "",
            "rk_",
            "rk_abc_def",
            "xx_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000",
            "rk_0123456789ab_000000000000000000000000000000000000000000000000000000000000000g",
        ] {
            assert_eq!(key_id(key), None, "{key}");
        }
    }
}

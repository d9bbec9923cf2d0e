//! Tokens an instance verified lately, so that the same token presented again skips the RS256
//! check, which is most of what verifying costs (about 20 µs of a verify request's 49 µs on
//! this project's benchmark machine). A frontend sends its access token with every request for
//! the token's hour, so an instance that serves a user sees the same bytes many times.
//!
//! What a hit may not skip: a hit needs the byte-identical token (the whole token is the key,
//! so no other header, payload or signature can match), and it is re-checked on every use for
//! what can change after the full verification: the clock (`exp` with the leeway), the signing
//! key (the token's `kid` must still name the very key it was verified with in the pool's JWKS
//! as the verifier holds it now), and the token use the route expects. Everything else a
//! verification decides (the header, the signature, the issuer, the client) is a function of
//! the token's bytes, the key and the verifier's fixed settings, so it cannot come out
//! differently; `nbf` and `iat` not in the future stay so as the clock moves on (only a clock
//! set back by more than the leeway could tell). Revocation is not part of verification: the
//! callers check it on every request, hit or miss.
//!
//! Bounded: at most `capacity` entries (0 turns the cache off). When it is full, expired
//! entries go first, then every entry: a cleared cache costs the next verifications their
//! signature check, nothing else.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::jwks::SigningKey;
use crate::jwt::{TokenUse, VerifiedToken};

/// Entries kept by default: about 1.3 MB with Cognito's access tokens (about 1 KB each), at
/// most about 9 MB with tokens of the verifier's largest size (8 KiB).
pub const DEFAULT_CAPACITY: usize = 1024;

/// A token that passed the full verification, with the key that checked its signature.
pub(crate) struct Hit {
    pub(crate) verified: VerifiedToken,
    pub(crate) kid: Box<str>,
    pub(crate) key: SigningKey,
}

pub(crate) struct VerifiedTokens {
    capacity: usize,
    entries: Mutex<HashMap<Box<str>, Hit>>,
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Hit>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the full verification of exactly `token` for `expected` gave, if it is held.
    pub(crate) fn get(&self, token: &str, expected: TokenUse) -> Option<Hit> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries();
        let hit = entries.get(token)?;
        (hit.verified.token_use == expected).then(|| Hit {
            verified: hit.verified.clone(),
            kid: hit.kid.clone(),
            key: SigningKey::clone(&hit.key),
        })
    }

    /// Holds `hit` for `token`, making room if the cache is full: tokens expired by
    /// `expired_before` (epoch seconds) go first, then all.
    pub(crate) fn insert(&self, token: &str, hit: Hit, expired_before: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            entries.retain(|_, held| held.verified.exp >= expired_before);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token.into(), hit);
    }

    /// Forgets `token` (it expired, or its key is no longer the pool's).
    pub(crate) fn remove(&self, token: &str) {
        if self.capacity > 0 {
            self.entries().remove(token);
        }
    }

    /// How many tokens are held.
    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(sub: &str, exp: i64, token_use: TokenUse) -> Hit {
        let document = roster_jwks_fixture();
        Hit {
            verified: VerifiedToken {
                sub: sub.to_owned(),
                token_use,
                client_id: "web-client".to_owned(),
                username: None,
                email: None,
                groups: Vec::new(),
                exp,
                issued_at: 0,
            },
            kid: "k".into(),
            key: document,
        }
    }

    fn roster_jwks_fixture() -> SigningKey {
        let document = include_bytes!("../../testkit/fixtures/jwks-pool.json");
        crate::jwks::signing_keys(document)
            .expect("the fixture JWKS")
            .into_values()
            .next()
            .expect("a key")
    }

    #[test]
    fn only_the_same_token_for_the_same_use_hits() {
        let cache = VerifiedTokens::new(4);
        cache.insert("a.b.c", hit("ada", 100, TokenUse::Access), 0);
        assert_eq!(
            cache.get("a.b.c", TokenUse::Access).unwrap().verified.sub,
            "ada"
        );
        assert!(cache.get("a.b.c", TokenUse::Id).is_none());
        assert!(cache.get("a.b.d", TokenUse::Access).is_none());
        assert!(cache.get("a.b.c ", TokenUse::Access).is_none());
        cache.remove("a.b.c");
        assert!(cache.get("a.b.c", TokenUse::Access).is_none());
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first_then_everything() {
        let cache = VerifiedTokens::new(2);
        cache.insert("old", hit("a", 10, TokenUse::Access), 0);
        cache.insert("live", hit("b", 100, TokenUse::Access), 0);
        // Full: "old" expired before 50 and goes; "live" stays.
        cache.insert("new", hit("c", 100, TokenUse::Access), 50);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("old", TokenUse::Access).is_none());
        assert!(cache.get("live", TokenUse::Access).is_some());
        // Full of live tokens: all go, the new one is held.
        cache.insert("newer", hit("d", 100, TokenUse::Access), 50);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("newer", TokenUse::Access).is_some());
        // Holding a token again does not count as a new one.
        cache.insert("newer", hit("d", 100, TokenUse::Access), 50);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let cache = VerifiedTokens::new(0);
        cache.insert("a.b.c", hit("ada", 100, TokenUse::Access), 0);
        assert_eq!(cache.len(), 0);
        assert!(cache.get("a.b.c", TokenUse::Access).is_none());
    }
}

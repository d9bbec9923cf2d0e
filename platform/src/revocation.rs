//! The in-memory side of token revocation: which users' tokens are revoked, and up to which
//! second. A service fills it from its own store (the Auth API from its revocation records)
//! and asks it about every verified token; a lookup is one hash-map read, so verification
//! stays within a few percent of the bare signature check (`cargo bench -p roster-platform
//! --bench verify`).

use std::collections::HashMap;
use std::sync::RwLock;

use crate::jwt::VerifiedToken;

/// Users whose tokens issued at or before a given second (epoch seconds) are revoked.
#[derive(Debug, Default)]
pub struct RevokedUsers {
    by_sub: RwLock<HashMap<String, i64>>,
}

impl RevokedUsers {
    /// Revokes `sub`'s tokens issued at or before `revoked_at`; an earlier revocation changes
    /// nothing.
    pub fn note(&self, sub: &str, revoked_at: i64) {
        let mut by_sub = self
            .by_sub
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = by_sub.entry(sub.to_owned()).or_insert(revoked_at);
        *entry = (*entry).max(revoked_at);
    }

    /// Whether `token` was issued at or before its user's latest revocation.
    pub fn is_revoked(&self, token: &VerifiedToken) -> bool {
        self.by_sub
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&token.sub)
            .is_some_and(|revoked_at| token.issued_at <= *revoked_at)
    }

    /// Forgets revocations older than `oldest`: every token they covered has expired.
    pub fn forget_before(&self, oldest: i64) {
        self.by_sub
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, revoked_at| *revoked_at >= oldest);
    }

    pub fn len(&self) -> usize {
        self.by_sub
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::TokenUse;

    fn token(sub: &str, issued_at: i64) -> VerifiedToken {
        VerifiedToken {
            sub: sub.to_owned(),
            token_use: TokenUse::Access,
            client_id: "c".to_owned(),
            username: None,
            email: None,
            groups: vec![],
            exp: issued_at + 3600,
            issued_at,
        }
    }

    #[test]
    fn a_token_issued_at_or_before_the_revocation_is_revoked_and_a_later_one_is_not() {
        let revoked = RevokedUsers::default();
        revoked.note("u", 100);
        assert!(revoked.is_revoked(&token("u", 99)));
        assert!(revoked.is_revoked(&token("u", 100)));
        assert!(!revoked.is_revoked(&token("u", 101)));
        assert!(!revoked.is_revoked(&token("other", 50)));
        // An older record arriving late does not undo a newer one.
        revoked.note("u", 80);
        assert!(revoked.is_revoked(&token("u", 100)));
        revoked.forget_before(101);
        assert!(revoked.is_empty());
    }
}

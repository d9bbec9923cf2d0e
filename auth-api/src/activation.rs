//! Activation codes: derived, mailed, reissued.
//!
//! A code is `HMAC(server key, "activation-code", registration id, generation)`, cut to 128
//! bits: whoever holds the key re-derives it, and nothing stores it (the identity record and
//! the profile keep its SHA-256, the events carry that hash). Generation 0 is the
//! registration's; `POST /auth/activation/resend` raises the identity's generation with a
//! conditional write, which the projector publishes as `ActivationCodeReissued`: the User API
//! then replaces the profile's hash, so the earlier codes stop working. The code travels only
//! in the mail ([`crate::mailer`]), sent from the event path.
//!
//! Resends are limited per user ([`ResendLimits`]: one a minute and five a day by default),
//! and answered the same whether or not the user exists or still awaits activation: the limit
//! is kept for unknown targets too, so a 429 tells nothing either.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_events::{Timestamp, UserId};
use sha2::{Digest, Sha256};

use crate::domain::Email;
use crate::store::{AuthTable, Identity, Reissue, ResendRecord, StoreError};
use roster_platform::secret_key::{SecretKey, SecretKeyError};

/// Derives activation codes from the server key.
#[derive(Clone)]
pub struct ActivationCodes {
    key: Arc<SecretKey>,
}

impl ActivationCodes {
    pub fn new(key: Arc<SecretKey>) -> Self {
        Self { key }
    }

    /// The code of `generation` of the registration `registration_id`: 32 hex characters.
    pub async fn code(
        &self,
        registration_id: &str,
        generation: u32,
    ) -> Result<String, SecretKeyError> {
        let mac = self
            .key
            .mac(&[
                b"activation-code",
                registration_id.as_bytes(),
                &generation.to_be_bytes(),
            ])
            .await?;
        Ok(hex::encode(&mac[..16]))
    }
}

/// The SHA-256 (hex) of a code: what the identity, the profile and the events keep.
pub fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// How often a user's activation code can be resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendLimits {
    /// At least this long between two resends of one user.
    pub min_interval: std::time::Duration,
    /// At most this many resends in a day (a window that starts with the first of them).
    pub per_day: u32,
}

impl Default for ResendLimits {
    fn default() -> Self {
        Self {
            min_interval: std::time::Duration::from_secs(60),
            per_day: 5,
        }
    }
}

const DAY_SECONDS: i64 = 24 * 60 * 60;

impl ResendLimits {
    /// The record after one more resend at `now`, or the seconds to wait (at least 1) when the
    /// limits refuse it.
    pub fn next(&self, seen: Option<&ResendRecord>, now: i64) -> Result<ResendRecord, u64> {
        let fresh = ResendRecord {
            last_at: now,
            window_start: now,
            count: 1,
        };
        let Some(seen) = seen else {
            return Ok(fresh);
        };
        let interval = i64::try_from(self.min_interval.as_secs()).unwrap_or(i64::MAX);
        let wait = |until: i64| u64::try_from((until - now).max(1)).unwrap_or(1);
        if now - seen.last_at < interval {
            return Err(wait(seen.last_at.saturating_add(interval)));
        }
        if now - seen.window_start >= DAY_SECONDS {
            return Ok(fresh);
        }
        if seen.count >= self.per_day {
            return Err(wait(seen.window_start + DAY_SECONDS));
        }
        Ok(ResendRecord {
            last_at: now,
            window_start: seen.window_start,
            count: seen.count + 1,
        })
    }
}

/// Whose code to resend: a user id or an email address, as the caller named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResendTarget {
    User(UserId),
    Email(Email),
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// Too soon, or too many today: retry after this many seconds.
    #[error("resend limit reached")]
    Limited { retry_after: u64 },
    #[error("resend failed: {0}")]
    Unavailable(String),
}

impl From<StoreError> for ResendError {
    fn from(error: StoreError) -> Self {
        ResendError::Unavailable(error.to_string())
    }
}

impl From<SecretKeyError> for ResendError {
    fn from(error: SecretKeyError) -> Self {
        ResendError::Unavailable(error.to_string())
    }
}

/// `POST /auth/activation/resend`.
pub struct Activation {
    table: AuthTable,
    codes: ActivationCodes,
    limits: ResendLimits,
}

/// How often a resend re-reads after a concurrent change before giving up.
const ATTEMPTS: usize = 3;

impl Activation {
    pub fn new(table: AuthTable, codes: ActivationCodes, limits: ResendLimits) -> Self {
        Self {
            table,
            codes,
            limits,
        }
    }

    /// Issues a new code for the target if it is a user awaiting activation (the mail follows
    /// from the event path), within the limits either way. The same reads and the same write
    /// whatever the target is: a user awaiting activation, an activated one, or nobody.
    pub async fn resend(&self, target: &ResendTarget) -> Result<(), ResendError> {
        for _ in 0..ATTEMPTS {
            if self.try_resend(target, Utc::now()).await? {
                return Ok(());
            }
        }
        Err(ResendError::Unavailable(
            "the identity kept changing; retry".to_owned(),
        ))
    }

    /// One attempt: `Ok(false)` when the identity or the resend record changed since they were
    /// read (a concurrent resend, an activation), and nothing was written.
    async fn try_resend(
        &self,
        target: &ResendTarget,
        now: DateTime<Utc>,
    ) -> Result<bool, ResendError> {
        let user_id = match target {
            ResendTarget::User(id) => Some(id.as_str().to_owned()),
            ResendTarget::Email(email) => self.table.user_id_by_email(email.as_str()).await?,
        };
        // An unknown address reads an identity that cannot exist, so that it makes the same
        // calls as a known one.
        let identity = self
            .table
            .identity(user_id.as_deref().unwrap_or_default())
            .await?;
        let limit_key = match (&identity, target) {
            (Some(identity), _) => format!("user:{}", identity.id),
            (None, ResendTarget::User(id)) => format!("unknown-user:{id}"),
            (None, ResendTarget::Email(email)) => format!("unknown-email:{email}"),
        };
        let seen = self.table.resend_record(&limit_key).await?;
        let next = self
            .limits
            .next(seen.as_ref(), now.timestamp())
            .map_err(|retry_after| ResendError::Limited { retry_after })?;
        let reissue = match identity.as_ref().filter(|found| found.awaits_activation()) {
            Some(found) => Some(self.reissue(found, now).await?),
            None => None,
        };
        match self
            .table
            .record_resend(&limit_key, seen.as_ref(), &next, reissue.as_ref())
            .await
        {
            Ok(()) => {
                if let Some(reissue) = &reissue {
                    tracing::info!(
                        user = %reissue.user_id,
                        generation = reissue.generation,
                        "activation code reissued"
                    );
                }
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn reissue(&self, found: &Identity, now: DateTime<Utc>) -> Result<Reissue, ResendError> {
        let seen_generation = found.activation_generation();
        let generation = seen_generation
            .checked_add(1)
            .ok_or_else(|| ResendError::Unavailable("no generation left".to_owned()))?;
        let code = self.codes.code(&found.registration_id, generation).await?;
        Ok(Reissue {
            user_id: found.id.as_str().to_owned(),
            seen_generation,
            generation,
            code_hash: code_hash(&code),
            expires_at: Timestamp::from_datetime(
                now + chrono::Duration::seconds(
                    roster_events::auth::ACTIVATION_CODE_LIFETIME_SECONDS,
                ),
            ),
            reissued_at: Timestamp::from_datetime(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ResendLimits {
        ResendLimits {
            min_interval: std::time::Duration::from_secs(60),
            per_day: 3,
        }
    }

    #[test]
    fn one_a_minute_and_a_few_a_day() {
        let limits = limits();
        let first = limits.next(None, 1_000).unwrap();
        assert_eq!(
            first,
            ResendRecord {
                last_at: 1_000,
                window_start: 1_000,
                count: 1
            }
        );
        assert_eq!(limits.next(Some(&first), 1_030), Err(30), "too soon");
        assert_eq!(limits.next(Some(&first), 1_059), Err(1));
        let second = limits.next(Some(&first), 1_060).unwrap();
        let third = limits.next(Some(&second), 1_200).unwrap();
        assert_eq!(third.count, 3);
        assert_eq!(
            limits.next(Some(&third), 1_300),
            Err(u64::try_from(1_000 + DAY_SECONDS - 1_300).unwrap()),
            "the day's three are used"
        );
        let next_day = limits.next(Some(&third), 1_000 + DAY_SECONDS).unwrap();
        assert_eq!(next_day.count, 1, "a new window");
        assert_eq!(next_day.window_start, 1_000 + DAY_SECONDS);
    }

    #[test]
    fn a_clock_going_back_waits_rather_than_allows() {
        let limits = limits();
        let first = limits.next(None, 1_000).unwrap();
        assert_eq!(limits.next(Some(&first), 900), Err(160));
    }
}

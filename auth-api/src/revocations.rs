//! Which users' tokens are revoked, as this instance knows it, without an AWS call per request.
//!
//! Sign-out, a password change or reset, a suspension, an archive and a deletion each write a
//! revocation record to the Auth API's table (see `store.rs`): every token of that user issued
//! at or before the record's second is refused from then on. Each instance keeps the records
//! of the last token lifetime in memory and brings them up to date at most once per
//! [`RevocationSet::interval`], when a request needs them: one Query per shard, for the records
//! written since the previous refresh (with an overlap for writers' clocks and writes in
//! flight), made by the request that finds the set due while the others answer from the set
//! as it is, for at most [`ANSWER_WHILE_REFRESHING`] past the interval. So a revocation is seen
//! by every instance within `interval` plus that of its record landing
//! (plus the event path's delay for suspension, archive and deletion, which reach the Auth API
//! as events). The instance that writes a record knows it at once.
//!
//! If the table cannot be read, the set keeps answering from what it has for
//! [`MAX_STALENESS`]; after that it refuses to vouch for any token (503) rather than accept
//! tokens it can no longer check.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use roster_platform::jwt::VerifiedToken;
use roster_platform::revocation::RevokedUsers;

use crate::store::{AuthTable, REVOCATION_KEEP_SECONDS, REVOCATION_SHARDS, StoreError};

/// How long a set that cannot be refreshed is still trusted.
pub const MAX_STALENESS: Duration = Duration::from_secs(30);

/// Records are read again from this many seconds before the last refresh: a record whose
/// writer's clock is behind, or whose write was still in flight, is still found. A write names
/// its second before it is sent and takes at most the SDK's operation timeout (10 s, retries
/// included; `roster_platform::aws::timeouts`) to land; 5 s more cover the writers' clocks.
const OVERLAP_SECONDS: i64 = 15;

/// While another request refreshes the set, a request answers from the set as it is only if
/// the set was brought up to date at most this long past the interval; an older set (a slow
/// refresh, one cancelled with its request, a table that answers slowly) makes it wait.
pub const ANSWER_WHILE_REFRESHING: Duration = Duration::from_secs(2);

/// The default refresh interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RevocationError {
    #[error("the token was revoked")]
    Revoked,
    #[error("revocations cannot be read: {0}")]
    Unavailable(String),
}

pub struct RevocationSet {
    table: AuthTable,
    interval: Duration,
    revoked: RevokedUsers,
    seen: RwLock<Seen>,
    refreshing: tokio::sync::Mutex<()>,
}

struct Seen {
    /// Epoch seconds at which the last successful refresh started.
    cursor: i64,
    /// When the set was last brought up to date.
    refreshed: Option<Instant>,
    /// When a refresh was last tried, whether it worked or not.
    attempted: Option<Instant>,
}

impl Seen {
    /// Whether what the set holds may still be used: brought up to date within
    /// [`MAX_STALENESS`].
    fn trusted(&self) -> bool {
        self.refreshed
            .is_some_and(|at| at.elapsed() < MAX_STALENESS)
    }
}

impl RevocationSet {
    pub fn new(table: AuthTable, interval: Duration) -> Self {
        Self {
            table,
            interval,
            revoked: RevokedUsers::default(),
            seen: RwLock::new(Seen {
                cursor: chrono::Utc::now().timestamp() - REVOCATION_KEEP_SECONDS,
                refreshed: None,
                attempted: None,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The table the records are in.
    pub fn table(&self) -> &AuthTable {
        &self.table
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Seen> {
        self.seen
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Seen> {
        self.seen
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses `token` if its user's tokens were revoked at or after it was issued.
    pub async fn check(&self, token: &VerifiedToken) -> Result<(), RevocationError> {
        self.refresh_if_due().await?;
        if self.revoked.is_revoked(token) {
            Err(RevocationError::Revoked)
        } else {
            Ok(())
        }
    }

    /// Revokes every token of `sub` issued up to now: writes the record, holds it here at once,
    /// and returns once the current second is over (see [`until_after`]).
    pub async fn revoke(&self, sub: &str, reason: &str) -> Result<(), StoreError> {
        let second = chrono::Utc::now().timestamp();
        self.table.revoke(sub, second, reason).await?;
        self.note(sub, second);
        until_after(second).await;
        Ok(())
    }

    /// Reads the revocation records now: at start-up, so that the first request finds the set
    /// up to date. A failure is forgotten: the first request tries again, as it would have
    /// without this call, rather than being refused for an interval.
    pub async fn load(&self) -> Result<(), RevocationError> {
        let loaded = self.refresh_if_due().await;
        if loaded.is_err() {
            self.write().attempted = None;
        }
        loaded
    }

    /// Records a revocation this instance knows of, so it holds here at once.
    pub fn note(&self, sub: &str, revoked_at: i64) {
        self.revoked.note(sub, revoked_at);
    }

    async fn refresh_if_due(&self) -> Result<(), RevocationError> {
        // Not due while the last attempt is younger than the interval, whether it worked or
        // not: while the table cannot be read, each instance tries once per interval, not once
        // per request, and answers from what it has while that is trusted.
        let settled = |seen: &Seen| -> Option<Result<(), RevocationError>> {
            seen.attempted
                .is_some_and(|at| at.elapsed() < self.interval)
                .then(|| {
                    if seen.trusted() {
                        Ok(())
                    } else {
                        Err(RevocationError::Unavailable(
                            "the last refresh failed".to_owned(),
                        ))
                    }
                })
        };
        if let Some(result) = settled(&self.read()) {
            return result;
        }
        // One refresh at a time. A request that finds one under way answers from the set as it
        // is while the set is at most the interval plus ANSWER_WHILE_REFRESHING old: the
        // refresh delays the one request that makes it, not every request of the instance
        // (which once stalled the instance for the refresh's four Queries every interval).
        // An older set (the refresh is slow, or keeps being cancelled with its request) makes
        // everyone wait for the refresh, so no token is accepted from a set older than that.
        let recent = |seen: &Seen| {
            seen.refreshed
                .is_some_and(|at| at.elapsed() < self.interval + ANSWER_WHILE_REFRESHING)
        };
        let _refreshing = match self.refreshing.try_lock() {
            Ok(refreshing) => refreshing,
            Err(_) if recent(&self.read()) => return Ok(()),
            Err(_) => self.refreshing.lock().await,
        };
        if let Some(result) = settled(&self.read()) {
            return result;
        }
        let started = chrono::Utc::now().timestamp();
        let since = self.read().cursor - OVERLAP_SECONDS;
        let read = self.records_since(since).await;
        // From when the attempt ended: a failing one can take seconds with the SDK's retries.
        self.write().attempted = Some(Instant::now());
        match read {
            Ok(records) => {
                for (sub, revoked_at) in records {
                    self.revoked.note(&sub, revoked_at);
                }
                self.revoked
                    .forget_before(started - REVOCATION_KEEP_SECONDS);
                let mut seen = self.write();
                seen.cursor = started;
                seen.refreshed = Some(Instant::now());
                Ok(())
            }
            Err(error) => {
                let trusted = self.read().trusted();
                tracing::warn!(%error, trusted, "revocations could not be refreshed");
                if trusted {
                    Ok(())
                } else {
                    Err(RevocationError::Unavailable(error.to_string()))
                }
            }
        }
    }

    async fn records_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let mut records = Vec::new();
        for shard in 0..REVOCATION_SHARDS {
            records.extend(
                self.table
                    .revocations_since(shard, since)
                    .await?
                    .into_iter()
                    .map(|record| (record.sub, record.revoked_at)),
            );
        }
        Ok(records)
    }
}

/// Waits until `second` is over: a token issued before the caller answers has `iat` at most
/// `second` and is covered by a revocation at `second`; one issued after the answer (a new
/// sign-in) has a later `iat` and is not.
pub async fn until_after(second: i64) {
    let now = chrono::Utc::now();
    if now.timestamp() > second {
        return;
    }
    let left = 1000 - u64::from(now.timestamp_subsec_millis()).min(999);
    tokio::time::sleep(Duration::from_millis(left)).await;
}

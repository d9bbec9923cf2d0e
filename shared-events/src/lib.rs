//! Roster's event contract, shared by every publisher and subscriber. No AWS SDK in here:
//! downstream consumers can depend on this crate alone.
//!
//! Every event travels as the `detail` of an EventBridge event whose `source` names the
//! publishing service and whose `detail-type` names the event. The detail is an [`Envelope`]:
//! an event id (the same for every delivery of one change, so subscribers deduplicate on it),
//! the schema version, when it happened, an optional correlation id, and the event's data.
//! Events carry no secrets (passwords, tokens, codes, keys) and no storage layout.

pub mod auth;
pub mod catalog;
pub mod compat;
pub mod email;
pub mod types;
pub mod user;

pub use types::{Email, Role, Timestamp, UserId, UserStatus, ValueError};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// EventBridge `source` of each publishing service. One source per service, so a rule can
/// subscribe to everything one service says.
pub mod source {
    /// Events of the Auth API (identities, logins, password flows).
    pub const AUTH: &str = "roster.auth";
    /// Events of the User API (profiles, activation, status, badges, data).
    pub const USER: &str = "roster.user";
}

/// A domain event: its data type, and where and how it is published.
pub trait DomainEvent: Serialize + JsonSchema {
    /// The EventBridge `source`.
    const SOURCE: &'static str;
    /// The EventBridge `detail-type`.
    const DETAIL_TYPE: &'static str;
    /// The schema version of the data; bumped on a breaking change.
    const VERSION: u32;
}

/// The `detail` of every Roster event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<D> {
    /// The same for every delivery of one change: deduplicate on it.
    pub event_id: String,
    pub version: u32,
    /// RFC 3339.
    pub occurred_at: Timestamp,
    /// Follows one request across services: the id of the HTTP request (its
    /// `X-Correlation-Id`) that caused the change, carried on by every event it leads to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    pub data: D,
}

impl<D: DomainEvent> Envelope<D> {
    pub fn new(event_id: String, occurred_at: Timestamp, data: D) -> Self {
        Self {
            event_id,
            version: D::VERSION,
            occurred_at,
            correlation_id: None,
            data,
        }
    }

    pub fn with_correlation_id(mut self, correlation_id: Option<String>) -> Self {
        self.correlation_id = correlation_id;
        self
    }
}

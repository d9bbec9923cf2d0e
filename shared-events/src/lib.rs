//! Roster's event contract, shared by every publisher and subscriber. No AWS SDK in here:
//! downstream consumers can depend on this crate alone.

/// EventBridge `source` of each publishing service. One source per service, so a rule can
/// subscribe to everything one service says.
pub mod source {
    /// Events derived from the Auth API's table (identities, logins, password flows).
    pub const AUTH: &str = "roster.auth";
    /// Events derived from the User API's table (profiles, activation, status, badges, data).
    pub const USER: &str = "roster.user";
}

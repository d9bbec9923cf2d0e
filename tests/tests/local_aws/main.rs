//! Roster end to end against the local AWS endpoint: both services, their events and the
//! event flow between them, as callers, attackers and operators use them. The local stack's
//! own tests (provisioning, plumbing, the stack as a whole) are in `local/tests/stack`.
//!
//! The modules are grouped by what they prove: `auth`, `users`, `events`, `resilience`,
//! `security` and `contract`; `support` holds what several of them share.

mod auth;
mod contract;
mod events;
mod resilience;
mod security;
mod support;
mod users;

use roster_testkit::forged;

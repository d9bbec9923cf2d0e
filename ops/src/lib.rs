//! Operating a Roster stage, local or on AWS (`cargo roster`).
//!
//! - [`targets`]: which stage a command talks to, and what it does there (users, the event
//!   tail, the plumbing's status);
//! - [`dead_letters`]: listing and redriving what the queues and projectors gave up on.

pub mod dead_letters;
pub mod targets;

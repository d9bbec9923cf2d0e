//! Roster on one machine (`cargo stack`).
//!
//! - [`cli`]: the `roster-local` command itself;
//! - [`endpoint`]: the local AWS endpoint (moto), installed and started on demand;
//! - [`provision`]: creating every resource on an endpoint, idempotently;
//! - [`plumbing`]: what AWS runs between the functions (stream polling, queue draining);
//! - [`stack`]: all of it together, plus both APIs on loopback ports;
//! - [`web`]: the example account page on an origin of its own, with the stack's
//!   [`mailbox`] (the mail its functions sent through SES);
//! - [`demo`]: demo users for a fresh stack; [`clients`]: its two APIs as a caller sees them.

pub mod cli;
pub mod clients;
pub mod demo;
pub mod endpoint;
pub mod mailbox;
pub mod plumbing;
pub mod provision;
pub mod stack;
pub mod web;

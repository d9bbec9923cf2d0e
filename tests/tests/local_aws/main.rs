//! Roster end to end against the local AWS endpoint: both services, their events and the
//! event flow between them, as callers, attackers and operators use them. The local stack's
//! own tests (provisioning, plumbing, the stack as a whole) are in `local/tests/stack`.

mod api_fuzz;
mod api_key_bindings;
mod api_keys;
mod apis;
mod auth;
mod browser;
mod client_contract;
mod cors;
mod email_normalisation;
mod enumeration;
mod erasure;
mod event_faults;
mod faults;
mod forged_tokens;
mod iam_from_calls;
mod idempotency_scope;
mod identity_attributes;
mod journey;
mod log_hygiene;
mod publisher;
mod refusals;
mod register;
mod registration_ownership;
mod revocation;
mod round_trips;
mod security_doc;
mod support;
mod tokens;
mod user_concurrency;
mod user_faults;
mod user_input;
mod users;

use roster_testkit::forged;

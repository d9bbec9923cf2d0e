//! Tests of the local stack against the local AWS endpoint: what provisioning creates, the
//! event plumbing, the EventBridge publisher and the stack as a whole.

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
mod plumbing;
mod provisioning;
mod publisher;
mod refusals;
mod register;
mod registration_ownership;
mod revocation;
mod round_trips;
mod security_doc;
mod stack;
mod support;
mod tokens;
mod user_concurrency;
mod user_faults;
mod user_input;
mod users;

use roster_testkit::forged;

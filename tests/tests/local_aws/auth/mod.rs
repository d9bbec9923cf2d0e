//! The Auth API's flows: registration, sign-in and sessions, tokens, API keys and their bindings, idempotency.

mod api_key_bindings;
mod api_keys;
mod email_normalisation;
mod idempotency_scope;
mod journey;
mod register;
mod registration_ownership;
mod sessions;
mod tokens;

//! The Auth API's flows: registration and its activation mail, sign-in and sessions, two-step
//! sign-in (TOTP), tokens, API keys and their bindings, idempotency.

mod activation_mail;
mod api_key_bindings;
mod api_keys;
mod email_normalisation;
mod idempotency_scope;
pub(crate) mod journey;
mod mfa;
mod register;
mod registration_ownership;
mod sessions;
mod startup;
mod tokens;

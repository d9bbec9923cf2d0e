//! Cross-cutting plumbing shared by every Roster function: configuration, telemetry, the
//! `application/problem+json` error model, AWS client setup, hosting one axum router on Lambda
//! or on a local port, batch-handler contracts, the EventBridge publisher, a service's own
//! secret key (derived keys, sealed tokens), and the shape of a table declaration.
//!
//! Business rules never live here; they belong to the service that owns them.

pub mod api_key_guard;
pub mod api_keys;
pub mod aws;
pub mod config;
pub mod email;
pub mod events;
pub mod extract;
pub mod guards;
pub mod http;
pub mod jwks;
pub mod jwt;
pub mod lambda;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod revocation;
pub mod secret_key;
pub mod subscriber;
pub mod table;
pub mod telemetry;
pub mod verified_tokens;

//! A typed client of Roster's two HTTP APIs, for server-to-server callers (a BFF, a back
//! office, another service).
//!
//! ```no_run
//! # async fn demo() -> Result<(), roster_client::Error> {
//! use roster_client::{AuthApi, LoginRequest, UserApi};
//!
//! let auth = AuthApi::new("https://auth.example.com", "rk_...")?;
//! let users = UserApi::new("https://users.example.com", "rk_...")?;
//! let tokens = auth.login(&LoginRequest::new("ada@example.com", "a password")).await?;
//! let me = users.me(&tokens.access_token).await?;
//! println!("{} ({}) holds {} badges", me.name, me.handle, me.profile.badges.len());
//! # Ok(()) }
//! ```
//!
//! Every operation of both OpenAPI documents has one method here ([`OPERATIONS`] lists them);
//! `roster-tests` checks that list and every request and response type against the documents
//! the APIs serve, and the end-to-end tests call the APIs through this client.
//!
//! A refusal comes back as [`Error::Api`] with the API's `application/problem+json` document,
//! whose `type` ([`Problem::kind`]) is stable to branch on. Reads of a user carry its ETag
//! ([`Versioned`]); writes take an optional `If-Match` so concurrent writers never lose
//! updates.

mod client;
mod types;

pub use client::{
    AuthApi, AvatarChange, Award, Error, OPERATIONS, Operation, UserApi, UserPages, Versioned,
    export_my_data, export_user,
};
pub use types::*;

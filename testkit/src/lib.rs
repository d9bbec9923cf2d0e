//! What Roster's tests share (a dev-dependency only).
//!
//! - [`harness`]: the test stack builder: real SDK adapters against one local AWS endpoint per
//!   test process, resources isolated per test by a name prefix;
//! - [`faults`]: a proxy between the services and that endpoint that fails, delays and counts
//!   chosen AWS calls;
//! - [`forged`]: the pool's fixture keys and the forged-token corpus;
//! - [`openapi`]: what both APIs' OpenAPI documents must be, asserted once;
//! - [`probes`]: waiting, seeding and reading the AWS resources behind a test stack;
//! - [`totp`]: RFC 6238 codes, as a user's authenticator app shows them.

#[cfg(feature = "stack")]
pub mod faults;
pub mod forged;
#[cfg(feature = "stack")]
pub mod harness;
pub mod openapi;
#[cfg(feature = "stack")]
pub mod probes;
pub mod totp;

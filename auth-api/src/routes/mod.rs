//! The Auth API's HTTP routes: extract, call the pool, map the result.

pub mod password;
pub mod session;
pub mod verify;

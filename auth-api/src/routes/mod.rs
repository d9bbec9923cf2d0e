//! The Auth API's HTTP routes: extract, call the pool, map the result.

pub mod password;
pub mod register;
pub mod session;
pub mod verify;

//! The Auth API's HTTP routes: parse the request into domain types, call the flow (a use
//! case: [`crate::registration`], [`crate::login`], [`crate::refresh`], [`crate::logout`],
//! [`crate::password_reset`], [`crate::password_change`], [`crate::activation`]), map the
//! result.

pub mod account;
pub mod activation;
pub mod mfa;
pub mod password;
pub mod register;
pub mod session;
pub mod verify;

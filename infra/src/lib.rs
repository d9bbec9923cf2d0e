//! Roster on AWS, as code, and the checks that see what AWS would refuse.
//!
//! - [`resources`]: every AWS resource Roster needs, declared once;
//! - [`parity`]: `template.yaml` against that model;
//! - [`sam`]: the SAM transform of the template, offline, and what its APIs must look like;
//! - [`supply_chain`]: the dependency policy (`deny.toml`), checked;
//! - [`tools`]: the pinned Python tools these checks and the packaging run.

pub mod parity;
pub mod resources;
pub mod sam;
pub mod supply_chain;
pub mod tools;

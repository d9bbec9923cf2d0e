//! Roster on one machine.
//!
//! - [`resources`]: every AWS resource Roster needs, declared once;
//! - [`sam`]: the SAM transform of the template, offline;
//! - [`endpoint`]: the local AWS endpoint (moto), installed and started on demand;
//! - [`provision`]: creating those resources on an endpoint, idempotently;
//! - [`plumbing`]: what AWS runs between the functions (stream polling, queue draining);
//! - [`stack`]: all of it together, plus both APIs on loopback ports;
//! - [`testing`]: the same parts for integration tests, isolated per test;
//! - [`web`]: the example account page on an origin of its own.

pub mod dead_letters;
pub mod demo;
pub mod endpoint;
pub mod faults;
pub mod load;
pub mod ops;
pub mod parity;
pub mod plumbing;
pub mod provision;
pub mod resources;
pub mod sam;
pub mod stack;
pub mod stack_client;
pub mod supply_chain;
pub mod testing;
pub mod web;

//! The local stack's own tests, against the local AWS endpoint: what provisioning creates, the
//! event plumbing (Lambda's event source mappings, as the stack runs them), the stack as a
//! whole in process, the `roster-local` command as a person runs it, the demo data, and the
//! local endpoint's transactions.

mod command;
mod demo;
mod plumbing;
mod provisioning;
mod running;
mod transactions;

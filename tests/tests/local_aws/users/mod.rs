//! The User API's flows: profiles through the bus, bad input, concurrency, erasure, the user's
//! own export and deletion, listing and searching users, lookups past stale index entries,
//! what start-up loads.

mod erasure;
mod lifecycle;
mod listing;
mod lookups;
mod self_service;
mod startup;
mod user_concurrency;
mod user_input;

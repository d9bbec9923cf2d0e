//! The User API's flows: profiles through the bus, bad input, concurrency, erasure.

mod erasure;
mod lifecycle;
mod user_concurrency;
mod user_input;

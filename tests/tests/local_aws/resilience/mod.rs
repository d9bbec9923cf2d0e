//! Faults injected between the services and AWS, and the stack surviving every kind of refusal.

mod refusals;
mod registration_faults;
mod user_faults;

//! The event backbone: the publisher, projectors and subscribers, under faults too.

mod event_faults;
mod publisher;
mod rule_filters;

//! Email normalisation, now part of the event contract ([`roster_events::email`]), where the
//! [`roster_events::Email`] type both services use lives with it.

pub use roster_events::email::normalise;

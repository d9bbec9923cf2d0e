//! Cross-service end-to-end tests of Roster, run against the local AWS endpoint with the real
//! AWS SDK adapters. The tests live in `tests/`; the harness they use is
//! `roster_testkit::harness`.

//! `cargo load` (`roster-bench load`), briefly: the documented 60-second load run is too slow for every CI
//! run, so this runs the same command for a few seconds, which keeps it working — its own
//! stack starts and stops, every route of the mix is driven, registrations refused as
//! duplicates (409) are interleaved with accepted ones, nothing answers unexpectedly, and every
//! registered user's profile reaches the User API (the event flow survives the refusals).

use std::process::Command;

#[test]
fn a_short_load_run_passes_with_every_route_driven() {
    let output = Command::new(env!("CARGO_BIN_EXE_roster-bench"))
        .args([
            "load",
            "--seconds",
            "6",
            "--users",
            "3",
            "--concurrency",
            "4",
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("unexpected answers: 0"), "{report}");
    assert!(report.contains(": flat"), "{report}");
    // Each sign-up of the pool is followed by a registration refused as its duplicate: by
    // email, name and handle in turn.
    let refused: usize = report
        .lines()
        .find_map(|line| line.strip_prefix("refused registrations: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count of refused registrations:\n{report}"));
    assert!(refused >= 3, "{report}");
    assert!(
        report.contains("profiles: all ") && report.contains("registered users have theirs"),
        "{report}"
    );
    for route in [
        "POST /auth/token/verify (access)",
        "GET /user/{id}",
        "GET /public/user/me",
        "PATCH /user/{id}/data/update",
        "POST /auth/register (email taken: 409)",
        "POST /auth/register (name taken: 409)",
        "POST /auth/register (handle taken: 409)",
    ] {
        assert!(report.contains(route), "{route} not driven:\n{report}");
    }
}

//! `roster-local load`, briefly: the documented 60-second load run is too slow for every CI
//! run, so this runs the same command for a few seconds, which keeps it working — its own
//! stack starts and stops, every route of the mix is driven, and nothing answers unexpectedly.

use std::process::Command;

#[test]
fn a_short_load_run_passes_with_every_route_driven() {
    let output = Command::new(env!("CARGO_BIN_EXE_roster-local"))
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
    for route in [
        "POST /auth/token/verify (access)",
        "GET /user/{id}",
        "GET /public/user/me",
        "PATCH /user/{id}/data/update",
    ] {
        assert!(report.contains(route), "{route} not driven:\n{report}");
    }
}

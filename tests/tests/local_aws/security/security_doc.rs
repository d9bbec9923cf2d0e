//! `SECURITY.md` names, for each threat, the tests that cover it: every test file and every
//! whole test name it mentions must exist.

use crate::support::files_named;

#[test]
fn every_test_security_md_points_at_exists() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let page = std::fs::read_to_string(format!("{root}/SECURITY.md")).unwrap();
    let mentioned: Vec<&str> = page.split('`').skip(1).step_by(2).collect();
    let mut sources = String::new();
    let mut files = 0;
    for name in &mentioned {
        let file = name.rsplit('/').next().unwrap();
        if file.ends_with(".rs") {
            let found = files_named(file);
            assert!(
                !found.is_empty(),
                "SECURITY.md names {name}, which does not exist"
            );
            for path in found {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
            files += 1;
        }
    }
    assert!(files >= 10, "SECURITY.md points at {files} test files");
    // Whole test names (not abbreviated with `…`) must be functions of those files.
    for name in mentioned {
        // Test names are sentences; `token_use` or `api_key_guard` are not.
        let whole_test_name = name.matches('_').count() >= 3
            && !name.contains('…')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if whole_test_name {
            assert!(
                sources.contains(&format!("fn {name}(")),
                "SECURITY.md names a test {name} that does not exist"
            );
        }
    }
}

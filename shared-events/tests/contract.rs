//! The committed contract (`schemas/`) is exactly what the types generate, every example is
//! valid against its schema, and a breaking change cannot land without a version bump.
//!
//! After changing an event type, run `UPDATE_SCHEMAS=1 cargo test -p roster-events` to rewrite
//! the committed files. A compatible change rewrites the file of the current version; a
//! breaking one is refused until the event's `VERSION` is bumped, and the old version's file
//! stays as the record of what consumers may still expect.

use std::path::{Path, PathBuf};

use roster_events::catalog::{EventSpec, events};
use roster_events::compat::breaking_changes;
use serde_json::Value;

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn schema_path(event: &EventSpec) -> PathBuf {
    schemas_dir().join(format!("{}.schema.json", event.file_stem()))
}

fn example_path(event: &EventSpec) -> PathBuf {
    schemas_dir()
        .join("examples")
        .join(format!("{}.json", event.file_stem()))
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display())))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

#[test]
fn committed_schemas_and_examples_match_the_types() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for event in events() {
        let generated = event.schema();
        let example = event.example();
        let committed = read_json(&schema_path(&event));
        if let Some(committed) = &committed {
            let breaking = breaking_changes(committed, &generated);
            assert!(
                breaking.is_empty(),
                "{} changed incompatibly without a version bump: {breaking:?}; bump its VERSION",
                event.file_stem()
            );
        }
        let up_to_date = committed.as_ref() == Some(&generated)
            && read_json(&example_path(&event)).as_ref() == Some(&example);
        if up_to_date {
            continue;
        }
        if update {
            std::fs::create_dir_all(schemas_dir().join("examples")).unwrap();
            std::fs::write(schema_path(&event), pretty(&generated)).unwrap();
            std::fs::write(example_path(&event), pretty(&example)).unwrap();
        } else {
            stale.push(event.file_stem());
        }
    }
    assert!(
        stale.is_empty(),
        "committed schemas differ from the types for {stale:?}; run UPDATE_SCHEMAS=1 cargo test -p roster-events and commit schemas/"
    );
}

#[test]
fn every_example_is_valid_against_its_schema() {
    for event in events() {
        let validator = jsonschema::validator_for(&event.schema()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&event.example())
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", event.file_stem());
    }
}

#[test]
fn every_committed_version_still_belongs_to_a_known_event() {
    let known: Vec<&str> = events().iter().map(|event| event.detail_type).collect();
    for entry in std::fs::read_dir(schemas_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".schema.json") else {
            continue;
        };
        let detail_type = stem.split(".v").next().unwrap();
        assert!(known.contains(&detail_type), "{name} names no event");
    }
}

#[test]
fn events_carry_no_secret_fields() {
    let forbidden = ["password", "token", "code\"", "apiKey", "secret"];
    for event in events() {
        let schema = event.schema().to_string();
        for word in forbidden {
            assert!(
                !schema.contains(&format!("\"{word}")),
                "{} has a field named like a secret ({word})",
                event.file_stem()
            );
        }
    }
}

#[test]
fn the_catalog_page_documents_every_event_and_links_its_files() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md"))
            .unwrap();
    for event in events() {
        assert!(
            page.contains(&format!("| `{}` |", event.detail_type)),
            "docs/events.md has no row for {}",
            event.detail_type
        );
        for file in [
            format!("schemas/{}.schema.json", event.file_stem()),
            format!("schemas/examples/{}.json", event.file_stem()),
        ] {
            assert!(page.contains(&file), "docs/events.md does not link {file}");
        }
    }
}

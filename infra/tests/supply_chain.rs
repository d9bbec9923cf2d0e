//! The supply chain: the whole dependency graph passes `cargo deny` (advisories against the
//! committed RustSec snapshot, licenses, bans, sources), and the check does refuse what it is
//! there to refuse — shown on the real graph with one crate added: `rsa`, which is banned and
//! has an advisory (RUSTSEC-2023-0071, the Marvin timing attack).

use std::path::PathBuf;

use roster_infra::supply_chain::{cargo_deny, workspace_metadata};
use roster_infra::tools::{Stderr, roster_home};
use serde_json::{Value, json};

const REGISTRY: &str = "registry+https://github.com/rust-lang/crates.io-index";

#[test]
fn the_dependency_graph_passes_cargo_deny() {
    let (passed, output) = cargo_deny(&roster_home(), &Stderr, None, &["all"]).unwrap();
    assert!(passed, "cargo deny check failed:\n{output}");
    assert!(
        output.contains("advisories ok, bans ok, licenses ok, sources ok"),
        "{output}"
    );
}

/// The workspace's `cargo metadata`, with `roster-platform` depending on `rsa` 0.9.8.
fn graph_with_rsa() -> PathBuf {
    let mut metadata: Value = serde_json::from_slice(&workspace_metadata().unwrap()).unwrap();
    let rsa_id = format!("{REGISTRY}#rsa@0.9.8");
    let packages = metadata["packages"].as_array_mut().unwrap();
    let mut rsa = packages
        .iter()
        .find(|package| package["name"] == "subtle")
        .unwrap()
        .clone();
    rsa["name"] = json!("rsa");
    rsa["version"] = json!("0.9.8");
    rsa["id"] = json!(rsa_id);
    rsa["license"] = json!("MIT OR Apache-2.0");
    rsa["dependencies"] = json!([]);
    let platform = packages
        .iter_mut()
        .find(|package| package["name"] == "roster-platform")
        .unwrap();
    let platform_id = platform["id"].clone();
    platform["dependencies"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "name": "rsa", "source": REGISTRY, "req": "^0.9", "kind": null, "rename": null,
            "optional": false, "uses_default_features": true, "features": [], "target": null,
            "registry": null
        }));
    packages.push(rsa);
    let nodes = metadata["resolve"]["nodes"].as_array_mut().unwrap();
    let node = nodes
        .iter_mut()
        .find(|node| node["id"] == platform_id)
        .unwrap();
    node["dependencies"]
        .as_array_mut()
        .unwrap()
        .push(json!(rsa_id));
    node["deps"].as_array_mut().unwrap().push(json!({
        "name": "rsa", "pkg": rsa_id, "dep_kinds": [{"kind": null, "target": null}]
    }));
    nodes.push(json!({"id": rsa_id, "dependencies": [], "deps": [], "features": []}));
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("metadata-with-rsa.json");
    std::fs::write(&path, metadata.to_string()).unwrap();
    path
}

#[test]
fn a_dependency_on_the_rsa_crate_is_banned_and_its_advisory_found() {
    let graph = graph_with_rsa();
    let (passed, output) = cargo_deny(&roster_home(), &Stderr, Some(&graph), &["bans"]).unwrap();
    assert!(!passed, "{output}");
    assert!(
        output.contains("crate 'rsa = 0.9.8' is explicitly banned"),
        "{output}"
    );
    let (passed, output) =
        cargo_deny(&roster_home(), &Stderr, Some(&graph), &["advisories"]).unwrap();
    assert!(!passed, "{output}");
    assert!(output.contains("RUSTSEC-2023-0071"), "{output}");
}

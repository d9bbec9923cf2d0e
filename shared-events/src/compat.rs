//! The compatibility check of the contract: which changes between two schemas of one event
//! would break a consumer written against the old one. Such a change needs a new version.
//!
//! Breaking: a required field removed or made optional, any field whose type changes, an enum
//! that gains or loses a value, an array whose items change in one of those ways. Not
//! breaking: a new field (required or optional), a removed optional field, new descriptions.

use std::collections::BTreeSet;

use serde_json::Value;

/// The breaking changes from `old` to `new` (both JSON Schemas of an event's detail), each as
/// a sentence naming the field's path. Empty when a consumer of `old` can read `new`.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut found = Vec::new();
    Walk {
        old_root: old,
        new_root: new,
        found: &mut found,
    }
    .compare(old, new, "detail", 0);
    found
}

struct Walk<'a> {
    old_root: &'a Value,
    new_root: &'a Value,
    found: &'a mut Vec<String>,
}

const MAX_DEPTH: usize = 32;

impl Walk<'_> {
    fn compare(&mut self, old: &Value, new: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let old = resolve(self.old_root, old);
        let new = resolve(self.new_root, new);
        if types(old) != types(new) {
            self.found.push(format!(
                "{path}: type changed from {:?} to {:?}",
                types(old),
                types(new)
            ));
            return;
        }
        if old.get("enum") != new.get("enum") || old.get("const") != new.get("const") {
            self.found.push(format!("{path}: allowed values changed"));
        }
        for keyword in ["anyOf", "oneOf"] {
            match (variants(old, keyword), variants(new, keyword)) {
                (None, None) => {}
                (Some(old_variants), Some(new_variants))
                    if old_variants.len() == new_variants.len() =>
                {
                    for (index, (old, new)) in old_variants.iter().zip(new_variants).enumerate() {
                        self.compare(old, new, &format!("{path}.{keyword}[{index}]"), depth + 1);
                    }
                }
                _ => self
                    .found
                    .push(format!("{path}: {keyword} alternatives changed")),
            }
        }
        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.compare(old_items, new_items, &format!("{path}[]"), depth + 1);
        }
        let old_required = required(old);
        let new_required = required(new);
        let empty = serde_json::Map::new();
        let old_properties = old
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new_properties = new
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (name, old_field) in old_properties {
            let field_path = format!("{path}.{name}");
            let was_required = old_required.contains(name.as_str());
            match new_properties.get(name) {
                None if was_required => self
                    .found
                    .push(format!("{field_path}: required field removed")),
                None => {}
                Some(new_field) => {
                    if was_required && !new_required.contains(name.as_str()) {
                        self.found.push(format!("{field_path}: no longer required"));
                    }
                    self.compare(old_field, new_field, &field_path, depth + 1);
                }
            }
        }
    }
}

/// Follows a local `$ref` (`#/$defs/Name`) to the schema it names.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..MAX_DEPTH {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        match reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
        {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

fn types(schema: &Value) -> BTreeSet<String> {
    match schema.get("type") {
        Some(Value::String(one)) => BTreeSet::from([one.clone()]),
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn variants<'a>(schema: &'a Value, keyword: &str) -> Option<&'a Vec<Value>> {
    schema.get(keyword).and_then(Value::as_array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(properties: Value, required: &[&str]) -> Value {
        json!({
            "type": "object",
            "properties": {"data": {"$ref": "#/$defs/Data"}, "version": {"type": "integer"}},
            "required": ["data", "version"],
            "$defs": {"Data": {"type": "object", "properties": properties, "required": required}}
        })
    }

    fn base() -> Value {
        schema(
            json!({"userId": {"type": "string"}, "note": {"type": "string"},
                   "kind": {"type": "string", "enum": ["a", "b"]}}),
            &["userId", "kind"],
        )
    }

    #[test]
    fn the_same_schema_is_compatible() {
        assert!(breaking_changes(&base(), &base()).is_empty());
    }

    #[test]
    fn additions_and_removed_optional_fields_are_compatible() {
        let new = schema(
            json!({"userId": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]},
                   "extra": {"type": "integer"}}),
            &["userId", "kind", "extra"],
        );
        assert_eq!(breaking_changes(&base(), &new), Vec::<String>::new());
    }

    #[test]
    fn a_removed_required_field_breaks() {
        let new = schema(
            json!({"note": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]}}),
            &["kind"],
        );
        assert_eq!(
            breaking_changes(&base(), &new),
            ["detail.data.userId: required field removed"]
        );
    }

    #[test]
    fn a_retyped_or_loosened_field_breaks() {
        let new = schema(
            json!({"userId": {"type": "integer"}, "note": {"type": "string"},
                   "kind": {"type": "string", "enum": ["a", "b"]}}),
            &["kind"],
        );
        let found = breaking_changes(&base(), &new);
        assert!(
            found
                .iter()
                .any(|change| change.contains("userId: no longer required"))
        );
        assert!(
            found
                .iter()
                .any(|change| change.contains("userId: type changed"))
        );
    }

    #[test]
    fn a_new_enum_value_breaks() {
        let new = schema(
            json!({"userId": {"type": "string"}, "note": {"type": "string"},
                   "kind": {"type": "string", "enum": ["a", "b", "c"]}}),
            &["userId", "kind"],
        );
        assert_eq!(
            breaking_changes(&base(), &new),
            ["detail.data.kind: allowed values changed"]
        );
    }
}

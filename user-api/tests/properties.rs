//! Properties of the User API's parsers of untrusted input, over generated input: they never
//! panic, what they accept has the documented shape, and the merge patch behaves as RFC 7396
//! says whatever the documents.

use proptest::prelude::*;
use roster_user_api::domain::{
    ActivationCode, Lookup, UserId, checked_data, merge_patch, parse_if_match, parse_status,
};
use serde_json::{Map, Value};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-d]", json(), 0..5)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

proptest! {
    #[test]
    fn a_merge_patch_applied_twice_is_applied_once(target in json(), patch in json()) {
        let mut once = target.clone();
        merge_patch(&mut once, &patch);
        let mut twice = once.clone();
        merge_patch(&mut twice, &patch);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn a_merged_object_keeps_what_the_patch_leaves_alone(target in object(), patch in object()) {
        let mut merged = target.clone();
        merge_patch(&mut merged, &patch);
        let (target, patch, merged) = (target.as_object().unwrap(), patch.as_object().unwrap(), merged.as_object().unwrap());
        for (key, value) in target {
            if !patch.contains_key(key) {
                prop_assert_eq!(merged.get(key), Some(value));
            }
        }
        for (key, value) in patch {
            if value.is_null() {
                prop_assert!(!merged.contains_key(key));
            } else if !value.is_object() {
                prop_assert_eq!(merged.get(key), Some(value));
            }
        }
    }

    #[test]
    fn checked_data_never_panics_and_accepts_only_objects(data in json()) {
        if let Ok(accepted) = checked_data(data) {
            prop_assert!(accepted.is_object());
        }
    }

    #[test]
    fn lookups_accept_only_their_shape_and_key_in_lowercase(raw in "\\PC{0,80}") {
        if let Ok(lookup) = Lookup::handle(&raw) {
            let key = lookup.key();
            prop_assert!(key.starts_with('@'));
            prop_assert!(key[1..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
        if let Ok(lookup) = Lookup::name(&raw) {
            prop_assert!(!lookup.key().bytes().any(|b| b.is_ascii_uppercase()));
        }
        if let Ok(lookup) = Lookup::email(&raw) {
            prop_assert!(lookup.key().contains('@'));
            prop_assert_eq!(lookup.key(), lookup.key().to_lowercase());
        }
        if let Ok(id) = UserId::parse(&raw) {
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
        let _ = (parse_status(&raw), parse_if_match(&raw));
    }

    #[test]
    fn activation_codes_are_32_hex_characters_and_hash_case_insensitively(raw in "[0-9a-fA-F]{30,34}|\\PC{0,40}") {
        match ActivationCode::parse(&raw) {
            Ok(code) => {
                prop_assert_eq!(raw.len(), 32);
                prop_assert_eq!(code.hash(), ActivationCode::parse(&raw.to_lowercase()).unwrap().hash());
            }
            Err(_) => prop_assert!(raw.len() != 32 || !raw.bytes().all(|b| b.is_ascii_hexdigit())),
        }
    }
}

fn list_parameter() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("status".to_owned()),
        Just("createdAfter".to_owned()),
        Just("createdBefore".to_owned()),
        Just("namePrefix".to_owned()),
        Just("emailPrefix".to_owned()),
        Just("handlePrefix".to_owned()),
        Just("order".to_owned()),
        Just("limit".to_owned()),
        Just("cursor".to_owned()),
        ".{0,12}",
    ];
    (name, ".{0,40}")
}

proptest! {
    /// Whatever the query string holds, `GET /users` either refuses it or reads one listing
    /// index with a page of 1 to 100: never a panic, never a scan.
    #[test]
    fn any_listing_query_is_refused_or_bounded(params in prop::collection::vec(list_parameter(), 0..6)) {
        use roster_user_api::listing::{ListRequest, MAX_LIMIT};
        if let Ok(request) = ListRequest::parse(&params) {
            prop_assert!((1..=MAX_LIMIT).contains(&request.limit));
            let index = request.query.index().spec();
            prop_assert!(index.name.starts_with("list-by-"));
            // Accepted only with known parameters, each at most once: a misspelt or repeated
            // filter never lists everyone.
            let known = ["status", "createdAfter", "createdBefore", "namePrefix", "emailPrefix",
                "handlePrefix", "order", "limit", "cursor"];
            let names: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
            prop_assert!(names.iter().all(|name| known.contains(name)));
            let unique: std::collections::BTreeSet<&&str> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len());
        }
    }
}

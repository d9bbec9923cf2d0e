//! Lookups by name, email and handle on the real adapters against the local endpoint. The
//! lookup indexes hold only keys; a lookup reads the ids an index holds under the key and
//! answers the first whose item, read strongly consistent, is a profile still holding that key.
//!
//! On AWS an index lags its table: after a user is deleted (its tombstone keeps no name, email
//! or handle) and the name is registered again, the index may hold both ids under the name for
//! a moment. moto updates its indexes with the table, so the deleted user's entry is made here
//! by writing the keys onto a tombstone; a raw Query first shows that the stale entry comes
//! before the live one, so the lookup has to pass it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use roster_testkit::harness::{self, TestResources};
use roster_user_api::domain::Lookup;
use roster_user_api::store::{BY_EMAIL, BY_HANDLE, BY_NAME};

use crate::support::{profiles_of, seed_profile};

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// A deleted user's item as the lookup indexes may still show it: a tombstone that holds the
/// keys of `name`'s profile.
async fn stale_tombstone(resources: &TestResources, id: &str, name: &str) {
    let handle = name.replace('_', "");
    let item = HashMap::from([
        ("id".to_owned(), s(id)),
        ("deletedAt".to_owned(), s("2026-01-01T00:00:00Z")),
        ("version".to_owned(), AttributeValue::N("3".to_owned())),
        (
            "expiresAt".to_owned(),
            AttributeValue::N("4102444800".to_owned()),
        ),
        ("nameKey".to_owned(), s(name)),
        ("emailKey".to_owned(), s(&format!("{name}@example.com"))),
        ("handleKey".to_owned(), s(&format!("@{handle}"))),
    ]);
    aws_sdk_dynamodb::Client::new(&resources.sdk)
        .put_item()
        .table_name(&resources.provisioned.tables["users"].name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// What a raw Query of `index` under `key` returns, in its order.
async fn index_entries(
    resources: &TestResources,
    index: &str,
    attribute: &str,
    key: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    aws_sdk_dynamodb::Client::new(&resources.sdk)
        .query()
        .table_name(&resources.provisioned.tables["users"].name)
        .index_name(index)
        .key_condition_expression("#k = :k")
        .expression_attribute_names("#k", attribute)
        .expression_attribute_values(":k", s(key))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lookup_passes_a_deleted_users_entry_and_answers_the_live_profile() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let name = "ada_lovelace";
    // "0-" sorts before any UUID, and it is written first: ahead of the live entry by key and
    // by insertion, whichever order the index keeps.
    let stale = format!("0-stale-{}", uuid::Uuid::new_v4().simple());
    stale_tombstone(&resources, &stale, name).await;
    let live = uuid::Uuid::new_v4().to_string();
    seed_profile(&profiles, &live, name, "hash-ada").await;

    let lookups = [
        (Lookup::name(name).unwrap(), BY_NAME),
        (
            Lookup::email(&format!("{name}@example.com")).unwrap(),
            BY_EMAIL,
        ),
        (Lookup::handle("@AdaLovelace").unwrap(), BY_HANDLE),
    ];
    for (lookup, index) in lookups {
        // The precondition: the stale entry is the index's first, and the index holds only
        // keys (the table's and its own), not the profile.
        let entries =
            index_entries(&resources, index.name, index.partition_key, lookup.key()).await;
        let ids: Vec<_> = entries
            .iter()
            .map(|entry| entry["id"].as_s().unwrap().as_str())
            .collect();
        assert_eq!(ids, [stale.as_str(), live.as_str()], "{}", index.name);
        for entry in &entries {
            let mut attributes: Vec<_> = entry.keys().map(String::as_str).collect();
            attributes.sort_unstable();
            let mut keys = vec!["id", index.partition_key];
            keys.sort_unstable();
            assert_eq!(attributes, keys, "{} projects keys only", index.name);
        }

        let found = profiles.find(&lookup).await.unwrap();
        assert_eq!(found.id.as_str(), live, "{}", index.name);
        assert_eq!(found.name, name);
    }

    // Once the live profile is deleted too, the lookup finds no one: a tombstone is no profile.
    profiles
        .delete(
            &roster_events::UserId::parse(&live).unwrap(),
            &roster_user_api::profiles::Context {
                correlation_id: None,
                if_match: None,
            },
        )
        .await
        .unwrap();
    let refused = profiles.find(&Lookup::name(name).unwrap()).await;
    assert!(
        matches!(
            refused,
            Err(roster_user_api::error::UserError::UserNotFound)
        ),
        "{refused:?}"
    );

    // And a new registration of the name is found past the stale entry.
    let again = uuid::Uuid::new_v4().to_string();
    seed_profile(&profiles, &again, name, "hash-ada-2").await;
    let entries = index_entries(&resources, BY_NAME.name, BY_NAME.partition_key, name).await;
    let ids: Vec<_> = entries
        .iter()
        .map(|entry| entry["id"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(
        ids,
        [stale.as_str(), again.as_str()],
        "the stale entry first"
    );
    let found = profiles.find(&Lookup::name(name).unwrap()).await.unwrap();
    assert_eq!(found.id.as_str(), again);
}

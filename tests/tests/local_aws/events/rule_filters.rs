//! Each subscriber's bus rule delivers only the events the subscriber acts on (its
//! `RULE_EVENTS`, which `infra`'s subscriber specs and the template's rules use): every other
//! event of its sources must be one the subscriber ignores, or filtering it out would lose it.
//! Each of the contract's events (the catalog's example) goes through the real handlers, on
//! the local endpoint. (The other way round, an event the rule delivers that the handler never
//! acts on, cannot be told from these examples: a handler also ignores an event about a user it
//! does not know, as the examples' user is here. Every name the rule lists must at least be an
//! event of its sources.)

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_platform::subscriber::{EventHandler, Outcome};
use roster_testkit::harness::{self, REGION};
use serde_json::{Value, json};

use crate::support::profiles_of;

/// The catalog's example of `spec`, as the bus delivers it.
fn delivered(spec: &roster_events::catalog::EventSpec) -> EventBridgeEvent<Value> {
    serde_json::from_value(json!({
        "version": "0", "id": format!("rule-filter-{}", spec.detail_type),
        "detail-type": spec.detail_type, "source": spec.source, "account": "123456789012",
        "time": "2026-11-29T10:00:00Z", "region": REGION, "resources": [],
        "detail": spec.example()
    }))
    .unwrap()
}

/// Every event of `sources` outside `rule_events` is ignored by `handler`, and every name in
/// `rule_events` is an event of `sources`.
async fn holds(
    name: &str,
    handler: &impl EventHandler,
    sources: &[&str],
    rule_events: &[&str],
) -> Vec<String> {
    let mut wrong = Vec::new();
    for spec in roster_events::catalog::events() {
        if !sources.contains(&spec.source) {
            continue;
        }
        if rule_events.contains(&spec.detail_type) {
            continue;
        }
        let outcome = handler.handle(&delivered(&spec)).await;
        if !matches!(outcome, Ok(Outcome::Ignored)) {
            wrong.push(format!(
                "{name}: acts on {} ({outcome:?}), which its rule filters out",
                spec.detail_type
            ));
        }
    }
    for listed in rule_events {
        if !roster_events::catalog::events()
            .iter()
            .any(|spec| spec.detail_type == *listed && sources.contains(&spec.source))
        {
            wrong.push(format!(
                "{name}: its rule names {listed}, no event of its sources"
            ));
        }
    }
    wrong
}

#[tokio::test]
async fn each_subscriber_s_rule_filters_out_only_events_it_ignores() {
    let resources = harness::provisioned().await;
    let profiles = profiles_of(&resources);
    let stores = roster_local::stack::auth_stores(&resources.provisioned);
    let auth = roster_auth_api::subscriber::AuthEvents::new(
        stores.table(&resources.sdk),
        stores.pool(&resources.sdk),
    );
    let users = roster_user_api::subscriber::UserEvents::new(profiles.clone());
    let badges = roster_user_api::badge_rules::BadgeRules::new(profiles);
    use roster_infra::resources::{AUTH_SUBSCRIBER, BADGE_RULES, USER_SUBSCRIBER};
    let mut wrong = holds(
        "auth-subscriber",
        &auth,
        AUTH_SUBSCRIBER.sources,
        AUTH_SUBSCRIBER.detail_types,
    )
    .await;
    wrong.extend(
        holds(
            "user-subscriber",
            &users,
            USER_SUBSCRIBER.sources,
            USER_SUBSCRIBER.detail_types,
        )
        .await,
    );
    wrong.extend(
        holds(
            "badge-rules",
            &badges,
            BADGE_RULES.sources,
            BADGE_RULES.detail_types,
        )
        .await,
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

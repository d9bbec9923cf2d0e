//! API keys end to end on Secrets Manager: issued keys pass the guard with their scopes only,
//! rotation keeps two keys live, revocation takes effect, plaintext is never stored.

use std::time::Duration;

use roster_platform::api_key_guard::{ApiKeyGuard, GuardOptions, Rejection, SecretsManagerKeys};
use roster_platform::api_keys::KeyAdmin;
use roster_testkit::harness;

async fn admin_and_guard() -> (KeyAdmin, ApiKeyGuard) {
    let stack = harness::provisioned().await;
    let client = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let secret = stack.provisioned.api_key_secret.clone();
    // No caching, so each check sees the secret as it is now.
    let options = GuardOptions {
        ttl: Duration::ZERO,
        miss_cooldown: Duration::ZERO,
    };
    (
        KeyAdmin::new(client.clone(), secret.clone()),
        ApiKeyGuard::new(SecretsManagerKeys::new(client, secret), options),
    )
}

#[tokio::test]
async fn an_issued_key_passes_with_its_scopes_and_only_its_hash_is_stored() {
    let (admin, guard) = admin_and_guard().await;
    let issued = admin
        .create("partner-bff", &["users:read"], None)
        .await
        .unwrap();

    let caller = guard
        .check(Some(&issued.plaintext), "users:read")
        .await
        .unwrap();
    assert_eq!(caller.name, "partner-bff");
    assert_eq!(
        guard.check(Some(&issued.plaintext), "users:write").await,
        Err(Rejection::Forbidden)
    );

    let stored = serde_json::to_string(&admin.list().await.unwrap()).unwrap();
    assert!(stored.contains(&issued.record.id));
    assert!(!stored.contains(&issued.plaintext));
}

#[tokio::test]
async fn rotation_keeps_both_keys_live_and_revocation_ends_one() {
    let (admin, guard) = admin_and_guard().await;
    let old = admin.create("web-bff", &["auth"], None).await.unwrap();
    let new = admin
        .rotate("web-bff", chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(new.record.scopes, ["auth"]);
    guard.check(Some(&old.plaintext), "auth").await.unwrap();
    guard.check(Some(&new.plaintext), "auth").await.unwrap();
    let records = admin.list().await.unwrap();
    let old_record = records.iter().find(|r| r.id == old.record.id).unwrap();
    assert!(old_record.expires_at.is_some(), "the old key now expires");

    admin.revoke(&old.record.id).await.unwrap();
    assert_eq!(
        guard.check(Some(&old.plaintext), "auth").await,
        Err(Rejection::Unauthorized)
    );
    guard.check(Some(&new.plaintext), "auth").await.unwrap();
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let (admin, guard) = admin_and_guard().await;
    let issued = admin
        .create(
            "old-bff",
            &["auth"],
            Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        guard.check(Some(&issued.plaintext), "auth").await,
        Err(Rejection::Unauthorized)
    );
}

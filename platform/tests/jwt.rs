//! The JWT verifier refuses every forged, stale, foreign or malformed token, accepts the real
//! ones, and fetches the JWKS sparingly. Keys are the test fixtures in `testkit/fixtures`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenRejection, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;
use serde_json::json;

use roster_testkit::forged::*;

#[derive(Clone, Default)]
struct Jwks {
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl JwksSource for Jwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.down.load(Ordering::SeqCst) {
                Err(JwksError("down".into()))
            } else {
                Ok(pool_jwks())
            }
        })
    }
}

fn verifier_with(jwks: &Jwks) -> JwtVerifier {
    JwtVerifier::new(
        JwksCache::new(jwks.clone(), JwksOptions::default()),
        VerifierConfig {
            issuer: ISSUER.to_owned(),
            client_ids: vec![CLIENT.to_owned(), "partner-client".to_owned()],
            leeway: DEFAULT_LEEWAY,
        },
    )
}

fn verifier() -> JwtVerifier {
    verifier_with(&Jwks::default())
}

#[tokio::test]
async fn accepts_real_access_and_id_tokens_with_their_claims() {
    let verifier = verifier();
    let access = verifier
        .verify(&token(&access_claims()), TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(access.client_id, CLIENT);
    assert_eq!(access.groups, ["USER"]);
    assert_eq!(access.username.as_deref(), Some("ada@example.com"));
    let id = verifier
        .verify(&token(&id_claims()), TokenUse::Id)
        .await
        .unwrap();
    assert_eq!(id.email.as_deref(), Some("ada@example.com"));
    assert_eq!(id.token_use, TokenUse::Id);
}

#[tokio::test]
async fn accepts_a_token_expired_within_the_leeway() {
    let claims = with(access_claims(), "exp", json!(now() - 5));
    verifier()
        .verify(&token(&claims), TokenUse::Access)
        .await
        .unwrap();
}

#[tokio::test]
async fn refuses_every_token_of_the_forged_corpus() {
    let verifier = verifier();
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for (name, token, token_use, reason) in corpus {
        let outcome = verifier.verify(&token, token_use).await;
        match reason {
            Some(reason) => assert_eq!(outcome, Err(reason), "{name}"),
            None => assert!(outcome.is_err(), "{name} was accepted"),
        }
    }
}

#[tokio::test]
async fn a_hundred_concurrent_unknown_kids_cause_at_most_one_fetch_per_cooldown() {
    let jwks = Jwks::default();
    let verifier = Arc::new(verifier_with(&jwks));
    verifier
        .verify(&token(&access_claims()), TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let verifier = Arc::clone(&verifier);
            let forged = signed(
                &rs256(&format!("rotated-{n}")),
                &access_claims(),
                &pool_key(),
            );
            tokio::spawn(async move { verifier.verify(&forged, TokenUse::Access).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(TokenRejection::UnknownKey));
    }
    assert!(
        jwks.fetches.load(Ordering::SeqCst) <= 2,
        "fetches: {}",
        jwks.fetches.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn concurrent_first_uses_share_one_fetch() {
    let jwks = Jwks::default();
    let verifier = Arc::new(verifier_with(&jwks));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let verifier = Arc::clone(&verifier);
            tokio::spawn(async move {
                verifier
                    .verify(&token(&access_claims()), TokenUse::Access)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fails_closed_when_the_jwks_cannot_be_had() {
    let jwks = Jwks::default();
    jwks.down.store(true, Ordering::SeqCst);
    let verifier = verifier_with(&jwks);
    for _ in 0..5 {
        assert_eq!(
            verifier
                .verify(&token(&access_claims()), TokenUse::Access)
                .await,
            Err(TokenRejection::KeysUnavailable)
        );
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        1,
        "no hammering while it is down"
    );
}

//! The JWT verifier refuses every forged, stale, foreign or malformed token, accepts the real
//! ones, and fetches the JWKS sparingly. Keys are the test fixtures in `testkit/fixtures`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource, KeyLookupError};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenRejection, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;
use serde_json::json;

use roster_testkit::forged::*;

#[derive(Clone, Default)]
struct Jwks {
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    /// The pool's key under another key id: tokens signed as `POOL_KID` name no key.
    rotated: Arc<AtomicBool>,
    /// Another key under the pool key's id (its modulus changed).
    replaced: Arc<AtomicBool>,
}

impl JwksSource for Jwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async move {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.down.load(Ordering::SeqCst) {
                Err(JwksError("down".into()))
            } else if self.replaced.load(Ordering::SeqCst) {
                use base64::Engine as _;
                use base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let mut jwks: serde_json::Value = serde_json::from_slice(&pool_jwks()).unwrap();
                let mut modulus = URL_SAFE_NO_PAD
                    .decode(jwks["keys"][0]["n"].as_str().unwrap())
                    .unwrap();
                // Still odd and as long: a valid key, just not the pool's.
                *modulus.last_mut().unwrap() ^= 0x02;
                jwks["keys"][0]["n"] = json!(URL_SAFE_NO_PAD.encode(modulus));
                Ok(serde_json::to_vec(&jwks).unwrap())
            } else if self.rotated.load(Ordering::SeqCst) {
                let mut jwks: serde_json::Value = serde_json::from_slice(&pool_jwks()).unwrap();
                jwks["keys"][0]["kid"] = json!("pool-key-2");
                Ok(serde_json::to_vec(&jwks).unwrap())
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

// The cache of verified tokens: a hit needs the same bytes, and skips the signature check but
// not the clock, the key or the token use.

fn verifier_with_options(jwks: &Jwks, options: JwksOptions, leeway: Duration) -> JwtVerifier {
    JwtVerifier::new(
        JwksCache::new(jwks.clone(), options),
        VerifierConfig {
            issuer: ISSUER.to_owned(),
            client_ids: vec![CLIENT.to_owned()],
            leeway,
        },
    )
}

#[tokio::test]
async fn a_token_seen_before_gives_the_same_claims_from_the_cache() {
    let verifier = verifier();
    let access = token(&access_claims());
    let first = verifier.verify(&access, TokenUse::Access).await.unwrap();
    assert_eq!(verifier.verified_cached(), 1);
    assert_eq!(verifier.verify(&access, TokenUse::Access).await, Ok(first));
    assert_eq!(verifier.verified_cached(), 1, "held once");
    // Another token of the same user is another entry.
    let other = token(&with(access_claims(), "jti", json!("another")));
    verifier.verify(&other, TokenUse::Access).await.unwrap();
    assert_eq!(verifier.verified_cached(), 2);
}

#[tokio::test]
async fn a_token_one_byte_off_a_cached_one_is_verified_in_full() {
    let verifier = verifier();
    let access = token(&access_claims());
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    let segments: Vec<&str> = access.split('.').collect();
    // A changed payload under the cached token's signature, and a changed signature.
    let admin = with(access_claims(), "cognito:groups", json!(["ADMIN"]));
    let grafted = format!("{}.{}.{}", segments[0], b64(&admin), segments[2]);
    assert_eq!(
        verifier.verify(&grafted, TokenUse::Access).await,
        Err(TokenRejection::BadSignature)
    );
    let mut signature = segments[2].to_owned();
    let last = signature.pop().unwrap();
    signature.push(if last == 'A' { 'B' } else { 'A' });
    let resigned = format!("{}.{}.{signature}", segments[0], segments[1]);
    assert!(verifier.verify(&resigned, TokenUse::Access).await.is_err());
    // Nothing refused was kept; the real token still passes.
    assert_eq!(verifier.verified_cached(), 1);
    verifier.verify(&access, TokenUse::Access).await.unwrap();
}

#[tokio::test]
async fn a_cached_token_is_refused_for_the_other_token_use() {
    let verifier = verifier();
    let access = token(&access_claims());
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    assert_eq!(
        verifier.verify(&access, TokenUse::Id).await,
        Err(TokenRejection::WrongTokenUse)
    );
    verifier.verify(&access, TokenUse::Access).await.unwrap();
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    let verifier = verifier_with_options(&Jwks::default(), JwksOptions::default(), Duration::ZERO);
    let expiring = token(&with(access_claims(), "exp", json!(now() + 1)));
    verifier.verify(&expiring, TokenUse::Access).await.unwrap();
    assert_eq!(verifier.verified_cached(), 1);
    // Until the second after `exp` is over: the check is `exp < now`.
    let wait = u64::try_from(now() + 2).unwrap() * 1000
        - u64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_millis()).unwrap();
    tokio::time::sleep(Duration::from_millis(wait)).await;
    assert_eq!(
        verifier.verify(&expiring, TokenUse::Access).await,
        Err(TokenRejection::Expired)
    );
    assert_eq!(verifier.verified_cached(), 0, "forgotten once expired");
}

#[tokio::test]
async fn with_the_cache_off_nothing_is_kept_and_tokens_still_verify() {
    let verifier = verifier().with_verified_cache(0);
    let access = token(&access_claims());
    for _ in 0..3 {
        verifier.verify(&access, TokenUse::Access).await.unwrap();
    }
    assert_eq!(verifier.verified_cached(), 0);
}

/// A token verified (and kept), then the JWKS changed by `change` on the next fetch: the token
/// must get `refused`, and pass again once the JWKS is back.
async fn cached_then_jwks_changed(change: fn(&Jwks) -> &AtomicBool, refused: TokenRejection) {
    let jwks = Jwks::default();
    // Every lookup fetches the JWKS again, so that a change shows at once.
    let options = JwksOptions {
        cooldown: Duration::ZERO,
        max_age: Duration::ZERO,
    };
    let verifier = verifier_with_options(&jwks, options, DEFAULT_LEEWAY);
    let access = token(&access_claims());
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    change(&jwks).store(true, Ordering::SeqCst);
    assert_eq!(
        verifier.verify(&access, TokenUse::Access).await,
        Err(refused)
    );
    assert_eq!(verifier.verified_cached(), 0);
    change(&jwks).store(false, Ordering::SeqCst);
    verifier.verify(&access, TokenUse::Access).await.unwrap();
}

#[tokio::test]
async fn a_cached_token_whose_key_left_the_jwks_is_refused() {
    cached_then_jwks_changed(|jwks| &*jwks.rotated, TokenRejection::UnknownKey).await;
}

#[tokio::test]
async fn a_cached_token_whose_kid_now_names_another_key_is_verified_in_full() {
    cached_then_jwks_changed(|jwks| &*jwks.replaced, TokenRejection::BadSignature).await;
}

#[tokio::test]
async fn old_keys_whose_refetch_fails_are_refetched_once_per_cooldown_and_served_meanwhile() {
    let jwks = Jwks::default();
    let options = JwksOptions {
        cooldown: Duration::from_millis(500),
        max_age: Duration::from_millis(600),
    };
    // No verified-token cache: every verification looks its key up.
    let verifier = verifier_with_options(&jwks, options, DEFAULT_LEEWAY).with_verified_cache(0);
    let access = token(&access_claims());
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    tokio::time::sleep(Duration::from_millis(650)).await;
    // The keys are older than max_age, and the JWKS host fails.
    jwks.down.store(true, Ordering::SeqCst);
    for _ in 0..5 {
        verifier.verify(&access, TokenUse::Access).await.unwrap();
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        2,
        "one failed refetch, then the keys as they are until the cooldown ends"
    );
    // Back, and the cooldown over: the next lookup refetches, and the keys are young again.
    jwks.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(550)).await;
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    verifier.verify(&access, TokenUse::Access).await.unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failed_load_at_start_up_leaves_the_first_token_to_fetch() {
    let jwks = Jwks::default();
    jwks.down.store(true, Ordering::SeqCst);
    let verifier = verifier_with(&jwks);
    assert_eq!(verifier.load_keys().await, Err(KeyLookupError::Unavailable));
    // The JWKS is back: the first token fetches it, with no cooldown from the failed load.
    jwks.down.store(false, Ordering::SeqCst);
    verifier
        .verify(&token(&access_claims()), TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
}

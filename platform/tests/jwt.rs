//! The JWT verifier refuses every forged, stale, foreign or malformed token, accepts the real
//! ones, and fetches the JWKS sparingly. Keys are the test fixtures in `tests/fixtures`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenRejection, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;
use serde_json::{Value, json};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
const CLIENT: &str = "web-client";
const POOL_KID: &str = "pool-key-1";

fn pool_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa-pool.pem")).unwrap()
}

fn other_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa-other.pem")).unwrap()
}

/// The pool's JWKS plus a key marked for encryption (same modulus, `use: enc`).
fn pool_jwks() -> Vec<u8> {
    let mut jwks: Value =
        serde_json::from_slice(include_bytes!("fixtures/jwks-pool.json")).unwrap();
    let mut enc = jwks["keys"][0].clone();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    jwks["keys"].as_array_mut().unwrap().push(enc);
    serde_json::to_vec(&jwks).unwrap()
}

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

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn access_claims() -> Value {
    json!({
        "sub": "0b8e1c9a-5d2f-4c1e-9a55-6c1d2b3a4f50",
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "username": "ada@example.com",
        "cognito:groups": ["USER"],
        "iat": now() - 10,
        "exp": now() + 3600,
    })
}

fn id_claims() -> Value {
    json!({
        "sub": "0b8e1c9a-5d2f-4c1e-9a55-6c1d2b3a4f50",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "email": "ada@example.com",
        "cognito:username": "ada@example.com",
        "iat": now() - 10,
        "exp": now() + 3600,
    })
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token with exactly this header and these claims, signed RS256 with `key`.
fn signed(header: &Value, claims: &Value, key: &EncodingKey) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, Algorithm::RS256).unwrap();
    format!("{message}.{signature}")
}

fn rs256(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid, "typ": "JWT"})
}

fn token(claims: &Value) -> String {
    signed(&rs256(POOL_KID), claims, &pool_key())
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

fn without(mut claims: Value, field: &str) -> Value {
    claims.as_object_mut().unwrap().remove(field);
    claims
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

/// The forged-token corpus: every entry must be refused, most for a known reason.
fn corpus() -> Vec<(&'static str, String, TokenUse, Option<TokenRejection>)> {
    use TokenRejection::*;
    let access = access_claims();
    let good = token(&access);
    let parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.",
            b64(&json!({"alg": alg, "kid": POOL_KID})),
            parts[1]
        )
    };
    let hs256_with_public_key = {
        let public = include_bytes!("fixtures/jwks-pool.json");
        let header = json!({"alg": "HS256", "kid": POOL_KID});
        let message = format!("{}.{}", b64(&header), b64(&access));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(public),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{signature}")
    };
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(access.clone(), "sub", json!("someone-else"))),
        parts[2]
    );
    let mut flipped = parts[2].clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(flipped).unwrap()
    );
    let attacker_jwk: Value =
        serde_json::from_slice(include_bytes!("fixtures/jwks-other.json")).unwrap();
    let attacker_jwk = attacker_jwk["keys"][0].clone();
    let huge = with(access.clone(), "padding", json!("x".repeat(9 * 1024)));

    vec![
        (
            "alg none",
            unsigned("none"),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "alg none, with a signature",
            format!("{}sig", unsigned("none")),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg None",
            format!("{}sig", unsigned("None")),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg NONE",
            format!("{}sig", unsigned("NONE")),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg nOnE",
            format!("{}sig", unsigned("nOnE")),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg rs256 (case)",
            signed(
                &json!({"alg": "rs256", "kid": POOL_KID}),
                &access,
                &pool_key(),
            ),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "HS256 signed with the public key",
            hs256_with_public_key,
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg RS512 header on an RS256 signature",
            signed(
                &json!({"alg": "RS512", "kid": POOL_KID}),
                &access,
                &pool_key(),
            ),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "alg PS256",
            signed(
                &json!({"alg": "PS256", "kid": POOL_KID}),
                &access,
                &pool_key(),
            ),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "no alg",
            signed(&json!({"kid": POOL_KID}), &access, &pool_key()),
            TokenUse::Access,
            Some(Algorithm),
        ),
        (
            "stripped signature",
            format!("{}.{}.", parts[0], parts[1]),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "tampered payload",
            tampered_payload,
            TokenUse::Access,
            Some(BadSignature),
        ),
        (
            "tampered signature",
            tampered_signature,
            TokenUse::Access,
            Some(BadSignature),
        ),
        (
            "two segments",
            format!("{}.{}", parts[0], parts[1]),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "four segments",
            format!("{good}.extra"),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "not base64 header",
            format!("!!!.{}.{}", parts[1], parts[2]),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "header not JSON",
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode("nope"),
                parts[1],
                parts[2]
            ),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "empty token",
            String::new(),
            TokenUse::Access,
            Some(Malformed),
        ),
        (
            "kid missing",
            signed(&json!({"alg": "RS256"}), &access, &pool_key()),
            TokenUse::Access,
            Some(MissingKeyId),
        ),
        (
            "kid empty",
            signed(&rs256(""), &access, &pool_key()),
            TokenUse::Access,
            Some(MissingKeyId),
        ),
        (
            "kid unknown",
            signed(&rs256("nobody"), &access, &pool_key()),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "kid path-like",
            signed(&rs256("../../../etc/passwd"), &access, &pool_key()),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "jku to the attacker's JWKS",
            signed(
                &json!({"alg": "RS256", "kid": "attacker-key", "jku": "https://attacker.example/jwks.json"}),
                &access,
                &other_key(),
            ),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "x5u to the attacker's certificate",
            signed(
                &json!({"alg": "RS256", "kid": "attacker-key", "x5u": "https://attacker.example/cert.pem"}),
                &access,
                &other_key(),
            ),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "embedded attacker jwk",
            signed(
                &json!({"alg": "RS256", "kid": "attacker-key", "jwk": attacker_jwk}),
                &access,
                &other_key(),
            ),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "pool kid, attacker's signature and jwk",
            signed(
                &json!({"alg": "RS256", "kid": POOL_KID, "jwk": attacker_jwk}),
                &access,
                &other_key(),
            ),
            TokenUse::Access,
            Some(BadSignature),
        ),
        (
            "a key from another pool",
            signed(&rs256("attacker-key"), &access, &other_key()),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "a non-signing key of the JWKS",
            signed(&rs256("enc-key"), &access, &pool_key()),
            TokenUse::Access,
            Some(UnknownKey),
        ),
        (
            "crit header",
            signed(
                &json!({"alg": "RS256", "kid": POOL_KID, "crit": ["exp"]}),
                &access,
                &pool_key(),
            ),
            TokenUse::Access,
            Some(CriticalHeader),
        ),
        (
            "expired beyond the leeway",
            token(&with(access.clone(), "exp", json!(now() - 120))),
            TokenUse::Access,
            Some(Expired),
        ),
        (
            "nbf in the future",
            token(&with(access.clone(), "nbf", json!(now() + 600))),
            TokenUse::Access,
            Some(NotYetValid),
        ),
        (
            "iat in the future",
            token(&with(access.clone(), "iat", json!(now() + 600))),
            TokenUse::Access,
            Some(NotYetValid),
        ),
        (
            "exp missing",
            token(&without(access.clone(), "exp")),
            TokenUse::Access,
            Some(MissingClaim),
        ),
        (
            "exp a string",
            token(&with(
                access.clone(),
                "exp",
                json!((now() + 3600).to_string()),
            )),
            TokenUse::Access,
            None,
        ),
        (
            "exp a string in the past",
            token(&with(access.clone(), "exp", json!("1000"))),
            TokenUse::Access,
            None,
        ),
        (
            "iss wrong",
            token(&with(
                access.clone(),
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
            )),
            TokenUse::Access,
            Some(WrongIssuer),
        ),
        (
            "iss missing",
            token(&without(access.clone(), "iss")),
            TokenUse::Access,
            Some(MissingClaim),
        ),
        (
            "iss an array holding the issuer",
            token(&with(access.clone(), "iss", json!([ISSUER]))),
            TokenUse::Access,
            Some(WrongIssuer),
        ),
        (
            "sub missing",
            token(&without(access.clone(), "sub")),
            TokenUse::Access,
            Some(MissingClaim),
        ),
        (
            "access token used as id",
            good.clone(),
            TokenUse::Id,
            Some(WrongTokenUse),
        ),
        (
            "id token used as access",
            token(&id_claims()),
            TokenUse::Access,
            Some(WrongTokenUse),
        ),
        (
            "token_use missing",
            token(&without(access.clone(), "token_use")),
            TokenUse::Access,
            Some(WrongTokenUse),
        ),
        (
            "foreign client_id",
            token(&with(
                access.clone(),
                "client_id",
                json!("someone-elses-app"),
            )),
            TokenUse::Access,
            Some(UnknownClient),
        ),
        (
            "client_id missing",
            token(&without(access.clone(), "client_id")),
            TokenUse::Access,
            Some(UnknownClient),
        ),
        (
            "id token for a foreign aud",
            token(&with(id_claims(), "aud", json!("someone-elses-app"))),
            TokenUse::Id,
            Some(UnknownClient),
        ),
        (
            "id token with an aud array",
            token(&with(id_claims(), "aud", json!([CLIENT]))),
            TokenUse::Id,
            None,
        ),
        (
            "a 9 KiB token",
            token(&huge),
            TokenUse::Access,
            Some(TooLarge),
        ),
    ]
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

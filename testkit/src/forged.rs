//! Tokens for the verifier's tests: the pool's fixture keys, real-looking claims, and the
//! forged-token corpus. Shared by `platform/tests/jwt.rs` (the verifier alone), the
//! verifier's benchmarks, and the end-to-end tests (the same corpus against the HTTP routes);
//! each uses a part of it. The keys are `testkit/fixtures` (test-only, see its README).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use roster_platform::jwt::{TokenRejection, TokenUse};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
pub const CLIENT: &str = "web-client";
pub const POOL_KID: &str = "pool-key-1";

/// The pool's public JWKS as committed (one RSA signing key, `pool-key-1`).
pub const POOL_JWKS_JSON: &[u8] = include_bytes!("../fixtures/jwks-pool.json");

/// The pool's public key as DER (PKCS#1), from the fixture's private key: what a verifier
/// holds once the JWKS is loaded (the benchmarks' floor: the signature check alone).
pub fn pool_public_key_der() -> Vec<u8> {
    let pem = include_str!("../fixtures/rsa-pool.pem");
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let private = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the fixture key is base64");
    let pair = aws_lc_rs::rsa::KeyPair::from_der(&private).expect("the fixture key parses");
    aws_lc_rs::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec()
}

pub fn pool_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("../fixtures/rsa-pool.pem")).unwrap()
}

pub fn other_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("../fixtures/rsa-other.pem")).unwrap()
}

/// The pool's JWKS plus a key marked for encryption (same modulus, `use: enc`).
pub fn pool_jwks() -> Vec<u8> {
    let mut jwks: Value = serde_json::from_slice(POOL_JWKS_JSON).unwrap();
    let mut enc = jwks["keys"][0].clone();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    jwks["keys"].as_array_mut().unwrap().push(enc);
    serde_json::to_vec(&jwks).unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn access_claims() -> Value {
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

pub fn id_claims() -> Value {
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

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token with exactly this header and these claims, signed RS256 with `key`.
pub fn signed(header: &Value, claims: &Value, key: &EncodingKey) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, Algorithm::RS256).unwrap();
    format!("{message}.{signature}")
}

pub fn rs256(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid, "typ": "JWT"})
}

pub fn token(claims: &Value) -> String {
    signed(&rs256(POOL_KID), claims, &pool_key())
}

pub fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

pub fn without(mut claims: Value, field: &str) -> Value {
    claims.as_object_mut().unwrap().remove(field);
    claims
}

/// The forged-token corpus: every entry must be refused, most for a known reason.
pub fn corpus() -> Vec<(&'static str, String, TokenUse, Option<TokenRejection>)> {
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
        let public = POOL_JWKS_JSON;
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
        serde_json::from_slice(include_bytes!("../fixtures/jwks-other.json")).unwrap();
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

//! Token verification in process, on 1,000 distinct valid access tokens of the pool's key:
//! the whole verifier (`JwtVerifier::verify`: size, shape, header, key lookup, signature,
//! claims) next to the floor, the bare RS256 signature check of the same tokens on the same
//! key, parsed once; and the verifier followed by the revocation check the APIs make on every
//! token (`RevokedUsers::is_revoked`, here holding 10,000 revoked users). These verify every
//! token in full (the cache of verified tokens off); one more runs the verifier as deployed,
//! on tokens it has seen (each a cache hit: no signature check). Also writes the tokens and the
//! JWKS to `target/bench/tokens.json`, so the Node.js reference (`bench/node`) verifies
//! exactly the same tokens.
//!
//! `cargo bench -p roster-platform --bench verify`

use std::hint::black_box;

use aws_lc_rs::signature::{self, ParsedPublicKey, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;
use roster_platform::revocation::RevokedUsers;
use roster_testkit::forged::*;
use serde_json::json;

const TOKENS: usize = 1_000;

struct FixtureJwks;

impl JwksSource for FixtureJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async { Ok(pool_jwks()) })
    }
}

/// Distinct tokens: each its own subject, token id and issue time.
fn tokens() -> Vec<String> {
    (0..TOKENS)
        .map(|n| {
            let mut claims = access_claims();
            claims["sub"] = json!(format!("0b8e1c9a-5d2f-4c1e-9a55-{n:012}"));
            claims["jti"] = json!(format!("token-{n}"));
            claims["iat"] = json!(now() - (n as i64 % 600));
            signed(&rs256(POOL_KID), &claims, &pool_key())
        })
        .collect()
}

/// Each token's signing input and decoded signature.
fn signed_parts(tokens: &[String]) -> Vec<(Vec<u8>, Vec<u8>)> {
    tokens
        .iter()
        .map(|token| {
            let (input, signature) = token.rsplit_once('.').unwrap();
            (
                input.as_bytes().to_vec(),
                URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
        })
        .collect()
}

fn export_for_node(tokens: &[String]) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench");
    std::fs::create_dir_all(dir).unwrap();
    let jwks: serde_json::Value = serde_json::from_slice(POOL_JWKS_JSON).unwrap();
    let document = json!({
        "issuer": ISSUER, "userPoolId": ISSUER.rsplit('/').next(), "clientId": CLIENT,
        "jwks": jwks, "tokens": tokens,
    });
    std::fs::write(format!("{dir}/tokens.json"), document.to_string()).unwrap();
}

fn verification(c: &mut Criterion) {
    let tokens = tokens();
    export_for_node(&tokens);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let verifier_with = |capacity| {
        JwtVerifier::new(
            JwksCache::new(FixtureJwks, JwksOptions::default()),
            VerifierConfig {
                issuer: ISSUER.to_owned(),
                client_ids: vec![CLIENT.to_owned()],
                leeway: DEFAULT_LEEWAY,
            },
        )
        .with_verified_cache(capacity)
    };
    let verifier = verifier_with(0);
    let cached = verifier_with(roster_platform::verified_tokens::DEFAULT_CAPACITY);
    // The JWKS is fetched once, at the first token; not on the hot path.
    for token in &tokens {
        for verifier in [&verifier, &cached] {
            runtime
                .block_on(verifier.verify(token, TokenUse::Access))
                .expect("a valid token");
        }
    }
    assert_eq!(cached.verified_cached(), TOKENS, "every token held");
    let der = pool_public_key_der();
    let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der).unwrap();
    let parts = signed_parts(&tokens);

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("roster JwtVerifier::verify (access token)", |b| {
        b.iter(|| {
            next = (next + 1) % TOKENS;
            let token = black_box(tokens[next].as_str());
            runtime
                .block_on(verifier.verify(token, TokenUse::Access))
                .unwrap()
        })
    });
    let mut next = 0;
    group.bench_function(
        "roster JwtVerifier::verify, a token seen before (cache hit)",
        |b| {
            b.iter(|| {
                next = (next + 1) % TOKENS;
                let token = black_box(tokens[next].as_str());
                runtime
                    .block_on(cached.verify(token, TokenUse::Access))
                    .unwrap()
            })
        },
    );
    // As many revoked users as an hour of sign-outs at a busy site; none of them is a token's.
    let revoked = RevokedUsers::default();
    for n in 0..10_000 {
        revoked.note(&format!("revoked-user-{n}"), now());
    }
    let mut next = 0;
    group.bench_function(
        "roster verify + revocation check (10,000 revoked users)",
        |b| {
            b.iter(|| {
                next = (next + 1) % TOKENS;
                let token = black_box(tokens[next].as_str());
                let verified = runtime
                    .block_on(verifier.verify(token, TokenUse::Access))
                    .unwrap();
                assert!(!revoked.is_revoked(&verified));
                verified
            })
        },
    );
    let mut next = 0;
    group.bench_function("floor: RS256 signature check, key parsed once", |b| {
        b.iter(|| {
            next = (next + 1) % TOKENS;
            let (input, signature) = &parts[next];
            parsed
                .verify_sig(black_box(input), black_box(signature))
                .unwrap()
        })
    });
    let mut next = 0;
    group.bench_function("RS256 signature check, key parsed per token", |b| {
        b.iter(|| {
            next = (next + 1) % TOKENS;
            let (input, signature) = &parts[next];
            UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der)
                .verify(black_box(input), black_box(signature))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Reports under the workspace's target/, not the package's.
    config = Criterion::default().output_directory(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/criterion"
    )));
    targets = verification
}
criterion_main!(benches);

//! Instructions per token verification, counted by callgrind: repeatable whatever else the
//! machine is doing, unlike wall time. Makes `N` tokens and the same set-up for every kind,
//! then runs `N` checks of one kind; kind `none` runs none, so a kind's cost per token is
//! (instructions(kind, N) − instructions(none, N)) / N. `bench/verify-cost` runs it.
//!
//! `cargo run --release -p roster-platform --example verify_cost -- <kind> <N>`, kind one of
//! `none`, `verify`, `verify-revocation`, `floor`.

use std::hint::black_box;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;
use roster_platform::revocation::RevokedUsers;
use roster_testkit::forged::*;
use serde_json::json;

struct FixtureJwks;

impl JwksSource for FixtureJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async { Ok(pool_jwks()) })
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "verify".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    let tokens: Vec<String> = (0..count.max(1))
        .map(|n| {
            let mut claims = access_claims();
            claims["sub"] = json!(format!("0b8e1c9a-5d2f-4c1e-9a55-{n:012}"));
            claims["jti"] = json!(format!("token-{n}"));
            signed(&rs256(POOL_KID), &claims, &pool_key())
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let verifier = JwtVerifier::new(
        JwksCache::new(FixtureJwks, JwksOptions::default()),
        VerifierConfig {
            issuer: ISSUER.to_owned(),
            client_ids: vec![CLIENT.to_owned()],
            leeway: DEFAULT_LEEWAY,
        },
    )
    // Every token checked in full: this measures the verification, not the cache.
    .with_verified_cache(0);
    // The same set-up for every kind: the JWKS loaded, 10,000 revoked users, the floor's key.
    runtime
        .block_on(verifier.verify(&tokens[0], TokenUse::Access))
        .expect("a valid token");
    let revoked = RevokedUsers::default();
    for n in 0..10_000 {
        revoked.note(&format!("revoked-user-{n}"), now());
    }
    let der = pool_public_key_der();
    let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der).expect("key");
    let parts: Vec<(Vec<u8>, Vec<u8>)> = tokens
        .iter()
        .map(|token| {
            let (input, signature) = token.rsplit_once('.').expect("three parts");
            (
                input.as_bytes().to_vec(),
                URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
            )
        })
        .collect();

    for n in 0..count {
        match kind.as_str() {
            "verify" => {
                black_box(
                    runtime
                        .block_on(verifier.verify(black_box(&tokens[n]), TokenUse::Access))
                        .expect("valid"),
                );
            }
            "verify-revocation" => {
                let verified = runtime
                    .block_on(verifier.verify(black_box(&tokens[n]), TokenUse::Access))
                    .expect("valid");
                assert!(!revoked.is_revoked(black_box(&verified)));
            }
            "floor" => {
                let (input, signature) = &parts[n];
                parsed
                    .verify_sig(black_box(input), black_box(signature))
                    .expect("valid");
            }
            "none" => {}
            other => panic!("unknown kind {other}"),
        }
    }
}

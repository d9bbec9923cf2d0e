//! Properties of the platform's parsers of untrusted input over generated input: API keys and
//! Bearer tokens never panic a parser, an issued key is always recognised, and no arbitrary
//! string passes the token verifier.

use proptest::prelude::*;
use roster_platform::api_keys::{issue, key_id};
use roster_platform::jwks::{JwksCache, JwksError, JwksOptions, JwksSource};
use roster_platform::jwt::{DEFAULT_LEEWAY, JwtVerifier, TokenUse, VerifierConfig};
use roster_platform::lambda::BoxFuture;

struct FixtureJwks;

impl JwksSource for FixtureJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<Vec<u8>, JwksError>> {
        Box::pin(async { Ok(roster_testkit::forged::POOL_JWKS_JSON.to_vec()) })
    }
}

proptest! {
    #[test]
    fn only_well_formed_keys_have_an_id(raw in "\\PC{0,100}|rk_[0-9a-f]{12}_[0-9a-f]{64}") {
        if let Some(id) = key_id(&raw) {
            prop_assert_eq!(id.len(), 12);
            prop_assert!(raw.starts_with("rk_"));
        }
    }

    #[test]
    fn every_issued_key_is_recognised(caller in "[a-z-]{1,20}") {
        let issued = issue(&caller, &["auth"], "2026-11-25T10:00:00Z").unwrap();
        prop_assert_eq!(key_id(&issued.plaintext), Some(issued.record.id.as_str()));
    }

    #[test]
    fn no_arbitrary_string_is_a_valid_token(raw in "\\PC{0,200}|[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}") {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let verifier = JwtVerifier::new(
            JwksCache::new(FixtureJwks, JwksOptions::default()),
            VerifierConfig {
                issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool".to_owned(),
                client_ids: vec!["web-client".to_owned()],
                leeway: DEFAULT_LEEWAY,
            },
        );
        for token_use in [TokenUse::Access, TokenUse::Id] {
            prop_assert!(runtime.block_on(verifier.verify(&raw, token_use)).is_err());
        }
    }
}

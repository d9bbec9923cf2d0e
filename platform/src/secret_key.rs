//! A service's own secret key, kept in Secrets Manager as `{"serverKey": "<hex>"}` and loaded on
//! first use, and what it is used for: a key per purpose derived from it (HMAC-SHA256 of the
//! purpose, so no two uses share a key), and sealed tokens (AES-256-GCM) that a caller can
//! carry but can neither read nor alter, bound to a context (the associated data) outside
//! which they do not open.
//!
//! The User API's key (`roster-<stage>/user-server-key`) seals list cursors. The Auth API's
//! (`roster-<stage>/auth-server-key`) derives activation codes and request fingerprints
//! ([`SecretKey::mac`]) and seals sign-in challenge handles.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
#[error("the service's secret key cannot be loaded: {0}")]
pub struct SecretKeyError(String);

/// The key of a secret in Secrets Manager, loaded once and kept for the life of the process.
pub struct SecretKey {
    source: Source,
    key: OnceCell<Vec<u8>>,
}

enum Source {
    Secret {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
    Fixed,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    server_key: String,
}

/// The shortest key accepted: 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

impl SecretKey {
    /// The key held by the secret `secret_id`, read on first use.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            source: Source::Secret {
                client,
                secret_id: secret_id.into(),
            },
            key: OnceCell::new(),
        }
    }

    /// A key given as it is (tests and tools that hold no secret).
    pub fn fixed(key: [u8; MIN_KEY_BYTES]) -> Self {
        Self {
            source: Source::Fixed,
            key: OnceCell::new_with(Some(key.to_vec())),
        }
    }

    /// Reads the key now: at start-up, so that the first request finds it loaded.
    pub async fn load(&self) -> Result<(), SecretKeyError> {
        self.key().await.map(drop)
    }

    async fn key(&self) -> Result<&[u8], SecretKeyError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let Source::Secret { client, secret_id } = &self.source else {
                    return Err(SecretKeyError("no key".to_owned()));
                };
                let text = crate::aws::secret_string(client, secret_id)
                    .await
                    .map_err(SecretKeyError)?;
                parse(&text)
            })
            .await?;
        Ok(key)
    }

    /// The key for `purpose` (a fixed label such as `b"roster-list-cursor-v1"`): HMAC-SHA256
    /// of the purpose under the secret key.
    pub async fn derive(&self, purpose: &[u8]) -> Result<[u8; 32], SecretKeyError> {
        Ok(derive(self.key().await?, purpose))
    }

    /// HMAC-SHA256 of `parts` under the secret key, each part prefixed with its length (eight
    /// bytes, big-endian) so that no two lists of parts collide: `["ab", "c"]` and
    /// `["a", "bc"]` differ.
    pub async fn mac(&self, parts: &[&[u8]]) -> Result<[u8; 32], SecretKeyError> {
        Ok(mac(self.key().await?, parts))
    }
}

/// The key of a stored secret: hex as provisioning writes it, or the text itself as a generated
/// secret (CloudFormation's `GenerateSecretString`) has it; at least 256 bits either way.
fn parse(text: &str) -> Result<Vec<u8>, SecretKeyError> {
    let stored: Stored = serde_json::from_str(text)
        .map_err(|error| SecretKeyError(format!("malformed secret: {error}")))?;
    let key = hex::decode(&stored.server_key).unwrap_or_else(|_| stored.server_key.into_bytes());
    if key.len() < MIN_KEY_BYTES {
        return Err(SecretKeyError(format!(
            "the key is shorter than {MIN_KEY_BYTES} bytes"
        )));
    }
    Ok(key)
}

fn derive(key: &[u8], purpose: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, purpose);
    let mut derived = [0u8; 32];
    derived.copy_from_slice(tag.as_ref());
    derived
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut context = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(context.sign().as_ref());
    tag
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key"))
}

/// `plain` sealed under `key` with AES-256-GCM and a fresh random nonce, bound to `context`:
/// nonce, then ciphertext and tag.
pub fn seal(key: &[u8; 32], context: &[u8], plain: &[u8]) -> Result<Vec<u8>, SecretKeyError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|error| SecretKeyError(error.to_string()))?;
    let mut data = plain.to_vec();
    aead(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut data,
        )
        .map_err(|_| SecretKeyError("AES-GCM refused to seal".to_owned()))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Ok(sealed)
}

/// What [`seal`] sealed under `key` for `context`; `None` for anything else: another key,
/// another context, or any change of a byte.
pub fn open(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = aead(key)
        .open_in_place(nonce, Aad::from(context), &mut data)
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_and_each_key_derive_their_own_key() {
        let key = [7u8; 32];
        assert_eq!(derive(&key, b"a"), derive(&key, b"a"));
        assert_ne!(derive(&key, b"a"), derive(&key, b"b"));
        assert_ne!(derive(&key, b"a"), derive(&[8u8; 32], b"a"));
    }

    #[test]
    fn parts_are_framed_so_boundaries_matter() {
        let key = [7u8; 32];
        assert_ne!(mac(&key, &[b"ab", b"c"]), mac(&key, &[b"a", b"bc"]));
        assert_eq!(mac(&key, &[b"ab", b"c"]), mac(&key, &[b"ab", b"c"]));
        assert_ne!(mac(&key, &[b"ab"]), mac(&[8u8; 32], &[b"ab"]));
    }

    #[test]
    fn the_framed_mac_is_the_one_codes_and_handles_were_made_with() {
        // Known answers (Python's hmac over the framed bytes): activation codes, request
        // fingerprints and challenge handles made before keep their meaning.
        let key = [7u8; 32];
        assert_eq!(
            hex::encode(mac(&key, &[b"ab", b"c"])),
            "6073d5bcf26efd7ddc06c90652db47666a35e5fce22c4a3632375cb436a2611d"
        );
        assert_eq!(
            hex::encode(mac(&key, &[b"roster-mfa-challenge-key-v1"])),
            "dff2a2275f1c1c24d54975e77b1ae14a895fc92c4bd9de980cac177dd35ec0df"
        );
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let key = [1u8; 32];
        let sealed = seal(&key, b"context", b"plain text").unwrap();
        assert_eq!(
            open(&key, b"context", &sealed).as_deref(),
            Some(&b"plain text"[..])
        );
        assert!(!sealed.windows(5).any(|window| window == b"plain"));
        assert_eq!(open(&key, b"other context", &sealed), None);
        assert_eq!(open(&[2u8; 32], b"context", &sealed), None);
        for index in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[index] ^= 1;
            assert_eq!(open(&key, b"context", &changed), None, "byte {index}");
        }
        assert_eq!(open(&key, b"context", &sealed[..sealed.len() - 1]), None);
        assert_eq!(open(&key, b"context", &[]), None);
        // A fresh nonce each time: the same value never seals the same way twice.
        assert_ne!(sealed, seal(&key, b"context", b"plain text").unwrap());
    }

    #[test]
    fn stored_keys_are_hex_or_text_and_at_least_256_bits() {
        let hex_key = serde_json::json!({ "serverKey": "ab".repeat(32) }).to_string();
        assert_eq!(parse(&hex_key).unwrap(), vec![0xab; 32]);
        let text_key = serde_json::json!({ "serverKey": "Z".repeat(64) }).to_string();
        assert_eq!(parse(&text_key).unwrap(), b"Z".repeat(64));
        assert!(parse(&serde_json::json!({ "serverKey": "ab" }).to_string()).is_err());
        assert!(parse("{}").is_err());
        assert!(parse("not json").is_err());
    }

    #[tokio::test]
    async fn a_fixed_key_derives_without_a_secret() {
        let key = SecretKey::fixed([3u8; 32]);
        assert_eq!(key.derive(b"p").await.unwrap(), derive(&[3u8; 32], b"p"));
    }
}

//! The Auth API's own secret key, kept in Secrets Manager and loaded on first use. It derives
//! activation codes (so an idempotent replay can hand back the same code without the code
//! ever being stored) and keys request fingerprints (so a stored fingerprint reveals nothing
//! about the password in the request).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
#[error("the Auth API's key cannot be loaded: {0}")]
pub struct ServerKeyError(String);

impl ServerKeyError {
    pub(crate) fn new(cause: impl Into<String>) -> Self {
        Self(cause.into())
    }
}

pub struct ServerKey {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    key: OnceCell<Vec<u8>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    server_key: String,
}

impl ServerKey {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            key: OnceCell::new(),
        }
    }

    /// HMAC-SHA256 of `parts`, each length-prefixed so that no two lists of parts collide.
    pub async fn mac(&self, parts: &[&[u8]]) -> Result<[u8; 32], ServerKeyError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let text = roster_platform::aws::secret_string(&self.client, &self.secret_id)
                    .await
                    .map_err(ServerKeyError)?;
                let stored: Stored = serde_json::from_str(&text)
                    .map_err(|error| ServerKeyError(format!("malformed secret: {error}")))?;
                // Hex as provisioning writes it, or the text itself as a generated secret
                // (CloudFormation's GenerateSecretString) has it.
                let key = hex::decode(&stored.server_key)
                    .unwrap_or_else(|_| stored.server_key.into_bytes());
                if key.len() < 32 {
                    return Err(ServerKeyError("the key is shorter than 32 bytes".into()));
                }
                Ok(key)
            })
            .await?;
        Ok(mac(key, parts))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::mac;

    #[test]
    fn parts_are_framed_so_boundaries_matter() {
        let key = [7u8; 32];
        assert_ne!(mac(&key, &[b"ab", b"c"]), mac(&key, &[b"a", b"bc"]));
        assert_eq!(mac(&key, &[b"ab", b"c"]), mac(&key, &[b"ab", b"c"]));
        assert_ne!(mac(&key, &[b"ab"]), mac(&[8u8; 32], &[b"ab"]));
    }
}

//! Server-to-server API keys: their format, and the document that stores them in Secrets
//! Manager. Only a SHA-256 hash of each key is stored (keys are 256-bit random, so a fast hash
//! is enough); the plaintext exists once, when the key is issued.
//!
//! A key reads `rk_<id>_<secret>`: `id` (12 hex) names the stored record, so a check is one
//! lookup and one constant-time comparison; `secret` is 64 hex characters of randomness.
//!
//! Besides its scopes (which operations), a record can bind its key to what it is for
//! ([`Bindings`]): the app clients it may sign users in through and verify tokens of, and the
//! source systems it may register users for. A record without a binding (every key issued
//! before bindings existed, and the local stack's development key) may use any of them: it
//! is listed as unrestricted, and the `roster` command warns about it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "rk_";

/// The secret's JSON document: every key that is live. Two keys for one caller can be live at
/// once, which is how a rotation works.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySet {
    pub keys: Vec<ApiKeyRecord>,
}

/// One stored key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub id: String,
    /// Who holds the key (a BFF, a partner service); shows in logs instead of the key.
    pub caller: String,
    pub scopes: Vec<String>,
    /// Hex SHA-256 of the whole key.
    pub sha256: String,
    pub created_at: String,
    /// RFC 3339; the key is refused from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The app clients and source systems the key may use.
    #[serde(flatten)]
    pub bindings: Bindings,
}

/// What a key may be used for besides its scopes. `None` is "any": a record stored without
/// the member (issued before bindings existed, or deliberately unrestricted). `Some` lists
/// exactly what is allowed; an empty list allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bindings {
    /// App client ids (one per frontend) the key may name as `clientId` (or get as the
    /// default client), and whose tokens it may verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<String>>,
    /// `sourceSystem` values the key may register users with (`roster` when a request names
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_systems: Option<Vec<String>>,
}

impl Bindings {
    /// Any app client and any source system.
    pub const UNRESTRICTED: Bindings = Bindings {
        clients: None,
        source_systems: None,
    };

    pub fn allows_client(&self, client_id: &str) -> bool {
        allows(self.clients.as_deref(), client_id)
    }

    pub fn allows_source_system(&self, source_system: &str) -> bool {
        allows(self.source_systems.as_deref(), source_system)
    }

    /// Whether the key may use any app client or any source system.
    pub fn is_unrestricted(&self) -> bool {
        self.clients.is_none() || self.source_systems.is_none()
    }
}

fn allows(bound: Option<&[String]>, value: &str) -> bool {
    bound.is_none_or(|allowed| allowed.iter().any(|one| one == value))
}

/// A freshly issued key: the plaintext to hand over once, and the record to store.
pub struct IssuedKey {
    pub plaintext: String,
    pub record: ApiKeyRecord,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("plaintext", &"<redacted>")
            .field("record", &self.record)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessError(getrandom::Error);

/// Issues a new key from the operating system's CSPRNG.
pub fn issue(
    caller: &str,
    scopes: &[&str],
    created_at: &str,
) -> Result<IssuedKey, RandomnessError> {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).map_err(RandomnessError)?;
    getrandom::fill(&mut secret).map_err(RandomnessError)?;
    let id = hex::encode(id);
    let plaintext = format!("{PREFIX}{id}_{}", hex::encode(secret));
    let record = ApiKeyRecord {
        sha256: hash(&plaintext),
        id,
        caller: caller.to_owned(),
        scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
        created_at: created_at.to_owned(),
        expires_at: None,
        bindings: Bindings::UNRESTRICTED,
    };
    Ok(IssuedKey { plaintext, record })
}

/// Hex SHA-256 of a presented key.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The record id a presented key claims, if it has the key format at all.
pub fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == 12
        && secret.len() == 64
        && id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(id)
}

/// Managing the key set in its Secrets Manager secret: create, list, rotate, revoke.
///
/// Each operation reads the set, changes it and writes it back. Secrets Manager has no
/// conditional write, so two administrators changing keys at the same instant could lose one
/// change; key administration is a rare, human operation and this is accepted (see README).
#[derive(Debug, Clone)]
pub struct KeyAdmin {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("Secrets Manager: {0}")]
    Store(String),
    #[error("the secret does not hold an API key set: {0}")]
    Format(#[from] serde_json::Error),
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    #[error("no API key has the id {0}")]
    UnknownKey(String),
    #[error("caller {0} has no key to rotate")]
    UnknownCaller(String),
}

impl KeyAdmin {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }

    /// Every stored key, oldest first. Never the keys themselves: they are not stored.
    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, AdminError> {
        Ok(self.read().await?.keys)
    }

    /// Issues a key for `caller` that may use any app client and source system
    /// ([`Bindings::UNRESTRICTED`]); the plaintext is returned once and never stored.
    pub async fn create(
        &self,
        caller: &str,
        scopes: &[&str],
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<IssuedKey, AdminError> {
        self.create_bound(caller, scopes, Bindings::UNRESTRICTED, expires_at)
            .await
    }

    /// Issues a key for `caller` bound to `bindings`; the plaintext is returned once and never
    /// stored.
    pub async fn create_bound(
        &self,
        caller: &str,
        scopes: &[&str],
        bindings: Bindings,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<IssuedKey, AdminError> {
        let mut set = self.read().await?;
        let mut issued = issue(caller, scopes, &now())?;
        issued.record.expires_at = expires_at.map(rfc3339);
        issued.record.bindings = bindings;
        set.keys.push(issued.record.clone());
        self.write(&set).await?;
        Ok(issued)
    }

    /// Issues a new key for `caller` with the scopes and bindings of its newest key, and lets
    /// the caller's older keys live for `grace` more (two live keys while the caller switches
    /// over).
    pub async fn rotate(
        &self,
        caller: &str,
        grace: chrono::Duration,
    ) -> Result<IssuedKey, AdminError> {
        let mut set = self.read().await?;
        let (scopes, bindings) = set
            .keys
            .iter()
            .rev()
            .find(|record| record.caller == caller)
            .map(|record| (record.scopes.clone(), record.bindings.clone()))
            .ok_or_else(|| AdminError::UnknownCaller(caller.to_owned()))?;
        let deadline = chrono::Utc::now() + grace;
        for record in set.keys.iter_mut().filter(|record| record.caller == caller) {
            let sooner = record
                .expires_at
                .as_deref()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .is_some_and(|at| at <= deadline);
            if !sooner {
                record.expires_at = Some(rfc3339(deadline));
            }
        }
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let mut issued = issue(caller, &scopes, &now())?;
        issued.record.bindings = bindings;
        set.keys.push(issued.record.clone());
        self.write(&set).await?;
        Ok(issued)
    }

    /// Removes a key; it is refused once the guards' caches expire (their TTL).
    pub async fn revoke(&self, id: &str) -> Result<ApiKeyRecord, AdminError> {
        let mut set = self.read().await?;
        let index = set
            .keys
            .iter()
            .position(|record| record.id == id)
            .ok_or_else(|| AdminError::UnknownKey(id.to_owned()))?;
        let removed = set.keys.remove(index);
        self.write(&set).await?;
        Ok(removed)
    }

    async fn read(&self) -> Result<ApiKeySet, AdminError> {
        let text = crate::aws::secret_string(&self.client, &self.secret_id)
            .await
            .map_err(AdminError::Store)?;
        Ok(serde_json::from_str(&text)?)
    }

    async fn write(&self, set: &ApiKeySet) -> Result<(), AdminError> {
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(serde_json::to_string(set)?)
            .send()
            .await
            .map_err(|error| {
                AdminError::Store(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string(),
                )
            })?;
        Ok(())
    }
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn now() -> String {
    rfc3339(chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_names_its_record_and_matches_its_hash() {
        let issued = issue("bff", &["auth"], "2026-11-24T00:00:00Z").unwrap();
        assert_eq!(key_id(&issued.plaintext), Some(issued.record.id.as_str()));
        assert_eq!(hash(&issued.plaintext), issued.record.sha256);
        assert!(!format!("{issued:?}").contains(&issued.plaintext));
    }

    #[test]
    fn two_keys_differ() {
        let a = issue("bff", &[], "t").unwrap();
        let b = issue("bff", &[], "t").unwrap();
        assert_ne!(a.plaintext, b.plaintext);
        assert_ne!(a.record.id, b.record.id);
    }

    #[test]
    fn a_record_stored_before_bindings_existed_may_use_anything() {
        let stored = r#"{"id":"0123456789ab","caller":"old-bff","scopes":["auth"],
            "sha256":"00","createdAt":"2026-01-01T00:00:00Z"}"#;
        let record: ApiKeyRecord = serde_json::from_str(stored).unwrap();
        assert_eq!(record.bindings, Bindings::UNRESTRICTED);
        assert!(record.bindings.is_unrestricted());
        assert!(record.bindings.allows_client("any-client"));
        assert!(record.bindings.allows_source_system("any-system"));
        let written = serde_json::to_value(&record).unwrap();
        assert!(written.get("clients").is_none() && written.get("sourceSystems").is_none());
    }

    #[test]
    fn a_bound_record_allows_exactly_its_clients_and_source_systems() {
        let mut record = issue("partner-bff", &["auth"], "t").unwrap().record;
        record.bindings = Bindings {
            clients: Some(vec!["client-a".into()]),
            source_systems: Some(vec![]),
        };
        let stored = serde_json::to_value(&record).unwrap();
        assert_eq!(stored["clients"], serde_json::json!(["client-a"]));
        assert_eq!(stored["sourceSystems"], serde_json::json!([]));
        let read: ApiKeyRecord = serde_json::from_value(stored).unwrap();
        assert_eq!(read, record);
        assert!(!read.bindings.is_unrestricted());
        assert!(read.bindings.allows_client("client-a"));
        assert!(!read.bindings.allows_client("client-b"));
        assert!(!read.bindings.allows_client("CLIENT-A"));
        assert!(
            !read.bindings.allows_source_system("roster"),
            "an empty list allows nothing"
        );
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for key in [
            "",
            "rk_",
            "rk_abc_def",
            "xx_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000",
            "rk_0123456789ab_000000000000000000000000000000000000000000000000000000000000000g",
        ] {
            assert_eq!(key_id(key), None, "{key}");
        }
    }
}

//! Two-step sign-in with an authenticator app (TOTP, Cognito's software tokens).
//!
//! Enrolment: the signed-in user gets a new key ([`Mfa::start`]: Cognito's
//! AssociateSoftwareToken), proves it with a first code ([`Mfa::confirm`]: VerifySoftwareToken,
//! then SetUserMFAPreference enabled and preferred), and can turn it off again with its
//! password ([`Mfa::disable`]). From then on a sign-in answers with a challenge handle instead
//! of tokens, and the code completes it ([`crate::login::Login::complete`]).
//!
//! The challenge handle ([`ChallengeHandles`]) wraps Cognito's session: sealed (AES-256-GCM)
//! under a key derived from the Auth API's own key, with the user to answer for, the app
//! client, the API key that started the sign-in, and an expiry (3 minutes, Cognito's own
//! session lifetime). A caller can neither read it nor change it, another API key cannot use
//! it, and it is refused once expired whatever the pool says. The key, codes and handles are
//! never logged and never travel in events.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roster_events::auth::{MfaDisabled, MfaEnabled};
use roster_events::{Timestamp, UserId};
use roster_platform::jwt::VerifiedToken;
use serde::{Deserialize, Serialize};

use crate::cognito::{CognitoDirectory, CognitoError, TotpChallenge};
use crate::domain::{PresentedPassword, TotpCode};
use crate::events::AuthEvents;
use roster_platform::secret_key::{self, SecretKey, SecretKeyError};

/// How long a sign-in's challenge can be answered: Cognito's sessions last 3 minutes.
pub const DEFAULT_CHALLENGE_LIFETIME: Duration = Duration::from_secs(180);

/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "Roster";

/// The factor the events name.
const FACTOR: &str = "TOTP";

const HANDLE_PREFIX: &str = "ms1.";
const HANDLE_AAD: &[u8] = b"roster-mfa-challenge-v1";
const KEY_PURPOSE: &[u8] = b"roster-mfa-challenge-key-v1";

/// What a challenge handle holds, sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Cognito's session and the username to answer for.
    challenge: TotpChallenge,
    client_id: String,
    /// The API key that started the sign-in.
    key_id: String,
    /// Epoch seconds.
    expires_at: i64,
}

/// An opened, unexpired challenge handle.
#[derive(Debug)]
pub struct OpenChallenge {
    pub challenge: TotpChallenge,
    pub client_id: String,
    pub key_id: String,
}

/// Why a handle was refused: one answer for all, so nothing tells a forged handle from an
/// expired one.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("the challenge handle is not valid or has expired")]
    Refused,
    #[error(transparent)]
    Key(#[from] SecretKeyError),
}

/// Seals and opens challenge handles.
pub struct ChallengeHandles {
    key: Arc<SecretKey>,
    lifetime: Duration,
}

impl ChallengeHandles {
    pub fn new(key: Arc<SecretKey>, lifetime: Duration) -> Self {
        Self { key, lifetime }
    }

    /// Seconds a new handle lasts.
    pub fn lifetime_seconds(&self) -> u64 {
        self.lifetime.as_secs()
    }

    async fn aead_key(&self) -> Result<[u8; 32], SecretKeyError> {
        self.key.mac(&[KEY_PURPOSE]).await
    }

    /// A handle for `challenge`, usable by the API key `key_id` for `client_id` until the
    /// lifetime ends.
    pub async fn seal(
        &self,
        challenge: TotpChallenge,
        client_id: &str,
        key_id: &str,
    ) -> Result<String, HandleError> {
        let sealed = Sealed {
            challenge,
            client_id: client_id.to_owned(),
            key_id: key_id.to_owned(),
            expires_at: now() + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        };
        Ok(seal_with(&self.aead_key().await?, &sealed)?)
    }

    /// The challenge in `text`, if it is a handle this API sealed and it has not expired.
    pub async fn open(&self, text: &str) -> Result<OpenChallenge, HandleError> {
        let sealed = open_with(&self.aead_key().await?, text).ok_or(HandleError::Refused)?;
        if sealed.expires_at <= now() {
            return Err(HandleError::Refused);
        }
        Ok(OpenChallenge {
            challenge: sealed.challenge,
            client_id: sealed.client_id,
            key_id: sealed.key_id,
        })
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `sealed` as a handle: the prefix, then nonce, ciphertext and tag in URL-safe base64.
fn seal_with(key: &[u8; 32], sealed: &Sealed) -> Result<String, SecretKeyError> {
    let plain = serde_json::to_vec(sealed).expect("a handle serialises");
    let bytes = secret_key::seal(key, HANDLE_AAD, &plain)?;
    Ok(format!("{HANDLE_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn open_with(key: &[u8; 32], text: &str) -> Option<Sealed> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.strip_prefix(HANDLE_PREFIX)?)
        .ok()?;
    let plain = secret_key::open(key, HANDLE_AAD, &bytes)?;
    serde_json::from_slice(&plain).ok()
}

/// A started enrolment: the key to put into an authenticator app, as text and as the
/// `otpauth://` URI a QR code carries.
#[derive(Clone)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// `otpauth://totp/Roster:<email>?secret=<key>&issuer=Roster` (Google Authenticator's key
/// URI format), the label percent-encoded.
pub fn otpauth_uri(email: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={secret}&issuer={ISSUER}",
        percent_encode(email)
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// The current password given to turn MFA off is wrong.
    #[error("wrong current password")]
    WrongPassword,
    #[error(transparent)]
    Directory(#[from] CognitoError),
}

/// Enrolment and removal of the authenticator app.
pub struct Mfa {
    directory: CognitoDirectory,
    events: AuthEvents,
}

impl Mfa {
    pub fn new(directory: CognitoDirectory, events: AuthEvents) -> Self {
        Self { directory, events }
    }

    fn username(user: &VerifiedToken) -> &str {
        user.username.as_deref().unwrap_or(&user.sub)
    }

    /// A new key for the (verified) access token's user; any key pending before is replaced.
    /// Two-step sign-in is not on until [`Self::confirm`].
    pub async fn start(
        &self,
        user: &VerifiedToken,
        access_token: &str,
    ) -> Result<Enrolment, MfaError> {
        let email = self
            .directory
            .email_of(Self::username(user))
            .await?
            .ok_or(CognitoError::NotAuthorized)?;
        let key = self.directory.associate_totp(access_token).await?;
        tracing::info!(sub = %user.sub, "TOTP enrolment started");
        Ok(Enrolment {
            otpauth_uri: otpauth_uri(&email, &key.0),
            secret: key.0,
        })
    }

    /// Proves the pending key with a first code and turns two-step sign-in on; `MfaEnabled`.
    pub async fn confirm(
        &self,
        user: &VerifiedToken,
        access_token: &str,
        code: &TotpCode,
    ) -> Result<(), MfaError> {
        self.directory
            .verify_totp(access_token, code.expose())
            .await?;
        self.directory
            .set_totp_preference(access_token, true)
            .await?;
        tracing::info!(sub = %user.sub, "TOTP sign-in enabled");
        // A verified token's `sub` is a user id.
        match UserId::parse(&user.sub) {
            Ok(user_id) => {
                let at = Timestamp::now();
                let event = MfaEnabled {
                    user_id,
                    factor: FACTOR.to_owned(),
                    enabled_at: at.clone(),
                };
                self.events
                    .emit(&[user.sub.as_str(), at.as_str()], at.clone(), event)
                    .await;
            }
            Err(_) => tracing::warn!("the token's sub is not a user id; MfaEnabled not sent"),
        }
        Ok(())
    }

    /// Turns two-step sign-in off once the current password is proven; `MfaDisabled`.
    pub async fn disable(
        &self,
        user: &VerifiedToken,
        access_token: &str,
        password: &PresentedPassword,
    ) -> Result<(), MfaError> {
        match self
            .directory
            .check_password(&user.client_id, Self::username(user), password)
            .await
        {
            Ok(()) => {}
            Err(CognitoError::NotAuthorized) => return Err(MfaError::WrongPassword),
            Err(error) => return Err(error.into()),
        }
        if !self.directory.totp_enabled(access_token).await? {
            // Nothing to turn off: no change, no event.
            return Ok(());
        }
        self.directory
            .set_totp_preference(access_token, false)
            .await?;
        tracing::info!(sub = %user.sub, "TOTP sign-in disabled");
        // A verified token's `sub` is a user id.
        match UserId::parse(&user.sub) {
            Ok(user_id) => {
                let at = Timestamp::now();
                let event = MfaDisabled {
                    user_id,
                    factor: FACTOR.to_owned(),
                    disabled_at: at.clone(),
                };
                self.events
                    .emit(&[user.sub.as_str(), at.as_str()], at.clone(), event)
                    .await;
            }
            Err(_) => tracing::warn!("the token's sub is not a user id; MfaDisabled not sent"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(expires_at: i64) -> Sealed {
        Sealed {
            challenge: TotpChallenge {
                session: "cognito-session".into(),
                username: "5f0c-user".into(),
            },
            client_id: "client-a".into(),
            key_id: "0123456789ab".into(),
            expires_at,
        }
    }

    #[test]
    fn a_handle_opens_with_its_key_only_and_hides_what_it_holds() {
        let key = [3u8; 32];
        let handle = seal_with(&key, &sealed(42)).unwrap();
        assert!(handle.starts_with(HANDLE_PREFIX));
        for hidden in ["cognito-session", "5f0c-user", "client-a", "0123456789ab"] {
            assert!(!handle.contains(hidden));
            let decoded = URL_SAFE_NO_PAD
                .decode(handle.strip_prefix(HANDLE_PREFIX).unwrap())
                .unwrap();
            assert!(!String::from_utf8_lossy(&decoded).contains(hidden));
        }
        let opened = open_with(&key, &handle).unwrap();
        assert_eq!(opened.challenge.session, "cognito-session");
        assert_eq!(opened.client_id, "client-a");
        assert_eq!(opened.expires_at, 42);
        assert!(open_with(&[4u8; 32], &handle).is_none(), "another key");
    }

    #[test]
    fn a_changed_or_truncated_handle_is_refused() {
        let key = [3u8; 32];
        let handle = seal_with(&key, &sealed(42)).unwrap();
        let body = handle.strip_prefix(HANDLE_PREFIX).unwrap();
        for position in [0, body.len() / 2, body.len() - 2] {
            let mut changed: Vec<char> = body.chars().collect();
            changed[position] = if changed[position] == 'A' { 'B' } else { 'A' };
            let changed: String = changed.into_iter().collect();
            assert!(open_with(&key, &format!("{HANDLE_PREFIX}{changed}")).is_none());
        }
        assert!(open_with(&key, &handle[..handle.len() - 4]).is_none());
        assert!(open_with(&key, body).is_none(), "without its prefix");
        assert!(open_with(&key, "ms1.").is_none());
        assert!(open_with(&key, "ms1.!!!").is_none());
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_and_encodes_the_label() {
        assert_eq!(
            otpauth_uri("ada+mfa@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Roster:ada%2Bmfa%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Roster"
        );
    }
}

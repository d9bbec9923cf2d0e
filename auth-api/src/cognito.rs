//! The Cognito adapter ([`CognitoDirectory`]): every call the Auth API makes to the user pool,
//! with AWS errors mapped
//! to the few outcomes the routes distinguish (by typed error, never by message text).

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType,
    SoftwareTokenMfaSettingsType, VerifySoftwareTokenResponseType,
};
use roster_events::UserId;
use serde::Serialize;

use crate::domain::{Email, NewPassword, PresentedPassword};

/// Tokens handed to a signed-in caller.
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access and id tokens expire.
    pub expires_in: i32,
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

impl Tokens {
    /// The user the tokens were issued to, read from the access token's payload. The token
    /// comes straight from Cognito in this process, so it is not verified again here.
    pub fn subject(&self) -> Option<UserId> {
        use base64::Engine as _;

        let payload = self.access_token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims["sub"]
            .as_str()
            .and_then(|sub| UserId::parse(sub).ok())
    }
}

/// What a sign-in with a password gives.
#[derive(Debug)]
pub enum SignIn {
    Tokens(Tokens),
    /// The user has two-step sign-in on: answer with a code of its authenticator app.
    TotpRequired(TotpChallenge),
}

/// A sign-in waiting for a TOTP code: Cognito's session (valid 3 minutes) and the username to
/// answer for. Never logged.
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TotpChallenge {
    pub session: String,
    pub username: String,
}

impl std::fmt::Debug for TotpChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpChallenge(<redacted>)")
    }
}

/// A user's pending TOTP key (base32), as Cognito generated it. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpKey(pub String);

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(<redacted>)")
    }
}

/// What the user pool holds about a user: its username, state and attributes. Passwords are
/// never readable from the pool (it keeps a verifier, not the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolRecord {
    pub username: String,
    /// Whether the user may sign in.
    pub enabled: bool,
    /// Cognito's account status, such as CONFIRMED or FORCE_CHANGE_PASSWORD.
    pub user_status: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub last_modified_at: Option<String>,
    /// Every attribute the pool holds: `sub`, `email`, `email_verified`,
    /// `custom:registrationId` (the registration that created the user), and any other.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The second factors enabled, such as SOFTWARE_TOKEN_MFA.
    pub mfa_methods: Vec<String>,
    pub preferred_mfa: Option<String>,
}

/// What can go wrong talking to the pool, as the routes see it.
#[derive(Debug, thiserror::Error)]
pub enum CognitoError {
    /// Unknown user, wrong password, revoked or unknown refresh token: one outcome, so that
    /// nothing reveals whether an account exists.
    #[error("not authorized")]
    NotAuthorized,
    /// Cognito throttled the call or locked the user out for a while.
    #[error("too many requests")]
    Throttled,
    /// The account must reset its password before signing in.
    #[error("password reset required")]
    PasswordResetRequired,
    /// A wrong or expired confirmation code.
    #[error("invalid code")]
    InvalidCode,
    /// The pool refused the new password.
    #[error("password refused by the pool")]
    InvalidPassword,
    /// The pool refused an input our own checks let through (an email it does not take).
    #[error("input refused by the pool")]
    InvalidParameter,
    /// Anything else: a fault on our side or AWS's.
    #[error("identity provider failure: {0}")]
    Unavailable(String),
}

fn classify<E>(error: aws_sdk_cognitoidentityprovider::error::SdkError<E>) -> CognitoError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error
        .as_service_error()
        .and_then(|service| service.code())
        .map(ToOwned::to_owned);
    match code.as_deref() {
        Some("NotAuthorizedException" | "UserNotFoundException" | "UserNotConfirmedException") => {
            CognitoError::NotAuthorized
        }
        Some(
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException",
        ) => CognitoError::Throttled,
        Some("PasswordResetRequiredException") => CognitoError::PasswordResetRequired,
        // A wrong TOTP code while enrolling is EnableSoftwareTokenMFAException on Cognito.
        Some(
            "CodeMismatchException" | "ExpiredCodeException" | "EnableSoftwareTokenMFAException",
        ) => CognitoError::InvalidCode,
        Some("InvalidPasswordException") => CognitoError::InvalidPassword,
        Some("InvalidParameterException") => CognitoError::InvalidParameter,
        _ => CognitoError::Unavailable(DisplayErrorContext(error).to_string()),
    }
}

/// Whether the user an admin call addressed (by its immutable username) is in the pool. A
/// user that is not is no success by itself: the caller decides, from what the auth table
/// records, whether that is a deletion that already happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Presence {
    Found,
    NotFound,
}

/// An admin call's outcome: done, or no such user (the typed `UserNotFoundException`, never
/// a message), or a failure.
fn addressed<T, E>(
    result: Result<T, aws_sdk_cognitoidentityprovider::error::SdkError<E>>,
) -> Result<Presence, CognitoError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Presence::Found),
        Err(error)
            if error
                .as_service_error()
                .and_then(ProvideErrorMetadata::code)
                == Some("UserNotFoundException") =>
        {
            Ok(Presence::NotFound)
        }
        Err(error) => Err(classify(error)),
    }
}

/// The custom attribute that marks a Cognito user with the registration that created it.
/// Declared immutable in the pool's schema (only AdminCreateUser can set it), readable and
/// writable by no app client.
pub const REGISTRATION_ATTRIBUTE: &str = "custom:registrationId";

/// A user of the pool: its immutable username (what admin calls address) and its `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    pub username: String,
    pub sub: String,
}

/// What [`CognitoDirectory::create_user`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    /// A new user, marked with the registration.
    Created(PoolUser),
    /// A user this same registration created before (a retry after a lost answer).
    Adopted(PoolUser),
    /// The email belongs to a user this registration did not create: an operator's, an
    /// imported one, another registration's. It was not touched.
    NotOurs,
}

/// What [`CognitoDirectory::delete_user_of_registration`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// No user has the email (never created, or already deleted).
    NoUser,
    /// A user has the email, but the registration did not create it: left alone.
    NotOurs,
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, CognitoError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|error| CognitoError::Unavailable(error.to_string()))
}

fn value_of(attributes: &[AttributeType], name: &str) -> Option<String> {
    attributes
        .iter()
        .find(|attribute| attribute.name() == name)
        .and_then(|attribute| attribute.value())
        .map(ToOwned::to_owned)
}

/// The user pool, through the AWS SDK.
#[derive(Debug, Clone)]
pub struct CognitoDirectory {
    client: Client,
    pool_id: String,
}

impl CognitoDirectory {
    pub fn new(client: Client, pool_id: impl Into<String>) -> Self {
        Self {
            client,
            pool_id: pool_id.into(),
        }
    }

    /// Signs in with email and password for the app client `client_id`: tokens, or, for a user
    /// with two-step sign-in on, the challenge to answer with a code
    /// ([`Self::answer_totp_challenge`]).
    pub async fn sign_in(
        &self,
        client_id: &str,
        username: &str,
        password: &PresentedPassword,
    ) -> Result<SignIn, CognitoError> {
        let output = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password.expose())
            .send()
            .await
            .map_err(classify)?;
        if output.challenge_name() == Some(&ChallengeNameType::SoftwareTokenMfa) {
            let session = output
                .session()
                .filter(|session| !session.is_empty())
                .ok_or_else(|| CognitoError::Unavailable("a challenge without a session".into()))?;
            // Cognito names the user it challenges (its immutable username) for the answer.
            let username = output
                .challenge_parameters()
                .and_then(|parameters| parameters.get("USER_ID_FOR_SRP"))
                .map_or(username, String::as_str);
            return Ok(SignIn::TotpRequired(TotpChallenge {
                session: session.to_owned(),
                username: username.to_owned(),
            }));
        }
        tokens(output.authentication_result(), None).map(SignIn::Tokens)
    }

    /// Whether `password` is the user's: a sign-in that yields tokens or asks for a second
    /// factor proves it; [`CognitoError::NotAuthorized`] when it is wrong. The challenge is
    /// left unanswered (it expires), so no session is opened for a user with two-step sign-in.
    pub async fn check_password(
        &self,
        client_id: &str,
        username: &str,
        password: &PresentedPassword,
    ) -> Result<(), CognitoError> {
        self.sign_in(client_id, username, password).await.map(drop)
    }

    /// Answers a sign-in's TOTP challenge with the app's `code`: the tokens, or
    /// [`CognitoError::InvalidCode`] for a wrong code (the challenge stands: another code may
    /// follow while it lasts), or [`CognitoError::NotAuthorized`] for a session that expired,
    /// was used already or is not the user's.
    pub async fn answer_totp_challenge(
        &self,
        client_id: &str,
        challenge: &TotpChallenge,
        code: &str,
    ) -> Result<Tokens, CognitoError> {
        let output = self
            .client
            .admin_respond_to_auth_challenge()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(&challenge.session)
            .challenge_responses("USERNAME", &challenge.username)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
            .send()
            .await
            .map_err(classify)?;
        tokens(output.authentication_result(), None)
    }

    /// Starts enrolling an authenticator app for the access token's user: a new TOTP key
    /// (base32), pending until [`Self::verify_totp`] proves a first code.
    pub async fn associate_totp(&self, access_token: &str) -> Result<TotpKey, CognitoError> {
        let output = self
            .client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(classify)?;
        output
            .secret_code()
            .filter(|key| !key.is_empty())
            .map(|key| TotpKey(key.to_owned()))
            .ok_or_else(|| CognitoError::Unavailable("no TOTP key associated".into()))
    }

    /// Proves the pending TOTP key with a first `code`: [`CognitoError::InvalidCode`] when it
    /// is wrong (or no enrolment was started).
    pub async fn verify_totp(&self, access_token: &str, code: &str) -> Result<(), CognitoError> {
        let output = self
            .client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .friendly_device_name("Roster")
            .send()
            .await
            .map_err(|error| match classify(error) {
                // No key associated (enrolment not started): as a wrong code.
                CognitoError::InvalidParameter => CognitoError::InvalidCode,
                other => other,
            })?;
        match output.status() {
            Some(VerifySoftwareTokenResponseType::Success) => Ok(()),
            _ => Err(CognitoError::InvalidCode),
        }
    }

    /// Whether the access token's user has TOTP sign-in on (GetUser, authorised by the token).
    pub async fn totp_enabled(&self, access_token: &str) -> Result<bool, CognitoError> {
        let user = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(classify)?;
        Ok(user
            .user_mfa_setting_list()
            .iter()
            .any(|factor| factor == "SOFTWARE_TOKEN_MFA"))
    }

    /// Turns TOTP sign-in on (enabled and preferred) or off for the access token's user.
    pub async fn set_totp_preference(
        &self,
        access_token: &str,
        enabled: bool,
    ) -> Result<(), CognitoError> {
        self.client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(
                SoftwareTokenMfaSettingsType::builder()
                    .enabled(enabled)
                    .preferred_mfa(enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// New access and id tokens for a refresh token.
    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<Tokens, CognitoError> {
        let output = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(classify)?;
        tokens(output.authentication_result(), Some(refresh_token))
    }

    /// Signs the user out everywhere: every refresh token it holds stops working. An unknown
    /// user is [`CognitoError::NotAuthorized`], as for any call a route makes.
    pub async fn sign_out_everywhere(&self, username: &str) -> Result<(), CognitoError> {
        match self.sign_out_user(username).await? {
            Presence::Found => Ok(()),
            Presence::NotFound => Err(CognitoError::NotAuthorized),
        }
    }

    /// [`Self::sign_out_everywhere`] for the subscriber, which tells a missing user apart.
    pub async fn sign_out_user(&self, username: &str) -> Result<Presence, CognitoError> {
        addressed(
            self.client
                .admin_user_global_sign_out()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await,
        )
    }

    /// Marks the user's email as verified (the user proved it with the activation code).
    pub async fn verify_email(&self, username: &str) -> Result<Presence, CognitoError> {
        addressed(
            self.client
                .admin_update_user_attributes()
                .user_pool_id(&self.pool_id)
                .username(username)
                .user_attributes(attribute("email_verified", "true")?)
                .send()
                .await,
        )
    }

    /// Enables or disables sign-in for the user. A disabled user's sign-ins and refreshes
    /// fail; its existing refresh tokens should be revoked too ([`Self::sign_out_user`]).
    pub async fn set_enabled(
        &self,
        username: &str,
        enabled: bool,
    ) -> Result<Presence, CognitoError> {
        if enabled {
            addressed(
                self.client
                    .admin_enable_user()
                    .user_pool_id(&self.pool_id)
                    .username(username)
                    .send()
                    .await,
            )
        } else {
            addressed(
                self.client
                    .admin_disable_user()
                    .user_pool_id(&self.pool_id)
                    .username(username)
                    .send()
                    .await,
            )
        }
    }

    /// Whether the pool has the user `username` (the reconciler's check: one AdminGetUser).
    pub async fn presence(&self, username: &str) -> Result<Presence, CognitoError> {
        addressed(
            self.client
                .admin_get_user()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await,
        )
    }

    /// What the pool holds about the user `username` (one AdminGetUser), for its data export;
    /// `None` when the pool has no such user.
    pub async fn record(&self, username: &str) -> Result<Option<PoolRecord>, CognitoError> {
        let output = match self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_user_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(classify(error)),
        };
        let time = |at: Option<&aws_sdk_cognitoidentityprovider::primitives::DateTime>| {
            at.and_then(|at| {
                chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            })
        };
        Ok(Some(PoolRecord {
            username: output.username().to_owned(),
            enabled: output.enabled(),
            user_status: output
                .user_status()
                .map(|status| status.as_str().to_owned()),
            created_at: time(output.user_create_date()),
            last_modified_at: time(output.user_last_modified_date()),
            attributes: output
                .user_attributes()
                .iter()
                .map(|attribute| {
                    (
                        attribute.name().to_owned(),
                        attribute.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            mfa_methods: output.user_mfa_setting_list().to_vec(),
            preferred_mfa: output.preferred_mfa_setting().map(ToOwned::to_owned),
        }))
    }

    /// The email of the user `username`, if there is such a user.
    pub async fn email_of(&self, username: &str) -> Result<Option<String>, CognitoError> {
        let found = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await;
        match found {
            Ok(user) => Ok(value_of(user.user_attributes(), "email")),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_user_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(error)),
        }
    }

    /// The `sub` of the user that `name` (a username or an email) names, if any.
    pub async fn sub_of(&self, name: &str) -> Result<Option<String>, CognitoError> {
        Ok(self.find(name).await?.map(|(user, _)| user.sub))
    }

    /// The `sub` of the user with this email, if there is one.
    pub async fn user_id(&self, email: &Email) -> Result<Option<String>, CognitoError> {
        let found = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await;
        match found {
            Ok(user) => Ok(user
                .user_attributes()
                .iter()
                .find(|attribute| attribute.name() == "sub")
                .and_then(|attribute| attribute.value())
                .map(ToOwned::to_owned)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_user_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(error)),
        }
    }

    /// Starts a password reset: Cognito sends the code to the verified email.
    pub async fn forgot_password(
        &self,
        client_id: &str,
        email: &Email,
    ) -> Result<(), CognitoError> {
        self.client
            .forgot_password()
            .client_id(client_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Finishes a password reset with the emailed code.
    pub async fn confirm_forgot_password(
        &self,
        client_id: &str,
        email: &Email,
        code: &str,
        password: &NewPassword,
    ) -> Result<(), CognitoError> {
        self.client
            .confirm_forgot_password()
            .client_id(client_id)
            .username(email.as_str())
            .confirmation_code(code)
            .password(password.expose())
            .send()
            .await
            .map_err(|error| match classify(error) {
                // Reveal nothing about accounts: an unknown user is just a wrong code.
                CognitoError::NotAuthorized => CognitoError::InvalidCode,
                other => other,
            })?;
        Ok(())
    }

    /// Creates the user (no welcome message: the Auth API's caller sends its own email),
    /// marked with the registration that creates it ([`REGISTRATION_ATTRIBUTE`], immutable, so
    /// only a creation can set it). When the pool already has a user with this email, it is
    /// this registration's only if it carries the same mark: the leftover of an earlier attempt
    /// of the same registration (a retry, a lost answer), which is adopted. Any other user (an
    /// operator, an import, another registration) is [`Creation::NotOurs`] and left untouched.
    pub async fn create_user(
        &self,
        email: &Email,
        name: &str,
        handle: &str,
        registration_id: &str,
    ) -> Result<Creation, CognitoError> {
        use aws_sdk_cognitoidentityprovider::types::MessageActionType;

        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .user_attributes(attribute("email", email.as_str())?)
            .user_attributes(attribute("email_verified", "false")?)
            .user_attributes(attribute("name", name)?)
            .user_attributes(attribute("preferred_username", handle)?)
            .user_attributes(attribute(REGISTRATION_ATTRIBUTE, registration_id)?)
            .message_action(MessageActionType::Suppress)
            .send()
            .await;
        match created {
            Ok(output) => {
                let user = output
                    .user
                    .ok_or_else(|| CognitoError::Unavailable("no user created".into()))?;
                let sub = value_of(user.attributes(), "sub")
                    .ok_or_else(|| CognitoError::Unavailable("the new user has no sub".into()))?;
                let username = user.username.ok_or_else(|| {
                    CognitoError::Unavailable("the new user has no username".into())
                })?;
                Ok(Creation::Created(PoolUser { username, sub }))
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_username_exists_exception()) =>
            {
                match self.find(email.as_str()).await? {
                    Some((user, mark)) if mark.as_deref() == Some(registration_id) => {
                        Ok(Creation::Adopted(user))
                    }
                    Some(_) => Ok(Creation::NotOurs),
                    None => Err(CognitoError::Unavailable(
                        "the user that exists with this email is gone".into(),
                    )),
                }
            }
            Err(error) => Err(classify(error)),
        }
    }

    /// The user with this email (or username) and its registration mark, if there is one.
    async fn find(
        &self,
        username: &str,
    ) -> Result<Option<(PoolUser, Option<String>)>, CognitoError> {
        let found = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await;
        match found {
            Ok(user) => {
                let sub = value_of(user.user_attributes(), "sub")
                    .ok_or_else(|| CognitoError::Unavailable("the user has no sub".into()))?;
                let mark = value_of(user.user_attributes(), REGISTRATION_ATTRIBUTE);
                let user = PoolUser {
                    username: user.username,
                    sub,
                };
                Ok(Some((user, mark)))
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_user_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify(error)),
        }
    }

    /// Deletes the user with this email only if `registration_id` created it (its mark says
    /// so): a rollback undoes its own creation and nothing else. The user is deleted by its
    /// immutable username, so a user that took the email since the check is never the one
    /// deleted. Safe to repeat.
    pub async fn delete_user_of_registration(
        &self,
        email: &str,
        registration_id: &str,
    ) -> Result<Deletion, CognitoError> {
        let user = match self.find(email).await? {
            None => return Ok(Deletion::NoUser),
            Some((user, mark)) if mark.as_deref() == Some(registration_id) => user,
            Some(_) => return Ok(Deletion::NotOurs),
        };
        Ok(match self.delete_user(&user.username).await? {
            Presence::Found => Deletion::Deleted,
            // Deleted since the check (a concurrent rollback of the same registration).
            Presence::NotFound => Deletion::NoUser,
        })
    }

    pub async fn add_to_group(&self, username: &str, group: &str) -> Result<(), CognitoError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Deletes the user `username` (its immutable username, never an email, which can
    /// change). [`Presence::NotFound`] when the pool has no such user: whether that is a
    /// deletion that already happened is for the caller to know.
    pub async fn delete_user(&self, username: &str) -> Result<Presence, CognitoError> {
        addressed(
            self.client
                .admin_delete_user()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await,
        )
    }

    /// [`Self::delete_user`] in one request, without the SDK's retries. A retry of a delete
    /// whose answer was lost finds no user, which the caller could not tell from a user that
    /// was never there; without it, a lost answer is an error, and [`Presence::NotFound`]
    /// means the pool had no such user when the request arrived.
    pub async fn delete_user_once(&self, username: &str) -> Result<Presence, CognitoError> {
        use aws_sdk_cognitoidentityprovider::config::{Builder, retry::RetryConfig};

        addressed(
            self.client
                .admin_delete_user()
                .user_pool_id(&self.pool_id)
                .username(username)
                .customize()
                .config_override(Builder::default().retry_config(RetryConfig::disabled()))
                .send()
                .await,
        )
    }

    /// Sets a new permanent password.
    pub async fn set_password(
        &self,
        username: &str,
        password: &NewPassword,
    ) -> Result<(), CognitoError> {
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password.expose())
            .permanent(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

fn tokens(
    result: Option<&AuthenticationResultType>,
    refresh_token: Option<&str>,
) -> Result<Tokens, CognitoError> {
    let result = result.ok_or_else(|| {
        CognitoError::Unavailable("sign-in asked for a challenge the pool should not set".into())
    })?;
    let (Some(access), Some(id)) = (result.access_token(), result.id_token()) else {
        return Err(CognitoError::Unavailable(
            "sign-in returned no tokens".into(),
        ));
    };
    Ok(Tokens {
        access_token: access.to_owned(),
        id_token: id.to_owned(),
        // A refresh does not hand out a new refresh token: the caller keeps the one it has.
        refresh_token: result
            .refresh_token()
            .map(ToOwned::to_owned)
            .filter(|_| refresh_token.is_none()),
        expires_in: result.expires_in(),
        token_type: "Bearer",
    })
}

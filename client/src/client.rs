//! The two API clients, one method per operation.

use std::ops::Deref;

use reqwest::header::{ETAG, IF_MATCH};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::types::*;

const API_KEY_HEADER: &str = "x-api-key";
const CORRELATION_HEADER: &str = "x-correlation-id";
const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const PROBLEM_JSON: &str = "application/problem+json";
const MERGE_PATCH_JSON: &str = "application/merge-patch+json";
const MFA_REQUIRED: &str = "/problems/mfa-required";

/// What a `/problems/mfa-required` answer adds to a problem.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MfaChallenge {
    session: String,
    expires_in: u64,
}

/// What can go wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused the call and said why.
    #[error("{status}: {}{}", problem.title, problem.detail.as_deref().map(|detail| format!(" ({detail})")).unwrap_or_default())]
    Api {
        status: StatusCode,
        problem: Box<Problem>,
    },
    /// No answer (connection, timeout), or an unreadable one.
    #[error("the call failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// An answer this client does not understand: a status or body the documents do not
    /// describe.
    #[error("unexpected answer {status}: {detail}")]
    Unexpected { status: StatusCode, detail: String },
    /// The base URL given to the client is not an absolute http(s) URL.
    #[error("not a base URL: {0}")]
    BaseUrl(String),
    /// The password was right and the user has two-step sign-in on: call
    /// [`AuthApi::login_mfa`] with `session` and a code of the user's authenticator app within
    /// `expires_in` seconds. (The API's 401 `/problems/mfa-required`.)
    #[error("a second factor is required")]
    MfaRequired { session: String, expires_in: u64 },
}

impl Error {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Unexpected { status, .. } => Some(*status),
            Error::MfaRequired { .. } => Some(StatusCode::UNAUTHORIZED),
            _ => None,
        }
    }

    /// The refusal's problem type, such as `/problems/conflict`.
    pub fn problem_type(&self) -> Option<&str> {
        match self {
            Error::Api { problem, .. } => Some(&problem.kind),
            Error::MfaRequired { .. } => Some(MFA_REQUIRED),
            _ => None,
        }
    }
}

/// A user with the version the API reported (`ETag`), to pass back as `If-Match`.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub etag: Option<String>,
}

impl<T> Versioned<T> {
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Versioned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// One operation of an API, and the method of this crate that calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `auth` or `users`.
    pub api: &'static str,
    pub method: &'static str,
    /// As the OpenAPI document writes it.
    pub path: &'static str,
    pub client_method: &'static str,
}

const fn op(
    api: &'static str,
    method: &'static str,
    path: &'static str,
    client_method: &'static str,
) -> Operation {
    Operation {
        api,
        method,
        path,
        client_method,
    }
}

/// Every operation of both APIs, with the method that calls it.
pub const OPERATIONS: [Operation; 35] = [
    op("auth", "POST", "/auth/register", "AuthApi::register"),
    op(
        "auth",
        "POST",
        "/auth/activation/resend",
        "AuthApi::resend_activation",
    ),
    op("auth", "POST", "/auth/login", "AuthApi::login"),
    op("auth", "POST", "/auth/login/mfa", "AuthApi::login_mfa"),
    op("auth", "POST", "/auth/mfa/totp", "AuthApi::start_totp"),
    op(
        "auth",
        "POST",
        "/auth/mfa/totp/confirm",
        "AuthApi::confirm_totp",
    ),
    op("auth", "DELETE", "/auth/mfa/totp", "AuthApi::disable_totp"),
    op("auth", "POST", "/auth/token/refresh", "AuthApi::refresh"),
    op("auth", "POST", "/auth/logout", "AuthApi::logout"),
    op("auth", "POST", "/auth/token/verify", "AuthApi::verify"),
    op(
        "auth",
        "GET",
        "/auth/token/{token_type}/verify/{token}",
        "AuthApi::verify_in_path",
    ),
    op(
        "auth",
        "POST",
        "/auth/password/forgot",
        "AuthApi::forgot_password",
    ),
    op(
        "auth",
        "POST",
        "/auth/password/confirm",
        "AuthApi::confirm_password",
    ),
    op(
        "auth",
        "POST",
        "/auth/password/change",
        "AuthApi::change_password",
    ),
    op("auth", "GET", "/auth/me/export", "AuthApi::export_me"),
    op(
        "auth",
        "GET",
        "/auth/users/{id}/export",
        "AuthApi::export_user",
    ),
    op("auth", "DELETE", "/auth/me", "AuthApi::delete_me"),
    op("users", "GET", "/user/{id}", "UserApi::user"),
    op("users", "GET", "/user/{id}/export", "UserApi::export"),
    op("users", "GET", "/users", "UserApi::list_users"),
    op("users", "GET", "/user/name/{name}", "UserApi::user_by_name"),
    op(
        "users",
        "GET",
        "/user/email/{email}",
        "UserApi::user_by_email",
    ),
    op(
        "users",
        "GET",
        "/user/handle/{handle}",
        "UserApi::user_by_handle",
    ),
    op("users", "DELETE", "/user/{id}", "UserApi::delete"),
    op("users", "POST", "/user/activate", "UserApi::activate"),
    op(
        "users",
        "GET",
        "/user/activate/{activationCode}",
        "UserApi::activate_in_path",
    ),
    op(
        "users",
        "PATCH",
        "/user/{id}/status/{status}",
        "UserApi::set_status",
    ),
    op(
        "users",
        "PUT",
        "/user/{id}/data/update",
        "UserApi::replace_data",
    ),
    op(
        "users",
        "PATCH",
        "/user/{id}/data/update",
        "UserApi::merge_data",
    ),
    op(
        "users",
        "POST",
        "/user/{id}/badge/{name}",
        "UserApi::award_badge",
    ),
    op(
        "users",
        "DELETE",
        "/user/{id}/badge/{name}",
        "UserApi::revoke_badge",
    ),
    op("users", "POST", "/user/{id}/avatar", "UserApi::avatar"),
    op("users", "GET", "/public/user/me", "UserApi::me"),
    op(
        "users",
        "GET",
        "/public/user/me/export",
        "UserApi::export_me",
    ),
    op(
        "users",
        "PATCH",
        "/public/user/me/profile",
        "UserApi::update_my_profile",
    ),
];

/// What both clients share: the base URL, the API key, the HTTP client.
#[derive(Debug, Clone)]
struct Base {
    http: reqwest::Client,
    url: Url,
    api_key: String,
    correlation_id: Option<String>,
}

impl Base {
    fn new(http: reqwest::Client, base_url: &str, api_key: &str) -> Result<Self, Error> {
        let url = Url::parse(base_url).map_err(|_| Error::BaseUrl(base_url.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::BaseUrl(base_url.to_owned()));
        }
        Ok(Self {
            http,
            url,
            api_key: api_key.to_owned(),
            correlation_id: None,
        })
    }

    fn correlated(&self, correlation_id: &str) -> Self {
        Self {
            correlation_id: Some(correlation_id.to_owned()),
            ..self.clone()
        }
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let request = self.http.request(method, self.url(segments));
        match &self.correlation_id {
            Some(id) => request.header(CORRELATION_HEADER, id),
            None => request,
        }
    }

    /// The URL of `segments` under the base (a stage prefix such as `/prod` is kept), each
    /// segment percent-encoded: an email or a token is one segment whatever it holds.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .expect("checked to be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// A call with the API key.
    fn keyed(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.request(method, segments)
            .header(API_KEY_HEADER, &self.api_key)
    }

    /// A call with a user's access token instead.
    fn bearer(&self, method: Method, segments: &[&str], token: &str) -> RequestBuilder {
        self.request(method, segments).bearer_auth(token)
    }
}

fn if_match(request: RequestBuilder, etag: Option<&str>) -> RequestBuilder {
    match etag {
        Some(etag) => request.header(IF_MATCH, etag),
        None => request,
    }
}

/// Sends `request`; a success is returned as it is, a refusal as [`Error::Api`].
async fn send(request: RequestBuilder) -> Result<Response, Error> {
    let response = request.send().await?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let is_problem = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(PROBLEM_JSON));
    let body = response.bytes().await?;
    match serde_json::from_slice::<Problem>(&body) {
        Ok(problem) if is_problem && problem.kind == MFA_REQUIRED => {
            match serde_json::from_slice::<MfaChallenge>(&body) {
                Ok(challenge) => Err(Error::MfaRequired {
                    session: challenge.session,
                    expires_in: challenge.expires_in,
                }),
                Err(_) => Err(Error::Api {
                    status,
                    problem: Box::new(problem),
                }),
            }
        }
        Ok(problem) if is_problem => Err(Error::Api {
            status,
            problem: Box::new(problem),
        }),
        _ => Err(Error::Unexpected {
            status,
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
        }),
    }
}

async fn json<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, Error> {
    let response = send(request).await?;
    read(response).await
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Error> {
    let status = response.status();
    let body = response.bytes().await?;
    serde_json::from_slice(&body).map_err(|error| Error::Unexpected {
        status,
        detail: format!("{error}"),
    })
}

async fn versioned(request: RequestBuilder) -> Result<Versioned<User>, Error> {
    let response = send(request).await?;
    let etag = response
        .headers()
        .get(ETAG)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok(Versioned {
        value: read(response).await?,
        etag,
    })
}

async fn empty(request: RequestBuilder) -> Result<(), Error> {
    send(request).await.map(drop)
}

/// The constructors both API clients share.
macro_rules! constructors {
    ($api:ident, $what:literal) => {
        impl $api {
            #[doc = concat!("A client of the ", $what, " at `base_url`, calling with `api_key`.")]
            pub fn new(base_url: &str, api_key: &str) -> Result<Self, Error> {
                Self::with_http(reqwest::Client::new(), base_url, api_key)
            }

            /// The same, sharing an HTTP client (its pool, timeouts and TLS settings).
            pub fn with_http(
                http: reqwest::Client,
                base_url: &str,
                api_key: &str,
            ) -> Result<Self, Error> {
                Ok(Self {
                    base: Base::new(http, base_url, api_key)?,
                })
            }

            /// The same client, sending `X-Correlation-Id: correlation_id` with every call:
            /// the id is stored with each change and carried by every event it leads to.
            pub fn correlated(&self, correlation_id: &str) -> Self {
                Self {
                    base: self.base.correlated(correlation_id),
                }
            }
        }
    };
}

/// The Auth API: registration, sign-in, tokens and passwords. Its key needs the `auth` scope.
#[derive(Debug, Clone)]
pub struct AuthApi {
    base: Base,
}

constructors!(AuthApi, "Auth API");

impl AuthApi {
    /// `POST /auth/register`. With an idempotency key, a retry of the same body with the same
    /// API key returns the first answer instead of registering twice (each API key has
    /// idempotency keys of its own).
    pub async fn register(
        &self,
        request: &RegisterRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Registered, Error> {
        let mut call = self
            .base
            .keyed(Method::POST, &["auth", "register"])
            .json(request);
        if let Some(key) = idempotency_key {
            call = call.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        json(call).await
    }

    /// `POST /auth/activation/resend`: a new activation code for a user awaiting activation,
    /// mailed to it (the earlier codes stop working). The same [`Accepted`] whoever the target
    /// is; too soon or too often for one target is a 429 problem with `Retry-After`.
    pub async fn resend_activation(&self, request: &ResendRequest) -> Result<Accepted, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "activation", "resend"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/login`. A user with two-step sign-in on gets [`Error::MfaRequired`]
    /// instead of tokens: finish with [`AuthApi::login_mfa`].
    pub async fn login(&self, request: &LoginRequest) -> Result<Tokens, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "login"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/login/mfa`: the session of [`Error::MfaRequired`] and the app's current
    /// code for the tokens. A wrong code is 400 `/problems/invalid-code` and the session
    /// stands; an expired or foreign session is 401 `/problems/invalid-mfa-session`.
    pub async fn login_mfa(&self, request: &MfaLoginRequest) -> Result<Tokens, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "login", "mfa"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/mfa/totp`, as the signed-in user: a new authenticator key, pending until
    /// [`AuthApi::confirm_totp`].
    pub async fn start_totp(&self, access_token: &str) -> Result<TotpEnrolment, Error> {
        json(
            self.base
                .bearer(Method::POST, &["auth", "mfa", "totp"], access_token),
        )
        .await
    }

    /// `POST /auth/mfa/totp/confirm`: turns two-step sign-in on with the app's current code.
    pub async fn confirm_totp(
        &self,
        access_token: &str,
        request: &TotpConfirmRequest,
    ) -> Result<(), Error> {
        empty(
            self.base
                .bearer(
                    Method::POST,
                    &["auth", "mfa", "totp", "confirm"],
                    access_token,
                )
                .json(request),
        )
        .await
    }

    /// `DELETE /auth/mfa/totp`: turns two-step sign-in off; the current password is asked.
    pub async fn disable_totp(
        &self,
        access_token: &str,
        request: &TotpDisableRequest,
    ) -> Result<(), Error> {
        empty(
            self.base
                .bearer(Method::DELETE, &["auth", "mfa", "totp"], access_token)
                .json(request),
        )
        .await
    }

    /// `POST /auth/token/refresh`: new access and id tokens.
    pub async fn refresh(&self, request: &RefreshRequest) -> Result<Tokens, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "token", "refresh"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/logout`: signs the user out everywhere (their refresh tokens stop working).
    pub async fn logout(&self, access_token: &str) -> Result<(), Error> {
        empty(
            self.base
                .bearer(Method::POST, &["auth", "logout"], access_token),
        )
        .await
    }

    /// `POST /auth/token/verify`. A key bound to app clients may verify only their tokens
    /// (403 `/problems/client-not-allowed` for another client's).
    pub async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedToken, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "token", "verify"])
                .json(request),
        )
        .await
    }

    /// `GET /auth/token/{token_type}/verify/{token}`: kept for older callers; prefer
    /// [`AuthApi::verify`], which keeps the token out of URLs and their logs.
    pub async fn verify_in_path(
        &self,
        token_use: TokenUse,
        token: &str,
    ) -> Result<VerifiedToken, Error> {
        json(self.base.keyed(
            Method::GET,
            &["auth", "token", token_use.as_str(), "verify", token],
        ))
        .await
    }

    /// `POST /auth/password/forgot`: the same answer whether or not the account exists.
    pub async fn forgot_password(&self, request: &ForgotRequest) -> Result<Accepted, Error> {
        json(
            self.base
                .keyed(Method::POST, &["auth", "password", "forgot"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/password/confirm`.
    pub async fn confirm_password(&self, request: &ConfirmRequest) -> Result<(), Error> {
        empty(
            self.base
                .keyed(Method::POST, &["auth", "password", "confirm"])
                .json(request),
        )
        .await
    }

    /// `POST /auth/password/change`, as the signed-in user.
    pub async fn change_password(
        &self,
        access_token: &str,
        request: &ChangeRequest,
    ) -> Result<(), Error> {
        empty(
            self.base
                .bearer(Method::POST, &["auth", "password", "change"], access_token)
                .json(request),
        )
        .await
    }

    /// `GET /auth/me/export`: the Auth API's part of the signed-in user's data export.
    /// [`export_my_data`] joins it with the User API's part.
    pub async fn export_me(&self, access_token: &str) -> Result<IdentityExport, Error> {
        json(
            self.base
                .bearer(Method::GET, &["auth", "me", "export"], access_token),
        )
        .await
    }

    /// `GET /auth/users/{id}/export` (API key with `users:read`): the Auth API's part of a
    /// user's data export. [`export_user`] joins it with the User API's part.
    pub async fn export_user(&self, id: &str) -> Result<IdentityExport, Error> {
        json(
            self.base
                .keyed(Method::GET, &["auth", "users", id, "export"]),
        )
        .await
    }

    /// `DELETE /auth/me`: the signed-in user deletes its own account, proving its password
    /// again (403 `/problems/wrong-password` otherwise). Every session ends at once; the
    /// profile, uploads and sign-in go within seconds, by event.
    pub async fn delete_me(
        &self,
        access_token: &str,
        request: &DeleteAccountRequest,
    ) -> Result<DeletionRequested, Error> {
        json(
            self.base
                .bearer(Method::DELETE, &["auth", "me"], access_token)
                .json(request),
        )
        .await
    }
}

/// The signed-in user's whole data export: the User API's part (`GET /public/user/me/export`)
/// and the Auth API's (`GET /auth/me/export`), fetched together. The services never call each
/// other, so the caller joins them.
pub async fn export_my_data(
    auth: &AuthApi,
    users: &UserApi,
    access_token: &str,
) -> Result<DataExport, Error> {
    Ok(DataExport {
        profile: users.export_me(access_token).await?,
        identity: auth.export_me(access_token).await?,
    })
}

/// A user's whole data export, for a service answering a data-access request: both APIs'
/// parts (`GET /user/{id}/export`, `GET /auth/users/{id}/export`; API keys with
/// `users:read`).
pub async fn export_user(auth: &AuthApi, users: &UserApi, id: &str) -> Result<DataExport, Error> {
    Ok(DataExport {
        profile: users.export(id).await?,
        identity: auth.export_user(id).await?,
    })
}

/// The User API: profiles, status, data, badges and avatars. Its key needs `users:read`,
/// and `users:write` for changes; the `me` routes take a user's access token instead.
#[derive(Debug, Clone)]
pub struct UserApi {
    base: Base,
}

constructors!(UserApi, "User API");

/// Whether an award was new.
#[derive(Debug, Clone, PartialEq)]
pub struct Award {
    pub user: Versioned<User>,
    /// False when the user held the badge already (nothing changed).
    pub awarded_now: bool,
}

/// What choosing an avatar returned.
#[derive(Debug, Clone, PartialEq)]
pub enum AvatarChange {
    /// A default avatar is the profile's avatar now.
    Chosen(Box<Versioned<User>>),
    /// Upload the picture here; the profile points at it already.
    Upload(AvatarUpload),
}

impl UserApi {
    /// `GET /user/{id}`.
    pub async fn user(&self, id: &str) -> Result<Versioned<User>, Error> {
        versioned(self.base.keyed(Method::GET, &["user", id])).await
    }

    /// `GET /user/name/{name}` (any case).
    pub async fn user_by_name(&self, name: &str) -> Result<Versioned<User>, Error> {
        versioned(self.base.keyed(Method::GET, &["user", "name", name])).await
    }

    /// `GET /user/email/{email}` (any case).
    pub async fn user_by_email(&self, email: &str) -> Result<Versioned<User>, Error> {
        versioned(self.base.keyed(Method::GET, &["user", "email", email])).await
    }

    /// `GET /user/handle/{handle}`, with or without the `@`.
    pub async fn user_by_handle(&self, handle: &str) -> Result<Versioned<User>, Error> {
        versioned(self.base.keyed(Method::GET, &["user", "handle", handle])).await
    }

    /// `DELETE /user/{id}`: the profile and uploads; the identity follows by event.
    pub async fn delete(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        empty(if_match(
            self.base.keyed(Method::DELETE, &["user", id]),
            etag,
        ))
        .await
    }

    /// `POST /user/activate`: confirms the user the code was issued to. The code travels in the
    /// body, never in a URL (URLs are logged by gateways, tracing and WAF samples).
    pub async fn activate(&self, activation_code: &str) -> Result<Versioned<User>, Error> {
        versioned(self.base.keyed(Method::POST, &["user", "activate"]).json(
            &crate::types::ActivationRequest {
                activation_code: activation_code.to_owned(),
            },
        ))
        .await
    }

    /// `GET /user/activate/{activationCode}`: the seed's form of [`Self::activate`], with the
    /// code in the URL. Kept for callers of the seed; prefer [`Self::activate`].
    pub async fn activate_in_path(&self, activation_code: &str) -> Result<Versioned<User>, Error> {
        versioned(
            self.base
                .keyed(Method::GET, &["user", "activate", activation_code]),
        )
        .await
    }

    /// `PATCH /user/{id}/status/{status}`.
    pub async fn set_status(
        &self,
        id: &str,
        status: Status,
        etag: Option<&str>,
    ) -> Result<Versioned<User>, Error> {
        versioned(if_match(
            self.base
                .keyed(Method::PATCH, &["user", id, "status", status.as_str()]),
            etag,
        ))
        .await
    }

    /// `PUT /user/{id}/data/update`: replaces the user's data.
    pub async fn replace_data(
        &self,
        id: &str,
        data: &Map<String, Value>,
        etag: Option<&str>,
    ) -> Result<Versioned<User>, Error> {
        versioned(if_match(
            self.base
                .keyed(Method::PUT, &["user", id, "data", "update"])
                .json(data),
            etag,
        ))
        .await
    }

    /// `PATCH /user/{id}/data/update`: a JSON Merge Patch (RFC 7396) of the user's data;
    /// `null` removes a key.
    pub async fn merge_data(
        &self,
        id: &str,
        patch: &Map<String, Value>,
        etag: Option<&str>,
    ) -> Result<Versioned<User>, Error> {
        let body = serde_json::to_vec(patch).expect("a JSON object serializes");
        versioned(if_match(
            self.base
                .keyed(Method::PATCH, &["user", id, "data", "update"])
                .header(reqwest::header::CONTENT_TYPE, MERGE_PATCH_JSON)
                .body(body),
            etag,
        ))
        .await
    }

    /// `POST /user/{id}/badge/{name}`.
    pub async fn award_badge(&self, id: &str, badge: &str) -> Result<Award, Error> {
        let response = send(self.base.keyed(Method::POST, &["user", id, "badge", badge])).await?;
        let awarded_now = response.status() == StatusCode::CREATED;
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Award {
            user: Versioned {
                value: read(response).await?,
                etag,
            },
            awarded_now,
        })
    }

    /// `DELETE /user/{id}/badge/{name}`.
    pub async fn revoke_badge(&self, id: &str, badge: &str) -> Result<Versioned<User>, Error> {
        versioned(
            self.base
                .keyed(Method::DELETE, &["user", id, "badge", badge]),
        )
        .await
    }

    /// `POST /user/{id}/avatar`: a default avatar, or an upload of the user's own picture.
    pub async fn avatar(&self, id: &str, request: &AvatarRequest) -> Result<AvatarChange, Error> {
        let response = send(
            self.base
                .keyed(Method::POST, &["user", id, "avatar"])
                .json(request),
        )
        .await?;
        if response.status() == StatusCode::CREATED {
            return Ok(AvatarChange::Upload(read(response).await?));
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(AvatarChange::Chosen(Box::new(Versioned {
            value: read(response).await?,
            etag,
        })))
    }

    /// `GET /users` (`users:read`): one page of the listing `query`, from its start or from
    /// `cursor` (the previous page's [`UserList::next_cursor`], which works only with the same
    /// query). [`Self::pages`] follows the cursors for you.
    pub async fn list_users(
        &self,
        query: &ListUsers,
        cursor: Option<&str>,
    ) -> Result<UserList, Error> {
        let mut params = query.params();
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.to_owned()));
        }
        json(self.base.keyed(Method::GET, &["users"]).query(&params)).await
    }

    /// The pages of the listing `query`, one call per [`UserPages::next_page`].
    pub fn pages(&self, query: ListUsers) -> UserPages {
        UserPages {
            api: self.clone(),
            query,
            cursor: None,
            done: false,
        }
    }

    /// `GET /user/{id}/export` (`users:read`): the User API's part of a user's data export.
    pub async fn export(&self, id: &str) -> Result<UserExport, Error> {
        json(self.base.keyed(Method::GET, &["user", id, "export"])).await
    }

    /// `GET /public/user/me/export`: the User API's part of the signed-in user's data export,
    /// upload links valid for 15 minutes.
    pub async fn export_me(&self, access_token: &str) -> Result<UserExport, Error> {
        json(self.base.bearer(
            Method::GET,
            &["public", "user", "me", "export"],
            access_token,
        ))
        .await
    }

    /// `GET /public/user/me`: the profile of the user whose access token this is.
    pub async fn me(&self, access_token: &str) -> Result<Versioned<User>, Error> {
        versioned(
            self.base
                .bearer(Method::GET, &["public", "user", "me"], access_token),
        )
        .await
    }

    /// `PATCH /public/user/me/profile`: the user's own language, currency and avatar.
    pub async fn update_my_profile(
        &self,
        access_token: &str,
        update: &ProfileUpdate,
    ) -> Result<Versioned<User>, Error> {
        versioned(
            self.base
                .bearer(
                    Method::PATCH,
                    &["public", "user", "me", "profile"],
                    access_token,
                )
                .json(update),
        )
        .await
    }
}

/// The pages of a listing, fetched one at a time: each page is one `GET /users` with the
/// previous page's cursor.
///
/// ```no_run
/// # async fn demo(users: roster_client::UserApi) -> Result<(), roster_client::Error> {
/// use roster_client::{ListUsers, Status};
///
/// let mut pages = users.pages(ListUsers { status: Some(Status::Suspended), ..Default::default() });
/// while let Some(page) = pages.next_page().await? {
///     for user in page {
///         println!("{} {}", user.id, user.email);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UserPages {
    api: UserApi,
    query: ListUsers,
    cursor: Option<String>,
    done: bool,
}

impl UserPages {
    /// The next page's users (possibly fewer than the limit, even none, while more follow);
    /// `None` once the listing is complete.
    pub async fn next_page(&mut self) -> Result<Option<Vec<UserSummary>>, Error> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .api
            .list_users(&self.query, self.cursor.as_deref())
            .await?;
        self.cursor = page.next_cursor;
        self.done = self.cursor.is_none();
        Ok(Some(page.users))
    }

    /// The cursor the next page starts from (`None` before the first page and after the
    /// last), to resume the listing later with [`UserApi::list_users`].
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Every remaining user of the listing.
    pub async fn collect_all(mut self) -> Result<Vec<UserSummary>, Error> {
        let mut users = Vec::new();
        while let Some(page) = self.next_page().await? {
            users.extend(page);
        }
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_the_base_prefix_and_encode_each_segment() {
        let base = Base::new(reqwest::Client::new(), "https://api.example.com/prod/", "k").unwrap();
        assert_eq!(
            base.url(&["user", "email", "a+b@example.com"]).as_str(),
            "https://api.example.com/prod/user/email/a+b@example.com"
        );
        assert_eq!(
            base.url(&["user", "name", "../x y"]).as_str(),
            "https://api.example.com/prod/user/name/..%2Fx%20y"
        );
        let bare = Base::new(reqwest::Client::new(), "http://127.0.0.1:4002", "k").unwrap();
        assert_eq!(
            bare.url(&["health"]).as_str(),
            "http://127.0.0.1:4002/health"
        );
    }

    #[test]
    fn a_base_url_must_be_absolute_http() {
        for bad in ["", "/relative", "mailto:a@b.c", "ftp://x.example.com"] {
            assert!(matches!(
                Base::new(reqwest::Client::new(), bad, "k"),
                Err(Error::BaseUrl(_))
            ));
        }
    }

    #[test]
    fn every_operation_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for operation in OPERATIONS {
            assert!(
                seen.insert((operation.method, operation.path)),
                "{operation:?}"
            );
        }
    }
}

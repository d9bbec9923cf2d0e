//! Revocation takes effect everywhere, fast (issue 14, part 3): for each way a user's
//! sessions end — sign-out, password change, password reset, suspension, archive, deletion by
//! an operator and by the user — every route that takes a token refuses the tokens issued
//! before it, within its route's staleness bound (docs/auth-api.md, "Staleness bound"). The
//! time each took is kept in BENCHMARKS.md ("Time to refusal after each revocation trigger"):
//! `UPDATE_BENCHMARKS=1` rewrites the table; otherwise the test checks that it has every cell
//! and leaves the numbers alone (they vary from run to run). Each trigger is followed by the
//! happy path on the same stack: a new sign-in whose tokens every route accepts.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roster_client::{
    AuthApi, ChangeRequest, ConfirmRequest, DeleteAccountRequest, Error, ForgotRequest,
    LoginRequest, ProfileUpdate, RefreshRequest, RegisterRequest, Status, TokenUse, Tokens,
    TotpConfirmRequest, TotpDisableRequest, UserApi, VerifyRequest,
};
use roster_testkit::{harness, totp};

use crate::support::eventually;

/// How a user's sessions end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    SignOut,
    PasswordChange,
    PasswordReset,
    Suspension,
    Archive,
    Deletion,
    SelfDeletion,
}

const TRIGGERS: [Trigger; 7] = [
    Trigger::SignOut,
    Trigger::PasswordChange,
    Trigger::PasswordReset,
    Trigger::Suspension,
    Trigger::Archive,
    Trigger::Deletion,
    Trigger::SelfDeletion,
];

impl Trigger {
    /// As BENCHMARKS.md's table names it.
    fn label(self) -> &'static str {
        match self {
            Trigger::SignOut => "sign-out",
            Trigger::PasswordChange => "password change",
            Trigger::PasswordReset => "password reset",
            Trigger::Suspension => "suspension",
            Trigger::Archive => "archive",
            Trigger::Deletion => "`DELETE /user/{id}`",
            Trigger::SelfDeletion => "`DELETE /auth/me`",
        }
    }
}

/// The routes that take a token. Each is probed so that its answer tells "token accepted"
/// from "token refused" and leaves nothing behind (see [`Apis::answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    VerifyInPath,
    VerifyInBody,
    VerifyIdToken,
    StartTotp,
    ConfirmTotp,
    DisableTotp,
    ExportIdentity,
    DeleteMe,
    ChangePassword,
    Refresh,
    Me,
    UpdateMyProfile,
    ExportProfile,
    /// Last: it is probed only once every other route refused (see [`refusal_times`]).
    Logout,
}

const ROUTES: [Route; 14] = [
    Route::VerifyInPath,
    Route::VerifyInBody,
    Route::VerifyIdToken,
    Route::StartTotp,
    Route::ConfirmTotp,
    Route::DisableTotp,
    Route::ExportIdentity,
    Route::DeleteMe,
    Route::ChangePassword,
    Route::Refresh,
    Route::Me,
    Route::UpdateMyProfile,
    Route::ExportProfile,
    Route::Logout,
];

/// What refuses a route's old tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refuser {
    /// The Auth API's in-memory revocation set (`verify_token`), refreshed once a second.
    RevocationSet,
    /// Cognito: the global sign-out of the refresh tokens (the user disabled or deleted, for
    /// a status change or a deletion).
    Cognito,
    /// The User API's profile: its status, its tombstone, or `sessionsRevokedBefore` from
    /// `SessionsRevoked` (the event path: stream, bus, queue, subscriber).
    Profile,
}

/// docs/auth-api.md, "Staleness bound": ≤ 5 s from a trigger's answer to the refusal, for
/// the Auth API's routes (its set refreshes every second; a status change or a deletion
/// reaches it by event) and for `/public/*` (by event, or at once from the profile).
const BOUND: Duration = Duration::from_secs(5);

/// How long a route may keep taking an old token before the test stops waiting for it.
const GIVE_UP: Duration = Duration::from_secs(20);

/// The pause between two rounds of probes.
const POLL: Duration = Duration::from_millis(20);

/// A password no account of this test has, for the probes that prove a password.
const WRONG_PASSWORD: &str = "Not-The-Password-0";

const INVALID_TOKEN: &str = "/problems/invalid-token";
const ACCOUNT_DISABLED: &str = "/problems/account-disabled";
const WRONG_PASSWORD_PROBLEM: &str = "/problems/wrong-password";
const INVALID_CODE: &str = "/problems/invalid-code";

impl Route {
    /// As BENCHMARKS.md's table names it.
    fn label(self) -> &'static str {
        match self {
            Route::VerifyInPath => "`GET /auth/token/access/verify/{token}`",
            Route::VerifyInBody => "`POST /auth/token/verify` (access token)",
            Route::VerifyIdToken => "`POST /auth/token/verify` (id token)",
            Route::StartTotp => "`POST /auth/mfa/totp`",
            Route::ConfirmTotp => "`POST /auth/mfa/totp/confirm`",
            Route::DisableTotp => "`DELETE /auth/mfa/totp`",
            Route::ExportIdentity => "`GET /auth/me/export`",
            Route::DeleteMe => "`DELETE /auth/me`",
            Route::ChangePassword => "`POST /auth/password/change`",
            Route::Refresh => "`POST /auth/token/refresh` (another session's refresh token)",
            Route::Logout => "`POST /auth/logout`",
            Route::Me => "`GET /public/user/me`",
            Route::UpdateMyProfile => "`PATCH /public/user/me/profile`",
            Route::ExportProfile => "`GET /public/user/me/export`",
        }
    }

    fn refuser(self) -> Refuser {
        match self {
            Route::Refresh => Refuser::Cognito,
            Route::Me | Route::UpdateMyProfile | Route::ExportProfile => Refuser::Profile,
            _ => Refuser::RevocationSet,
        }
    }

    /// The path of a `/public` route, for the raw request that reads its headers.
    fn public_path(self) -> Option<(reqwest::Method, &'static str)> {
        match self {
            Route::Me => Some((reqwest::Method::GET, "/public/user/me")),
            Route::UpdateMyProfile => Some((reqwest::Method::PATCH, "/public/user/me/profile")),
            Route::ExportProfile => Some((reqwest::Method::GET, "/public/user/me/export")),
            _ => None,
        }
    }
}

/// The problem a route answers an old token with once `trigger` has happened.
fn refusal(trigger: Trigger, route: Route) -> Answer {
    match (trigger, route.refuser()) {
        (Trigger::Suspension | Trigger::Archive, Refuser::Profile) => {
            Answer::Refused(StatusCode::FORBIDDEN, ACCOUNT_DISABLED.to_owned())
        }
        _ => Answer::Refused(StatusCode::UNAUTHORIZED, INVALID_TOKEN.to_owned()),
    }
}

/// What a probe showed about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// The route took the token: it answered, or refused for a reason it checks only once the
    /// token holds (a wrong password or code).
    Accepted,
    /// A problem document with this status and type. The client makes [`Error::Api`] of an
    /// answer only when its content type is `application/problem+json` (anything else is
    /// [`Error::Unexpected`]), so this is one.
    Refused(StatusCode, String),
    /// Anything else, for the failure message.
    Other(String),
}

/// The tokens a probe presents: a session's access and id tokens, and a refresh token.
struct Held {
    access: String,
    id: String,
    refresh: String,
}

impl Held {
    fn new(tokens: &Tokens, refresh_from: &Tokens) -> Self {
        Self {
            access: tokens.access_token.clone(),
            id: tokens.id_token.clone(),
            refresh: refresh_from.refresh_token.clone().unwrap(),
        }
    }
}

struct Apis {
    auth: AuthApi,
    users: UserApi,
}

impl Apis {
    /// One probe of `route` with `held`. `pending_totp` is the authenticator key the user's
    /// last accepted `POST /auth/mfa/totp` left pending (only these probes start one).
    ///
    /// The probes, and why each leaves nothing behind:
    /// - the verify routes, `GET /auth/me/export`, `GET /public/user/me` and
    ///   `GET /public/user/me/export` read only;
    /// - `PATCH /public/user/me/profile` is empty: 200 with the profile as it is, nothing
    ///   written (me.rs), after the same checks as any change;
    /// - `POST /auth/token/refresh` only issues new access and id tokens, which nobody uses;
    /// - `DELETE /auth/me`, `DELETE /auth/mfa/totp` and `POST /auth/password/change` send a
    ///   wrong password: 403 `/problems/wrong-password` while the token holds (the password is
    ///   proven only after the token), 401 once it is refused; nothing is deleted or changed.
    ///   Locally nothing counts failed passwords; on AWS Cognito would lock the account after
    ///   a few (429), still an answer that comes after the token's check;
    /// - `POST /auth/mfa/totp/confirm` sends a code that is not the pending key's (or any code,
    ///   with none pending): 400 `/problems/invalid-code` while the token holds; two-step
    ///   sign-in is never turned on;
    /// - `POST /auth/mfa/totp` has no refusal but the token's: it leaves a pending key, which
    ///   replaces the last one and turns nothing on (sign-in stays one step, as the happy path
    ///   shows by signing in with the password alone). It runs on this trigger's own user;
    /// - `POST /auth/logout` has no refusal but the token's either, and taking the token would
    ///   end the user's sessions: it is never probed before the trigger, and after it only
    ///   once every other route refused, so that a logout it accepted by mistake could not be
    ///   what the other routes refuse for. Its time is thus at least the others'.
    async fn answer(&self, route: Route, held: &Held, pending_totp: &mut Option<String>) -> Answer {
        let access = held.access.as_str();
        match route {
            Route::VerifyInPath => answer(
                route,
                self.auth.verify_in_path(TokenUse::Access, access).await,
            ),
            Route::VerifyInBody => answer(
                route,
                self.auth
                    .verify(&VerifyRequest::new(access, TokenUse::Access))
                    .await,
            ),
            Route::VerifyIdToken => answer(
                route,
                self.auth
                    .verify(&VerifyRequest::new(&held.id, TokenUse::Id))
                    .await,
            ),
            Route::StartTotp => {
                let result = self.auth.start_totp(access).await;
                if let Ok(enrolment) = &result {
                    *pending_totp = Some(enrolment.secret.clone());
                }
                answer(route, result)
            }
            Route::ConfirmTotp => {
                let code = pending_totp
                    .as_deref()
                    .map_or_else(|| "000000".to_owned(), totp::wrong_code_now);
                answer(
                    route,
                    self.auth
                        .confirm_totp(access, &TotpConfirmRequest { code })
                        .await,
                )
            }
            Route::DisableTotp => answer(
                route,
                self.auth
                    .disable_totp(
                        access,
                        &TotpDisableRequest {
                            password: WRONG_PASSWORD.to_owned(),
                        },
                    )
                    .await,
            ),
            Route::ExportIdentity => answer(route, self.auth.export_me(access).await),
            Route::DeleteMe => answer(
                route,
                self.auth
                    .delete_me(
                        access,
                        &DeleteAccountRequest {
                            password: WRONG_PASSWORD.to_owned(),
                        },
                    )
                    .await,
            ),
            Route::ChangePassword => answer(
                route,
                self.auth
                    .change_password(
                        access,
                        &ChangeRequest {
                            old_password: WRONG_PASSWORD.to_owned(),
                            new_password: "Revoked-Secret-9".to_owned(),
                        },
                    )
                    .await,
            ),
            Route::Refresh => answer(
                route,
                self.auth
                    .refresh(&RefreshRequest {
                        refresh_token: held.refresh.clone(),
                        client_id: None,
                    })
                    .await,
            ),
            Route::Logout => answer(route, self.auth.logout(access).await),
            Route::Me => answer(route, self.users.me(access).await),
            Route::UpdateMyProfile => answer(
                route,
                self.users
                    .update_my_profile(
                        access,
                        &ProfileUpdate {
                            lang: None,
                            currency: None,
                            avatar: None,
                        },
                    )
                    .await,
            ),
            Route::ExportProfile => answer(route, self.users.export_me(access).await),
        }
    }
}

/// What `result` shows about the token `route` was called with.
fn answer<T>(route: Route, result: Result<T, Error>) -> Answer {
    // The answer of a probe that proves a password or a code while the token holds.
    let taken_then_refused = match route {
        Route::DisableTotp | Route::DeleteMe | Route::ChangePassword => {
            Some((StatusCode::FORBIDDEN, WRONG_PASSWORD_PROBLEM))
        }
        Route::ConfirmTotp => Some((StatusCode::BAD_REQUEST, INVALID_CODE)),
        _ => None,
    };
    match result {
        Ok(_) if taken_then_refused.is_some() => {
            panic!("{route:?} did what a wrong password or code must not do")
        }
        Ok(_) => Answer::Accepted,
        Err(Error::Api { status, problem }) => {
            if taken_then_refused == Some((status, problem.kind.as_str())) {
                Answer::Accepted
            } else {
                Answer::Refused(status, problem.kind)
            }
        }
        Err(other) => Answer::Other(other.to_string()),
    }
}

/// What [`refusal_times`] measured after one trigger.
struct Times {
    /// Per route (in [`ROUTES`]' order), from the trigger's answer to the answer of the
    /// route's first refused request.
    refused: [Duration; ROUTES.len()],
    /// How long the first round took (every route but logout probed once, at once): a time
    /// up to this is a refusal at the first probe.
    first_round: Duration,
}

/// Probes every route in rounds until each answers `trigger`'s refusal: the open routes at
/// once in each round (`POST /auth/mfa/totp` then `…/confirm` one after the other, since the
/// second's code is chosen against the first's key), [`POLL`] between rounds. Panics, naming
/// the trigger, the routes and their last answers, if a route still takes the token after
/// [`GIVE_UP`].
async fn refusal_times(
    apis: &Apis,
    trigger: Trigger,
    held: &Held,
    pending_totp: &mut Option<String>,
    revoked_at: Instant,
) -> Times {
    type Probe<'a> = Pin<Box<dyn Future<Output = Vec<(Route, Answer, Duration)>> + 'a>>;
    let mut refused: [Option<Duration>; ROUTES.len()] = [None; ROUTES.len()];
    let mut last: Vec<Option<Answer>> = vec![None; ROUTES.len()];
    let mut first_round = None;
    loop {
        let others_refused = ROUTES
            .iter()
            .zip(&refused)
            .all(|(other, time)| *other == Route::Logout || time.is_some());
        let open: Vec<Route> = ROUTES
            .into_iter()
            .zip(&refused)
            .filter(|(route, time)| time.is_none() && (*route != Route::Logout || others_refused))
            .map(|(route, _)| route)
            .collect();
        let (totp, alone): (Vec<Route>, Vec<Route>) = open
            .into_iter()
            .partition(|route| matches!(route, Route::StartTotp | Route::ConfirmTotp));
        let mut probes: Vec<Probe<'_>> = Vec::new();
        if !totp.is_empty() {
            let pending_totp = &mut *pending_totp;
            probes.push(Box::pin(async move {
                let mut answers = Vec::new();
                for route in totp {
                    let answer = apis.answer(route, held, pending_totp).await;
                    answers.push((route, answer, revoked_at.elapsed()));
                }
                answers
            }));
        }
        for route in alone {
            probes.push(Box::pin(async move {
                let answer = apis.answer(route, held, &mut None).await;
                vec![(route, answer, revoked_at.elapsed())]
            }));
        }
        for (route, answer, at) in all(probes).await.into_iter().flatten() {
            let n = ROUTES.iter().position(|other| *other == route).unwrap();
            if answer == refusal(trigger, route) {
                refused[n] = Some(at);
            } else {
                last[n] = Some(answer);
            }
        }
        let first_round = *first_round.get_or_insert_with(|| revoked_at.elapsed());
        if refused.iter().all(Option::is_some) {
            return Times {
                refused: refused.map(Option::unwrap),
                first_round,
            };
        }
        let waited = revoked_at.elapsed();
        let open: Vec<String> = ROUTES
            .iter()
            .zip(&refused)
            .zip(&last)
            .filter(|((_, time), _)| time.is_none())
            .map(|((route, _), last)| format!("{route:?} (last answer {last:?})"))
            .collect();
        assert!(
            waited < GIVE_UP,
            "{trigger:?}: still not refused {waited:?} after the trigger's answer: {}",
            open.join(", ")
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `futures` at once and returns their outputs in order (a join_all: the workspace has
/// no futures crate).
async fn all<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut running: Vec<_> = futures.into_iter().map(|future| (future, None)).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in &mut running {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    running
        .into_iter()
        .map(|(_, output)| output.expect("every future finished"))
        .collect()
}

#[tokio::test]
async fn every_revocation_trigger_is_refused_by_every_route_that_takes_a_token() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let apis = Apis {
        auth: AuthApi::new(&facts.auth_url, &facts.api_key).unwrap(),
        users: UserApi::new(&facts.user_url, &facts.api_key).unwrap(),
    };
    let http = reqwest::Client::new();
    let mut measured: Vec<(Trigger, Times)> = Vec::new();
    let mut over_bound = Vec::new();
    for (n, trigger) in TRIGGERS.into_iter().enumerate() {
        let email = format!("revoked{n}@example.com");
        let password = "Revoked-Secret-1";
        let registered = apis
            .auth
            .register(
                &RegisterRequest::new(&email, format!("revoked_{n}"), password),
                None,
            )
            .await
            .unwrap();
        let users = &apis.users;
        eventually("the profile", Duration::from_secs(20), || async {
            users.user(&registered.id).await.ok()
        })
        .await;
        let login = LoginRequest::new(&email, password);
        let tokens = apis.auth.login(&login).await.unwrap();
        // A second session, as another device would hold: its refresh token is probed.
        let other = apis.auth.login(&login).await.unwrap();
        let held = Held::new(&tokens, &other);
        let mut pending_totp = None;
        for route in ROUTES {
            if route == Route::Logout {
                continue;
            }
            assert_eq!(
                apis.answer(route, &held, &mut pending_totp).await,
                Answer::Accepted,
                "{trigger:?}: {route:?} before"
            );
        }

        let new_password = "Revoked-Secret-2";
        match trigger {
            Trigger::SignOut => apis.auth.logout(&tokens.access_token).await.unwrap(),
            Trigger::PasswordChange => apis
                .auth
                .change_password(
                    &tokens.access_token,
                    &ChangeRequest {
                        old_password: password.to_owned(),
                        new_password: new_password.to_owned(),
                    },
                )
                .await
                .unwrap(),
            Trigger::PasswordReset => {
                apis.auth
                    .forgot_password(&ForgotRequest {
                        email: email.clone(),
                        client_id: None,
                    })
                    .await
                    .unwrap();
                // moto accepts a code of its own choosing (Cognito would email one).
                apis.auth
                    .confirm_password(&ConfirmRequest {
                        email: email.clone(),
                        code: "135790".to_owned(),
                        new_password: new_password.to_owned(),
                        client_id: None,
                    })
                    .await
                    .unwrap();
            }
            Trigger::Suspension => {
                apis.users
                    .set_status(&registered.id, Status::Suspended, None)
                    .await
                    .unwrap();
            }
            Trigger::Archive => {
                apis.users
                    .set_status(&registered.id, Status::Archived, None)
                    .await
                    .unwrap();
            }
            Trigger::Deletion => apis.users.delete(&registered.id, None).await.unwrap(),
            Trigger::SelfDeletion => {
                let requested = apis
                    .auth
                    .delete_me(
                        &tokens.access_token,
                        &DeleteAccountRequest {
                            password: password.to_owned(),
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(requested.user_id, registered.id);
            }
        }
        let revoked_at = Instant::now();

        let times = refusal_times(&apis, trigger, &held, &mut pending_totp, revoked_at).await;
        for (route, took) in ROUTES.into_iter().zip(times.refused) {
            if took > BOUND {
                over_bound.push(format!(
                    "{trigger:?} × {route:?}: refused the old token {} ms after the trigger's \
                     answer, over its bound of {} ms",
                    took.as_millis(),
                    BOUND.as_millis()
                ));
            }
        }
        measured.push((trigger, times));

        // Once refused, never accepted again; the /public refusals read as sent: a problem
        // document (`application/problem+json`) with the status and type expected.
        for route in ROUTES {
            assert_eq!(
                apis.answer(route, &held, &mut pending_totp).await,
                refusal(trigger, route),
                "{trigger:?}: {route:?} once refused"
            );
            if let Some((method, path)) = route.public_path() {
                let mut request = http
                    .request(method, format!("{}{path}", facts.user_url))
                    .bearer_auth(&held.access);
                if route == Route::UpdateMyProfile {
                    request = request.json(&serde_json::json!({}));
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .map(ToOwned::to_owned);
                let body: serde_json::Value = response.json().await.unwrap();
                let expected = refusal(trigger, route);
                assert_eq!(
                    (
                        Answer::Refused(status, body["type"].as_str().unwrap_or("").to_owned()),
                        content_type.as_deref()
                    ),
                    (expected, Some("application/problem+json")),
                    "{trigger:?}: {route:?} as sent: {body}"
                );
            }
        }

        // The happy path after it: the user signs in again (with the new password) and the
        // new tokens open every route, logout last; a suspended or deleted user cannot sign in.
        let again = match trigger {
            Trigger::SignOut => Some(password),
            Trigger::PasswordChange | Trigger::PasswordReset => Some(new_password),
            Trigger::Suspension | Trigger::Archive | Trigger::Deletion | Trigger::SelfDeletion => {
                None
            }
        };
        if let Some(password) = again {
            let fresh = apis
                .auth
                .login(&LoginRequest::new(&email, password))
                .await
                .unwrap();
            let held = Held::new(&fresh, &fresh);
            for route in ROUTES {
                assert_eq!(
                    apis.answer(route, &held, &mut pending_totp).await,
                    Answer::Accepted,
                    "{trigger:?}: {route:?} with a token issued after it"
                );
            }
        } else {
            let refused = eventually(
                &format!("{trigger:?}: sign-in refused"),
                Duration::from_secs(15),
                || async { apis.auth.login(&login).await.err() },
            )
            .await;
            assert_eq!(
                refused.status(),
                Some(StatusCode::UNAUTHORIZED),
                "{refused}"
            );
        }
    }
    let table = render(&measured);
    eprintln!("time to refusal after each trigger (ms):\n{table}");
    assert!(over_bound.is_empty(), "{}", over_bound.join("\n"));
    keep_in_benchmarks(&table);
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

const START: &str = "<!-- revocation-times:start -->\n";
const END: &str = "<!-- revocation-times:end -->";

/// The table of BENCHMARKS.md: a row per route with its bound, a column per trigger, in
/// milliseconds, after a line saying where and when it was measured.
fn render(measured: &[(Trigger, Times)]) -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = read("/proc/loadavg")
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned();
    let mut text = format!(
        "Measured {} on {cores} cores ({cpu}), Linux {}, a {} build, load average {load} at the \
         end.\n\n| Route | Refused by | Bound |",
        chrono::Utc::now().format("%Y-%m-%d"),
        read("/proc/sys/kernel/osrelease").trim(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    for (trigger, _) in measured {
        text.push_str(&format!(" {} |", trigger.label()));
    }
    text.push_str(&format!(
        "\n|---|---|---|{}\n",
        "---:|".repeat(measured.len())
    ));
    for (n, route) in ROUTES.into_iter().enumerate() {
        let refuser = match route.refuser() {
            Refuser::RevocationSet => "the Auth API's revocation set",
            Refuser::Cognito => "Cognito (global sign-out)",
            Refuser::Profile => "the profile",
        };
        text.push_str(&format!(
            "| {} | {refuser} | {} ms |",
            route.label(),
            BOUND.as_millis()
        ));
        for (_, times) in measured {
            text.push_str(&format!(" {} |", times.refused[n].as_millis()));
        }
        text.push('\n');
    }
    // A time up to this is a refusal at the first probe.
    text.push_str("| *the first round: every route but logout probed once, at once* | | |");
    for (_, times) in measured {
        text.push_str(&format!(" {} |", times.first_round.as_millis()));
    }
    text.push('\n');
    text
}

/// With `UPDATE_BENCHMARKS` set, writes `table` between BENCHMARKS.md's markers; otherwise
/// checks only that the section there has a number for every trigger and route.
fn keep_in_benchmarks(table: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
    let page = std::fs::read_to_string(path).unwrap();
    let (before, rest) = page
        .split_once(START)
        .expect("BENCHMARKS.md has the revocation-times markers");
    let (kept, after) = rest.split_once(END).expect("the end marker");
    if std::env::var_os("UPDATE_BENCHMARKS").is_some() {
        std::fs::write(path, format!("{before}{START}{table}{END}{after}")).unwrap();
        return;
    }
    let hint = "run UPDATE_BENCHMARKS=1 cargo test -p roster-tests --test local_aws -- \
                security::revocation";
    let header = kept
        .lines()
        .find(|line| line.starts_with("| Route |"))
        .unwrap_or_else(|| panic!("BENCHMARKS.md's revocation table has no header: {hint}"));
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    let triggers: Vec<&str> = TRIGGERS.iter().map(|trigger| trigger.label()).collect();
    assert_eq!(
        columns.get(4..4 + TRIGGERS.len()),
        Some(&triggers[..]),
        "BENCHMARKS.md's revocation table names other triggers: {hint}"
    );
    for route in ROUTES {
        let row = kept
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", route.label())))
            .unwrap_or_else(|| panic!("BENCHMARKS.md's revocation table lacks {route:?}: {hint}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let times = cells.get(4..4 + TRIGGERS.len()).unwrap_or_default();
        assert!(
            times.len() == TRIGGERS.len() && times.iter().all(|cell| cell.parse::<u64>().is_ok()),
            "BENCHMARKS.md's revocation table lacks a time for {route:?}: {row} ({hint})"
        );
    }
}

/// A password reset ends the sessions of an account Roster did not register (an operator made
/// in the pool directly): found in review, where the reset looked the user up through Roster's
/// own reservation and revoked nobody.
#[tokio::test]
async fn a_reset_of_an_account_made_outside_roster_revokes_its_tokens() {
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    let facts = stack.facts().clone();
    let auth = AuthApi::new(&facts.auth_url, &facts.api_key).unwrap();
    let email = "operator@example.com";
    crate::support::seed_pool_user(
        &harness::sdk().await,
        &facts.user_pool_id,
        email,
        "Operator-Secret-1",
        &[],
    )
    .await;
    let tokens = auth
        .login(&LoginRequest::new(email, "Operator-Secret-1"))
        .await
        .unwrap();
    auth.verify(&VerifyRequest::new(&tokens.access_token, TokenUse::Access))
        .await
        .unwrap();

    auth.forgot_password(&ForgotRequest {
        email: email.to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    auth.confirm_password(&ConfirmRequest {
        email: email.to_owned(),
        code: "246810".to_owned(),
        new_password: "Operator-Secret-2".to_owned(),
        client_id: None,
    })
    .await
    .unwrap();
    for token_use in [TokenUse::Access, TokenUse::Id] {
        let token = match token_use {
            TokenUse::Access => &tokens.access_token,
            TokenUse::Id => &tokens.id_token,
        };
        let refused = auth
            .verify(&VerifyRequest::new(token, token_use))
            .await
            .unwrap_err();
        assert_eq!(
            refused.status(),
            Some(StatusCode::UNAUTHORIZED),
            "{token_use:?}"
        );
    }
    let refresh = auth
        .refresh(&RefreshRequest {
            refresh_token: tokens.refresh_token.clone().unwrap(),
            client_id: None,
        })
        .await;
    assert_eq!(
        refresh.unwrap_err().status(),
        Some(StatusCode::UNAUTHORIZED)
    );
    // The operator signs in with the new password, and that token holds.
    let fresh = auth
        .login(&LoginRequest::new(email, "Operator-Secret-2"))
        .await
        .unwrap();
    auth.verify(&VerifyRequest::new(&fresh.access_token, TokenUse::Access))
        .await
        .unwrap();
    // Its revocation concerns no profile: no subscriber retries it into a dead-letter queue
    // (the local queues redeliver within a second, five receives in about five seconds).
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let letters = roster_ops::dead_letters::list(
        &aws_sdk_sqs::Client::new(&harness::sdk().await),
        &roster_infra::resources::Names::new(facts.prefix.clone()),
        None,
    )
    .await
    .unwrap();
    assert!(
        !letters
            .iter()
            .any(|letter| letter.detail_type.as_deref() == Some("SessionsRevoked")),
        "{letters:?}"
    );
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

/// An instance that cannot read the revocation records refuses to vouch for tokens (503)
/// rather than accept ones it cannot check, tries the table once per interval rather than once
/// per request, and recovers once the table answers.
#[tokio::test]
async fn revocations_that_cannot_be_read_fail_closed_without_a_query_per_request() {
    use roster_testkit::faults::{Fault, When};

    let (proxy, auth, verify) = signed_in_through_proxy("closed").await;

    // A cold instance whose table does not answer: nothing to trust yet.
    proxy.inject(Fault::always("Query", When::Before));
    proxy.take_calls();
    for _ in 0..5 {
        let error = auth.verify(&verify).await.expect_err("no set to trust");
        assert_eq!(
            error.status(),
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "{error}"
        );
    }
    // One attempt (a Query per shard, the SDK's retries included), not one per request.
    let queries = proxy.calls("Query");
    assert!(
        queries > 0 && queries <= 4 * 3,
        "{queries} Queries for 5 requests"
    );

    proxy.clear();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    auth.verify(&verify).await.unwrap();
}

/// The request that finds the set due makes the refresh; the others answer from the set as it
/// is meanwhile, instead of all waiting for the refresh's Queries, but only while the set is at
/// most the interval and 2 s old: past that they wait too.
#[tokio::test]
async fn a_refresh_under_way_delays_only_the_request_that_makes_it() {
    use roster_testkit::faults::{Fault, Kind, When};
    use std::time::Duration;

    let (proxy, auth, verify) = signed_in_through_proxy("unstalled").await;
    auth.verify(&verify).await.unwrap();

    // Every revocation Query now takes two seconds; the set is due again after its interval.
    proxy.inject(Fault {
        operation: "Query",
        skip: 0,
        times: u32::MAX,
        when: When::Before,
        kind: Kind::Delay(Duration::from_secs(2)),
    });
    proxy.take_calls();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refreshing = tokio::spawn({
        let (auth, verify) = (auth.clone(), verify.clone());
        async move { auth.verify(&verify).await }
    });
    crate::support::eventually(
        "the refresh's first Query",
        Duration::from_secs(10),
        || async { (proxy.calls("Query") > 0).then_some(()) },
    )
    .await;
    for _ in 0..5 {
        auth.verify(&verify).await.unwrap();
    }
    assert!(
        !refreshing.is_finished(),
        "the other requests waited for the refresh (its four Queries take eight seconds)"
    );
    // But not from a set more than the interval and 2 s old: a request then waits for the
    // refresh (its answer comes after the fourth Query began, 6 s into the refresh).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(proxy.calls("Query") < 4, "the refresh is still under way");
    auth.verify(&verify).await.unwrap();
    assert_eq!(
        proxy.calls("Query"),
        4,
        "a request on a set past the bound answered before the refresh"
    );
    refreshing.await.unwrap().unwrap();
    assert_eq!(proxy.calls("Query"), 4, "one refresh, a Query per shard");
    proxy.clear();
}

/// An Auth API whose AWS calls go through a fault proxy, a user `<who>@example.com` registered
/// and signed in there, and the request that verifies its access token.
async fn signed_in_through_proxy(
    who: &str,
) -> (roster_testkit::faults::FaultProxy, AuthApi, VerifyRequest) {
    let resources = harness::provisioned().await;
    let proxy = roster_testkit::faults::FaultProxy::start(harness::endpoint_url().await).await;
    let auth = AuthApi::new(
        &harness::auth_api_through(&resources, proxy.url()).await.0,
        &harness::test_key(&resources).await,
    )
    .unwrap();
    let tokens = crate::support::registered_and_signed_in(&auth, who).await;
    let verify = VerifyRequest::new(tokens.access_token, TokenUse::Access);
    (proxy, auth, verify)
}

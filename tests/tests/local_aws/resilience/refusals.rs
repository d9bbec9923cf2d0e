//! The local stack never silently stops (issue 15). On one running stack, in sequence:
//! 1. every kind of refused or failed request the two APIs can produce (each cancelled
//!    transaction above all) is followed by a registration whose profile must appear;
//! 2. schemathesis fuzzes both APIs, and a registration afterwards reaches its profile
//!    (`security::api_fuzz`);
//! 3. the Auth API's journey runs, each refusal in it followed by a call that succeeds
//!    (`auth::journey`);
//!
//! and the watchdog sees no stall and no dead letter at the end.

use std::time::Duration;

use reqwest::StatusCode;
use roster_client::{AuthApi, Error, RegisterRequest, Registered, Status, UserApi};
use roster_local::stack::RunningStack;
use roster_testkit::harness;
use serde_json::{Map, Value, json};

use crate::support::eventually;

struct Caller {
    auth: AuthApi,
    users: UserApi,
    /// How many users this test registered so far (for fresh names).
    count: u32,
}

impl Caller {
    fn new(stack: &RunningStack) -> Self {
        let facts = stack.facts();
        Self {
            auth: AuthApi::new(&facts.auth_url, &facts.api_key).unwrap(),
            users: UserApi::new(&facts.user_url, &facts.api_key).unwrap(),
            count: 0,
        }
    }

    /// Registers a new user and waits for its profile: the event flow still runs.
    async fn happy_path(&mut self, after: &str) -> Registered {
        self.count += 1;
        let n = self.count;
        let registered = self
            .auth
            .register(
                &RegisterRequest::new(
                    format!("after{n}@example.com"),
                    format!("after_{n}"),
                    "Refusal-Secret-1",
                ),
                None,
            )
            .await
            .unwrap_or_else(|error| panic!("registration after {after}: {error}"));
        let users = &self.users;
        eventually(
            &format!("the profile of a registration after {after}"),
            Duration::from_secs(20),
            || async { users.user(&registered.id).await.ok() },
        )
        .await;
        registered
    }
}

fn refused_with(result: Result<impl std::fmt::Debug, Error>, status: StatusCode, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error.status(), Some(status), "{what}: {error}");
    assert!(error.problem_type().is_some(), "{what}: a problem document");
}

/// The stack's watchdog, measuring afresh, sees no stall and no dead letter.
async fn no_stall_and_no_dead_letter(stack: &RunningStack) {
    let status = eventually("a fresh measurement", Duration::from_secs(10), || async {
        let status = stack.status();
        (!status.checked_at.is_empty()).then_some(status)
    })
    .await;
    assert!(status.stalls().is_empty(), "{:?}", status.stalls());
    assert!(
        status.dead_letters_waiting().is_empty(),
        "{:?}",
        status.dead_letters
    );
}

fn patch(key: &str, value: Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(key.to_owned(), value);
    map
}

#[tokio::test]
async fn refusals_then_fuzzing_then_the_journey_on_one_running_stack() {
    harness::sdk().await; // logs with ROSTER_TEST_LOG=1
    let (stack, state_dir) = harness::running_stack().await.unwrap();
    after_every_refusal_and_cancelled_transaction_the_next_registration_reaches_its_profile(&stack)
        .await;
    crate::security::api_fuzz::fuzz_then_register(&stack).await;
    crate::auth::journey::journey(&stack).await;

    no_stall_and_no_dead_letter(&stack).await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(state_dir);
}

async fn after_every_refusal_and_cancelled_transaction_the_next_registration_reaches_its_profile(
    stack: &RunningStack,
) {
    let mut caller = Caller::new(stack);

    // The repro: a user, the same email again (a cancelled transaction), then a third user.
    let first = caller.happy_path("nothing").await;
    let duplicate =
        RegisterRequest::new(first.email.to_uppercase(), "other_name", "Other-Secret-1");
    refused_with(
        caller.auth.register(&duplicate, None).await,
        StatusCode::CONFLICT,
        "a taken email",
    );
    caller.happy_path("a taken email").await;

    // A taken name, and a name whose handle is taken (`after.1` is `@After1` too).
    let taken_name = RegisterRequest::new("fresh-name@example.com", "after_1", "Other-Secret-1");
    refused_with(
        caller.auth.register(&taken_name, None).await,
        StatusCode::CONFLICT,
        "a taken name",
    );
    caller.happy_path("a taken name").await;
    let taken_handle =
        RegisterRequest::new("fresh-handle@example.com", "after.1", "Other-Secret-1");
    refused_with(
        caller.auth.register(&taken_handle, None).await,
        StatusCode::CONFLICT,
        "a taken handle",
    );
    caller.happy_path("a taken handle").await;

    // Concurrent registrations of one email: one wins, the others' transactions are cancelled.
    let racing: Vec<_> = (0..5)
        .map(|i| {
            let auth = caller.auth.clone();
            tokio::spawn(async move {
                auth.register(
                    &RegisterRequest::new(
                        "race@example.com",
                        format!("racer_{i}"),
                        "Race-Secret-12",
                    ),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut won = Vec::new();
    for race in racing {
        match race.await.unwrap() {
            Ok(registered) => won.push(registered),
            Err(error) => assert_eq!(error.status(), Some(StatusCode::CONFLICT), "{error}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one of the racers registers");
    caller.happy_path("concurrent registrations").await;

    // A failed activation (an unknown code), then a real one.
    refused_with(
        caller
            .users
            .activate("00000000000000000000000000000000")
            .await,
        StatusCode::NOT_FOUND,
        "an unknown activation code",
    );
    let user = caller.happy_path("a failed activation").await;
    let code =
        crate::support::activation_code(&stack.provisioned().mail_domain, &user.email, 1).await;
    let activated = caller.users.activate(&code).await.unwrap();
    assert_eq!(activated.value.status, "CONFIRMED");
    refused_with(
        caller.users.activate(&code).await,
        StatusCode::NOT_FOUND,
        "a used activation code",
    );
    caller.happy_path("a used activation code").await;

    // A stale If-Match on data and on status.
    let current = caller.users.user(&user.id).await.unwrap();
    let stale = current.etag.clone().unwrap();
    caller
        .users
        .merge_data(&user.id, &patch("theme", json!("dark")), Some(&stale))
        .await
        .unwrap();
    refused_with(
        caller
            .users
            .merge_data(&user.id, &patch("theme", json!("light")), Some(&stale))
            .await,
        StatusCode::PRECONDITION_FAILED,
        "data with a stale If-Match",
    );
    refused_with(
        caller
            .users
            .set_status(&user.id, Status::Suspended, Some(&stale))
            .await,
        StatusCode::PRECONDITION_FAILED,
        "a status with a stale If-Match",
    );
    caller.happy_path("a stale If-Match").await;

    // A deleted user's lookups, then the next one.
    caller.users.delete(&first.id, None).await.unwrap();
    refused_with(
        caller.users.user(&first.id).await,
        StatusCode::NOT_FOUND,
        "a deleted user",
    );
    caller.happy_path("a deletion").await;

    // The users table's stream flowed too: the activation earned VERIFIED through the badge
    // rules. And the stack saw no stall and no dead letter.
    let users = &caller.users;
    eventually("the VERIFIED badge", Duration::from_secs(20), || async {
        let user = users.user(&user.id).await.ok()?;
        user.value
            .profile
            .badges
            .iter()
            .any(|badge| badge.name == "VERIFIED")
            .then_some(())
    })
    .await;
    no_stall_and_no_dead_letter(stack).await;
}

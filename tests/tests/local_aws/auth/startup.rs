//! The Auth API loads at start-up what its first request needs (`AuthDeps::load_before_serving`,
//! run by the Lambda entry point during init): after it, the first token verification makes no
//! AWS call; without it, that request reads the API keys and the revocation records itself. A
//! load that fails does not stop the start, and the first request then loads what it needs.

use roster_client::{AuthApi, TokenUse, VerifyRequest};
use roster_testkit::faults::{Fault, FaultProxy, When};
use roster_testkit::harness;

/// An Auth API whose AWS calls go through `proxy`; loaded at start-up or not.
async fn auth_api(resources: &harness::TestResources, proxy: &FaultProxy, load: bool) -> AuthApi {
    // The key first: one made after the load would be a miss, which reloads the set.
    let key = harness::test_key(resources).await;
    let mut config =
        roster_local::stack::auth_config(&resources.provisioned, harness::endpoint_url().await);
    // No refresh of the revocation set falls due between the load and the request, however
    // slow the machine: what the first request reads is what start-up left to it.
    config.revocation_refresh = std::time::Duration::from_secs(3600);
    let sdk = roster_platform::aws::local(proxy.url(), harness::REGION).await;
    let deps = config.deps(&sdk).expect("a valid configuration");
    if load {
        Box::pin(deps.load_before_serving()).await;
    }
    let url = harness::spawn_router(roster_auth_api::router(deps)).await;
    AuthApi::new(&url, &key).unwrap()
}

/// A signed-in user's access token, from the stack's own Auth API.
async fn access_token(resources: &harness::TestResources, who: &str) -> String {
    let (url, key) = harness::auth_api(resources).await;
    let auth = AuthApi::new(&url, &key).unwrap();
    crate::support::registered_and_signed_in(&auth, who)
        .await
        .access_token
}

#[tokio::test]
async fn after_loading_at_start_up_the_first_verification_makes_no_aws_call() {
    let resources = harness::provisioned().await;
    let token = access_token(&resources, "startup_loaded").await;
    let verify = VerifyRequest::new(&token, TokenUse::Access);

    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    let loaded = auth_api(&resources, &proxy, true).await;
    let at_start = proxy.take_calls();
    // The API keys and the Auth API's key (two secrets), and each revocation shard.
    assert_eq!(at_start.get("GetSecretValue"), Some(&2), "{at_start:?}");
    assert!(
        at_start.get("Query").is_some_and(|&n| n >= 1),
        "{at_start:?}"
    );
    loaded.verify(&verify).await.unwrap();
    let first_request = proxy.take_calls();
    assert!(first_request.is_empty(), "{first_request:?}");

    // The same API started without the step: its first verification does the reading.
    let cold = FaultProxy::start(harness::endpoint_url().await).await;
    let unloaded = auth_api(&resources, &cold, false).await;
    assert!(
        cold.take_calls().is_empty(),
        "nothing read before the first request"
    );
    unloaded.verify(&verify).await.unwrap();
    let first_request = cold.take_calls();
    assert_eq!(
        first_request.get("GetSecretValue"),
        Some(&1),
        "{first_request:?}"
    );
    assert!(
        first_request.get("Query").is_some_and(|&n| n >= 1),
        "{first_request:?}"
    );
}

#[tokio::test]
async fn a_load_that_fails_at_start_up_is_left_to_the_first_request() {
    let resources = harness::provisioned().await;
    let token = access_token(&resources, "startup_failed").await;
    let verify = VerifyRequest::new(&token, TokenUse::Access);

    let proxy = FaultProxy::start(harness::endpoint_url().await).await;
    proxy.inject(Fault::always("GetSecretValue", When::Before));
    proxy.inject(Fault::always("Query", When::Before));
    // Starts all the same (each load gives up, logged), and within its bound.
    let auth = auth_api(&resources, &proxy, true).await;
    // While Secrets Manager still fails, the first request cannot check its key: refused.
    let refused = auth.verify(&verify).await.unwrap_err();
    assert!(
        matches!(&refused, roster_client::Error::Api { status, .. } if status.as_u16() == 503),
        "{refused:?}"
    );
    // Once AWS answers, the next request loads what start-up could not, and passes: the failed
    // loads left nothing that refuses it (no interval to wait out).
    proxy.clear();
    proxy.take_calls();
    auth.verify(&verify).await.unwrap();
    let loaded_late = proxy.take_calls();
    assert!(
        loaded_late.contains_key("GetSecretValue") && loaded_late.contains_key("Query"),
        "{loaded_late:?}"
    );
}

//! The integration-test harness: real AWS SDK adapters against one local AWS endpoint per test
//! process, with resources isolated per test by a unique name prefix, so tests run in parallel
//! without seeing each other.
//!
//! The endpoint is `AWS_ENDPOINT_URL` when that answers, otherwise a moto server this process
//! installs (first time only) and starts; it exits with the process.

use roster_platform::guards::ApiKeySettings;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Result;
use aws_config::SdkConfig;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

use roster_infra::resources::Names;
use roster_infra::tools::Quiet;
use roster_local::endpoint::LocalEndpoint;
use roster_local::provision::{Provisioned, provision};
use roster_local::stack::{RunningStack, StackOptions};

/// The region every test stack lives in.
pub const REGION: &str = "us-east-1";

static ENDPOINT_URL: OnceCell<String> = OnceCell::const_new();
/// Kept for the life of the process: dropping it would stop moto under other tests' feet.
static ENDPOINT: Mutex<Option<LocalEndpoint>> = Mutex::new(None);

/// The shared endpoint's URL, starting it on first use.
pub async fn endpoint_url() -> &'static str {
    ENDPOINT_URL
        .get_or_try_init(|| async {
            let endpoint = LocalEndpoint::connect_or_start(0, None, &Quiet).await?;
            let url = endpoint.url().to_owned();
            *ENDPOINT.lock().expect("endpoint lock") = Some(endpoint);
            anyhow::Ok(url)
        })
        .await
        .map(String::as_str)
        .unwrap_or_else(|error| panic!("no local AWS endpoint for the tests: {error:#}"))
}

/// SDK configuration for the shared endpoint. With `ROSTER_TEST_LOG=1` the services' logs
/// are printed (run with `-- --nocapture`); otherwise tests stay quiet.
pub async fn sdk() -> SdkConfig {
    if std::env::var_os("ROSTER_TEST_LOG").is_some() {
        roster_platform::telemetry::init(roster_platform::telemetry::LogFormat::Text);
    }
    roster_platform::aws::local(endpoint_url().await, REGION).await
}

/// A fresh prefix, so each test gets resources of its own.
pub fn unique_prefix() -> String {
    format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// One test's own set of every Roster resource.
pub struct TestResources {
    pub sdk: SdkConfig,
    pub names: Names,
    pub provisioned: Provisioned,
}

/// Provisions every resource under a fresh prefix.
pub async fn provisioned() -> TestResources {
    let sdk = sdk().await;
    let names = Names::new(unique_prefix());
    let provisioned = provision(&sdk, &names)
        .await
        .unwrap_or_else(|error| panic!("provisioning failed: {error:#}"));
    TestResources {
        sdk,
        names,
        provisioned,
    }
}

/// Serves `router` on a free loopback port for the rest of the test; returns its base URL.
pub async fn spawn_router(router: Router) -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// The Auth API of `resources`, served on a free port, with a fresh API key of every scope.
/// Returns the base URL and the key.
pub async fn auth_api(resources: &TestResources) -> (String, String) {
    auth_api_through(resources, endpoint_url().await).await
}

/// Like [`auth_api`], with the Auth API's AWS calls sent to `aws_endpoint` (a fault proxy).
pub async fn auth_api_through(resources: &TestResources, aws_endpoint: &str) -> (String, String) {
    auth_api_configured(resources, aws_endpoint, |_| {}).await
}

/// Like [`auth_api_through`], for counting a route's AWS calls: the revocation set is loaded
/// once and then not refreshed for an hour, since its refresh (at most once a second per
/// instance, whatever the traffic) is no single request's work.
pub async fn auth_api_for_counting(
    resources: &TestResources,
    aws_endpoint: &str,
) -> (String, String) {
    auth_api_configured(resources, aws_endpoint, |config| {
        config.revocation_refresh = std::time::Duration::from_secs(3600);
    })
    .await
}

/// Like [`auth_api_through`], with the configuration changed by `configure` first.
pub async fn auth_api_configured(
    resources: &TestResources,
    aws_endpoint: &str,
    configure: impl FnOnce(&mut roster_auth_api::config::AuthConfig),
) -> (String, String) {
    let mut config = roster_local::stack::auth_config(&resources.provisioned, endpoint_url().await);
    configure(&mut config);
    let sdk = roster_platform::aws::local(aws_endpoint, REGION).await;
    let deps = config
        .deps(&sdk)
        .expect("the Auth API's configuration is valid");
    (
        spawn_router(roster_auth_api::router(deps)).await,
        test_key(resources).await,
    )
}

/// The User API of `resources`, served on a free port, with a fresh API key of every scope.
/// Returns the base URL and the key.
pub async fn user_api(resources: &TestResources) -> (String, String) {
    user_api_through(resources, endpoint_url().await).await
}

/// Like [`user_api`], with the User API's AWS calls sent to `aws_endpoint` (a fault proxy).
pub async fn user_api_through(resources: &TestResources, aws_endpoint: &str) -> (String, String) {
    let deps = user_deps_through(resources, aws_endpoint).await;
    (
        spawn_router(roster_user_api::router(deps)).await,
        test_key(resources).await,
    )
}

/// The User API's dependencies for `resources`, as the local stack configures them, with its
/// AWS calls sent to `aws_endpoint`; nothing loaded yet. The JWKS and the assets are read from
/// the shared endpoint, not through `aws_endpoint`.
pub async fn user_deps_through(
    resources: &TestResources,
    aws_endpoint: &str,
) -> roster_user_api::UserDeps {
    let endpoint = endpoint_url().await;
    let sdk = roster_platform::aws::local(aws_endpoint, REGION).await;
    roster_local::stack::user_config(&resources.provisioned, endpoint)
        .deps(
            &sdk,
            &roster_local::stack::token_settings(&resources.provisioned, endpoint),
            &ApiKeySettings::new(resources.provisioned.api_key_secret.clone()),
        )
        .expect("the User API's configuration is valid")
}

/// A new API key of every scope.
pub async fn test_key(resources: &TestResources) -> String {
    roster_platform::api_keys::KeyAdmin::new(
        aws_sdk_secretsmanager::Client::new(&resources.sdk),
        resources.provisioned.api_key_secret.clone(),
    )
    .create("test-suite", &roster_local::stack::DEV_KEY_SCOPES, None)
    .await
    .expect("an API key")
    .plaintext
}

/// A whole stack (both APIs on free ports, the plumbing, its own resources) on the shared
/// endpoint, with its `local.json` in a fresh directory.
pub async fn running_stack() -> Result<(RunningStack, PathBuf)> {
    running_stack_through(endpoint_url().await).await
}

/// Like [`running_stack`], with every AWS call of the stack (provisioning, the plumbing, each
/// function's) sent to `aws_endpoint`: a fault proxy in front of the shared endpoint.
pub async fn running_stack_through(aws_endpoint: &str) -> Result<(RunningStack, PathBuf)> {
    let prefix = unique_prefix();
    let state_dir = std::env::temp_dir().join(format!("roster-{prefix}"));
    let options = StackOptions {
        prefix,
        region: REGION.to_owned(),
        auth_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        user_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        web_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        state_dir: state_dir.clone(),
    };
    let endpoint = LocalEndpoint::external(aws_endpoint);
    let stack = RunningStack::start(options, endpoint, &Quiet).await?;
    Ok((stack, state_dir))
}

//! The whole system on one machine: the local AWS endpoint, every resource, the event plumbing
//! and both APIs, started together and stopped together.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use roster_auth_api::config::{AuthConfig, MailerConfig, Stores};
use roster_platform::api_keys::{self, KeyAdmin};
use roster_platform::events::EventPublisher;
use roster_platform::guards::{ApiKeySettings, TokenSettings};
use roster_platform::http::CorsSettings;
use roster_platform::openapi::DocsUi;
use roster_projectors::StreamProjector;
use roster_projectors::auth_table::AuthTableProjection;
use roster_projectors::users_table::UsersTableProjection;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::endpoint::LocalEndpoint;
use crate::plumbing::queues::{self, QueuePollOptions, QueueSource};
use crate::plumbing::streams::{
    FailureQueue, StreamPollOptions, StreamPoller, StreamProgress, StreamSource,
};
use crate::plumbing::watch::{PlumbingStatus, WatchOptions, Watchdog, WatchedQueue, WatchedStream};
use crate::provision::{Provisioned, provision};
use crate::web::WebConfig;
use roster_infra::resources::{
    ACTIVATION_MAILER, AUTH_SUBSCRIBER, AUTH_TABLE, BADGE_RULES, Names, USER_SUBSCRIBER,
    USERS_TABLE,
};
use roster_infra::tools::Progress;
use roster_user_api::config::UserConfig;

/// Default loopback ports of the two APIs.
pub const DEFAULT_AUTH_PORT: u16 = 4001;
pub const DEFAULT_USER_PORT: u16 = 4002;

/// The scopes of the development API key: everything.
pub const DEV_KEY_SCOPES: [&str; 3] = ["auth", "users:read", "users:write"];

/// The caller name of the development API key, which says what it is: every scope, and bound
/// to no app client and no source system. Local only; a real caller gets a key bound to its
/// frontends and source systems (`roster api-keys create --clients … --source-systems …`).
pub const DEV_KEY_CALLER: &str = "local-developer-unrestricted";

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Prefix of every resource name.
    pub prefix: String,
    pub region: String,
    pub auth_addr: SocketAddr,
    pub user_addr: SocketAddr,
    /// The example account page (`examples/web`), an origin of its own.
    pub web_addr: SocketAddr,
    /// Where `local.json` is written.
    pub state_dir: PathBuf,
}

/// What a running stack tells scripts and tests: written to `.roster/local.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalFacts {
    pub auth_url: String,
    pub user_url: String,
    /// The example account page: a frontend origin the APIs' CORS allow-list admits.
    #[serde(default)]
    pub web_url: String,
    pub aws_endpoint: String,
    pub region: String,
    pub user_pool_id: String,
    /// App client id by frontend.
    pub client_ids: BTreeMap<String, String>,
    /// The development API key: all scopes, any app client and source system (unrestricted).
    /// Local only: never use it on AWS.
    pub api_key: String,
    pub prefix: String,
    pub event_bus: String,
    pub tables: BTreeMap<String, String>,
    pub bucket: String,
    pub api_key_secret: String,
    /// The process serving the stack.
    pub pid: u32,
    /// The moto process the stack started, if it started one.
    pub moto_pid: Option<u32>,
}

impl LocalFacts {
    /// Where the stack's assets bucket (avatars, badge icons) is served.
    pub fn assets_url(&self) -> String {
        local_assets_url(&self.aws_endpoint, &self.bucket)
    }

    /// The domain the stack's mail is sent from (its mailbox shows that mail only).
    pub fn mail_domain(&self) -> String {
        Names::new(self.prefix.clone()).mail_domain()
    }

    /// The facts of the stack running from `state_dir`, if one wrote them.
    pub fn read(state_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(state_dir.join("local.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

pub struct RunningStack {
    facts: LocalFacts,
    provisioned: Provisioned,
    endpoint: LocalEndpoint,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    state_file: PathBuf,
    status: Arc<std::sync::RwLock<PlumbingStatus>>,
}

/// The file beside `local.json` where a running stack keeps its plumbing's latest status.
pub fn status_file(state_dir: &Path) -> PathBuf {
    state_dir.join("status.json")
}

impl RunningStack {
    /// Provisions everything on `endpoint`, starts the plumbing and both APIs, and writes
    /// `local.json`. Returns once both APIs accept connections.
    pub async fn start(
        options: StackOptions,
        endpoint: LocalEndpoint,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let sdk = roster_platform::aws::local(endpoint.url(), &options.region).await;
        let names = Names::new(options.prefix.clone());

        progress.step(&format!("provisioning stack {:?}", names.prefix()));
        let provisioned = provision(&sdk, &names).await?;
        let previous_key = LocalFacts::read(&options.state_dir).map(|facts| facts.api_key);
        let api_key = dev_api_key(&sdk, &provisioned.api_key_secret, previous_key).await?;

        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        // Bound first: the activation mail links to the account page's own origin.
        let auth = bind(options.auth_addr, "Auth API").await?;
        let user = bind(options.user_addr, "User API").await?;
        let web = bind(options.web_addr, "account page").await?;
        let web_port = web.local_addr()?.port();
        progress.step("starting the event plumbing (stream projectors, subscriber queues)");
        std::fs::create_dir_all(&options.state_dir)
            .with_context(|| format!("creating {}", options.state_dir.display()))?;
        let status = spawn_plumbing(
            &sdk,
            &provisioned,
            endpoint.url(),
            &mailer_config(&provisioned, web_port),
            Some(status_file(&options.state_dir)),
            &shutdown,
            &mut tasks,
        );

        tasks.spawn(run_reconciler(
            function_sdk(&sdk, "auth-reconciler"),
            provisioned.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(run_avatar_sweeper(
            user_config(&provisioned, endpoint.url())
                .profiles(&function_sdk(&sdk, "avatar-sweeper")),
            shutdown.clone(),
        ));

        progress.step("starting the Auth API, the User API and the example account page");
        let facts = LocalFacts {
            auth_url: format!("http://{}", auth.local_addr()?),
            user_url: format!("http://{}", user.local_addr()?),
            web_url: format!("http://localhost:{web_port}"),
            aws_endpoint: endpoint.url().to_owned(),
            region: provisioned.region.clone(),
            user_pool_id: provisioned.user_pool_id.clone(),
            client_ids: provisioned
                .client_ids
                .iter()
                .map(|(frontend, id)| ((*frontend).to_owned(), id.clone()))
                .collect(),
            api_key,
            prefix: provisioned.prefix.clone(),
            event_bus: provisioned.bus_name.clone(),
            tables: provisioned
                .tables
                .iter()
                .map(|(role, table)| ((*role).to_owned(), table.name.clone()))
                .collect(),
            bucket: provisioned.bucket.clone(),
            api_key_secret: provisioned.api_key_secret.clone(),
            pid: std::process::id(),
            moto_pid: endpoint.moto_pid(),
        };
        let cors = local_cors(web_port);
        let mut auth_config = auth_config(&provisioned, endpoint.url());
        auth_config.cors = cors.clone();
        let mut user_config = user_config(&provisioned, endpoint.url());
        user_config.cors = cors;
        let web_router = crate::web::router(WebConfig::for_stack(&facts), reqwest::Client::new());
        let auth_router =
            roster_auth_api::router(auth_config.deps(&function_sdk(&sdk, "auth-api"))?);
        let user_router = roster_user_api::router(user_config.deps(
            &function_sdk(&sdk, "user-api"),
            &token_settings(&provisioned, endpoint.url()),
            &ApiKeySettings::new(provisioned.api_key_secret.clone()),
        )?);
        for (listener, router) in [(auth, auth_router), (user, user_router), (web, web_router)] {
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let serving = roster_platform::http::serve(listener, router, async move {
                    stop.cancelled().await;
                });
                if let Err(error) = serving.await {
                    tracing::error!(%error, "an API server stopped");
                }
            });
        }

        let state_file = options.state_dir.join("local.json");
        write_private(&state_file, &serde_json::to_string_pretty(&facts)?)?;
        Ok(Self {
            facts,
            provisioned,
            endpoint,
            shutdown,
            tasks,
            state_file,
            status,
        })
    }

    /// What the plumbing's watchdog last measured: each poller's lag, each dead-letter
    /// queue's depth.
    pub fn status(&self) -> PlumbingStatus {
        self.status
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn facts(&self) -> &LocalFacts {
        &self.facts
    }

    pub fn provisioned(&self) -> &Provisioned {
        &self.provisioned
    }

    /// Stops the APIs (letting requests in flight finish) and the plumbing, then the moto
    /// this stack started, and removes `local.json`.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.endpoint.stop();
        let _ = std::fs::remove_file(&self.state_file);
    }
}

/// The access key id of the calls the local event source mappings make (the stream pollers,
/// the queue pollers, the on-failure destination, their watchdog): what Lambda's own pollers
/// do on AWS, on a function's behalf but not by its code.
pub const EVENT_SOURCE_MAPPINGS: &str = "event-source-mappings";

/// `sdk` with an access key id of `function`'s own (a binary of
/// [`roster_infra::resources::LAMBDA_BINARIES`], or [`EVENT_SOURCE_MAPPINGS`]): every call
/// its adapters make is signed with it, so a proxy in front of the endpoint can tell which
/// function made it, as each function's role does on AWS. The endpoint accepts any key.
pub fn function_sdk(sdk: &SdkConfig, function: &str) -> SdkConfig {
    use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            function,
            "roster-local",
            None,
            None,
            "roster-local",
        )))
        .build()
}

/// Runs the registration reconciler once a minute, as its schedule does on AWS. Locally each
/// run checks every identity against the pool (one slice: the tables are small), where AWS
/// checks one of `RECONCILE_IDENTITY_SEGMENTS` slices a run.
async fn run_reconciler(sdk: SdkConfig, provisioned: Provisioned, shutdown: CancellationToken) {
    use roster_auth_api::registration::{ABANDONED_AFTER_SECONDS, IdentitySlice, reconcile_with};

    let stores = auth_stores(&provisioned);
    let (table, identity) = (stores.table(&sdk), stores.pool(&sdk));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
        match reconcile_with(
            &table,
            &identity,
            chrono::Duration::seconds(ABANDONED_AFTER_SECONDS),
            IdentitySlice::WHOLE,
        )
        .await
        {
            Ok(report) if report.rolled_back + report.failed + report.identities_gone > 0 => {
                tracing::info!(?report, "reconciled abandoned registrations and identities");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reconciler run failed"),
        }
    }
}

/// Runs the uploads sweep once a minute, as the `avatar-sweeper` schedule does on AWS.
async fn run_avatar_sweeper(
    profiles: roster_user_api::profiles::Profiles,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
        match profiles.sweep_deleted_uploads(chrono::Utc::now()).await {
            Ok(report) if report.swept + report.failed > 0 => {
                tracing::info!(?report, "swept deleted users' uploads");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "uploads sweep failed"),
        }
    }
}

/// The browser origins the local stack's APIs accept: a frontend's dev server on port 5173
/// (the template's default `AllowedOrigins` too), where the stack serves its example page.
pub const LOCAL_FRONTEND_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://127.0.0.1:5173"];

/// The default port of the example account page: the first of [`LOCAL_FRONTEND_ORIGINS`].
pub const DEFAULT_WEB_PORT: u16 = 5173;

/// [`LOCAL_FRONTEND_ORIGINS`], plus the example page's origins when it runs on another port.
fn local_cors(web_port: u16) -> CorsSettings {
    let mut origins = LOCAL_FRONTEND_ORIGINS.map(str::to_owned).to_vec();
    for host in ["localhost", "127.0.0.1"] {
        let origin = format!("http://{host}:{web_port}");
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    CorsSettings { origins }
}

/// The Auth API's configuration for a stack on a local endpoint: the same settings its Lambda
/// reads from the environment on AWS, with the JWKS served by the local endpoint.
pub fn auth_config(provisioned: &Provisioned, endpoint: &str) -> AuthConfig {
    AuthConfig {
        tokens: token_settings(provisioned, endpoint),
        api_keys: ApiKeySettings::new(provisioned.api_key_secret.clone()),
        table: provisioned.table(&AUTH_TABLE).name.clone(),
        server_key_secret: provisioned.server_key_secret.clone(),
        event_bus: provisioned.bus_name.clone(),
        cors: local_cors(DEFAULT_WEB_PORT),
        docs_ui: DocsUi::new(&local_assets_url(endpoint, &provisioned.bucket))
            .expect("the local endpoint's URL is an http URL"),
        revocation_refresh: roster_auth_api::revocations::DEFAULT_INTERVAL,
        mfa_challenge_lifetime: roster_auth_api::mfa::DEFAULT_CHALLENGE_LIFETIME,
        resend_limits: roster_auth_api::activation::ResendLimits::default(),
    }
}

/// The activation mailer's configuration for a stack on a local endpoint: the stack's own
/// sender, and a link to the example account page on `web_port`, which activates the code in
/// its fragment (`#activate=…`, never sent to a server).
pub fn mailer_config(provisioned: &Provisioned, web_port: u16) -> MailerConfig {
    MailerConfig {
        table: provisioned.table(&AUTH_TABLE).name.clone(),
        server_key_secret: provisioned.server_key_secret.clone(),
        mail_from: provisioned.mail_from.clone(),
        activation_link: roster_auth_api::mailer::ActivationLink::parse(&format!(
            "http://localhost:{web_port}/#activate={{code}}"
        ))
        .ok()
        .flatten(),
    }
}

/// The Auth API's table and pool, for the reconciler and the subscriber.
pub fn auth_stores(provisioned: &Provisioned) -> Stores {
    Stores {
        table: provisioned.table(&AUTH_TABLE).name.clone(),
        user_pool_id: provisioned.user_pool_id.clone(),
    }
}

/// The User API's configuration for a stack on a local endpoint: assets are served by the
/// endpoint itself, path-style.
pub fn user_config(provisioned: &Provisioned, endpoint: &str) -> UserConfig {
    UserConfig {
        table: provisioned.table(&USERS_TABLE).name.clone(),
        bucket: provisioned.bucket.clone(),
        assets_base_url: local_assets_url(endpoint, &provisioned.bucket),
        cors: local_cors(DEFAULT_WEB_PORT),
        key_secret: Some(provisioned.user_key_secret.clone()),
    }
}

/// Where a local endpoint serves the assets bucket: path-style, as S3 on moto answers.
fn local_assets_url(endpoint: &str, bucket: &str) -> String {
    format!("{endpoint}/{bucket}")
}

/// The pool's token settings, with the JWKS served by the local endpoint.
pub fn token_settings(provisioned: &Provisioned, endpoint: &str) -> TokenSettings {
    let mut settings = TokenSettings::for_pool(
        &provisioned.region,
        &provisioned.user_pool_id,
        provisioned.client_ids.values().cloned().collect(),
    );
    settings.jwks_url = format!(
        "{endpoint}/{}/.well-known/jwks.json",
        provisioned.user_pool_id
    );
    settings
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "the {what} cannot listen on {addr} (is another stack running? choose another port)"
        )
    })
}

/// Starts the event plumbing and its watchdog; returns where the watchdog keeps its status.
fn spawn_plumbing(
    sdk: &SdkConfig,
    provisioned: &Provisioned,
    endpoint: &str,
    mailer: &MailerConfig,
    status_file: Option<PathBuf>,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Arc<std::sync::RwLock<PlumbingStatus>> {
    let publisher = |function: &str| {
        EventPublisher::new(
            aws_sdk_eventbridge::Client::new(&function_sdk(sdk, function)),
            provisioned.bus_name.clone(),
        )
    };
    let mappings = function_sdk(sdk, EVENT_SOURCE_MAPPINGS);
    let streams_client = aws_sdk_dynamodbstreams::Client::new(&mappings);
    let sqs = aws_sdk_sqs::Client::new(&mappings);
    let projectors: [(_, Arc<dyn roster_platform::lambda::StreamBatchHandler>); 2] = [
        (
            &AUTH_TABLE,
            Arc::new(StreamProjector::new(
                "auth-projector",
                AuthTableProjection,
                publisher("auth-projector"),
            )),
        ),
        (
            &USERS_TABLE,
            Arc::new(StreamProjector::new(
                "users-projector",
                UsersTableProjection,
                publisher("users-projector"),
            )),
        ),
    ];
    let mut watched_streams = Vec::new();
    for (table, projector) in projectors {
        let facts = provisioned.table(table);
        let progress = Arc::new(StreamProgress::default());
        watched_streams.push(WatchedStream {
            table: facts.name.clone(),
            stream_arn: facts.stream_arn.clone(),
            progress: Arc::clone(&progress),
        });
        let poller = StreamPoller {
            client: streams_client.clone(),
            source: StreamSource {
                table_name: facts.name.clone(),
                stream_arn: facts.stream_arn.clone(),
                region: provisioned.region.clone(),
                function_name: format!("{}-{}-projector", provisioned.prefix, table.name),
            },
            handler: projector,
            options: StreamPollOptions::default(),
            failures: Some(FailureQueue {
                client: sqs.clone(),
                queue_url: provisioned.stream_failures_queue_url.clone(),
            }),
            progress,
        };
        tasks.spawn(poller.run(shutdown.clone()));
    }
    let profiles =
        |function: &str| user_config(provisioned, endpoint).profiles(&function_sdk(sdk, function));
    let auth_stores = auth_stores(provisioned);
    let auth_subscriber = function_sdk(sdk, "auth-subscriber");
    let subscribers: [(_, Arc<dyn roster_platform::lambda::QueueBatchHandler>); 4] = [
        (
            &AUTH_SUBSCRIBER,
            Arc::new(roster_auth_api::subscriber::subscriber(
                auth_stores.table(&auth_subscriber),
                auth_stores.pool(&auth_subscriber),
            )),
        ),
        (
            &USER_SUBSCRIBER,
            Arc::new(roster_user_api::subscriber::subscriber(profiles(
                "user-subscriber",
            ))),
        ),
        (
            &BADGE_RULES,
            Arc::new(roster_user_api::badge_rules::subscriber(profiles(
                "badge-rules",
            ))),
        ),
        (
            &ACTIVATION_MAILER,
            Arc::new(mailer.subscriber(&function_sdk(sdk, "activation-mailer"))),
        ),
    ];
    for (spec, subscriber) in subscribers {
        let facts = provisioned.subscriber(spec);
        let source = QueueSource {
            queue_url: facts.queue_url.clone(),
            queue_arn: facts.queue_arn.clone(),
            region: provisioned.region.clone(),
        };
        tasks.spawn(queues::run(
            sqs.clone(),
            source,
            subscriber,
            QueuePollOptions::default(),
            shutdown.clone(),
        ));
    }
    let names = roster_infra::resources::Names::new(provisioned.prefix.clone());
    let queue = |name: String, url: &str| WatchedQueue {
        name,
        url: url.to_owned(),
    };
    let mut dead_letter_queues: Vec<WatchedQueue> = roster_infra::resources::SUBSCRIBERS
        .iter()
        .map(|spec| {
            let facts = provisioned.subscriber(spec);
            queue(names.dead_letter_queue(spec), &facts.dead_letter_queue_url)
        })
        .collect();
    dead_letter_queues.push(queue(
        names.stream_failures_queue(),
        &provisioned.stream_failures_queue_url,
    ));
    let status = Arc::default();
    let watchdog = Watchdog {
        streams_client,
        sqs,
        streams: watched_streams,
        queues: roster_infra::resources::SUBSCRIBERS
            .iter()
            .map(|spec| queue(names.queue(spec), &provisioned.subscriber(spec).queue_url))
            .collect(),
        dead_letter_queues,
        options: WatchOptions::default(),
        status: Arc::clone(&status),
        file: status_file,
    };
    tasks.spawn(watchdog.run(shutdown.clone()));
    status
}

/// The development API key: the previous one if the secret still holds it, otherwise a new
/// one, issued like any other key but unrestricted (caller [`DEV_KEY_CALLER`]).
async fn dev_api_key(sdk: &SdkConfig, secret: &str, previous: Option<String>) -> Result<String> {
    let admin = KeyAdmin::new(aws_sdk_secretsmanager::Client::new(sdk), secret);
    if let Some(previous) = previous {
        let hash = api_keys::hash(&previous);
        if admin
            .list()
            .await?
            .iter()
            .any(|record| record.sha256 == hash)
        {
            return Ok(previous);
        }
    }
    Ok(admin
        .create(DEV_KEY_CALLER, &DEV_KEY_SCOPES, None)
        .await?
        .plaintext)
}

/// Writes a file only its owner can read: it holds the development API key.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

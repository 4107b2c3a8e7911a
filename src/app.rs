//! Wiring: `build` turns a configuration and a database pool into the application, and
//! `App::serve` runs it on a listener until the shutdown signal. Tests call the same two
//! functions as `callplane serve`, on port 0 with a database of their own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::calls::Calls;
use crate::config::{Config, Secret};
use crate::esl::Supervisor;
use crate::http::{self, AppState, auth::ApiKeys};
use crate::metrics::Metrics;
use crate::storage::{self, Storage};
use crate::store;
use crate::webhooks;

pub struct App {
    state: AppState,
    /// Flipped to true to stop the background tasks (ESL supervisor, webhook worker).
    stop: tokio::sync::watch::Sender<bool>,
    /// The webhook delivery worker, started by `serve`; `None` when no webhook URL is set.
    webhooks: Option<webhooks::Worker>,
    /// The server secret (upload tokens, signed URLs), from config or the database.
    pub secret: Secret,
}

/// Builds the application. The server secret comes from the configuration or, failing that,
/// from the database, where the first replica to start stores a random one.
pub async fn build(config: Config, pool: PgPool) -> anyhow::Result<App> {
    let secret = match &config.secret {
        Some(s) => s.clone(),
        None => {
            let candidate = random_secret();
            let stored = store::settings::get_or_insert(&pool, "server_secret", &candidate)
                .await
                .context("reading the server secret from the database")?;
            Secret::new(stored)
        }
    };
    let webhooks = match webhooks::Settings::from_config(&config.webhook)
        .map_err(|p| anyhow::anyhow!("webhook configuration: {p}"))?
    {
        Some(settings) => Some(
            webhooks::Worker::new(pool.clone(), settings)
                .context("building the webhook HTTP client")?,
        ),
        None => None,
    };
    let api_keys = ApiKeys::new(config.api.keys.iter().map(|k| k.expose()));
    let storage = open_storage(&config, &secret).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(storage.clone().run_spool(stopped.clone()));
    let esl = Supervisor::start(
        config.esl.nodes.clone(),
        config.esl.password.expose().to_string(),
        stopped,
    );
    let config = Arc::new(config);
    let calls = Calls::new(
        pool.clone(),
        esl.clone(),
        config.clone(),
        secret.clone(),
        Some(storage.clone()),
    );
    calls.start_tasks(stop.subscribe());
    let directory = Arc::new(crate::directory::DirectoryCache::new(
        crate::http::fsapi::xml_curl::DIRECTORY_CACHE_USERS,
    ));
    tokio::spawn(
        directory
            .clone()
            .run_invalidation(pool.clone(), stop.subscribe()),
    );
    let state = AppState {
        pool,
        config,
        metrics: Arc::new(Metrics::new()),
        api_keys,
        esl,
        secret: secret.clone(),
        calls,
        storage,
        directory,
    };
    Ok(App {
        state,
        stop,
        webhooks,
        secret,
    })
}

impl App {
    pub fn router(&self) -> Router {
        http::router(self.state.clone())
    }

    /// Serves HTTP on `listener` until `shutdown` completes, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let worker = self.webhooks.map(|w| w.start(self.stop.subscribe()));
        let http = &self.state.config.http;
        let limits = crate::http::server::ServerLimits {
            header_read_timeout: Duration::from_millis(http.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(http.body_read_timeout_ms),
            max_connections: http.max_connections,
            max_connections_per_peer: http.max_connections_per_peer,
        };
        crate::http::server::serve(
            listener,
            router,
            limits,
            self.state.metrics.clone(),
            shutdown,
        )
        .await;
        // HTTP has drained; now say goodbye to the FreeSWITCH nodes and let the webhook worker
        // finish its requests in flight, both bounded so that a hung socket cannot hold the
        // process. A webhook abandoned here is sent again once its lease runs out.
        let _ = self.stop.send(true);
        let webhooks_done = async {
            if let Some(mut handle) = worker
                && tokio::time::timeout(Duration::from_secs(3), &mut handle)
                    .await
                    .is_err()
            {
                handle.abort();
            }
        };
        let esl_done = tokio::time::timeout(Duration::from_secs(3), self.state.esl.stopped());
        let _ = tokio::join!(esl_done, webhooks_done);
        Ok(())
    }
}

/// Opens the recordings store. A bucket that does not exist or refuses the credentials stops
/// the start with the reason; one that cannot be reached is logged loudly and uploads are
/// spooled until it answers.
async fn open_storage(config: &Config, secret: &Secret) -> anyhow::Result<Storage> {
    let c = &config.storage;
    let settings = storage::Settings {
        url: c.url.clone(),
        path_style: c.path_style,
        endpoint: c.endpoint.clone(),
        region: c.region.clone(),
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.as_ref().map(|s| s.expose().to_string()),
        spool_dir: c.spool_dir.clone().into(),
        spool_max_bytes: c.spool_max_bytes,
        spool_retry: Duration::from_millis(c.spool_retry_ms),
        public_url: config.public_url(),
        secret: secret.expose().to_string(),
    };
    let storage = Storage::open(settings)
        .await
        .with_context(|| format!("opening recording storage {}", c.url))?;
    if let Err(e) = storage.check().await {
        if !e.is_retryable() {
            anyhow::bail!("recording storage {} is not usable: {e}", c.url);
        }
        tracing::error!(error = %e, storage = %c.url, "recording storage unreachable at start; uploads are spooled until it answers");
    }
    Ok(storage)
}

/// 32 random bytes, URL-safe base64.
fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

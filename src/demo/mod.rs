//! `callplane demo`: the whole service in one command with no FreeSWITCH. It starts an
//! embedded fsim (the project's FreeSWITCH simulator: Event Socket, CDR and recording posts)
//! on a free loopback port, a webhook receiver that verifies signatures, and callplane itself
//! wired to both with a generated API key, a recordings directory in a temporary folder and a
//! database of its own (`callplane_demo`). It then tells one click-to-call from request to
//! signed webhook and keeps serving until Ctrl-C (or exits, with `--once`).
//!
//! Safety: the demo prints its API key, so it listens on loopback only; and it only ever
//! opens a database whose name starts with `callplane_demo`, never the service's own.

mod database;
mod receiver;
mod story;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::config::{Config, DbUrl, Secret};
use crate::{app, store};
pub use database::{DEMO_DATABASE, demo_database_url};
use story::{Api, say};

/// What `callplane demo` was asked for.
pub struct Options {
    /// HTTP listen address; must be loopback.
    pub listen: SocketAddr,
    /// `--database-url`; `None`: the configured server with the database `callplane_demo`.
    pub database_url: Option<String>,
    /// Exit after the sample call's webhook instead of serving until `shutdown`.
    pub once: bool,
}

/// Runs the demo. `base` supplies the database server (and pool settings); everything else is
/// the demo's own. Returns once the flow is told (`once`) or `shutdown` completes.
pub async fn run(
    base: &Config,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if !opts.listen.ip().is_loopback() {
        bail!(
            "demo: --listen {} is not a loopback address; the demo prints its API key, so it \
             only listens on 127.0.0.1 or [::1]",
            opts.listen
        );
    }
    let db_url = demo_database_url(base.database_url.expose(), opts.database_url.as_deref())
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| {
            format!(
                "demo: cannot listen on {} (try --listen 127.0.0.1:0 for any free port)",
                opts.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let files = TempDir::new()?;

    let api_key = format!("demo_{}", random_b64(&URL_SAFE_NO_PAD, 24));
    let webhook_secret = format!("whsec_{}", random_b64(&STANDARD, 24));
    let esl_password = random_b64(&URL_SAFE_NO_PAD, 12);

    let hooks_listener = tokio::net::TcpListener::bind((addr.ip(), 0)).await?;
    let (hooks_addr, mut webhooks) = receiver::start(hooks_listener, &webhook_secret)?;
    let sim = start_switch(&esl_password, &base_url).await?;

    let mut config = Config {
        listen: addr,
        database_url: DbUrl::new(db_url),
        public_url: Some(base_url.clone()),
        database: base.database.clone(),
        ..Config::default()
    };
    config.api.keys = vec![Secret::new(api_key.clone())];
    config.esl.nodes = vec![sim.addr().to_string()];
    config.esl.password = Secret::new(esl_password);
    config.storage.url = format!("file://{}", files.0.join("recordings").display());
    config.storage.spool_dir = files.0.join("spool").display().to_string();
    config.webhook.url = Some(format!("http://{hooks_addr}/hooks/calls"));
    config.webhook.secret = Some(Secret::new(webhook_secret));
    // Short polling so that the story moves as fast as the call does.
    config.webhook.poll_interval_ms = 100;
    config.calls.sweep_interval_ms = 500;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;

    let shown = config.database_url.redacted();
    let pool = open_database(&config).await?;
    let app = app::build(config, pool).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(listener, async {
        let _ = stopped.await;
    }));

    say(&format!("callplane demo on {base_url}"));
    say(&format!("  database {shown} (the demo's own)"));
    say(&format!(
        "  FreeSWITCH simulated by fsim on {} (Event Socket); recordings in {}",
        sim.addr(),
        files.0.display()
    ));
    say(&format!(
        "  webhook receiver on http://{hooks_addr}/hooks/calls (checks every signature)"
    ));
    say(&format!("  API key (shown once): {api_key}"));

    let api = Api {
        client: reqwest::Client::new(),
        base: base_url.clone(),
        key: api_key.clone(),
    };
    let flow = async {
        api.wait_for_switch().await?;
        story::set_up(&api).await?;
        story::follow_call(&api, &mut webhooks).await
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let result = tokio::select! {
        r = flow => r.map(Some),
        _ = &mut shutdown => Ok(None),
    };
    let finished = match result {
        Ok(Some(call)) => {
            say(&summary(&base_url, &api_key, &call));
            if !opts.once {
                say("Serving until Ctrl-C; calls you place through the API are told here too.");
                tokio::spawn(tell_later_webhooks(webhooks));
                shutdown.await;
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(10), served).await {
        Ok(Ok(Err(e))) => tracing::error!("demo: the service stopped with an error: {e:#}"),
        Ok(Err(e)) => tracing::error!("demo: the service task failed: {e}"),
        _ => {}
    }
    sim.stop();
    finished
}

/// The simulated switch: extension 1001 registered, the sample line known, every call
/// answered after a short ring and hung up by the customer a little later; its CDRs go to
/// this callplane (its recordings follow the upload hook callplane puts in each originate).
async fn start_switch(password: &str, base_url: &str) -> anyhow::Result<fsim::Sim> {
    let sim = fsim::Sim::start_local(fsim::SimConfig {
        hostname: "fsim-demo".into(),
        password: password.into(),
        default_outcome: fsim::OutcomeRule {
            ring_ms: 800,
            talk_ms: 2500,
            ..fsim::OutcomeRule::default()
        },
        // As freeswitch-conf/xml_cdr.conf.xml: the customer leg's CDR is posted too, and the
        // webhook reports it.
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..fsim::CdrConfig::default()
        },
        ..fsim::SimConfig::default()
    })
    .await
    .context("demo: starting the FreeSWITCH simulator")?;
    sim.register_extension(story::EXTENSION);
    sim.add_gateway(fsim::GatewayConfig {
        name: story::GATEWAY.into(),
        // An IP-authenticated trunk: nothing to register, up as far as the switch knows.
        state: "NOREG".into(),
        ..Default::default()
    });
    sim.set_cdr_url(Some(format!("{base_url}/fsapi/cdr")));
    Ok(sim)
}

async fn open_database(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    let url = config.database_url.expose();
    let shown = config.database_url.redacted();
    store::create_database_if_missing(url)
        .await
        .with_context(|| format!("demo: connecting to {shown}"))?;
    let pool = store::connect(url, &config.database)
        .await
        .with_context(|| format!("demo: connecting to {shown}"))?;
    store::migrate(&pool)
        .await
        .context("demo: applying migrations")?;
    Ok(pool)
}

fn summary(base_url: &str, api_key: &str, call: &str) -> String {
    format!(
        "\nThat was the whole path: HTTP API, Postgres, the Event Socket, the switch's CDR and \
         recording posts, and a signed webhook.\n\
         \x20 call detail:  curl -s -H 'Authorization: Bearer {api_key}' '{base_url}/v1/call/detail?uuid={call}'\n\
         \x20 console:      {base_url}/console/\n\
         \x20 API docs:     {base_url}/docs/\n\
         \x20 metrics:      {base_url}/metrics"
    )
}

/// After the sample flow: one line per further webhook.
async fn tell_later_webhooks(
    mut webhooks: tokio::sync::mpsc::UnboundedReceiver<receiver::Received>,
) {
    while let Some(hook) = webhooks.recv().await {
        let verified = if hook.verified {
            "signature verified"
        } else {
            "signature NOT verified"
        };
        say(&format!(
            "webhook delivered: {} for call {} (status {}), webhook-id {}, {verified}",
            hook.body["type"].as_str().unwrap_or("?"),
            hook.body["call_uuid"].as_str().unwrap_or("?"),
            hook.body["status"].as_str().unwrap_or("?"),
            hook.webhook_id
        ));
    }
}

fn random_b64(engine: &impl Engine, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    engine.encode(bytes)
}

/// A directory of the demo's own under the system temp dir, removed when the demo ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("callplane-demo-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("demo: creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! The `callplane` command: parses arguments, sets up logging, loads configuration and hands
//! over to `app`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use callplane::{app, config::Config, demo, store};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "callplane",
    version,
    about = "Call-center middle platform between business systems and FreeSWITCH",
    long_about = "callplane places click-to-call calls through FreeSWITCH over the Event Socket, \
        manages extensions and lines (gateways), answers FreeSWITCH's xml_curl, CDR and recording \
        posts, and sends one signed webhook per finished call.\n\nConfiguration: built-in defaults, \
        then --config FILE (or CALLPLANE_CONFIG), then environment variables such as \
        CALLPLANE_LISTEN and DATABASE_URL. See config/default.toml for every key."
)]
struct Cli {
    /// TOML configuration file (keys as in config/default.toml).
    #[arg(long, global = true, env = "CALLPLANE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: create the database if missing, migrate, then serve HTTP until SIGINT/SIGTERM.
    Serve {
        /// Do not apply migrations at start (for deployments that run `callplane migrate` separately).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Create the database if missing, apply migrations, and exit.
    Migrate,
    /// Print the effective configuration as TOML, with secrets redacted, and exit.
    PrintConfig,
    /// Load the CDR files FreeSWITCH kept in its err-log-dir (`[a_]<uuid>.cdr.xml`,
    /// `.cdr.json`) while callplane was unreachable. Safe to run again: a CDR already stored is
    /// skipped. Prints progress and a summary (imported, already present, unreadable).
    ImportCdrs {
        /// The err-log-dir of mod_xml_cdr or mod_json_cdr.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Try callplane without FreeSWITCH: start it with an embedded simulator (fsim), a sample
    /// extension (1001) and line (demo-carrier), a webhook receiver, and place one click-to-call,
    /// printing each step: answered, ended, CDR stored, recording stored, webhook verified.
    /// Uses its own database (`callplane_demo` on the configured server) and a temporary
    /// recordings directory; prints a generated API key; serves until Ctrl-C.
    Demo {
        /// HTTP listen address; loopback only, since the demo prints its API key.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Postgres URL of the demo database, whose name must start with `callplane_demo`.
        /// Default: the configured database server (DATABASE_URL) with the database
        /// `callplane_demo`, created if missing.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Exit after the sample call's webhook instead of serving until Ctrl-C.
        #[arg(long)]
        once: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo tells its story on stdout; routine logs would drown it, so only warnings show
    // unless RUST_LOG asks for more.
    let default_filter = match cli.command {
        Command::Demo { .. } => "warn",
        _ => "info,sqlx=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("callplane: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::PrintConfig = cli.command {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { no_migrate } => serve(config, no_migrate).await,
            Command::Migrate => prepare_database(&config, true).await.map(|_| ()),
            Command::ImportCdrs { dir } => import_cdrs(&config, &dir).await,
            Command::Demo {
                listen,
                database_url,
                once,
            } => {
                let opts = demo::Options {
                    listen,
                    database_url,
                    once,
                };
                demo::run(&config, opts, shutdown_signal()).await
            }
            Command::PrintConfig => unreachable!(),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn prepare_database(config: &Config, migrate: bool) -> anyhow::Result<sqlx::PgPool> {
    let url = config.database_url.expose();
    let shown = config.database_url.redacted();
    // Connect first: the maintenance database is needed only when ours does not exist yet.
    let pool = match store::connect(url, &config.database).await {
        Err(e) if store::is_missing_database(&e) => {
            if store::create_database_if_missing(url)
                .await
                .with_context(|| format!("connecting to {shown}"))?
            {
                tracing::info!(database = %shown, "created the database");
            }
            store::connect(url, &config.database).await
        }
        connected => connected,
    }
    .with_context(|| format!("connecting to {shown}"))?;
    if migrate {
        store::migrate(&pool).await.context("applying migrations")?;
        tracing::info!(database = %shown, "database ready, migrations applied");
    } else {
        tracing::info!(database = %shown, "database connected (migrations skipped: --no-migrate)");
    }
    Ok(pool)
}

async fn import_cdrs(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    let pool = prepare_database(config, true).await?;
    let summary = callplane::import::import_cdrs(&pool, dir, &mut std::io::stderr()).await?;
    eprintln!("import-cdrs: {summary}");
    Ok(())
}

async fn serve(config: Config, no_migrate: bool) -> anyhow::Result<()> {
    config.check_serve().map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool = prepare_database(&config, !no_migrate).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    if config.public_url.is_none() {
        // Hook and recording URLs must name the port actually bound (listen may say :0).
        config.public_url = Some(format!("http://{addr}"));
    }
    log_startup(&config, addr);
    let app = app::build(config, pool).await?;
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

fn log_startup(config: &Config, addr: std::net::SocketAddr) {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "callplane listening on http://{addr} (public URL {})",
        config.public_url()
    );
    tracing::info!(nodes = %config.esl.nodes.join(","), "FreeSWITCH event socket nodes configured");
    tracing::info!(storage = %config.storage.url, "recordings storage");
    if config.api.keys.is_empty() {
        tracing::warn!("no API keys configured: /v1 is open to loopback callers only");
    }
    match (&config.webhook.url, &config.webhook.secret) {
        (None, _) => tracing::info!("webhooks disabled (CALLPLANE_WEBHOOK_URL not set)"),
        (Some(u), None) => {
            tracing::warn!(url = %u, "webhooks will be sent UNSIGNED: set CALLPLANE_WEBHOOK_SECRET")
        }
        (Some(u), Some(_)) => tracing::info!(url = %u, "webhooks enabled, signed"),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

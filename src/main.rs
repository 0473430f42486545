//! `bazaar`: the one binary. `serve` (the default), `migrate`, `demo`, `import`, `export`.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use bazaar_store::{DEFAULT_SQLITE_PATH, Store, redact_url};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "bazaar",
    version,
    about = "Rural e-commerce public service platform"
)]
struct Cli {
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DB. Default: sqlite:data/bazaar.db
    /// (created on first start).
    #[arg(long, env = "BAZAAR_DATABASE_URL", global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the storefront and API (the default).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Load demo data when the database is empty.
        #[arg(long)]
        demo: bool,
        /// Directory of uploaded product photos.
        #[arg(long, env = "BAZAAR_MEDIA_DIR", default_value = "data/media")]
        media_dir: std::path::PathBuf,
        /// Minutes a new order waits for payment before it is cancelled and its stock released.
        #[arg(long, env = "BAZAAR_PAYMENT_TIMEOUT_MINUTES", default_value_t = 30,
              value_parser = clap::value_parser!(u32).range(1..=10080))]
        payment_timeout_minutes: u32,
    },
    /// Apply pending migrations.
    Migrate,
    /// Load demo data into an empty database.
    Demo,
    /// Import a CSV file of regions or nodes (all or nothing).
    Import {
        /// regions or nodes.
        kind: String,
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Export regions or nodes as CSV to standard output.
    Export {
        /// regions or nodes.
        kind: String,
    },
}

async fn open(url: &Option<String>) -> Result<(Store, bool)> {
    let (url, default) = match url {
        Some(u) => (u.clone(), false),
        None => (format!("sqlite:{DEFAULT_SQLITE_PATH}"), true),
    };
    let store = Store::connect(&url, default)
        .await
        .with_context(|| format!("opening database {}", redact_url(&url)))?;
    store.migrate().await?;
    Ok((store, default))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tantivy=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let cmd = cli.cmd.unwrap_or(Cmd::Serve {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        demo: false,
        media_dir: "data/media".into(),
        payment_timeout_minutes: 30,
    });
    match cmd {
        Cmd::Serve {
            addr,
            demo,
            media_dir,
            payment_timeout_minutes,
        } => {
            let (store, default) = open(&cli.database_url).await?;
            if (demo || default) && store.is_empty().await? {
                let s = store.load_demo().await?;
                tracing::info!(?s, "demo data loaded");
            }
            let state = bazaar_web::AppState::new(store)
                .await
                .map_err(|e| anyhow::anyhow!("building the search index: {e}"))?
                .with_media(std::sync::Arc::new(bazaar_web::media::DiskPhotos::new(
                    media_dir,
                )));
            let mut state = state;
            state.pay_window_ms = i64::from(payment_timeout_minutes) * 60 * 1000;
            // The payment deadline: cancel unpaid orders and release their stock. Safe on
            // several nodes at once (each cancellation is guarded by the order's status).
            let expirer = state.store.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    match expirer.expire_unpaid(bazaar_domain::time::now_ms()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(orders = n, "unpaid orders cancelled"),
                        Err(e) => tracing::error!(error = %e, "expiring unpaid orders failed"),
                    }
                    match expirer
                        .complete_delivered(bazaar_domain::time::now_ms())
                        .await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(orders = n, "delivered orders completed"),
                        Err(e) => tracing::error!(error = %e, "completing orders failed"),
                    }
                }
            });
            // Other nodes may change the catalog: keep this node's search index current.
            let refresher = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
                loop {
                    tick.tick().await;
                    if let Err(e) = refresher.refresh_if_stale().await {
                        tracing::warn!(error = %e, "search refresh failed");
                    }
                }
            });
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            tracing::info!("Bazaar is serving at http://{addr}");
            axum::serve(
                listener,
                bazaar_web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Cmd::Migrate => {
            open(&cli.database_url).await?;
            println!("migrations applied");
        }
        Cmd::Demo => {
            let (store, _) = open(&cli.database_url).await?;
            let s = store.load_demo().await?;
            println!("demo data loaded: {s:?}");
        }
        Cmd::Import { kind, file } => {
            let (store, _) = open(&cli.database_url).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = match kind.as_str() {
                "regions" => store.import_regions(None, &bytes).await,
                "nodes" => store.import_nodes(None, &bytes).await,
                _ => bail!("unknown kind {kind:?}: use regions or nodes"),
            };
            match r {
                Ok(s) => println!("imported: {} created, {} updated", s.created, s.updated),
                Err(bazaar_store::StoreError::Csv(rows)) => {
                    eprintln!("{} rejected; nothing was imported:", file.display());
                    for r in rows {
                        eprintln!("  line {}, column {:?}: {}", r.line, r.column, r.reason);
                    }
                    std::process::exit(1);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Cmd::Export { kind } => {
            let (store, _) = open(&cli.database_url).await?;
            let text = match kind.as_str() {
                "regions" => store.export_regions(None).await?,
                "nodes" => store.export_nodes(None).await?,
                _ => bail!("unknown kind {kind:?}: use regions or nodes"),
            };
            print!("{text}");
        }
    }
    Ok(())
}

//! `bazaar`: the one binary. `serve` (the default), `migrate`, `demo`, `import`, `export`,
//! `solve` (a routing benchmark instance) and `plan` (a day's joint delivery routes).
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use bazaar_integrations::{sms::TextGateway, wechat::TemplateChannel};
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
    /// `serve`'s options, for `bazaar` without a subcommand.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

/// The options of `serve`, the same with and without the subcommand; each is also read from
/// its `BAZAAR_…` variable.
#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BAZAAR_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Load demo data when the database is empty.
    #[arg(long, env = "BAZAAR_DEMO")]
    demo: bool,
    /// The address people open, e.g. https://bazaar.example.cn: with `https://`, cookies are
    /// `Secure`. Without it they are `Secure` only when a trusted proxy says the request came
    /// over HTTPS (`X-Forwarded-Proto`), so signing in works over plain HTTP on a LAN.
    #[arg(long, env = "BAZAAR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Do not run background jobs in this process (run `bazaar worker` elsewhere).
    #[arg(long, env = "BAZAAR_NO_WORKER")]
    no_worker: bool,
    /// Directory of uploaded product photos.
    #[arg(long, env = "BAZAAR_MEDIA_DIR", default_value = "data/media")]
    media_dir: std::path::PathBuf,
    /// Minutes a new order waits for payment before it is cancelled and its stock released.
    #[arg(long, env = "BAZAAR_PAYMENT_TIMEOUT_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=10080))]
    payment_timeout_minutes: u32,
    /// An OSRM-compatible server for road distances in route planning, e.g.
    /// http://127.0.0.1:5000; estimated from coordinates when not given.
    #[arg(long, env = "BAZAAR_OSRM_URL")]
    osrm: Option<String>,
    /// The salt of the 快递100 tracking subscription (verifies its pushes to
    /// /api/v1/tracking/kuaidi100); without it, the one kept in the database (a demo
    /// database has `bazaar-demo`; a real one none, and pushes are refused). Prefer the
    /// environment.
    #[arg(long, env = "BAZAAR_KUAIDI100_SALT", hide_env_values = true)]
    kuaidi100_salt: Option<String>,
    #[command(flatten)]
    notify: NotifyArgs,
    /// The sandbox payment provider (no money moves): `on` or `off`. Without it, on only
    /// for a database loaded with demo data.
    #[arg(long, env = "BAZAAR_PAYMENT_SANDBOX", value_parser = ["on", "off"])]
    payment_sandbox: Option<String>,
    /// A reverse proxy whose X-Forwarded-For names the client (an address or a network,
    /// e.g. 10.0.0.0/8; repeat or separate with commas). Without it the connection's
    /// peer is the client.
    #[arg(long, env = "BAZAAR_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxy: Vec<bazaar_web::app::auth::ProxyNet>,
    /// Connections served at once; more are answered 503.
    #[arg(long, env = "BAZAAR_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(8..=100_000))]
    max_connections: u32,
    /// The most seconds one route plan may search on this server (a plan keeps a core
    /// busy that long); a longer time limit asked for is cut to it.
    #[arg(long, env = "BAZAAR_MAX_PLAN_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    max_plan_seconds: u64,
}

/// Where notifications go (SMS, WeChat), for `serve` and `worker` alike.
#[derive(clap::Args, Clone)]
struct NotifyArgs {
    /// An SMS gateway (https://… or http://host:port/path) that takes POSTed
    /// `{"phone", "text", "kind"}`, with the bearer token in BAZAAR_SMS_GATEWAY_TOKEN;
    /// without it or WeChat, notifications (pickup codes, reminders) go to the log.
    #[arg(long, env = "BAZAAR_SMS_GATEWAY_URL")]
    sms_gateway: Option<String>,
    /// The app id of the centre's WeChat service account: notifications for phones and
    /// accounts bound to a follower go as its template messages (before SMS). The app
    /// secret comes from BAZAAR_WECHAT_SECRET only.
    #[arg(long, env = "BAZAAR_WECHAT_APPID")]
    wechat_appid: Option<String>,
    /// The WeChat template message's id.
    #[arg(long, env = "BAZAAR_WECHAT_TEMPLATE_ID")]
    wechat_template: Option<String>,
    /// The template's fields, `key=part` with parts title, body, time.
    #[arg(
        long,
        env = "BAZAAR_WECHAT_FIELDS",
        default_value = "first=title,keyword1=body,keyword2=time"
    )]
    wechat_fields: String,
    /// The WeChat API's address (another for a relay).
    #[arg(long, env = "BAZAAR_WECHAT_API", default_value = bazaar_integrations::wechat::WECHAT_API)]
    wechat_api: String,
}

/// What `bazaar worker` is told: where notifications go, and how runs are planned.
#[derive(clap::Args, Clone)]
struct WorkerArgs {
    #[command(flatten)]
    notify: NotifyArgs,
    /// An OSRM-compatible server for road distances when planning runs (as `serve`'s).
    #[arg(long, env = "BAZAAR_OSRM_URL")]
    osrm: Option<String>,
    /// The most seconds one plan may search (as `serve`'s).
    #[arg(long, env = "BAZAAR_MAX_PLAN_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    max_plan_seconds: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the storefront and API (the default), with a job worker unless `--no-worker`.
    Serve(ServeArgs),
    /// Run background jobs only (the payment deadline, the watch, reminders, notifications):
    /// as many workers as wanted, on any node; each job runs once.
    Worker(WorkerArgs),
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
    /// Solve a vehicle-routing instance (Solomon VRPTW text or CVRPLIB/VRPLIB `.vrp`, detected
    /// from the content) and print the solution in the VRPLIB `.sol` layout.
    Solve {
        /// The instance file.
        instance: std::path::PathBuf,
        /// Seconds the solver may search.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
        /// Seed: the same seed gives the same search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Plan a day's joint delivery: a JSON day (depots with vehicles, stops with demands and
    /// hours; see docs/PLANNING.md) in, routes out.
    Plan {
        /// The day, as JSON (`-` for standard input). Not needed with --generate-prefecture.
        file: Option<std::path::PathBuf>,
        /// Print the Ganzi-like prefecture day generated from this seed (13 centres, 197
        /// vehicles, 291 township stations, 1,166 village points) instead of planning.
        #[arg(long)]
        generate_prefecture: Option<u64>,
        /// Re-plan after a breakdown: the day's state as JSON (now, finished stops, broken
        /// vehicles, positions of the others).
        #[arg(long)]
        replan: Option<std::path::PathBuf>,
        /// Seconds the solver may search.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// An OSRM-compatible server for road distances, e.g. http://127.0.0.1:5000;
        /// otherwise they are estimated (see --roads).
        #[arg(long, env = "BAZAAR_OSRM_URL")]
        osrm: Option<String>,
        /// Estimated roads: mountains (factor 1.7, slower) or plains (1.3).
        #[arg(long, default_value = "mountains")]
        roads: String,
        /// Print the plan as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Measure the logistics store at prefecture scale: generate a parcel history (in SQL),
    /// time the 48-hour watch and the stalled list over it, then stream a day's carrier
    /// events through the batch ingest against one event per transaction. For a scratch
    /// database only: it writes millions of parcels.
    BenchLogistics(BenchOpts),
}

/// What `bench-logistics` measures and how much of it.
#[derive(clap::Args, Debug)]
struct BenchOpts {
    /// Parcels of history to generate (250,000 a day).
    #[arg(long, default_value_t = 10_000_000)]
    parcels: i64,
    /// Today's new parcels whose five events each are streamed through the ingest.
    #[arg(long, default_value_t = 50_000)]
    stream_parcels: i64,
    /// Events per ingest batch.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Events written one per transaction for the baseline.
    #[arg(long, default_value_t = 20_000)]
    baseline: i64,
    /// Arrival scans sent through `record_scans`, in requests of 5,000.
    #[arg(long, default_value_t = 50_000)]
    scans: i64,
    /// Skip generating the history (it is already there).
    #[arg(long)]
    no_history: bool,
}

/// Reads a JSON file (or standard input for `-`), naming the file and the line on error.
fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

fn seconds(s: f64) -> Result<std::time::Duration> {
    if !(s.is_finite() && s > 0.0 && s <= 86_400.0) {
        bail!("--time-limit: between 0 and 86400 seconds");
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

/// The plan as a table people can read.
fn print_plan(p: &bazaar_plan::DayPlan) {
    for r in &p.routes {
        println!(
            "{} ({}) {}–{} · {:.1} km · {:.0} min · loaded {:.0} kg / {:.2} m³",
            r.vehicle,
            r.depot,
            r.start,
            r.end,
            r.distance_km,
            r.duration_minutes,
            r.start_load_kg,
            r.start_load_m3
        );
        for (i, s) in r.stops.iter().enumerate() {
            println!(
                "  {:>2}. {} {} {}–{} drop {:.0} kg pick {:.0} kg · on board {:.0} kg / {:.2} m³",
                i + 1,
                s.id,
                s.name,
                s.start,
                s.depart,
                s.deliver_kg,
                s.pickup_kg,
                s.load_kg,
                s.load_m3
            );
        }
    }
    for u in &p.unserved {
        println!("unserved {}: {:?}", u.id, u.reason);
    }
    println!(
        "{} stops served, {} unserved, {} vehicles, {:.1} km, {} in {:.1} s",
        p.served,
        p.unserved.len(),
        p.vehicles_used,
        p.distance_km,
        if p.feasible {
            "feasible"
        } else {
            "NOT feasible"
        },
        p.solve_seconds
    );
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

/// Milliseconds since `t`.
fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// `bazaar bench-logistics`: see [`Cmd::BenchLogistics`].
async fn bench_logistics(store: &Store, o: BenchOpts) -> Result<()> {
    let BenchOpts {
        parcels,
        stream_parcels,
        batch,
        baseline,
        scans,
        no_history,
    } = o;
    use bazaar_domain::people::{Actor, Role};
    use bazaar_store::logistics::ingest::FeedEvent;
    use std::time::Instant;
    if store.is_empty().await? {
        store.load_demo().await?;
    }
    let now = bazaar_domain::time::now_ms();
    if !no_history {
        let t = Instant::now();
        let days = (parcels / 250_000).max(1);
        println!("generating {parcels} parcels over {days} days, five events each …");
        store
            .generate_parcel_history(parcels, days, now, |n| {
                // n counts parcels written, then parcels whose events are written.
                eprintln!(
                    "  {n} of {} steps (parcels, then their events), {:.0} s",
                    2 * parcels,
                    t.elapsed().as_secs_f64()
                );
            })
            .await?;
        println!("history generated in {:.1} s", t.elapsed().as_secs_f64());
    }
    let admin = Actor {
        user_id: 0,
        username: "bench".into(),
        role: Role::Admin,
        region_path: None,
        node_code: None,
        seller_id: None,
    };
    let region = store.region("652829").await?;
    let operator = Actor {
        role: Role::Operator,
        region_path: Some(region.path),
        ..admin.clone()
    };
    // The watch: the first run flags everything overdue; later runs flag what became overdue.
    let t = Instant::now();
    let first = store.flag_stalled(now).await?;
    let first_ms = ms_since(t);
    let t = Instant::now();
    let again = store.flag_stalled(now + 60_000).await?;
    let again_ms = ms_since(t);
    println!(
        "watch: first run flagged {first} in {first_ms:.0} ms; next run flagged {again} in {again_ms:.1} ms"
    );
    for (who, actor) in [("admin", &admin), ("operator", &operator)] {
        let t = Instant::now();
        let page = store
            .stalled(
                actor,
                now,
                &bazaar_store::logistics::watch::StalledFilter {
                    limit: 20,
                    ..Default::default()
                },
            )
            .await?;
        let page_ms = ms_since(t);
        let t = Instant::now();
        let sum = store.stalled_summary(actor, now).await?;
        println!(
            "stalled list ({who}): first page of {} in {page_ms:.1} ms; counts of {} by carrier, node and seller in {:.0} ms",
            page.len(),
            sum.total,
            ms_since(t)
        );
    }
    // Ingest: today's parcels, their events round-robin as a feed interleaves them.
    let from = store.next_generated_number().await?;
    let day = store
        .generate_day_parcels(from, stream_parcels, now)
        .await?;
    let mut events = Vec::with_capacity(day.len() * 5);
    for (k, code) in ["1", "0", "0", "5", "3"].iter().enumerate() {
        for (_, waybill) in &day {
            events.push(FeedEvent {
                carrier: "yuantong".into(),
                waybill: waybill.clone(),
                code: (*code).into(),
                at: Some(now - (5 - k as i64) * 600_000),
                place: Some("库尔勒".into()),
                ..FeedEvent::default()
            });
        }
    }
    let t = Instant::now();
    let mut new = 0;
    for (i, chunk) in events.chunks(batch).enumerate() {
        let rows: Vec<(u64, FeedEvent)> = chunk
            .iter()
            .enumerate()
            .map(|(j, e)| (j as u64 + 1, e.clone()))
            .collect();
        new += store.ingest_carrier_events(None, &rows).await?.new;
        if i % 20 == 19 {
            eprintln!("  {} events ingested", (i + 1) * batch);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = new as f64 / secs;
    println!(
        "ingest: {new} new events of {} parcels in batches of {batch}: {secs:.1} s, {rate:.0} events/s",
        day.len()
    );
    // Scans from phones and sorting lines: a centre's arrival scans of today's parcels.
    let day3 = store
        .generate_day_parcels(
            from + stream_parcels + (baseline / 5).max(1),
            scans.max(1),
            now,
        )
        .await?;
    let scans: Vec<bazaar_store::logistics::parcels::ScanInput> = day3
        .iter()
        .map(|(id, w)| bazaar_store::logistics::parcels::ScanInput {
            client_id: format!("bench-{now}-{id}"),
            waybill: w.clone(),
            carrier: Some("yuantong".into()),
            kind: "arrived_at_county".into(),
            node_code: Some("DC-652829".into()),
            ..Default::default()
        })
        .collect();
    let t = Instant::now();
    let mut recorded = 0;
    for chunk in scans.chunks(bazaar_store::logistics::parcels::MAX_SCANS) {
        recorded += store
            .record_scans(&admin, chunk)
            .await?
            .iter()
            .filter(|r| r.result == "recorded")
            .count();
    }
    let scan_secs = t.elapsed().as_secs_f64();
    println!(
        "scans: {recorded} arrival scans in requests of {}: {scan_secs:.1} s, {:.0} scans/s",
        bazaar_store::logistics::parcels::MAX_SCANS,
        recorded as f64 / scan_secs
    );
    // Baseline: the same kind of events, one per transaction.
    let base_parcels = (baseline / 5).max(1);
    let day2 = store
        .generate_day_parcels(from + stream_parcels, base_parcels, now)
        .await?;
    let t = Instant::now();
    let mut n = 0;
    for (k, code) in ["1", "0", "0", "5", "3"].iter().enumerate() {
        for (id, _) in &day2 {
            n += store
                .record_carrier_events(
                    *id,
                    &[bazaar_store::logistics::parcels::CarrierEvent {
                        code: (*code).into(),
                        at: now - (5 - k as i64) * 600_000,
                        note: None,
                        place: Some("库尔勒".into()),
                    }],
                )
                .await?;
        }
    }
    let base_secs = t.elapsed().as_secs_f64();
    let base_rate = n as f64 / base_secs;
    println!(
        "baseline: {n} events one per transaction: {base_secs:.1} s, {base_rate:.0} events/s; batch ingest is {:.1}x",
        rate / base_rate
    );
    Ok(())
}

/// Where notifications go: SMS, WeChat, else the log.
fn notifier(n: &NotifyArgs) -> Result<std::sync::Arc<dyn bazaar_web::notify::Notifier>> {
    let channels = bazaar_web::notify::Channels {
        sms: n
            .sms_gateway
            .clone()
            .filter(|s| !s.is_empty())
            .map(|url| {
                bazaar_integrations::sms::SmsGateway::new(
                    &url,
                    std::env::var("BAZAAR_SMS_GATEWAY_TOKEN").ok(),
                )
                .map(|g| std::sync::Arc::new(g) as std::sync::Arc<dyn TextGateway>)
            })
            .transpose()
            .map_err(|e| anyhow::anyhow!(e))?,
        wechat: n
            .wechat_appid
            .clone()
            .filter(|s| !s.is_empty())
            .map(|appid| {
                bazaar_integrations::wechat::WeChat::new(
                    &n.wechat_api,
                    &appid,
                    &std::env::var("BAZAAR_WECHAT_SECRET").unwrap_or_default(),
                    n.wechat_template.as_deref().unwrap_or_default(),
                    &n.wechat_fields,
                )
                .map(|w| std::sync::Arc::new(w) as std::sync::Arc<dyn TemplateChannel>)
            })
            .transpose()
            .map_err(|e| anyhow::anyhow!(e))?,
    };
    tracing::info!(
        channels = bazaar_web::notify::Notifier::channel(&channels),
        "notifications"
    );
    Ok(std::sync::Arc::new(channels))
}

/// Completes on Ctrl-C or SIGTERM (how systemd, Docker and Kubernetes stop a process).
async fn stopped() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: open requests and the job in hand finish first");
}

/// `bazaar serve`: the storefront, the back office and the API, with a job worker unless
/// `--no-worker`, until Ctrl-C or SIGTERM; then open requests and the job in hand finish.
async fn serve(database_url: &Option<String>, a: ServeArgs) -> Result<()> {
    let (store, default) = open(database_url).await?;
    let store = store.with_payment_sandbox(a.payment_sandbox.as_deref().map(|v| v == "on"));
    let fresh_demo = (a.demo || default) && store.is_empty().await?;
    if fresh_demo {
        let s = store.load_demo().await?;
        tracing::info!(?s, "demo data loaded");
    }
    // Buyers anywhere in China can give an address: the national tree down to the county.
    let added = store.load_national_regions().await?;
    if added > 0 {
        tracing::info!(added, "provinces, prefectures and counties of China added");
    }
    let mut state = bazaar_web::AppState::new(store)
        .await
        .map_err(|e| anyhow::anyhow!("building the search index: {e}"))?
        .with_media(std::sync::Arc::new(
            bazaar_web::catalog::media::DiskPhotos::new(a.media_dir.clone()),
        ));
    state.trusted_proxies = std::sync::Arc::new(a.trusted_proxy.clone());
    state.max_plan_seconds = a.max_plan_seconds;
    state.secure_cookies = match a.public_url.as_deref().map(str::trim) {
        Some(u) if u.starts_with("https://") => bazaar_web::SecureCookies::Always,
        Some(u) if u.starts_with("http://") => bazaar_web::SecureCookies::Never,
        Some(u) if !u.is_empty() => {
            bail!("--public-url must start with https:// or http://, not {u:?}")
        }
        _ => bazaar_web::SecureCookies::WhenForwardedHttps,
    };
    if state.store.payment_sandbox().await? {
        tracing::warn!(
            "the SANDBOX payment provider is on: buyers can mark orders paid without paying (demo data, or --payment-sandbox on)"
        );
    }
    state.pay_window_ms = i64::from(a.payment_timeout_minutes) * 60 * 1000;
    state.osrm = a.osrm.clone();
    // A day under way on a new demo database: orders at each step, parcels on the shelf, at
    // the centre and stalled, so that every page shows something.
    if fresh_demo {
        let d = bazaar_web::demo::load_activity(&state)
            .await
            .map_err(|e| anyhow::anyhow!("loading the demo's orders and parcels: {e}"))?;
        state
            .reindex()
            .await
            .map_err(|e| anyhow::anyhow!("building the search index: {e}"))?;
        tracing::info!(
            orders = d.orders,
            parcels = d.parcels,
            "demo orders and parcels loaded"
        );
    }
    // The salt given to this process, or the one kept in the database (the demo's).
    state.kuaidi100_salt = match a.kuaidi100_salt.clone().filter(|s| !s.is_empty()) {
        Some(s) => Some(s),
        None => state.store.setting("kuaidi100_salt").await?,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The jobs (payment deadline, the watch, reminders, the outbox): each runs once across
    // all nodes, whichever worker claims it.
    let worker = if a.no_worker {
        tracing::info!("no job worker in this process (--no-worker)");
        None
    } else {
        let w = bazaar_web::jobs::Worker::new(state.store.clone(), notifier(&a.notify)?)
            .with_planning(state.planning());
        Some(tokio::spawn(w.run(stop_rx.clone())))
    };
    // Other nodes may change the catalog: keep this node's search index current (a
    // per-node timer, not a job: every node holds its own index).
    let refresher = state.clone();
    let mut refresh_stop = stop_rx;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = refresh_stop.changed() => break,
            }
            if let Err(e) = refresher.refresh_if_stale().await {
                tracing::warn!(error = %e, "search refresh failed");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(a.addr)
        .await
        .with_context(|| format!("listening on {}", a.addr))?;
    tracing::info!("Bazaar is serving at http://{}", a.addr);
    if state.store.payment_sandbox().await.unwrap_or(false) {
        let accounts: Vec<String> = bazaar_store::demo::DEMO_ACCOUNTS
            .iter()
            .map(|(user, role)| format!("{user} ({role})"))
            .collect();
        tracing::info!(
            "demo accounts, password {}: {}",
            bazaar_store::demo::DEMO_PASSWORD,
            accounts.join(", ")
        );
    }
    if a.addr.ip().is_loopback() {
        tracing::info!(
            "only this machine can reach it: --addr 0.0.0.0:8080 lets the LAN in (put TLS in front for anything beyond a trusted LAN: README, \"Plain HTTP on a LAN, or HTTPS\")"
        );
    }
    if state.secure_cookies == bazaar_web::SecureCookies::WhenForwardedHttps
        && !a.addr.ip().is_loopback()
    {
        tracing::warn!(
            "cookies are not Secure over plain HTTP: behind an HTTPS proxy, set --public-url https://… (or --trusted-proxy with X-Forwarded-Proto)"
        );
    }
    let limits = bazaar_web::app::server::Limits {
        max_connections: a.max_connections as usize,
        ..Default::default()
    };
    bazaar_web::app::server::serve(
        listener,
        bazaar_web::app::server::harden(bazaar_web::router(state), limits),
        limits,
        stopped(),
    )
    .await?;
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        // The job in hand finishes (jobs are short: the outbox has an 8-s budget).
        if tokio::time::timeout(std::time::Duration::from_secs(60), w)
            .await
            .is_err()
        {
            tracing::warn!(
                "the job worker did not stop within 60 s; its job will be claimed again"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tantivy=warn".into()),
        )
        // Colours only on a terminal: a log written to a file or a journal stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let cli = Cli::parse();
    let Cli {
        database_url,
        serve: default_serve,
        cmd,
    } = cli;
    let cmd = cmd.unwrap_or(Cmd::Serve(default_serve));
    match cmd {
        Cmd::Solve {
            instance,
            time_limit,
            seed,
        } => {
            let sol = bazaar_vrp::solve_instance_file(&instance, seconds(time_limit)?, seed)
                .map_err(|e| anyhow::anyhow!("{}: {e}", instance.display()))?;
            print!("{sol}");
        }
        Cmd::Plan {
            file,
            generate_prefecture,
            replan,
            time_limit,
            seed,
            osrm,
            roads,
            json,
        } => {
            if let Some(seed) = generate_prefecture {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&bazaar_plan::generate_prefecture(seed))?
                );
                return Ok(());
            }
            let Some(file) = file else {
                bail!("plan: give a day file (JSON) or --generate-prefecture SEED");
            };
            let day: bazaar_plan::DayInput = read_json(&file)?;
            let roads = match (osrm, roads.as_str()) {
                (Some(url), _) => bazaar_plan::Roads::Osrm(std::sync::Arc::new(
                    bazaar_integrations::osrm::Osrm::new(&url).map_err(|e| anyhow::anyhow!(e))?,
                )),
                (None, "mountains") => {
                    bazaar_plan::Roads::Estimate(bazaar_plan::RoadModel::mountains())
                }
                (None, "plains") => bazaar_plan::Roads::Estimate(bazaar_plan::RoadModel::plains()),
                (None, other) => bail!("--roads: mountains or plains, not {other}"),
            };
            let opts = bazaar_plan::PlanOptions {
                time_limit: seconds(time_limit)?,
                seed,
                max_iterations: None,
            };
            let plan = match replan {
                Some(state) => {
                    let state: bazaar_plan::DayState = read_json(&state)?;
                    bazaar_plan::replan(&day, &state, &roads, &opts)?
                }
                None => bazaar_plan::plan(&day, &roads, &opts)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print_plan(&plan);
            }
        }
        Cmd::BenchLogistics(opts) => {
            let (store, _) = open(&database_url).await?;
            bench_logistics(&store, opts).await?;
        }
        Cmd::Serve(args) => serve(&database_url, args).await?,
        Cmd::Worker(w) => {
            let (store, _) = open(&database_url).await?;
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let planning = bazaar_web::delivery::plans::Planning {
                osrm: w.osrm.clone(),
                max_seconds: w.max_plan_seconds,
                ..Default::default()
            };
            let worker =
                bazaar_web::jobs::Worker::new(store, notifier(&w.notify)?).with_planning(planning);
            let task = tokio::spawn(worker.run(stop_rx));
            stopped().await;
            let _ = stop_tx.send(true);
            let _ = task.await;
        }
        Cmd::Migrate => {
            open(&database_url).await?;
            println!("migrations applied");
        }
        Cmd::Demo => {
            let (store, _) = open(&database_url).await?;
            let s = store.load_demo().await?;
            println!("demo data loaded: {s:?}");
        }
        Cmd::Import { kind, file } => {
            let (store, _) = open(&database_url).await?;
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
            let (store, _) = open(&database_url).await?;
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

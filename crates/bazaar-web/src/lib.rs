//! # bazaar-web
//!
//! The HTTP face of Bazaar: the JSON API under `/api/v1` and the server-rendered storefront
//! pages. Handlers parse input, resolve the caller ([`app::auth::Caller`]) and call the use-cases
//! of `bazaar-store`; all rights are checked there with the rules of `bazaar-domain`.
//! Every route is registered in [`router`].
#![forbid(unsafe_code)]

pub mod app;
pub mod catalog;
pub mod delivery;
pub mod demo;
pub mod jobs;
pub mod live;
pub mod logistics;
pub mod network;
pub mod notify;
pub mod orders;
pub mod people;
pub mod stats;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use bazaar_search::{SearchDoc, SearchIndex};
use bazaar_store::Store;
use bazaar_store::network::Pavilion;
use std::sync::{Arc, RwLock};

/// Shared state of every request: one `Arc`, so that handing it to a request (axum clones
/// the state for each extractor and layer) is one reference count, not a copy of every field.
/// Fields read through `Deref`; set them before serving (`DerefMut` copies on write, which
/// costs nothing while the state is not yet shared).
#[derive(Clone)]
pub struct AppState(Arc<AppFields>);

impl std::ops::Deref for AppState {
    type Target = AppFields;
    fn deref(&self) -> &AppFields {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppFields {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct AppFields {
    /// The database.
    pub store: Store,
    /// Request counters of this process.
    pub metrics: Arc<app::metrics::Metrics>,
    /// Where product photos are kept.
    pub media: Arc<dyn catalog::media::PhotoStore>,
    /// Stock at a glance for the storefront (kept a few seconds).
    pub glance: Arc<catalog::glance::StockGlance>,
    /// The home page's body per language, kept as long as the stock it shows
    /// ([`catalog::glance::TTL`]) and forgotten when the catalog changes.
    pub home: Arc<
        std::sync::Mutex<
            std::collections::HashMap<app::i18n::Lang, (std::time::Instant, app::view::Markup)>,
        >,
    >,
    /// The provinces, for the product page's shipping picker (rebuilt with the index).
    provinces: Arc<RwLock<Arc<Vec<bazaar_store::network::Region>>>>,
    /// How long a new order waits for payment before it is cancelled, ms (30 minutes unless
    /// configured).
    pub pay_window_ms: i64,
    /// An OSRM-compatible server for road distances in route planning; estimated when `None`.
    pub osrm: Option<String>,
    /// One route plan at a time on this server (a plan keeps a core busy for its time limit).
    pub planner: Arc<tokio::sync::Semaphore>,
    /// The most seconds one plan may search (`--max-plan-seconds`, 60 unless configured):
    /// a longer time limit asked for, and the runs' own, are cut to it.
    pub max_plan_seconds: u64,
    /// The salt of this deployment's 快递100 subscription (push signatures); pushes are
    /// refused while it is not configured.
    pub kuaidi100_salt: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`); none by default:
    /// the connection's peer is the client.
    pub trusted_proxies: Arc<Vec<app::auth::ProxyNet>>,
    /// When cookies are `Secure` (`--public-url`; by default when a trusted proxy forwards
    /// HTTPS).
    pub secure_cookies: SecureCookies,
    /// The local time of day (`HH:MM`) a breakdown re-plans from; `None`: the clock. Tests
    /// and drills fix it, so that a re-plan does not depend on the hour they run at.
    pub replan_time: Option<String>,
    /// This node's flash desk: flash orders for one offer decided in batches.
    pub flash: Arc<live::desk::FlashDesk>,
    /// This node's followed live sessions (their event streams).
    pub feed: Arc<live::feed::LiveFeed>,
    search: Arc<RwLock<Arc<SearchIndex>>>,
    pavilions: Arc<RwLock<Arc<Vec<Pavilion>>>>,
    featured: Arc<RwLock<Arc<Vec<bazaar_store::catalog::products::Product>>>>,
    built_from: Arc<std::sync::Mutex<Option<(i64, i64)>>>,
}

impl AppState {
    /// State over `store`, with the search index built from the current catalog.
    pub async fn new(store: Store) -> anyhow_free::Result<AppState> {
        // Messages to people in their own language, from the catalogues.
        let store = store.with_messages(Arc::new(app::i18n::Catalogues));
        let v = store.catalog_version().await?;
        let index = build_index(&store).await?;
        let pavilions = store.pavilions().await?;
        let featured = store.featured_products(FEATURED).await?;
        let provinces = store
            .regions_at(bazaar_domain::region::RegionLevel::Province)
            .await?;
        Ok(AppState(Arc::new(AppFields {
            glance: Arc::new(catalog::glance::StockGlance::default()),
            home: Arc::default(),
            provinces: Arc::new(RwLock::new(Arc::new(provinces))),
            pavilions: Arc::new(RwLock::new(Arc::new(pavilions))),
            featured: Arc::new(RwLock::new(Arc::new(featured))),
            built_from: Arc::new(std::sync::Mutex::new(Some(v))),
            store,
            metrics: Arc::new(app::metrics::Metrics::default()),
            media: Arc::new(catalog::media::DiskPhotos::new("data/media")),
            pay_window_ms: 30 * 60 * 1000,
            osrm: None,
            planner: Arc::new(tokio::sync::Semaphore::new(1)),
            max_plan_seconds: 60,
            kuaidi100_salt: None,
            trusted_proxies: Arc::new(Vec::new()),
            secure_cookies: SecureCookies::default(),
            replan_time: None,
            flash: Arc::default(),
            feed: Arc::default(),
            search: Arc::new(RwLock::new(Arc::new(index))),
        })))
    }

    /// What route planning needs of this server (shared with its job worker).
    pub fn planning(&self) -> delivery::plans::Planning {
        delivery::plans::Planning {
            osrm: self.osrm.clone(),
            max_seconds: self.max_plan_seconds,
            permit: self.planner.clone(),
        }
    }

    /// The same state with photos kept in `media` instead of `data/media`.
    pub fn with_media(mut self, media: Arc<dyn catalog::media::PhotoStore>) -> Self {
        self.media = media;
        self
    }

    /// The county pavilions with their listed-product counts, as of the last catalog change
    /// this node saw (rebuilt with the search index, so the home and search pages need no
    /// query for them).
    pub fn pavilions(&self) -> Arc<Vec<Pavilion>> {
        match self.pavilions.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The products the home page features (one per county in turn, those with photos
    /// first), as of the last catalog change this node saw.
    pub fn featured(&self) -> Arc<Vec<bazaar_store::catalog::products::Product>> {
        match self.featured.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The provinces, as of the last catalog change this node saw.
    pub fn provinces(&self) -> Arc<Vec<bazaar_store::network::Region>> {
        match self.provinces.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Forgets what the storefront keeps of stock (after a stock change on this server).
    pub fn stock_changed(&self) {
        self.glance.forget();
        self.home.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The current search index.
    pub fn search(&self) -> Arc<SearchIndex> {
        match self.search.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Rebuilds the index when another node changed the catalog: compares the catalog's
    /// fingerprint with the one the index was built from. Run periodically by `serve`.
    pub async fn refresh_if_stale(&self) -> anyhow_free::Result<bool> {
        let v = self.store.catalog_version().await?;
        let built = match self.built_from.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        if built == Some(v) {
            return Ok(false);
        }
        self.reindex().await?;
        Ok(true)
    }

    /// Rebuilds the search index and the pavilion list from the database (after a catalog
    /// change).
    pub async fn reindex(&self) -> anyhow_free::Result<()> {
        let v = self.store.catalog_version().await?;
        let index = Arc::new(build_index(&self.store).await?);
        match self.search.write() {
            Ok(mut g) => *g = index,
            Err(p) => *p.into_inner() = index,
        }
        let pavilions = Arc::new(self.store.pavilions().await?);
        match self.pavilions.write() {
            Ok(mut g) => *g = pavilions,
            Err(p) => *p.into_inner() = pavilions,
        }
        let provinces = Arc::new(
            self.store
                .regions_at(bazaar_domain::region::RegionLevel::Province)
                .await?,
        );
        match self.provinces.write() {
            Ok(mut g) => *g = provinces,
            Err(p) => *p.into_inner() = provinces,
        }
        let featured = Arc::new(self.store.featured_products(FEATURED).await?);
        match self.featured.write() {
            Ok(mut g) => *g = featured,
            Err(p) => *p.into_inner() = featured,
        }
        self.home.lock().unwrap_or_else(|p| p.into_inner()).clear();
        match self.built_from.lock() {
            Ok(mut g) => *g = Some(v),
            Err(p) => *p.into_inner() = Some(v),
        }
        Ok(())
    }
}

/// How many products the home page features.
const FEATURED: usize = 8;

/// Minimal error plumbing for start-up paths.
pub mod anyhow_free {
    /// A boxed error.
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    /// A result with a boxed error.
    pub type Result<T> = std::result::Result<T, Error>;
}

async fn build_index(store: &Store) -> anyhow_free::Result<SearchIndex> {
    let rows = store.search_rows().await?;
    let docs: Vec<SearchDoc> = rows
        .into_iter()
        .map(|r| {
            let p = r.row;
            SearchDoc {
                id: p.id,
                poverty: p.is_poverty_alleviation(),
                name_en: p.name_en.clone().unwrap_or_default(),
                gi_brand: p.gi_brand.clone().unwrap_or_default(),
                category_words: catalog::pages::category_words(&p.category),
                category: p.category,
                county_code: p.county_code,
                place: format!("{} {} {}", p.county, p.township_name, p.village_name),
                seller: p.seller_name,
                description: p.description.unwrap_or_default(),
                codes: r.sku_codes,
                translations: r.translations,
                name: p.name,
            }
        })
        .collect();
    Ok(tokio::task::spawn_blocking(move || SearchIndex::build(&docs)).await??)
}

/// Every route of the application, with the security headers on every response, its
/// cookies `Secure` when the request came over HTTPS (see [`SecureCookies`]), and gzip for a
/// browser that takes it (pages, style sheet, scripts, drawings and JSON; not photos, which
/// are JPEG already, nor bodies under 32 bytes).
pub fn router(state: AppState) -> Router {
    let marked = routes(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            mark_secure_cookies,
        ))
        .layer(tower_http::compression::CompressionLayer::new());
    app::server::with_security_headers(marked)
}

/// When the cookies Bazaar sets carry `Secure` (a browser sends such a cookie back over HTTPS
/// only, and drops it when it was set over plain HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// Always: the site is served over HTTPS (`--public-url https://…`).
    Always,
    /// Never: the site is served over plain HTTP (`--public-url http://…`, a county LAN).
    Never,
    /// When a trusted proxy (`--trusted-proxy`) says the request came over HTTPS
    /// (`X-Forwarded-Proto: https`): the default, so signing in works over plain HTTP.
    #[default]
    WhenForwardedHttps,
}

/// Whether the request came over HTTPS, as [`SecureCookies`] judges it.
fn came_over_https(s: &AppState, req: &axum::extract::Request) -> bool {
    match s.secure_cookies {
        SecureCookies::Always => true,
        SecureCookies::Never => false,
        SecureCookies::WhenForwardedHttps => {
            let peer = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip());
            let trusted = peer.is_some_and(|p| s.trusted_proxies.iter().any(|n| n.contains(p)));
            trusted
                && req
                    .headers()
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        }
    }
}

/// Middleware: adds `Secure` to every cookie set in an answer to a request that came over
/// HTTPS.
async fn mark_secure_cookies(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let https = came_over_https(&s, &req);
    let mut res = next.run(req).await;
    if https {
        let set = axum::http::header::SET_COOKIE;
        let cookies: Vec<String> = res
            .headers()
            .get_all(&set)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        res.headers_mut().remove(&set);
        for c in cookies {
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{c}; Secure")) {
                res.headers_mut().append(&set, v);
            }
        }
    }
    res
}

fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(crate::app::api::healthz))
        .route("/metrics", get(app::metrics::metrics))
        .route("/api/openapi.json", get(app::openapi::openapi_json))
        .route(
            "/api/v1/imports/{kind}",
            post(crate::network::api::import_csv).layer(axum::extract::DefaultBodyLimit::max(
                bazaar_store::db::csvio::MAX_CSV_BYTES,
            )),
        )
        .route(
            "/api/v1/imports/orders/{platform}",
            post(orders::api::import_orders).layer(axum::extract::DefaultBodyLimit::max(
                bazaar_store::db::csvio::MAX_CSV_BYTES,
            )),
        )
        .route(
            "/api/v1/exports/{kind}",
            get(crate::network::api::export_csv),
        )
        .route(
            "/api/v1/sessions",
            post(crate::people::api::create_session).delete(crate::people::api::delete_session),
        )
        .route("/api/v1/me", get(crate::people::api::me))
        .route(
            "/api/v1/users",
            get(crate::people::api::users).post(crate::people::api::create_user),
        )
        .route("/api/v1/regions", get(crate::network::api::regions))
        .route("/api/v1/nodes", get(crate::network::api::nodes))
        .route(
            "/api/v1/sellers",
            get(crate::catalog::api::sellers).post(crate::catalog::api::create_seller),
        )
        .route("/api/v1/sellers/{id}", get(crate::catalog::api::seller))
        .route(
            "/api/v1/sellers/{id}/decision",
            post(crate::catalog::api::decide_seller),
        )
        .route(
            "/api/v1/products",
            get(crate::catalog::api::products).post(crate::catalog::api::create_product),
        )
        .route(
            "/api/v1/products/{id}",
            get(crate::catalog::api::product).patch(crate::catalog::api::patch_product),
        )
        .route(
            "/api/v1/products/{id}/actions",
            post(crate::catalog::api::product_action),
        )
        .route(
            "/api/v1/products/{id}/skus",
            post(crate::catalog::api::add_sku),
        )
        .route("/api/v1/skus/{id}", patch(crate::catalog::api::update_sku))
        .route(
            "/api/v1/products/{id}/photos",
            post(crate::catalog::api::upload_photo).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES + 1024,
            )),
        )
        .route("/media/{*key}", get(crate::catalog::api::media))
        .route(
            "/api/v1/addresses",
            get(orders::api::addresses).post(orders::api::add_address),
        )
        .route(
            "/api/v1/skus/{id}/stock",
            get(orders::api::stock).put(orders::api::set_stock),
        )
        .route(
            "/api/v1/skus/{id}/stock/transfers",
            post(orders::api::transfer_stock),
        )
        .route(
            "/api/v1/skus/{id}/stock/arrivals",
            post(orders::api::receive_stock),
        )
        .route(
            "/api/v1/orders",
            get(orders::api::my_orders).post(orders::api::place_order),
        )
        .route("/api/v1/orders/{id}", get(orders::api::order))
        .route("/api/v1/orders/{id}/cancel", post(orders::api::cancel))
        .route("/api/v1/plans", post(delivery::plans::plan_api))
        .route(
            "/api/v1/parcels",
            get(logistics::api::parcel).post(logistics::api::create_parcel),
        )
        .route("/api/v1/scans", post(logistics::api::scans))
        .route("/api/v1/pickups", post(logistics::api::pickup))
        .route("/api/v1/runs", post(delivery::runs::create_api))
        .route("/api/v1/runs/{id}", get(delivery::runs::get_api))
        .route(
            "/api/v1/runs/{id}/actions",
            post(delivery::runs::action_api),
        )
        .route("/api/v1/driver/manifest", get(delivery::runs::manifest_api))
        .route(
            "/api/v1/tracking/batch",
            post(logistics::api::tracking_batch).layer(axum::extract::DefaultBodyLimit::max(
                bazaar_store::db::csvio::MAX_CSV_BYTES,
            )),
        )
        .route(
            "/api/v1/parcels/manifest",
            post(logistics::api::manifest).layer(axum::extract::DefaultBodyLimit::max(
                bazaar_store::db::csvio::MAX_CSV_BYTES,
            )),
        )
        .route("/api/v1/shelf", get(logistics::api::shelf))
        .route("/api/v1/parcels/stalled", get(logistics::api::stalled))
        .route("/api/v1/parcels/{id}/notes", post(logistics::api::add_note))
        .route(
            "/api/v1/notifications",
            get(logistics::api::failed_notifications),
        )
        .route(
            "/api/v1/notifications/{id}/retry",
            post(logistics::api::retry_notification),
        )
        .route("/api/v1/live/sessions", post(live::create_session))
        .route("/api/v1/live/sessions/{id}", get(live::session))
        .route("/api/v1/live/sessions/{id}/events", get(live::events))
        .route("/api/v1/live/sessions/{id}/dashboard", get(live::dashboard))
        .route(
            "/api/v1/live/sessions/{id}/actions",
            post(live::session_action),
        )
        .route(
            "/api/v1/live/sessions/{id}/offers",
            post(live::create_offer),
        )
        .route("/api/v1/offers/{id}", get(live::offer))
        .route("/api/v1/offers/{id}/actions", post(live::offer_action))
        .route("/api/v1/offers/{id}/orders", post(live::flash_order))
        .route("/api/v1/jobs", get(jobs::api::jobs))
        .route("/api/v1/jobs/{id}/retry", post(jobs::api::retry))
        .route("/api/v1/wechat/bindings", put(logistics::wechat::bind))
        .route(
            "/api/v1/wechat/bindings/{openid}",
            get(logistics::wechat::get_binding).delete(logistics::wechat::unbind),
        )
        .route(
            "/api/v1/watch/rules",
            get(logistics::api::watch_rules).put(logistics::api::set_watch_rule),
        )
        .route(
            "/api/v1/orders/{id}/parcels",
            get(logistics::api::order_parcels),
        )
        .route(
            "/api/v1/tracking/kuaidi100",
            post(logistics::api::kuaidi100_push),
        )
        .route(
            "/api/v1/tracking/events",
            post(logistics::api::carrier_events),
        )
        .route("/api/v1/orders/{id}/deliver", post(orders::api::deliver))
        .route("/api/v1/orders/{id}/receive", post(orders::api::receive))
        .route(
            "/api/v1/orders/{id}/refund",
            post(orders::api::request_refund),
        )
        .route("/api/v1/refunds", get(orders::api::refunds))
        .route(
            "/api/v1/refunds/{id}/photos",
            post(orders::api::refund_photo).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES + 1024,
            )),
        )
        .route(
            "/api/v1/shipping-rules/{county}/{province}",
            axum::routing::put(orders::api::set_shipping_rule),
        )
        .route(
            "/api/v1/refunds/{id}/decision",
            post(orders::api::decide_refund),
        )
        .route(
            "/api/v1/orders/{id}/payments",
            post(orders::api::start_payment),
        )
        .route(
            "/api/v1/payments/sandbox/notifications",
            post(orders::api::sandbox_notification),
        )
        .route(
            "/api/v1/payments/{id}/confirm",
            post(orders::api::confirm_payment),
        )
        .route("/api/v1/seller/parts", get(orders::api::seller_parts))
        .route("/api/v1/seller/shipments", post(orders::api::ship))
        .route("/api/v1/station/orders", get(orders::api::station_orders))
        .route(
            "/api/v1/payments/pending",
            get(orders::api::pending_payments),
        )
        .route("/api/v1/reports/sales", get(orders::api::sales_report))
        .route(
            "/api/v1/reports/poverty-sales",
            get(orders::api::poverty_report),
        )
        .route(
            "/api/v1/reports/institution",
            get(orders::api::institution_report),
        )
        .route("/assets/{name}", get(app::assets::serve))
        .route("/", get(catalog::pages::home))
        .route("/search", get(catalog::pages::search))
        .route("/pavilions/{code}", get(catalog::pages::pavilion))
        .route("/products/{id}", get(catalog::pages::product))
        .route(
            "/cart",
            get(orders::pages::cart).post(orders::pages::cart_post),
        )
        .route(
            "/checkout",
            get(orders::pages::checkout).post(orders::pages::place),
        )
        .route("/addresses", post(orders::pages::add_address))
        .route("/orders", get(orders::pages::my_orders))
        .route("/live/{id}", get(live::pages::page))
        .route("/live/{id}/offers/{offer}", post(live::pages::tap))
        .route("/orders/{id}", get(orders::pages::order))
        .route("/orders/{id}/cancel", post(orders::pages::cancel))
        .route("/orders/{id}/pay", post(orders::pages::pay))
        .route(
            "/pay/sandbox/{ref}",
            get(orders::pages::sandbox_page).post(orders::pages::sandbox_submit),
        )
        .route(
            "/login",
            get(app::session::login_form).post(app::session::login),
        )
        .route("/logout", post(app::session::logout))
        .route("/manage", get(app::backoffice::manage))
        .route("/manage/products", get(app::backoffice::products))
        .route("/manage/sellers", get(catalog::sellers::list))
        .route(
            "/manage/sellers/new",
            get(catalog::sellers::new_form).post(catalog::sellers::create),
        )
        .route(
            "/manage/sellers/{id}/decision",
            post(catalog::sellers::decide),
        )
        .route(
            "/manage/products/new",
            get(catalog::manage::new_form).post(catalog::manage::create),
        )
        .route(
            "/manage/products/{id}",
            get(catalog::manage::show).post(catalog::manage::update),
        )
        .route(
            "/manage/products/{id}/stock",
            post(catalog::manage::change_stock),
        )
        .route(
            "/manage/products/{id}/texts",
            post(catalog::manage::set_texts),
        )
        .route(
            "/manage/products/{id}/photos",
            post(catalog::manage::upload_photo).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES + 4096,
            )),
        )
        .route(
            "/manage/import",
            get(people::manage::import_page)
                .post(people::manage::import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    bazaar_store::db::csvio::MAX_CSV_BYTES + 4096,
                )),
        )
        .route("/manage/orders", get(orders::manage::seller_orders))
        .route("/manage/orders/ship", post(orders::manage::ship))
        .route(
            "/manage/live",
            get(live::manage::sessions).post(live::manage::create),
        )
        .route("/manage/live/{id}", get(live::manage::session))
        .route(
            "/manage/live/{id}/actions",
            post(live::manage::session_action),
        )
        .route("/manage/live/{id}/offers", post(live::manage::create_offer))
        .route(
            "/manage/live/{id}/offers/{offer}/actions",
            post(live::manage::offer_action),
        )
        .route("/manage/orders/{id}", get(orders::manage::order_detail))
        .route(
            "/manage/station",
            get(orders::manage::station).post(orders::manage::station_order),
        )
        .route("/manage/payments", get(orders::manage::payments))
        .route("/manage/refunds", get(orders::manage::refunds))
        .route("/manage/reports", get(stats::pages::reports))
        .route(
            "/manage/plan",
            get(delivery::plans::plan_page).post(delivery::plans::plan_post),
        )
        .route(
            "/manage/scan",
            get(logistics::pages::scan_page).post(logistics::pages::scan_post),
        )
        .route("/manage/scans", post(logistics::pages::scans_json))
        .route("/manage/shelf", get(logistics::pages::shelf_page))
        .route(
            "/manage/runs",
            get(delivery::runs::runs_page).post(delivery::runs::create_post),
        )
        .route("/manage/runs/{id}", get(delivery::runs::run_page))
        .route("/manage/planning/{id}", get(delivery::runs::planning_page))
        .route(
            "/manage/runs/{id}/actions",
            post(delivery::runs::action_post),
        )
        .route("/manage/route", get(delivery::runs::route_page))
        .route("/manage/shelf/pickup", post(logistics::pages::pickup_post))
        .route("/manage/stalled", get(logistics::pages::stalled_page))
        .route(
            "/manage/stalled/{id}/note",
            post(logistics::pages::note_post),
        )
        .route(
            "/manage/procurement",
            get(orders::manage::procurement).post(orders::manage::procurement_order),
        )
        .route(
            "/manage/refunds/{id}/decision",
            post(orders::manage::decide_refund),
        )
        .route(
            "/orders/{id}/refund",
            post(orders::pages::request_refund).layer(axum::extract::DefaultBodyLimit::max(
                catalog::media::MAX_UPLOAD_BYTES * orders::pages::REFUND_FORM_PHOTOS + 8192,
            )),
        )
        .route("/orders/{id}/receive", post(orders::pages::receive))
        .route(
            "/manage/payments/{id}/confirm",
            post(orders::manage::confirm),
        )
        .route(
            "/manage/users",
            get(people::manage::users).post(people::manage::create_user),
        )
        .route(
            "/manage/products/{id}/action",
            post(app::backoffice::manage_action),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::metrics::track,
        ))
        .fallback(crate::app::api::not_found)
        .layer(axum::middleware::from_fn(crate::app::api::integral_numbers))
        .layer(axum::middleware::from_fn(app::error::json_errors))
        .layer(axum::middleware::from_fn(sticky_language))
        .with_state(state)
}

/// Sets the request's language (so every error message is in it, however deep it was
/// raised) and makes an explicit `?lang=` choice stick in the `bz_lang` cookie.
async fn sticky_language(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let choice = req
        .uri()
        .query()
        .and_then(app::i18n::lang_in_query)
        .map(app::i18n::Lang::tag);
    let lang = app::i18n::Lang::negotiate(req.headers(), req.uri().query());
    let mut res = app::i18n::with_lang(lang, next.run(req)).await;
    if let Some(lang) = choice
        && let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "bz_lang={lang}; Path=/; SameSite=Lax; Max-Age=31536000"
        ))
    {
        res.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    res
}

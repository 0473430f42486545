//! The buyer's session page: light, no app, works on 2G. The pinned product (讲解中) and the
//! session's offers with what is left, kept current by the session's event stream where the
//! phone runs scripts (`static/live.js`), and the form that takes a flash order.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::i18n::Lang;
use crate::catalog::pages::{ProductCard, internal, message_page, page_lang, product_cards};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::live::{OfferStatus, Platform};
use bazaar_domain::money::Fen;
use bazaar_store::StoreError;
use bazaar_store::live::flash::FlashRequest;
use std::collections::HashMap;

/// The session page (`live/session.html`).
#[derive(Template)]
#[template(path = "live/session.html")]
struct SessionPage<'a> {
    lang: Lang,
    csrf: &'a str,
    id: i64,
    title: &'a str,
    /// "直播中", "未开始 · 开播时间 …".
    status: String,
    /// Where to watch: "去抖音看直播" and the stream's address.
    watch: Option<(String, String)>,
    /// The product being presented.
    pinned: Vec<ProductCard>,
    offers: Vec<OfferCard>,
    /// Signed in: the offers' forms order; else they lead to signing in.
    signed_in: bool,
    /// Signing in, then back to this page.
    login: String,
    /// A refusal to show (after a tap that did not get an order).
    refused: Option<String>,
    script: String,
}

/// One offer on the page.
struct OfferCard {
    id: i64,
    name: String,
    spec: String,
    price: Fen,
    /// The ordinary price, struck through.
    was: Option<Fen>,
    /// "还剩 12 件", "抢光了", "已结束", "未开始".
    state: String,
    /// It takes orders now.
    open: bool,
    /// Quantities one order may take.
    quantities: Vec<i64>,
    /// "每人限购 2 件".
    limit: String,
    /// Its end, in Beijing time (the server's clock, not the phone's).
    ends: String,
    /// The form's idempotency key: a double tap places one order.
    key: String,
}

/// The words of an offer's state.
fn offer_state(lang: Lang, status: &str, left: i64) -> (String, bool) {
    match OfferStatus::from_db(status) {
        Some(OfferStatus::Live) => (lang.ta("live-left", &[("n", left.into())]), true),
        Some(OfferStatus::SoldOut) => (lang.t("live-sold-out"), false),
        Some(OfferStatus::Ended | OfferStatus::Settled) => (lang.t("live-offer-ended"), false),
        Some(OfferStatus::Paused) => (lang.t("live-offer-paused"), false),
        _ => (lang.t("live-offer-soon"), false),
    }
}

/// The session page of `id` for this request, with `refused` said above the offers.
async fn session_page(
    s: &AppState,
    h: &HeaderMap,
    uri: &Uri,
    id: i64,
    refused: Option<String>,
    code: StatusCode,
) -> Response {
    let lang = page_lang(h, uri);
    let not_found = || message_page(lang, StatusCode::NOT_FOUND, &lang.t("live-not-found"));
    let session = match s.store.session(id).await {
        Ok(x) => x,
        Err(StoreError::NotFound) => return not_found(),
        Err(e) => return internal(e),
    };
    let offers = match s.store.session_offers(id).await {
        Ok(x) => x,
        Err(e) => return internal(e),
    };
    let zone = bazaar_domain::time::Zone::Shanghai;
    let pinned = match session.pinned_product_id {
        Some(p) => match s.store.product_for(None, p).await {
            Ok(prod) => product_cards(s, lang, &[prod]).await.unwrap_or_default(),
            Err(_) => vec![],
        },
        None => vec![],
    };
    let mut cards = Vec::with_capacity(offers.len());
    // When this page was drawn: with the offer, its forms' idempotency key.
    let rendered = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for o in offers.iter().filter(|o| o.status != "draft") {
        let Ok(sku) = s.store.sku(o.sku_id).await else {
            continue;
        };
        let name = match s.store.product_for(None, sku.product_id).await {
            Ok(p) => {
                let names = if lang == Lang::ZhCn {
                    Default::default()
                } else {
                    s.store
                        .product_names(&[p.row.id], lang.tag())
                        .await
                        .unwrap_or_default()
                };
                names.get(&p.row.id).cloned().unwrap_or(p.row.name)
            }
            Err(_) => continue,
        };
        let (state, open) = offer_state(lang, &o.status, o.remaining());
        cards.push(OfferCard {
            id: o.id,
            name,
            spec: sku.spec,
            price: Fen(o.price_fen),
            was: (sku.price_fen > o.price_fen).then_some(Fen(sku.price_fen)),
            state,
            open,
            quantities: (1..=o.per_order_limit.min(10)).collect(),
            limit: lang.ta("live-limit", &[("n", o.per_buyer_limit.into())]),
            ends: lang.ta(
                "live-ends",
                &[("time", crate::app::view::when(lang, o.ends_at, zone).into())],
            ),
            key: format!("tap-{}-{}", o.id, rendered),
        });
    }
    let status = match session.status.as_str() {
        "live" => lang.t("live-status-live"),
        "paused" => lang.t("live-status-paused"),
        "ended" => lang.t("live-status-ended"),
        _ => lang.ta(
            "live-status-scheduled",
            &[(
                "time",
                crate::app::view::when(lang, session.planned_start, zone).into(),
            )],
        ),
    };
    let watch = session.stream_url.clone().map(|u| {
        let p = Platform::parse("platform", &session.platform).unwrap_or(Platform::Other);
        let name = lang.t(&format!("live-platform-{}", p.as_str()));
        (lang.ta("live-watch", &[("platform", name.into())]), u)
    });
    let (csrf, new_csrf) = crate::app::session::csrf_token(h);
    let signed_in = crate::app::session::page_actor(s, h).await.is_some();
    let body = SessionPage {
        lang,
        csrf: &csrf,
        id,
        title: &session.title,
        status,
        watch,
        pinned,
        offers: cards,
        signed_in,
        login: format!(
            "/login?next={}",
            crate::catalog::pages::encode(&format!("/live/{id}"))
        ),
        refused,
        script: crate::app::assets::url("live.js"),
    };
    let mut res = crate::app::view::page_for(lang, (h, uri), code, &session.title, "", &body);
    if new_csrf {
        crate::app::session::set_cookie(&mut res, crate::app::session::csrf_cookie(&csrf));
    }
    res
}

/// `GET /live/{id}`: a session's page (public).
pub async fn page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match id.parse::<i64>() {
        Ok(id) => session_page(&s, &h, &uri, id, None, StatusCode::OK).await,
        Err(_) => {
            let lang = page_lang(&h, &uri);
            message_page(lang, StatusCode::NOT_FOUND, &lang.t("live-not-found"))
        }
    }
}

/// `POST /live/{id}/offers/{offer}`: a tap from the session page: the flash order to the
/// buyer's default address, then its page to pay; a refusal says why on the session's page.
pub async fn tap(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path((id, offer)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let (Ok(id), Ok(offer)) = (id.parse::<i64>(), offer.parse::<i64>()) else {
        return message_page(lang, StatusCode::NOT_FOUND, &lang.t("live-not-found"));
    };
    // The offer must be this session's: a form cannot order another session's offer.
    match s.store.offer(offer).await {
        Ok(o) if o.session_id == id => {}
        Ok(_) | Err(StoreError::NotFound) => {
            return message_page(lang, StatusCode::NOT_FOUND, &lang.t("live-not-found"));
        }
        Err(e) => return internal(e),
    }
    let quantity = form
        .get("quantity")
        .and_then(|q| q.trim().parse::<i64>().ok())
        .unwrap_or(0);
    // One tap, one order: the form's own key, so a double tap places it once.
    let key = form
        .get("key")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty() && k.len() <= 100 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from);
    match s
        .flash
        .order(
            &s.store,
            offer,
            FlashRequest {
                buyer: cx.actor.clone(),
                quantity,
                address_id: None,
                key,
            },
        )
        .await
    {
        Ok(p) => Redirect::to(&format!("/orders/{}", p.order.row.id)).into_response(),
        Err(e) => {
            let (status, msg) = cx.error_text(e);
            session_page(&s, &h, &uri, id, Some(msg), status).await
        }
    }
}

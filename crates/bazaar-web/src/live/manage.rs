//! The live room in the back office: the host's (the agent's, the operator's) sessions, a
//! new session, and one session's controls: start, pause, resume, end, the pin, its flash
//! offers with their actions, a new offer from the room's own stock, and its figures.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::forms::{FormView, text};
use crate::app::i18n::Lang;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::live::{DEFAULT_HOLD_MINUTES, OfferAction, OfferTerms, Platform, SessionAction};
use bazaar_domain::money::Fen;
use bazaar_domain::people::Role;
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::live::NewSession;
use bazaar_store::live::offers::NewOffer;
use std::collections::HashMap;

/// A time typed in a `datetime-local` field (`2026-12-04T20:00`), in Beijing time.
fn local_time(errs: &mut Vec<FieldError>, form: &HashMap<String, String>, field: &str) -> i64 {
    let v = text(form, field).trim().replace('T', " ");
    if v.is_empty() {
        errs.push(FieldError::new(field, Reason::Required));
        return 0;
    }
    Zone::Shanghai.parse_local(&v).unwrap_or_else(|| {
        errs.push(FieldError::new(field, Reason::InvalidFormat));
        0
    })
}

/// A `datetime-local` value of a UTC ms time, in Beijing time.
fn local_value(ms: i64) -> String {
    Zone::Shanghai.format_ms(ms).replace(' ', "T")
}

/// A whole number typed in `field` (refused by name when it is not one).
fn number(errs: &mut Vec<FieldError>, form: &HashMap<String, String>, field: &str) -> i64 {
    match text(form, field).trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errs.push(FieldError::new(field, Reason::InvalidFormat));
            0
        }
    }
}

/// An amount of yuan typed in `field` (`29.9`), as fen.
fn yuan(errs: &mut Vec<FieldError>, form: &HashMap<String, String>, field: &str) -> i64 {
    match Fen::parse_yuan(field, &text(form, field)) {
        Ok(f) => f.0,
        Err(e) => {
            errs.push(e);
            0
        }
    }
}

/// The sessions page.
#[derive(Template)]
#[template(path = "live/manage_sessions.html")]
struct SessionsPage<'a> {
    lang: Lang,
    f: FormView<'a>,
    csrf: &'a str,
    sessions: Vec<SessionRow>,
    /// The rooms the caller may open a session in: code and name.
    rooms: Vec<(String, String)>,
    platforms: Vec<(String, String)>,
}

/// One session in the list.
struct SessionRow {
    id: i64,
    title: String,
    status: String,
    when: String,
}

fn session_status(lang: Lang, s: &str) -> String {
    lang.t(&format!("live-session-{s}"))
}

async fn sessions_page(
    s: &AppState,
    cx: &Ctx,
    form: &HashMap<String, String>,
    errs: &[FieldError],
    code: StatusCode,
) -> Response {
    let lang = cx.lang;
    let list = match s.store.sessions_for(&cx.actor, 50).await {
        Ok(l) => l,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let zone = crate::app::view::zone_of(&s.store, &cx.actor).await;
    let sessions = list
        .into_iter()
        .map(|x| SessionRow {
            id: x.id,
            status: session_status(lang, &x.status),
            when: crate::app::view::when(lang, x.planned_start, zone),
            title: x.title,
        })
        .collect();
    let rooms = match (&cx.actor.node_code, cx.actor.role) {
        (Some(node), Role::Host | Role::Agent) => match s.store.node(node).await {
            Ok(n) => vec![(n.code, n.name)],
            Err(_) => vec![],
        },
        _ => match cx.actor.region_code() {
            Some(code) => s
                .store
                .nodes_in(code, 300)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|n| (n.code, n.name))
                .collect(),
            None => vec![],
        },
    };
    let platforms = Platform::ALL
        .iter()
        .map(|p| {
            (
                p.as_str().to_string(),
                lang.t(&format!("live-platform-{}", p.as_str())),
            )
        })
        .collect();
    cx.render(
        code,
        &lang.t("live-manage-title"),
        &SessionsPage {
            lang,
            f: FormView {
                lang,
                values: form,
                errors: errs,
            },
            csrf: &cx.csrf,
            sessions,
            rooms,
            platforms,
        },
    )
}

/// `GET /manage/live`: the caller's sessions and the form of a new one.
pub async fn sessions(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut form = HashMap::new();
    let now = bazaar_domain::time::now_ms();
    form.insert("planned_start".to_string(), local_value(now + 3_600_000));
    form.insert("planned_end".to_string(), local_value(now + 3 * 3_600_000));
    sessions_page(&s, &cx, &form, &[], StatusCode::OK).await
}

/// `POST /manage/live`: announces a session.
pub async fn create(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut errs = vec![];
    let platform = Platform::parse("platform", &text(&form, "platform")).unwrap_or_else(|e| {
        errs.push(e);
        Platform::Other
    });
    let planned_start = local_time(&mut errs, &form, "planned_start");
    let planned_end = local_time(&mut errs, &form, "planned_end");
    if errs.is_empty() {
        let url = text(&form, "stream_url");
        let new = NewSession {
            room_node: text(&form, "room_node").trim().to_string(),
            title: text(&form, "title"),
            platform,
            stream_url: (!url.trim().is_empty()).then_some(url),
            planned_start,
            planned_end,
        };
        match s.store.create_session(&cx.actor, &new).await {
            Ok(x) => return Redirect::to(&format!("/manage/live/{}", x.id)).into_response(),
            Err(StoreError::Invalid(e)) => errs = e,
            Err(e) => return cx.error_page(e, "/manage/live"),
        }
    }
    sessions_page(&s, &cx, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// One session's controls.
#[derive(Template)]
#[template(path = "live/manage_session.html")]
struct SessionControls<'a> {
    lang: Lang,
    f: FormView<'a>,
    csrf: &'a str,
    id: i64,
    status: String,
    /// The actions its status allows: value and label.
    actions: Vec<(&'static str, String)>,
    /// The products that may be pinned: id, name, pinned now.
    pins: Vec<(i64, String, bool)>,
    can_pin: bool,
    offers: Vec<OfferRow>,
    /// The room's SKUs for a new offer: id and "name option (¥price, n free)".
    skus: Vec<(String, String)>,
    can_offer: bool,
    figures: Vec<(String, String)>,
    alert: Option<String>,
}

/// One offer of the session.
struct OfferRow {
    id: i64,
    name: String,
    price: String,
    status: String,
    units: String,
    /// The actions its status allows: value and label.
    actions: Vec<(&'static str, String)>,
}

async fn session_controls(
    s: &AppState,
    cx: &Ctx,
    id: i64,
    form: &HashMap<String, String>,
    errs: &[FieldError],
    alert: Option<String>,
    code: StatusCode,
) -> Response {
    let lang = cx.lang;
    let session = match s.store.session(id).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage/live"),
    };
    let figures = match s.store.session_figures(&cx.actor, id).await {
        Ok(f) => f,
        Err(e) => return cx.error_page(e, "/manage/live"),
    };
    let status = bazaar_domain::live::SessionStatus::from_db(&session.status);
    let actions = [
        SessionAction::Start,
        SessionAction::Pause,
        SessionAction::Resume,
        SessionAction::End,
    ]
    .into_iter()
    .filter(|a| {
        status
            .and_then(|st| bazaar_domain::live::session_transition(st, *a))
            .is_some()
    })
    .map(|a| (a.as_str(), lang.t(&format!("live-do-{}", a.as_str()))))
    .collect();
    let offers = s.store.session_offers(id).await.unwrap_or_default();
    let mut rows = Vec::with_capacity(offers.len());
    for o in &offers {
        let name = match s.store.sku(o.sku_id).await {
            Ok(k) => match s.store.product_for(None, k.product_id).await {
                Ok(p) => format!("{} {}", p.row.name, k.spec),
                Err(_) => k.spec,
            },
            Err(_) => String::new(),
        };
        let st = bazaar_domain::live::OfferStatus::from_db(&o.status);
        rows.push(OfferRow {
            id: o.id,
            name,
            price: Fen(o.price_fen).to_string(),
            status: lang.t(&format!("live-offer-status-{}", o.status)),
            units: lang.ta(
                "live-units",
                &[
                    ("sold", o.sold.into()),
                    ("held", o.held.into()),
                    ("left", o.remaining().into()),
                ],
            ),
            actions: OfferAction::BY_HAND
                .into_iter()
                .filter(|a| {
                    st.and_then(|x| bazaar_domain::live::offer_transition(x, *a))
                        .is_some()
                })
                .map(|a| (a.as_str(), lang.t(&format!("live-offer-do-{}", a.as_str()))))
                .collect(),
        });
    }
    let open = session.status != "ended";
    // What may be pinned: what the room has in stock, and what was pinned before.
    let room = s
        .store
        .room_skus(&session.room_node)
        .await
        .unwrap_or_default();
    let mut pins: Vec<(i64, String, bool)> = vec![];
    for (sku, _, _, _, _) in &room {
        if let Ok(k) = s.store.sku(*sku).await
            && !pins.iter().any(|(p, _, _)| *p == k.product_id)
            && let Ok(p) = s.store.product_for(None, k.product_id).await
        {
            pins.push((
                p.row.id,
                p.row.name,
                session.pinned_product_id == Some(p.row.id),
            ));
        }
    }
    if let Some(p) = session.pinned_product_id
        && !pins.iter().any(|(x, _, _)| *x == p)
        && let Ok(prod) = s.store.product_for(None, p).await
    {
        pins.push((p, prod.row.name, true));
    }
    let skus = room
        .iter()
        .map(|(id, name, spec, price, free)| {
            (
                id.to_string(),
                lang.ta(
                    "live-sku-choice",
                    &[
                        ("name", format!("{name} {spec}").into()),
                        ("price", Fen(*price).to_string().into()),
                        ("n", (*free).into()),
                    ],
                ),
            )
        })
        .collect::<Vec<_>>();
    let figs = vec![
        (lang.t("live-fig-gmv"), Fen(figures.gmv_fen).to_string()),
        (lang.t("live-fig-orders"), figures.orders.to_string()),
        (lang.t("live-fig-paid"), figures.paid_orders.to_string()),
        (lang.t("live-fig-buyers"), figures.buyers.to_string()),
    ];
    cx.render(
        code,
        &session.title,
        &SessionControls {
            lang,
            f: FormView {
                lang,
                values: form,
                errors: errs,
            },
            csrf: &cx.csrf,
            id,
            status: session_status(lang, &session.status),
            actions,
            can_pin: open && !pins.is_empty(),
            pins,
            offers: rows,
            can_offer: open && !skus.is_empty(),
            skus,
            figures: figs,
            alert,
        },
    )
}

/// The offer form's first values: now for an hour, ten minutes to pay.
fn offer_defaults() -> HashMap<String, String> {
    let now = bazaar_domain::time::now_ms();
    HashMap::from([
        ("starts_at".to_string(), local_value(now)),
        ("ends_at".to_string(), local_value(now + 3_600_000)),
        ("per_buyer_limit".to_string(), "2".to_string()),
        ("per_order_limit".to_string(), "2".to_string()),
        ("hold_minutes".to_string(), DEFAULT_HOLD_MINUTES.to_string()),
    ])
}

/// `GET /manage/live/{id}`: a session's controls.
pub async fn session(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/live");
    };
    session_controls(&s, &cx, id, &offer_defaults(), &[], None, StatusCode::OK).await
}

/// `POST /manage/live/{id}/actions`: start, pause, resume, end, pin (`product_id`).
pub async fn session_action(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/live");
    };
    let back = format!("/manage/live/{id}");
    let action = match SessionAction::parse("action", &text(&form, "action")) {
        Ok(a) => a,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), &back),
    };
    let product = text(&form, "product_id").trim().parse::<i64>().ok();
    match s.store.session_action(&cx.actor, id, action, product).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => cx.error_page(e, &back),
    }
}

/// `POST /manage/live/{id}/offers`: a new flash offer from the room's stock.
pub async fn create_offer(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/live");
    };
    let session = match s.store.session(id).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage/live"),
    };
    let mut errs = vec![];
    let sku_id = number(&mut errs, &form, "sku_id");
    let terms = OfferTerms {
        price_fen: yuan(&mut errs, &form, "price"),
        cap: number(&mut errs, &form, "cap"),
        per_buyer_limit: number(&mut errs, &form, "per_buyer_limit"),
        per_order_limit: number(&mut errs, &form, "per_order_limit"),
        starts_at: local_time(&mut errs, &form, "starts_at"),
        ends_at: local_time(&mut errs, &form, "ends_at"),
        hold_minutes: number(&mut errs, &form, "hold_minutes"),
    };
    if errs.is_empty() {
        let new = NewOffer {
            sku_id,
            location: Some(session.room_node.clone()),
            terms,
            schedule: true,
        };
        match s.store.create_offer(&cx.actor, id, &new).await {
            Ok(_) => return Redirect::to(&format!("/manage/live/{id}")).into_response(),
            Err(StoreError::Invalid(e)) => {
                // The form asks for yuan: the store's `price_fen` is the form's `price`.
                errs = e
                    .into_iter()
                    .map(|f| {
                        if f.field == "price_fen" {
                            FieldError::new("price", f.reason)
                        } else {
                            f
                        }
                    })
                    .collect()
            }
            Err(e) => return cx.error_page(e, &format!("/manage/live/{id}")),
        }
    }
    session_controls(
        &s,
        &cx,
        id,
        &form,
        &errs,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /manage/live/{id}/offers/{offer}/actions`: schedule, start, pause, resume, stop.
pub async fn offer_action(
    State(s): State<AppState>,
    h: HeaderMap,
    Path((id, offer)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (Ok(id), Ok(offer)) = (id.parse::<i64>(), offer.parse::<i64>()) else {
        return cx.error_page(StoreError::NotFound, "/manage/live");
    };
    let back = format!("/manage/live/{id}");
    match s.store.offer(offer).await {
        Ok(o) if o.session_id == id => {}
        Ok(_) => return cx.error_page(StoreError::NotFound, &back),
        Err(e) => return cx.error_page(e, &back),
    }
    let action = match OfferAction::parse("action", &text(&form, "action")) {
        Ok(a) => a,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), &back),
    };
    match s.store.offer_action(&cx.actor, offer, action).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => cx.error_page(e, &back),
    }
}

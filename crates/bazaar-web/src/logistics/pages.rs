//! Logistics pages: the scanning page a village agent, driver or centre clerk uses on a
//! cheap phone (camera where the browser reads barcodes, typed numbers otherwise, an offline
//! queue that sends each scan once), the village point's shelf (waiting parcels by slot,
//! hand-over against the pickup code, what goes out today) and the operator's list of
//! stalled parcels.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::error::field_message;
use crate::app::i18n::Lang;
use crate::app::session::{csrf_token, page_actor};
use crate::catalog::pages::encode;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, body::Bytes};
use bazaar_domain::logistics::{CARRIERS, Carrier, ScanKind};
use bazaar_domain::people::Role;
use bazaar_domain::time::Zone;
use bazaar_store::StoreError;
use bazaar_store::logistics::parcels::{ScanInput, ScanResult};
use bazaar_store::logistics::pickup::PickupInput;
use serde_json::json;
use std::collections::HashMap;

fn may_scan(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Operator | Role::Agent | Role::Driver
    )
}

/// The scan kinds an actor picks from first: an agent's point receives and hands over, a
/// driver loads and delivers, the centre receives and sorts.
fn kinds_for(role: Role, place: Option<&str>) -> Vec<ScanKind> {
    // A person who works at one place scans what that place does.
    if let Some(kind) = place {
        return ScanKind::at_place(kind);
    }
    let first = match role {
        Role::Agent => ScanKind::DeliveredToPoint,
        Role::Driver => ScanKind::LoadedOnVehicle,
        _ => ScanKind::ArrivedAtCounty,
    };
    let mut v = vec![first];
    v.extend(ScanKind::ALL.into_iter().filter(|k| *k != first));
    v
}

/// Where a person scans: their own point (an agent), or the places of their region to
/// choose from (code, name, kind), centres first.
struct ScanPlaces {
    own: Option<bazaar_store::network::Node>,
    nodes: Vec<(String, String, String)>,
}

/// The most places the scanning page offers to choose from.
const MAX_SCAN_PLACES: usize = 300;

async fn scan_places(s: &AppState, actor: &bazaar_domain::people::Actor) -> ScanPlaces {
    if let Some(code) = &actor.node_code
        && let Ok(n) = s.store.node(code).await
    {
        return ScanPlaces {
            own: Some(n),
            nodes: vec![],
        };
    }
    let mut nodes: Vec<(String, String, String)> = match actor.region_code() {
        Some(code) => s
            .store
            .nodes_in(code, MAX_SCAN_PLACES)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.code, n.name, n.kind))
            .collect(),
        None => Vec::new(),
    };
    let rank = |k: &str| match k {
        "distribution_centre" | "county_centre" | "prefecture_centre" => 0,
        "township_station" => 1,
        _ => 2,
    };
    nodes.sort_by_key(|n| rank(&n.2));
    nodes.truncate(MAX_SCAN_PLACES);
    ScanPlaces { own: None, nodes }
}

/// One scan's result as the scanning page lists it (labels translated).
struct ScanLine {
    /// recorded, duplicate or refused (the item's class).
    result: &'static str,
    /// The waybill scanned.
    waybill: String,
    /// What became of the scan.
    said: String,
    /// The parcel's state after it.
    state: Option<String>,
    /// How many parcels a sack moved, when more than one.
    moved: Option<String>,
    /// The pickup code and shelf slot it got.
    pickup: Option<String>,
    /// Why it was refused.
    error: Option<String>,
}

/// One scan result as a list item (also the line of HTML `POST /manage/scans` answers).
#[derive(Template)]
#[template(path = "logistics/scan_result.html")]
struct ScanResultItem<'a> {
    r: &'a ScanLine,
}

/// The translated result of one scan.
fn scan_line(lang: Lang, waybill: &str, r: &ScanResult) -> ScanLine {
    ScanLine {
        result: r.result,
        waybill: waybill.to_string(),
        said: lang.t(&format!("scan-{}", r.result)),
        state: r
            .state
            .as_ref()
            .map(|st| lang.t(&format!("parcel-state-{st}"))),
        moved: (r.parcels > 1).then(|| lang.ta("scan-moved", &[("n", (r.parcels as i64).into())])),
        pickup: match (&r.pickup_code, &r.shelf_slot) {
            (Some(code), Some(slot)) => Some(lang.ta(
                "scan-pickup-code",
                &[
                    ("code", code.as_str().into()),
                    ("slot", slot.as_str().into()),
                ],
            )),
            _ => None,
        },
        error: r
            .error
            .as_ref()
            .map(|e| field_message(lang, &e.field, e.reason.code())),
    }
}

/// `GET /manage/scan`: the scanning page.
pub async fn scan_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_scan(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let places = scan_places(&s, &cx.actor).await;
    scan_html(&cx, vec![], q.get("kind"), q.get("node"), &places)
}

/// The scanning page: the form (camera, typed numbers, the offline queue) and the results.
#[derive(Template)]
#[template(path = "logistics/scan.html")]
struct ScanPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// An agent's own point, by name (an agent scans there); others choose where they are.
    agent_node: Option<&'a str>,
    /// The places to choose from (code, name, chosen); empty: typed.
    places: Vec<(&'a str, &'a str, bool)>,
    /// The node chosen or typed last time.
    node: &'a str,
    /// The scan kinds, the likeliest first: value and label.
    kinds: Vec<(&'static str, String)>,
    carriers: &'static [Carrier],
    /// A parcel without a manifest may be registered here from its label.
    register: bool,
    /// The points a registered parcel may be bound for (code, name); empty at a point (its
    /// own).
    destinations: Vec<(&'a str, &'a str)>,
    results: Vec<ScanLine>,
    /// The address of the page's script.
    script: String,
}

fn scan_html(
    cx: &Ctx,
    results: Vec<ScanLine>,
    kind: Option<&String>,
    node: Option<&String>,
    places: &ScanPlaces,
) -> Response {
    let lang = cx.lang;
    let own_kind = places.own.as_ref().map(|n| n.kind.as_str());
    let mut order = kinds_for(cx.actor.role, own_kind);
    // A link from the driver's manifest chooses the kind.
    if let Some(k) = kind.and_then(|k| ScanKind::parse("kind", k).ok()) {
        order.retain(|x| *x != k);
        order.insert(0, k);
    }
    let kinds = order
        .into_iter()
        .map(|k| (k.as_str(), lang.t(&format!("scan-kind-{}", k.as_str()))))
        .collect();
    let node = node.map(String::as_str).unwrap_or("");
    let register = match own_kind {
        Some(k) => k == "village_point",
        None => cx.actor.role != Role::Driver,
    };
    cx.render(
        StatusCode::OK,
        &lang.t("scan-title"),
        &ScanPage {
            lang,
            csrf: &cx.csrf,
            agent_node: places.own.as_ref().map(|n| n.name.as_str()),
            places: places
                .nodes
                .iter()
                .map(|(c, n, _)| (c.as_str(), n.as_str(), c == node))
                .collect(),
            node,
            kinds,
            carriers: CARRIERS,
            register,
            destinations: places
                .nodes
                .iter()
                .filter(|(_, _, k)| matches!(k.as_str(), "village_point" | "locker_bank"))
                .map(|(c, n, _)| (c.as_str(), n.as_str()))
                .collect(),
            results,
            script: crate::app::assets::url("scan.js"),
        },
    )
}

/// `POST /manage/scan`: the scanning form without JavaScript (one scan, answered with the
/// page and its result).
pub async fn scan_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let get = |k: &str| {
        form.get(k)
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
    };
    let scan = ScanInput {
        client_id: bazaar_store::logistics::parcels::fresh_client_id(),
        waybill: get("waybill").unwrap_or_default(),
        kind: get("kind").unwrap_or_default(),
        node_code: get("node_code"),
        sack: get("sack"),
        carrier: get("carrier"),
        recipient_name: get("recipient_name"),
        recipient_phone: get("recipient_phone"),
        dest_node: get("dest_node"),
        ..ScanInput::default()
    };
    match s
        .store
        .record_scans(&cx.actor, std::slice::from_ref(&scan))
        .await
    {
        Ok(r) => {
            let lines = r
                .iter()
                .map(|x| scan_line(cx.lang, &scan.waybill, x))
                .collect();
            let places = scan_places(&s, &cx.actor).await;
            scan_html(
                &cx,
                lines,
                Some(&scan.kind),
                scan.node_code.as_ref(),
                &places,
            )
        }
        Err(e) => cx.error_page(e, "/manage/scan"),
    }
}

/// `POST /manage/scans`: the scanning page's queue (JSON `{"scans": [...]}`), signed in by
/// the session cookie and guarded by the CSRF token in `X-CSRF-Token`. Answers each scan's
/// result and its line of HTML.
pub async fn scans_json(State(s): State<AppState>, h: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::negotiate(&h, None);
    let (cookie_token, fresh) = csrf_token(&h);
    let header_token = h
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if fresh
        || !crate::app::session::same_origin(&h)
        || header_token.len() != cookie_token.len()
        || header_token != cookie_token
    {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"code": "csrf", "message": lang.t("csrf-expired")}})),
        )
            .into_response();
    }
    let Some(actor) = page_actor(&s, &h).await else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "unauthorized"}})),
        )
            .into_response();
    };
    #[derive(serde::Deserialize)]
    struct Batch {
        scans: Vec<ScanInput>,
    }
    let Ok(b) = serde_json::from_slice::<Batch>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"code": "invalid_json", "message": lang.t("error-invalid_json")}}),
            ),
        )
            .into_response();
    };
    match s.store.record_scans(&actor, &b.scans).await {
        Ok(results) => {
            let html: Result<Vec<String>, askama::Error> = results
                .iter()
                .zip(&b.scans)
                .map(|(r, sc)| {
                    ScanResultItem {
                        r: &scan_line(lang, &sc.waybill, r),
                    }
                    .render()
                })
                .collect();
            match html {
                Ok(html) => Json(json!({"results": results, "html": html})).into_response(),
                Err(e) => crate::app::view::failed(e),
            }
        }
        Err(e) => crate::app::error::ApiError::from(e)
            .in_lang(lang)
            .into_response(),
    }
}

/// `GET /manage/shelf?node=…&find=…`: the village point's shelf; `find` looks a waiting
/// parcel up by the recipient's phone tail or name, for one who comes without a code.
pub async fn shelf_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let typed = Typed {
        find: q.get("find").map(|f| bounded(f, 40)).unwrap_or_default(),
        ..Typed::default()
    };
    shelf_html(
        &s,
        &cx,
        q.get("node").map(String::as_str),
        q.get("done"),
        None,
        typed,
    )
    .await
}

/// `s` trimmed to at most `n` characters.
fn bounded(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

/// What the agent typed on the shelf, kept when a hand-over is refused.
#[derive(Debug, Default)]
struct Typed {
    pickup_code: String,
    phone_last4: String,
    signature: String,
    /// The parcel chosen without a code.
    parcel_id: Option<i64>,
    /// The phone tail or name looked up.
    find: String,
}

/// Whether a waiting parcel is the one someone asks for by `find`: the last digits of the
/// phone (three or more) or a part of the name.
fn matches_find(p: &bazaar_store::logistics::pickup::ShelfParcel, find: &str) -> bool {
    if find.len() >= 3 && find.bytes().all(|b| b.is_ascii_digit()) {
        p.recipient_phone.ends_with(find)
    } else {
        p.recipient_name
            .to_lowercase()
            .contains(&find.to_lowercase())
    }
}

async fn shelf_html(
    s: &AppState,
    cx: &Ctx,
    node: Option<&str>,
    done: Option<&String>,
    error: Option<String>,
    typed: Typed,
) -> Response {
    let lang = cx.lang;
    let node = node.filter(|n| !n.is_empty());
    let shelf = match s.store.shelf(&cx.actor, node).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let zone = crate::app::view::zone_of(&s.store, &cx.actor).await;
    let row = |p: &bazaar_store::logistics::pickup::ShelfParcel, waiting: bool| ShelfRow {
        id: p.id,
        first: if waiting {
            p.shelf_slot.clone().unwrap_or_default()
        } else {
            lang.t(&format!("parcel-state-{}", p.state))
        },
        waybill: p.waybill.clone(),
        carrier: bazaar_domain::logistics::carrier(&p.carrier)
            .map(|c| c.name)
            .unwrap_or(""),
        name: p.recipient_name.clone(),
        phone: p.recipient_phone.clone(),
        since: if waiting {
            p.waiting_since
        } else {
            p.last_event_at
        }
        .map(|t| crate::app::view::when(lang, t, zone))
        .unwrap_or_default(),
        reminded: p.reminded_at.is_some(),
    };
    // A six-digit lookup is a pickup code: it goes to the code form.
    let find = typed.find.as_str();
    let is_code = find.len() == 6 && find.bytes().all(|b| b.is_ascii_digit());
    let found = (!find.is_empty() && !is_code).then(|| {
        shelf
            .waiting
            .iter()
            .filter(|p| matches_find(p, find))
            .take(20)
            .map(|p| row(p, true))
            .collect::<Vec<_>>()
    });
    let groups = vec![
        ShelfGroup {
            title: lang.t("shelf-waiting"),
            first: lang.t("shelf-slot"),
            rows: shelf.waiting.iter().map(|p| row(p, true)).collect(),
        },
        ShelfGroup {
            title: lang.t("shelf-outgoing"),
            first: lang.t("field-status"),
            rows: shelf.outgoing.iter().map(|p| row(p, false)).collect(),
        },
    ];
    let phone_tail = if typed.phone_last4.is_empty() && find.len() == 4 && !is_code {
        find.to_string()
    } else {
        typed.phone_last4.clone()
    };
    let pickup_code = if typed.pickup_code.is_empty() && is_code {
        find.to_string()
    } else {
        typed.pickup_code.clone()
    };
    cx.render(
        StatusCode::OK,
        &lang.t("shelf-title"),
        &ShelfPage {
            lang,
            csrf: &cx.csrf,
            done: done.map(|w| lang.ta("shelf-handed", &[("waybill", w.as_str().into())])),
            error,
            node: &shelf.node_code,
            found_count: found
                .as_ref()
                .map(|f| lang.ta("shelf-found", &[("n", f.len().into())])),
            found,
            pickup_code,
            phone_tail,
            typed: &typed,
            groups,
        },
    )
}

/// The village point's shelf: the hand-over form, the lookup by phone tail or name, the
/// parcels waiting and those going out.
#[derive(Template)]
#[template(path = "logistics/shelf.html")]
struct ShelfPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The parcel just handed over, as a sentence.
    done: Option<String>,
    /// Why the last hand-over was refused.
    error: Option<String>,
    /// The point's code.
    node: &'a str,
    /// The waiting parcels that match the lookup, when there is one.
    found: Option<Vec<ShelfRow>>,
    /// "找到 2 个包裹".
    found_count: Option<String>,
    /// The code to fill in the code form (typed, or looked up).
    pickup_code: String,
    /// The phone tail to fill in (typed, or looked up).
    phone_tail: String,
    /// What was typed.
    typed: &'a Typed,
    /// Waiting, then outgoing.
    groups: Vec<ShelfGroup>,
}

/// One list of the shelf, with its heading and the label of its first field.
struct ShelfGroup {
    title: String,
    first: String,
    rows: Vec<ShelfRow>,
}

/// One parcel on the shelf: its slot (waiting) or state (outgoing) first.
struct ShelfRow {
    id: i64,
    first: String,
    waybill: String,
    carrier: &'static str,
    name: String,
    phone: String,
    /// Since when it waits (or its last event), local time.
    since: String,
    reminded: bool,
}

/// `POST /manage/shelf/pickup`: hands a parcel over against its code, or, for a recipient
/// without one, the parcel found on the shelf against the phone's last four digits.
pub async fn pickup_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let get = |k: &str| {
        form.get(k)
            .map(|x| x.trim().to_string())
            .unwrap_or_default()
    };
    let node = get("node_code");
    let parcel_id = get("parcel_id").parse::<i64>().ok();
    let input = PickupInput {
        pickup_code: get("pickup_code"),
        phone_last4: get("phone_last4"),
        signature: get("signature"),
        node_code: Some(node.clone()).filter(|n| !n.is_empty()),
        parcel_id,
    };
    match s.store.hand_over(&cx.actor, &input).await {
        Ok(t) => Redirect::to(&format!(
            "/manage/shelf?node={}&done={}",
            encode(&node),
            encode(&t.parcel.waybill)
        ))
        .into_response(),
        Err(e @ (StoreError::Invalid(_) | StoreError::Throttled(_))) => {
            let (status, msg) = cx.error_text(e);
            // What was typed stays (a long signature drawing is not sent back).
            let typed = Typed {
                pickup_code: bounded(&input.pickup_code, 6),
                phone_last4: bounded(&input.phone_last4, 4),
                signature: if input.signature.trim_start().starts_with("data:") {
                    String::new()
                } else {
                    bounded(&input.signature, 40)
                },
                parcel_id,
                find: bounded(&get("find"), 40),
            };
            let mut r = shelf_html(&s, &cx, Some(&node), None, Some(msg), typed).await;
            *r.status_mut() = status;
            r
        }
        Err(e) => cx.error_page(e, "/manage/shelf"),
    }
}

/// `GET /manage/stalled`: parcels without news beyond their limit, by carrier, node and
/// seller, with where each stopped, for how long, and the notes (`?format=csv` for a file).
pub async fn stalled_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let csv = q.get("format").is_some_and(|f| f == "csv");
    let f = match crate::logistics::api::stalled_filter(&q, if csv { 1000 } else { 100 }) {
        Ok(mut f) => {
            if csv && !q.contains_key("limit") {
                f.limit = 1000;
            } else if !q.contains_key("limit") {
                f.limit = 100;
            }
            f
        }
        Err(e) => {
            let msg = e.in_lang(lang).message();
            return cx.render(
                StatusCode::BAD_REQUEST,
                &lang.t("stalled-title"),
                &Alert { msg: &msg },
            );
        }
    };
    let now = bazaar_domain::time::now_ms();
    let items = match s.store.stalled(&cx.actor, now, &f).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let zone = crate::app::view::zone_of(&s.store, &cx.actor).await;
    let carrier_name = |c: &str| {
        bazaar_domain::logistics::carrier(c)
            .map(|x| x.name)
            .unwrap_or("")
            .to_string()
    };
    let where_ = |p: &bazaar_store::logistics::watch::StalledParcel| {
        p.last_node_name
            .clone()
            .or_else(|| p.last_place.clone())
            .unwrap_or_default()
    };
    if csv {
        let mut w = String::from(
            "\u{feff}waybill,carrier,direction,state,where,last_event,hours,seller,last_note\r\n",
        );
        for p in &items {
            let cells = [
                p.waybill.clone(),
                carrier_name(&p.carrier),
                p.direction.clone(),
                p.state.clone(),
                where_(p),
                Zone::Shanghai.format_ms(p.last_event_at),
                ((now - p.last_event_at) / 3_600_000).to_string(),
                p.seller_name.clone().unwrap_or_default(),
                p.last_note.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = cells
                .iter()
                .map(|c| crate::stats::pages::csv_field(c))
                .collect();
            w.push_str(&line.join(","));
            w.push_str("\r\n");
        }
        return (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"stalled-parcels.csv\"",
                ),
            ],
            w,
        )
            .into_response();
    }
    let summary = match s.store.stalled_summary(&cx.actor, now).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let groups = [
        ("stalled-by-carrier", "carrier", &summary.by_carrier),
        ("stalled-by-node", "node", &summary.by_node),
        ("stalled-by-seller", "seller", &summary.by_seller),
    ]
    .into_iter()
    .map(|(title, key, rows)| StalledGroup {
        title: lang.t(title),
        items: rows
            .iter()
            .map(|g| StalledCount {
                href: (!g.key.is_empty() && g.key != "0")
                    .then(|| format!("/manage/stalled?{key}={}", encode(&g.key))),
                name: if g.name.is_empty() {
                    "—".to_string()
                } else {
                    g.name.clone()
                },
                count: g.count,
            })
            .collect(),
    })
    .collect();
    let items = items
        .iter()
        .map(|p| StalledRow {
            id: p.id,
            waybill: p.waybill.clone(),
            carrier: carrier_name(&p.carrier),
            state: lang.t(&format!("parcel-state-{}", p.state)),
            place: where_(p),
            since: crate::app::view::when(lang, p.last_event_at, zone),
            hours: (now - p.last_event_at) / 3_600_000,
            seller: p.seller_name.clone().unwrap_or_default(),
            note: p.last_note.clone(),
            notes: p.notes,
        })
        .collect();
    cx.render(
        StatusCode::OK,
        &lang.t("stalled-title"),
        &StalledPage {
            lang,
            csrf: &cx.csrf,
            total: lang.ta("stalled-total", &[("n", summary.total.into())]),
            groups,
            carriers: CARRIERS,
            carrier: f.carrier.as_deref(),
            node: f.node.as_deref().unwrap_or(""),
            annotate: matches!(cx.actor.role, Role::Admin | Role::Operator),
            items,
        },
    )
}

/// A refusal alone on a page.
#[derive(Template)]
#[template(path = "logistics/alert.html")]
struct Alert<'a> {
    msg: &'a str,
}

/// The stalled parcels: counts by carrier, node and seller, the filter, the parcels.
#[derive(Template)]
#[template(path = "logistics/stalled.html")]
struct StalledPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// How many, as a sentence.
    total: String,
    groups: Vec<StalledGroup>,
    carriers: &'static [Carrier],
    /// The carrier filtered on.
    carrier: Option<&'a str>,
    /// The node filtered on.
    node: &'a str,
    /// Whether the caller may add notes (operators and admins).
    annotate: bool,
    items: Vec<StalledRow>,
}

/// The counts by one key, with its heading.
struct StalledGroup {
    title: String,
    items: Vec<StalledCount>,
}

/// One count, linked to its parcels when it has a key.
struct StalledCount {
    href: Option<String>,
    name: String,
    count: i64,
}

/// One stalled parcel: where it stopped, since when, and the last note.
struct StalledRow {
    id: i64,
    waybill: String,
    carrier: String,
    state: String,
    place: String,
    since: String,
    hours: i64,
    seller: String,
    note: Option<String>,
    notes: i64,
}

/// `POST /manage/stalled/{id}/note`: an operator's note on a stalled parcel.
pub async fn note_post(
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
        return cx.error_page(StoreError::NotFound, "/manage/stalled");
    };
    let body = form.get("body").map(String::as_str).unwrap_or("");
    match s.store.annotate_parcel(&cx.actor, id, body).await {
        Ok(_) => Redirect::to("/manage/stalled").into_response(),
        Err(e) => cx.error_page(e, "/manage/stalled"),
    }
}

//! Logistics pages: the scanning page a village agent, driver or centre clerk uses on a
//! cheap phone (camera where the browser reads barcodes, typed numbers otherwise, an offline
//! queue that sends each scan once), the village point's shelf (waiting parcels by slot,
//! hand-over against the pickup code, what goes out today) and the operator's list of
//! stalled parcels.

use crate::AppState;
use crate::backoffice::Ctx;
use crate::error::field_message;
use crate::i18n::Lang;
use crate::pages::{encode, esc};
use crate::session::{csrf_token, page_actor};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Json, body::Bytes};
use bazaar_domain::logistics::{CARRIERS, ScanKind};
use bazaar_domain::people::Role;
use bazaar_domain::time::Zone;
use bazaar_store::StoreError;
use bazaar_store::parcels::{ScanInput, ScanResult};
use bazaar_store::pickup::PickupInput;
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
fn kinds_for(role: Role) -> Vec<ScanKind> {
    let first = match role {
        Role::Agent => ScanKind::DeliveredToPoint,
        Role::Driver => ScanKind::LoadedOnVehicle,
        _ => ScanKind::ArrivedAtCounty,
    };
    let mut v = vec![first];
    v.extend(ScanKind::ALL.into_iter().filter(|k| *k != first));
    v
}

/// One scan result as a list item.
fn result_html(lang: Lang, waybill: &str, r: &ScanResult) -> String {
    let mut o = format!(
        "<li class=\"scan-{}\"><b>{}</b> · {}",
        r.result,
        esc(waybill),
        esc(&lang.t(&format!("scan-{}", r.result)))
    );
    if let Some(st) = &r.state {
        o.push_str(&format!(
            " · {}",
            esc(&lang.t(&format!("parcel-state-{st}")))
        ));
    }
    if r.parcels > 1 {
        o.push_str(&format!(
            " · {}",
            esc(&lang.ta("scan-moved", &[("n", (r.parcels as i64).into())]))
        ));
    }
    if let (Some(code), Some(slot)) = (&r.pickup_code, &r.shelf_slot) {
        o.push_str(&format!(
            " · <strong class=\"pickup-code\">{}</strong>",
            esc(&lang.ta(
                "scan-pickup-code",
                &[
                    ("code", code.as_str().into()),
                    ("slot", slot.as_str().into())
                ]
            ))
        ));
    }
    if let Some(e) = &r.error {
        o.push_str(&format!(
            " · <span class=\"err\">{}</span>",
            esc(&field_message(lang, &e.field, e.reason.code()))
        ));
    }
    o.push_str("</li>");
    o
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
    scan_html(&cx, "", q.get("kind"), q.get("node"))
}

fn scan_html(cx: &Ctx, results: &str, kind: Option<&String>, node: Option<&String>) -> Response {
    let lang = cx.lang;
    let mut kinds = String::new();
    let mut order = kinds_for(cx.actor.role);
    // A link from the driver's manifest chooses the kind.
    if let Some(k) = kind.and_then(|k| ScanKind::parse("kind", k).ok()) {
        order.retain(|x| *x != k);
        order.insert(0, k);
    }
    for k in order {
        kinds.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            k.as_str(),
            esc(&lang.t(&format!("scan-kind-{}", k.as_str())))
        ));
    }
    // An agent scans at its own point; others say where they are.
    let node = match &cx.actor.node_code {
        Some(n) => format!(
            "<p><small>{}: {}</small></p>",
            esc(&lang.t("field-node_code")),
            esc(n)
        ),
        None => format!(
            "<label>{}<br><input name=\"node_code\" required maxlength=\"40\" \
autocapitalize=\"characters\" placeholder=\"DC-652829\" value=\"{}\"></label>",
            esc(&lang.t("field-node_code")),
            esc(node.map(String::as_str).unwrap_or(""))
        ),
    };
    let body = format!(
        "<form id=\"scan-form\" method=\"post\" action=\"/manage/scan\">{csrf}{node}\
<label>{kind_l}<br><select name=\"kind\">{kinds}</select></label>\
<label>{waybill_l}<br><input name=\"waybill\" id=\"waybill\" required maxlength=\"40\" \
autocomplete=\"off\" autocapitalize=\"characters\" inputmode=\"text\" autofocus \
style=\"font-size:1.3em;width:100%\"></label>\
<label>{sack_l}<br><input name=\"sack\" maxlength=\"35\" placeholder=\"SACK-…\"></label>\
<details><summary>{new_l}</summary><label>{carrier_l}<br><select name=\"carrier\"><option value=\"\"></option>{carriers}</select></label>\
<label>{rname_l}<br><input name=\"recipient_name\" maxlength=\"40\"></label>\
<label>{rphone_l}<br><input name=\"recipient_phone\" maxlength=\"15\" inputmode=\"tel\"></label>\
<label>{dest_l}<br><input name=\"dest_node\" maxlength=\"40\" placeholder=\"VP-…\"></label></details>\
<button style=\"font-size:1.2em;padding:.4em 1.2em\">{submit}</button> \
<button type=\"button\" id=\"scan-camera\" hidden>{camera}</button></form>\
<p id=\"scan-queue\" role=\"status\" data-waiting=\"{waiting}\"></p>\
<ul id=\"scan-results\">{results}</ul><script src=\"/assets/scan.js\" defer></script>",
        csrf = cx.csrf_input(),
        kind_l = esc(&lang.t("field-kind")),
        waybill_l = esc(&lang.t("scan-waybill")),
        sack_l = esc(&lang.t("scan-sack")),
        submit = esc(&lang.t("scan-submit")),
        camera = esc(&lang.t("scan-camera")),
        waiting = esc(&lang.t("scan-queued")),
        new_l = esc(&lang.t("scan-new-parcel")),
        carrier_l = esc(&lang.t("field-carrier")),
        rname_l = esc(&lang.t("field-recipient_name")),
        rphone_l = esc(&lang.t("field-recipient_phone")),
        dest_l = esc(&lang.t("field-dest_node")),
        carriers = CARRIERS
            .iter()
            .map(|c| format!("<option value=\"{}\">{}</option>", c.code, esc(c.name)))
            .collect::<String>(),
    );
    cx.page(StatusCode::OK, &lang.t("scan-title"), &body)
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
        client_id: bazaar_store::parcels::fresh_client_id(),
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
            let html: String = r
                .iter()
                .map(|x| result_html(cx.lang, &scan.waybill, x))
                .collect();
            scan_html(&cx, &html, Some(&scan.kind), scan.node_code.as_ref())
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
        || !crate::session::same_origin(&h)
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
            let html: Vec<String> = results
                .iter()
                .zip(&b.scans)
                .map(|(r, sc)| result_html(lang, &sc.waybill, r))
                .collect();
            Json(json!({"results": results, "html": html})).into_response()
        }
        Err(e) => crate::error::ApiError::from(e)
            .in_lang(lang)
            .into_response(),
    }
}

/// `GET /manage/shelf`: the village point's shelf.
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
    shelf_html(
        &s,
        &cx,
        q.get("node").map(String::as_str),
        q.get("done"),
        None,
    )
    .await
}

async fn shelf_html(
    s: &AppState,
    cx: &Ctx,
    node: Option<&str>,
    done: Option<&String>,
    error: Option<String>,
) -> Response {
    let lang = cx.lang;
    let node = node.filter(|n| !n.is_empty());
    let shelf = match s.store.shelf(&cx.actor, node).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let mut body = String::new();
    if let Some(w) = done {
        body.push_str(&format!(
            "<p role=\"status\" class=\"ok\">{}</p>",
            esc(&lang.ta("shelf-handed", &[("waybill", w.as_str().into())]))
        ));
    }
    if let Some(e) = error {
        body.push_str(&format!("<p role=\"alert\" class=\"err\">{}</p>", esc(&e)));
    }
    body.push_str(&format!(
        "<h2>{handover}</h2><form method=\"post\" action=\"/manage/shelf/pickup\" id=\"pickup-form\">{csrf}\
<input type=\"hidden\" name=\"node_code\" value=\"{node}\">\
<label>{code_l}<br><input name=\"pickup_code\" required inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"off\"></label>\
<label>{last4_l}<br><input name=\"phone_last4\" required inputmode=\"numeric\" pattern=\"[0-9]{{4}}\" maxlength=\"4\" autocomplete=\"off\"></label>\
<label>{sig_l}<br><input name=\"signature\" required maxlength=\"40\"></label>\
<button>{submit}</button></form>",
        handover = esc(&lang.t("shelf-handover")),
        csrf = cx.csrf_input(),
        node = esc(&shelf.node_code),
        code_l = esc(&lang.t("field-pickup_code")),
        last4_l = esc(&lang.t("field-phone_last4")),
        sig_l = esc(&lang.t("field-signature")),
        submit = esc(&lang.t("shelf-handover")),
    ));
    let zone = Zone::Shanghai;
    let table = |rows: &[bazaar_store::pickup::ShelfParcel], waiting: bool| {
        if rows.is_empty() {
            return format!("<p>{}</p>", esc(&lang.t("manage-nothing")));
        }
        let mut o = format!(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(&lang.t(if waiting {
                "shelf-slot"
            } else {
                "field-status"
            })),
            esc(&lang.t("field-waybill")),
            esc(&lang.t("field-recipient_name")),
            esc(&lang.t("field-recipient_phone")),
            esc(&lang.t("shelf-since")),
        );
        for p in rows {
            let first = if waiting {
                p.shelf_slot.clone().unwrap_or_default()
            } else {
                lang.t(&format!("parcel-state-{}", p.state))
            };
            let since = if waiting {
                p.waiting_since
            } else {
                p.last_event_at
            };
            o.push_str(&format!(
                "<tr><td><b>{}</b></td><td>{} <small>{}</small></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&first),
                esc(&p.waybill),
                esc(bazaar_domain::logistics::carrier(&p.carrier).map(|c| c.name).unwrap_or("")),
                esc(&p.recipient_name),
                esc(&p.recipient_phone),
                since.map(|t| esc(&zone.format_ms(t))).unwrap_or_default(),
                if p.reminded_at.is_some() {
                    format!(" <span class=\"tag\">{}</span>", esc(&lang.t("shelf-reminded")))
                } else {
                    String::new()
                }
            ));
        }
        o.push_str("</table>");
        o
    };
    body.push_str(&format!(
        "<h2>{} ({})</h2>{}<h2>{} ({})</h2>{}<p><a href=\"/manage/scan\">{}</a></p>",
        esc(&lang.t("shelf-waiting")),
        shelf.waiting.len(),
        table(&shelf.waiting, true),
        esc(&lang.t("shelf-outgoing")),
        shelf.outgoing.len(),
        table(&shelf.outgoing, false),
        esc(&lang.t("scan-title")),
    ));
    cx.page(StatusCode::OK, &lang.t("shelf-title"), &body)
}

/// `POST /manage/shelf/pickup`: hands a parcel over against its code.
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
    let input = PickupInput {
        pickup_code: get("pickup_code"),
        phone_last4: get("phone_last4"),
        signature: get("signature"),
        node_code: Some(node.clone()).filter(|n| !n.is_empty()),
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
            let mut r = shelf_html(&s, &cx, Some(&node), None, Some(msg)).await;
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
            return cx.page(
                StatusCode::BAD_REQUEST,
                &lang.t("stalled-title"),
                &format!("<p role=\"alert\" class=\"err\">{}</p>", esc(&msg)),
            );
        }
    };
    let now = bazaar_domain::time::now_ms();
    let items = match s.store.stalled(&cx.actor, now, &f).await {
        Ok(x) => x,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let zone = Zone::Shanghai;
    let carrier_name = |c: &str| {
        bazaar_domain::logistics::carrier(c)
            .map(|x| x.name)
            .unwrap_or("")
            .to_string()
    };
    let where_ = |p: &bazaar_store::watch::StalledParcel| {
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
                zone.format_ms(p.last_event_at),
                ((now - p.last_event_at) / 3_600_000).to_string(),
                p.seller_name.clone().unwrap_or_default(),
                p.last_note.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = cells
                .iter()
                .map(|c| crate::backoffice::reports::csv_field(c))
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
    let mut body = format!(
        "<p>{}</p>",
        esc(&lang.ta("stalled-total", &[("n", summary.total.into())]))
    );
    let groups = [
        ("stalled-by-carrier", "carrier", &summary.by_carrier),
        ("stalled-by-node", "node", &summary.by_node),
        ("stalled-by-seller", "seller", &summary.by_seller),
    ];
    body.push_str("<div style=\"display:flex;flex-wrap:wrap;gap:1.5em\">");
    for (title, key, rows) in groups {
        body.push_str(&format!("<div><h2>{}</h2><ul>", esc(&lang.t(title))));
        for g in rows.iter() {
            let name = if g.name.is_empty() {
                "—"
            } else {
                g.name.as_str()
            };
            if g.key.is_empty() || g.key == "0" {
                body.push_str(&format!("<li>{} · {}</li>", esc(name), g.count));
            } else {
                body.push_str(&format!(
                    "<li><a href=\"/manage/stalled?{key}={}\">{}</a> · {}</li>",
                    encode(&g.key),
                    esc(name),
                    g.count
                ));
            }
        }
        body.push_str("</ul></div>");
    }
    body.push_str("</div>");
    let mut carriers = format!("<option value=\"\">{}</option>", esc(&lang.t("all")));
    for c in CARRIERS {
        carriers.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            c.code,
            if f.carrier.as_deref() == Some(c.code) {
                " selected"
            } else {
                ""
            },
            esc(c.name)
        ));
    }
    body.push_str(&format!(
        "<form method=\"get\" action=\"/manage/stalled\" class=\"s\"><select name=\"carrier\" aria-label=\"{}\">{carriers}</select>\
<input name=\"node\" value=\"{}\" placeholder=\"{}\"><button>{}</button> <a href=\"/manage/stalled?format=csv\">CSV</a></form>",
        esc(&lang.t("field-carrier")),
        esc(f.node.as_deref().unwrap_or("")),
        esc(&lang.t("field-node_code")),
        esc(&lang.t("nav-search")),
    ));
    if items.is_empty() {
        body.push_str(&format!("<p>{}</p>", esc(&lang.t("stalled-none"))));
    } else {
        body.push_str(&format!(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(&lang.t("field-waybill")),
            esc(&lang.t("field-status")),
            esc(&lang.t("stalled-where")),
            esc(&lang.t("stalled-hours")),
            esc(&lang.t("field-seller_id")),
            esc(&lang.t("stalled-note")),
        ));
        let annotate = matches!(cx.actor.role, Role::Admin | Role::Operator);
        for p in &items {
            let note_form = if annotate {
                format!(
                    "<form method=\"post\" action=\"/manage/stalled/{}/note\">{}<input name=\"body\" required maxlength=\"500\" aria-label=\"{}\"><button>{}</button></form>",
                    p.id,
                    cx.csrf_input(),
                    esc(&lang.t("stalled-add-note")),
                    esc(&lang.t("stalled-add-note")),
                )
            } else {
                String::new()
            };
            body.push_str(&format!(
                "<tr><td>{} <small>{}</small></td><td>{}</td><td>{}<br><small>{}</small></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&p.waybill),
                esc(&carrier_name(&p.carrier)),
                esc(&lang.t(&format!("parcel-state-{}", p.state))),
                esc(&where_(p)),
                esc(&zone.format_ms(p.last_event_at)),
                (now - p.last_event_at) / 3_600_000,
                esc(p.seller_name.as_deref().unwrap_or("")),
                p.last_note
                    .as_deref()
                    .map(|n| format!("<small>{} ({})</small>", esc(n), p.notes))
                    .unwrap_or_default(),
                note_form,
            ));
        }
        body.push_str("</table>");
    }
    cx.page(StatusCode::OK, &lang.t("stalled-title"), &body)
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

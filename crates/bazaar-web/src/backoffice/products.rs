//! Products in the back office: a new product with its first option (a seller for itself, a
//! station agent for a villager — 代卖 — or an operator), the product's page with its
//! details, photos, options, review history and lifecycle actions.

use super::Ctx;
use super::forms::{FormView, Upload, flag, number, read_multipart, text};
use crate::AppState;
use crate::i18n::Lang;
use crate::pages::{category_name, esc};
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::catalog::{Category, ProductAction, ProductInput, ProductPatch, SkuInput};
use bazaar_domain::money::Fen;
use bazaar_domain::people::Role;
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::network::NodeFilter;
use bazaar_store::products::Product;
use bazaar_store::sellers::SellerFilter;
use bazaar_store::stock::StockSetting;
use std::collections::HashMap;

fn category_options(lang: Lang) -> Vec<(String, String)> {
    Category::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), category_name(lang, c.as_str())))
        .collect()
}

fn may_list(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Operator | Role::Agent | Role::Seller
    )
}

async fn new_product_form(
    s: &AppState,
    cx: &Ctx,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<String, StoreError> {
    let lang = cx.lang;
    let f = FormView {
        lang,
        values,
        errors,
    };
    let sellers = s
        .store
        .sellers(
            &cx.actor,
            &SellerFilter {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await?;
    let seller_options: Vec<(String, String)> = sellers
        .items
        .iter()
        .filter(|sl| sl.status != "rejected")
        .map(|sl| {
            (
                sl.id.to_string(),
                format!("{} · {}", sl.name, sl.village_name),
            )
        })
        .collect();
    Ok(format!(
        "{}<form method=\"post\" action=\"/manage/products/new\">{}{}{}{}{}{}{}{}{}{}{}{}\
<fieldset><legend>{}</legend>{}{}{}{}</fieldset><p><button>{}</button></p></form>",
        f.summary(),
        cx.csrf_input(),
        f.select("seller_id", "field-seller_id", &seller_options),
        f.input("name", "field-name", " required maxlength=\"60\""),
        f.input("name_en", "field-name_en", " maxlength=\"80\""),
        f.select("category", "field-category", &category_options(lang)),
        f.input("gi_brand", "field-gi_brand", " maxlength=\"40\""),
        f.input(
            "poverty_cert_no",
            "field-poverty_cert_no",
            " maxlength=\"40\""
        ),
        f.checkbox("green_cert", "tag-green"),
        f.checkbox("organic_cert", "tag-organic"),
        f.checkbox("cold_chain", "tag-cold-chain"),
        f.input(
            "shelf_life_days",
            "field-shelf_life_days",
            " inputmode=\"numeric\" size=\"6\""
        ),
        f.textarea("description", "field-description"),
        esc(&lang.t("product-options")),
        f.input("spec", "field-spec", " required maxlength=\"40\""),
        f.input(
            "price",
            "field-price_fen",
            " required inputmode=\"decimal\" size=\"8\""
        ),
        f.input(
            "weight_g",
            "field-weight_g",
            " required inputmode=\"numeric\" size=\"8\""
        ),
        f.input(
            "barcode",
            "field-barcode",
            " inputmode=\"numeric\" size=\"14\""
        ),
        esc(&lang.t("manage-save")),
    ))
}

/// `GET /manage/products/new`.
pub async fn new_form(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_list(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let mut values = HashMap::new();
    values.insert("weight_g".to_string(), "500".to_string());
    match new_product_form(&s, &cx, &values, &[]).await {
        Ok(body) => cx.page(StatusCode::OK, &cx.lang.t("manage-new-product"), &body),
        Err(e) => cx.error_page(e, "/manage"),
    }
}

/// `POST /manage/products/new`: creates a draft with its first option and opens its page.
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
    let seller_id = number(&form, "seller_id", &mut errs);
    let shelf_life_days = number(&form, "shelf_life_days", &mut errs);
    let weight_g = number(&form, "weight_g", &mut errs).unwrap_or(0);
    let price_fen = match Fen::parse_yuan("price", &text(&form, "price")) {
        Ok(f) => f.0,
        Err(e) => {
            errs.push(e);
            0
        }
    };
    if seller_id.is_none() && !errs.iter().any(|e| e.field == "seller_id") {
        errs.push(FieldError::new("seller_id", Reason::Required));
    }
    let product = ProductInput {
        name: text(&form, "name"),
        name_en: text(&form, "name_en"),
        category: text(&form, "category"),
        village_code: String::new(),
        gi_brand: text(&form, "gi_brand"),
        poverty_cert_no: text(&form, "poverty_cert_no"),
        green_cert: flag(&form, "green_cert"),
        organic_cert: flag(&form, "organic_cert"),
        shelf_life_days,
        cold_chain: flag(&form, "cold_chain"),
        description: text(&form, "description"),
    };
    let sku = SkuInput {
        code: String::new(),
        spec: text(&form, "spec"),
        price_fen,
        weight_g,
        volume_cm3: 0,
        barcode: text(&form, "barcode"),
    };
    let result = match seller_id {
        Some(id) if errs.is_empty() => {
            s.store
                .create_product_input(&cx.actor, id, &product, &[sku])
                .await
        }
        _ => Err(StoreError::Invalid(errs)),
    };
    match result {
        Ok(p) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to(&format!("/manage/products/{}", p.row.id)).into_response()
        }
        Err(StoreError::Invalid(errs)) => {
            // A price refused as price_fen by the SKU rules is shown at the price input.
            let errs: Vec<FieldError> = errs
                .into_iter()
                .map(|mut e| {
                    if e.field.ends_with("price_fen") {
                        e.field = "price".into();
                    }
                    e
                })
                .collect();
            match new_product_form(&s, &cx, &form, &errs).await {
                Ok(body) => cx.page(
                    StatusCode::BAD_REQUEST,
                    &cx.lang.t("manage-new-product"),
                    &body,
                ),
                Err(e) => cx.error_page(e, "/manage"),
            }
        }
        Err(e) => cx.error_page(e, "/manage/products/new"),
    }
}

fn edit_values(p: &Product) -> HashMap<String, String> {
    let r = &p.row;
    let mut v = HashMap::new();
    let mut put = |k: &str, s: Option<String>| {
        v.insert(k.to_string(), s.unwrap_or_default());
    };
    put("name", Some(r.name.clone()));
    put("name_en", r.name_en.clone());
    put("category", Some(r.category.clone()));
    put("gi_brand", r.gi_brand.clone());
    put("poverty_cert_no", r.poverty_cert_no.clone());
    put("shelf_life_days", r.shelf_life_days.map(|d| d.to_string()));
    put("description", r.description.clone());
    for (k, on) in [
        ("green_cert", r.green_cert),
        ("organic_cert", r.organic_cert),
        ("cold_chain", r.cold_chain),
    ] {
        put(k, on.then(|| "1".to_string()));
    }
    v
}

/// A message shown beside the form it concerns.
pub enum Alert {
    /// About the photo upload.
    Photo(String),
    /// About a stock change.
    Stock(String),
}

fn alert_html(alert: &Option<Alert>, stock: bool) -> String {
    match (alert, stock) {
        (Some(Alert::Photo(m)), false) | (Some(Alert::Stock(m)), true) => {
            format!("<p class=\"err\" role=\"alert\">{}</p>", esc(m))
        }
        _ => String::new(),
    }
}

/// Stock per option and location, with the forms that change it (for whoever may).
async fn stock_section(
    s: &AppState,
    cx: &Ctx,
    p: &Product,
    alert: &Option<Alert>,
    body: &mut String,
) {
    let lang = cx.lang;
    let filter = NodeFilter {
        region_code: Some(p.row.county_code.clone()),
        kind: None,
        cursor: Default::default(),
        limit: Some(200),
    };
    let nodes = s
        .store
        .nodes(&filter)
        .await
        .map(|(n, _)| n)
        .unwrap_or_default();
    let mut places = format!("<option value=\"\">{}</option>", esc(&lang.t("stock-home")));
    for n in &nodes {
        places.push_str(&format!(
            "<option value=\"{}\">{}</option>",
            esc(&n.code),
            esc(&n.name)
        ));
    }
    let mut section = format!(
        "<h2 id=\"stock\">{}</h2>{}",
        esc(&lang.t("stock-title")),
        alert_html(alert, true)
    );
    let mut any = false;
    for sku in &p.skus {
        let Ok(levels) = s.store.stock_levels(&cx.actor, sku.id).await else {
            continue;
        };
        any = true;
        section.push_str(&format!(
            "<h3>{}</h3><div class=\"scroll\"><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            esc(&sku.spec),
            esc(&lang.t("stock-location")),
            esc(&lang.t("stock-on-hand")),
            esc(&lang.t("stock-reserved")),
            esc(&lang.t("stock-incoming")),
            esc(&lang.t("stock-available")),
        ));
        for l in &levels {
            let node = l.node_code.clone().unwrap_or_default();
            let arrive = if l.incoming > 0 {
                format!(
                    "<form method=\"post\" action=\"/manage/products/{}/stock\">{}\
<input type=\"hidden\" name=\"op\" value=\"arrive\"><input type=\"hidden\" name=\"sku\" value=\"{}\">\
<input type=\"hidden\" name=\"location\" value=\"{}\"><input type=\"hidden\" name=\"quantity\" value=\"{}\">\
<button>{}</button></form>",
                    p.row.id,
                    cx.csrf_input(),
                    sku.id,
                    esc(&node),
                    l.incoming,
                    esc(&lang.t("stock-arrived"))
                )
            } else {
                String::new()
            };
            section.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{arrive}</td></tr>",
                esc(&l.location),
                l.on_hand,
                l.reserved,
                l.incoming,
                l.available
            ));
        }
        section.push_str("</table></div>");
        section.push_str(&format!(
            "<form method=\"post\" action=\"/manage/products/{id}/stock\" class=\"row\">{csrf}\
<input type=\"hidden\" name=\"op\" value=\"set\"><input type=\"hidden\" name=\"sku\" value=\"{sku}\">\
<label>{loc}<br><select name=\"location\">{places}</select></label> \
<label>{avail}<br><input name=\"quantity\" inputmode=\"numeric\" size=\"6\" required></label> \
<label>{inc}<br><input name=\"incoming\" inputmode=\"numeric\" size=\"6\"></label> \
<button>{set}</button></form>\
<form method=\"post\" action=\"/manage/products/{id}/stock\" class=\"row\">{csrf}\
<input type=\"hidden\" name=\"op\" value=\"transfer\"><input type=\"hidden\" name=\"sku\" value=\"{sku}\">\
<label>{from}<br><select name=\"from\">{places}</select></label> \
<label>{to}<br><select name=\"location\">{places}</select></label> \
<label>{qty}<br><input name=\"quantity\" inputmode=\"numeric\" size=\"6\" required></label> \
<button>{send}</button></form>",
            id = p.row.id,
            csrf = cx.csrf_input(),
            sku = sku.id,
            loc = esc(&lang.t("stock-location")),
            avail = esc(&lang.t("stock-available")),
            inc = esc(&lang.t("stock-incoming")),
            set = esc(&lang.t("stock-set")),
            from = esc(&lang.t("stock-from")),
            to = esc(&lang.t("stock-to")),
            qty = esc(&lang.t("stock-quantity")),
            send = esc(&lang.t("stock-transfer")),
        ));
    }
    if any {
        body.push_str(&section);
    }
}

/// `POST /manage/products/{id}/stock`: `op` = set (location, quantity, incoming), transfer
/// (from, location, quantity) or arrive (location, quantity), for option `sku`.
pub async fn change_stock(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match load(&s, &cx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut errs = vec![];
    let sku = number(&form, "sku", &mut errs);
    let quantity = number(&form, "quantity", &mut errs);
    let incoming = match text(&form, "incoming").trim() {
        "" => None,
        _ => number(&form, "incoming", &mut errs),
    };
    let place = |k: &str| Some(text(&form, k)).filter(|v| !v.trim().is_empty());
    let result = match (sku, quantity) {
        (Some(sku), Some(q)) if errs.is_empty() && p.skus.iter().any(|k| k.id == sku) => {
            match text(&form, "op").as_str() {
                "set" => {
                    let set = StockSetting {
                        available: q,
                        node: place("location"),
                        incoming,
                    };
                    s.store.set_stock(&cx.actor, sku, &set).await.map(|_| ())
                }
                "transfer" => s
                    .store
                    .transfer_stock(
                        &cx.actor,
                        sku,
                        place("from").as_deref(),
                        place("location").as_deref(),
                        q,
                    )
                    .await
                    .map(|_| ()),
                "arrive" => s
                    .store
                    .receive_stock(&cx.actor, sku, place("location").as_deref(), q)
                    .await
                    .map(|_| ()),
                _ => Err(StoreError::field("op", Reason::UnknownChoice)),
            }
        }
        (Some(_), Some(_)) if errs.is_empty() => {
            Err(StoreError::field("sku", Reason::UnknownReference))
        }
        _ => Err(StoreError::Invalid(errs)),
    };
    match result {
        Ok(()) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to(&format!("/manage/products/{}#stock", p.row.id)).into_response()
        }
        Err(e) => {
            let (status, msg) = cx.error_text(e);
            product_page(
                &s,
                &cx,
                &p,
                &edit_values(&p),
                &[],
                Some(Alert::Stock(msg)),
                status,
            )
            .await
        }
    }
}

async fn product_page(
    s: &AppState,
    cx: &Ctx,
    p: &Product,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    alert: Option<Alert>,
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let r = &p.row;
    let fe = FormView {
        lang,
        values,
        errors,
    };
    let mut body = format!(
        "<p>{} · {} · {} · <b>{}</b>{}</p>",
        esc(&r.county),
        esc(&r.village_name),
        esc(&r.seller_name),
        esc(&lang.t(&format!("status-{}", r.status))),
        r.status_reason
            .as_deref()
            .map(|x| format!(" <small>({})</small>", esc(x)))
            .unwrap_or_default()
    );
    if r.status == "listed" {
        body.push_str(&format!(
            "<p><a href=\"/products/{}\">/products/{}</a></p>",
            r.id, r.id
        ));
    }
    // Lifecycle actions this actor may take in this status.
    let reviewer = matches!(cx.actor.role, Role::Admin | Role::Operator);
    let actions: &[ProductAction] = match (reviewer, r.status.as_str()) {
        (true, "in_review") => &[ProductAction::Approve, ProductAction::Reject],
        (_, "draft" | "delisted") => &[ProductAction::Submit],
        (_, "listed") => &[ProductAction::Delist],
        _ => &[],
    };
    for a in actions {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/manage/products/{}/action\" style=\"display:inline\">\
{}<input type=\"hidden\" name=\"action\" value=\"{a}\">{reason}<button>{label}</button></form> ",
            r.id,
            cx.csrf_input(),
            a = a.as_str(),
            label = esc(&lang.t(&format!("action-{}", a.as_str()))),
            reason = if a.needs_reason() {
                format!(
                    "<input name=\"reason\" placeholder=\"{x}\" aria-label=\"{x}\" size=\"10\">",
                    x = esc(&lang.t("manage-reason"))
                )
            } else {
                String::new()
            },
        ));
    }
    // Photos and upload.
    body.push_str(&format!("<h2>{}</h2><p>", esc(&lang.t("manage-photos"))));
    for ph in &p.photos {
        body.push_str(&format!(
            "<img src=\"/media/{}\" width=\"{}\" height=\"{}\" style=\"max-width:8em\" alt=\"\"> ",
            esc(&ph.storage_key),
            ph.width,
            ph.height
        ));
    }
    body.push_str(&format!(
        "</p><form method=\"post\" action=\"/manage/products/{}/photos\" enctype=\"multipart/form-data\">{}\
<label>{}<br><input type=\"file\" name=\"photo\" accept=\"image/jpeg,image/png,image/webp\" required></label>{}\
<button>{}</button></form>",
        r.id,
        cx.csrf_input(),
        esc(&lang.t("manage-add-photo")),
        alert_html(&alert, false),
        esc(&lang.t("manage-upload")),
    ));
    // Options.
    body.push_str(&format!("<h2>{}</h2><ul>", esc(&lang.t("product-options"))));
    for sku in &p.skus {
        body.push_str(&format!(
            "<li>{} · {} · {} g · <code>{}</code></li>",
            esc(&sku.spec),
            Fen(sku.price_fen),
            sku.weight_g,
            esc(&sku.code)
        ));
    }
    body.push_str("</ul>");
    stock_section(s, cx, p, &alert, &mut body).await;
    // Edit form.

    body.push_str(&format!(
        "<h2>{}</h2>{}<form method=\"post\" action=\"/manage/products/{}\">{}{}{}{}{}{}{}{}{}{}{}<p><button>{}</button></p></form>",
        esc(&lang.t("manage-edit")),
        fe.summary(),
        r.id,
        cx.csrf_input(),
        fe.input("name", "field-name", " required maxlength=\"60\""),
        fe.input("name_en", "field-name_en", " maxlength=\"80\""),
        fe.select("category", "field-category", &category_options(lang)),
        fe.input("gi_brand", "field-gi_brand", " maxlength=\"40\""),
        fe.input("poverty_cert_no", "field-poverty_cert_no", " maxlength=\"40\""),
        fe.checkbox("green_cert", "tag-green"),
        fe.checkbox("organic_cert", "tag-organic"),
        fe.checkbox("cold_chain", "tag-cold-chain"),
        fe.input("shelf_life_days", "field-shelf_life_days", " inputmode=\"numeric\" size=\"6\""),
        fe.textarea("description", "field-description"),
        esc(&lang.t("manage-save")),
    ));
    // Review history, in the region's time zone.
    if let Ok(h) = s.store.history("product", r.id).await
        && !h.is_empty()
    {
        let zone = match s.store.region(&r.county_code).await {
            Ok(c) => Zone::parse(&c.timezone).unwrap_or(Zone::Shanghai),
            Err(_) => Zone::Shanghai,
        };
        body.push_str("<h2>⟲</h2><ul>");
        for (from, to, who, reason, at) in h {
            body.push_str(&format!(
                "<li>{} · {} → {} · {}{}</li>",
                esc(&zone.format_ms(at)),
                esc(&from
                    .map(|f| lang.t(&format!("status-{f}")))
                    .unwrap_or_default()),
                esc(&lang.t(&format!("status-{to}"))),
                esc(who.as_deref().unwrap_or("")),
                reason
                    .map(|x| format!(" · {}", esc(&x)))
                    .unwrap_or_default()
            ));
        }
        body.push_str("</ul>");
    }
    cx.page(status, &r.name, &body)
}

async fn load(s: &AppState, cx: &Ctx, id: &str) -> Result<Product, Response> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(cx.error_page(StoreError::NotFound, "/manage"));
    };
    let p = s
        .store
        .product_for(Some(&cx.actor), id)
        .await
        .map_err(|e| cx.error_page(e, "/manage"))?;
    if !cx.actor.can_edit(p.row.target()) && !cx.actor.can_review(p.row.target()) {
        return Err(cx.error_page(StoreError::Forbidden, "/manage"));
    }
    Ok(p)
}

/// `GET /manage/products/{id}`: the product as its seller, agent or operator manages it.
pub async fn show(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match load(&s, &cx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    product_page(&s, &cx, &p, &edit_values(&p), &[], None, StatusCode::OK).await
}

/// `POST /manage/products/{id}`: saves the edit form.
pub async fn update(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match load(&s, &cx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut errs = vec![];
    let shelf = number(&form, "shelf_life_days", &mut errs);
    let patch = ProductPatch {
        name: Some(text(&form, "name")),
        name_en: Some(text(&form, "name_en")),
        category: Some(text(&form, "category")),
        village_code: None,
        gi_brand: Some(text(&form, "gi_brand")),
        poverty_cert_no: Some(text(&form, "poverty_cert_no")),
        green_cert: Some(flag(&form, "green_cert")),
        organic_cert: Some(flag(&form, "organic_cert")),
        shelf_life_days: Some(shelf.unwrap_or(0)),
        cold_chain: Some(flag(&form, "cold_chain")),
        description: Some(text(&form, "description")),
    };
    let r = if errs.is_empty() {
        s.store.patch_product(&cx.actor, p.row.id, &patch).await
    } else {
        Err(StoreError::Invalid(errs))
    };
    match r {
        Ok(p) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to(&format!("/manage/products/{}", p.row.id)).into_response()
        }
        Err(StoreError::Invalid(errs)) => {
            product_page(&s, &cx, &p, &form, &errs, None, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.error_page(e, &format!("/manage/products/{}", p.row.id)),
    }
}

/// `POST /manage/products/{id}/photos` (multipart, field `photo`; the CSRF token travels
/// in the body).
pub async fn upload_photo(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = Lang::negotiate(&h, None);
    // A body that cannot be read changes nothing: answer the reason.
    let up = match m {
        Ok(m) => read_multipart(m).await,
        Err(_) => Err(FieldError::new("file", Reason::InvalidFormat)),
    };
    let Upload { fields, files } = match up {
        Ok(u) => u,
        Err(e) => {
            let reason = if e.reason == Reason::OutOfRange {
                "too_large"
            } else {
                e.reason.code()
            };
            let status = if e.reason == Reason::OutOfRange {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return crate::pages::message_page(
                lang,
                status,
                &crate::error::field_message(lang, "photo", reason),
            );
        }
    };
    let file = files.into_iter().next();
    let cx = match Ctx::post(&s, &h, &fields).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match load(&s, &cx, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match file {
        None => Err(crate::error::field_message(lang, "photo", "required")),
        Some((_, bytes)) => crate::api::store_photo(&s, &cx.actor, p.row.id, bytes)
            .await
            .map_err(|e| e.in_lang(lang).message()),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/manage/products/{}", p.row.id)).into_response(),
        Err(msg) => {
            product_page(
                &s,
                &cx,
                &p,
                &edit_values(&p),
                &[],
                Some(Alert::Photo(msg)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

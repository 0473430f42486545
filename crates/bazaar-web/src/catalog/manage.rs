//! Products in the back office: a new product with its first option (a seller for itself, a
//! station agent for a villager — 代卖 — or an operator), the product's page with its
//! details, photos, options, review history and lifecycle actions.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::forms::{FormView, Upload, flag, number, read_multipart, text};
use crate::app::i18n::Lang;
use crate::catalog::pages::category_name;
use askama::Template;
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
use bazaar_store::catalog::products::Product;
use bazaar_store::catalog::sellers::SellerFilter;
use bazaar_store::network::NodeFilter;
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

/// The new product form: the seller, the product's fields and its first option.
#[derive(Template)]
#[template(path = "catalog/manage_product_new.html")]
struct NewProduct<'a> {
    lang: Lang,
    csrf: &'a str,
    f: FormView<'a>,
    sellers: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

/// The new product page with `values` and the `errors` of the last submission.
async fn new_product_form(
    s: &AppState,
    cx: &Ctx,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<Response, StoreError> {
    let lang = cx.lang;
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
    let sellers: Vec<(String, String)> = sellers
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
    Ok(cx.render(
        status,
        &lang.t("manage-new-product"),
        &NewProduct {
            lang,
            csrf: &cx.csrf,
            f: FormView {
                lang,
                values,
                errors,
            },
            sellers,
            categories: category_options(lang),
        },
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
    match new_product_form(&s, &cx, StatusCode::OK, &values, &[]).await {
        Ok(page) => page,
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
            match new_product_form(&s, &cx, StatusCode::BAD_REQUEST, &form, &errs).await {
                Ok(page) => page,
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
    /// About a translation.
    Texts(String),
}

impl Alert {
    /// The message, when it is about the photo upload.
    fn photo(alert: &Option<Alert>) -> Option<String> {
        match alert {
            Some(Alert::Photo(m)) => Some(m.clone()),
            _ => None,
        }
    }

    /// The message, when it is about a stock change.
    fn stock(alert: &Option<Alert>) -> Option<String> {
        match alert {
            Some(Alert::Stock(m)) => Some(m.clone()),
            _ => None,
        }
    }

    /// The message, when it is about a translation.
    fn texts(alert: &Option<Alert>) -> Option<String> {
        match alert {
            Some(Alert::Texts(m)) => Some(m.clone()),
            _ => None,
        }
    }
}

/// Stock per option and location (the options whose stock the caller may see), and the
/// places of the product's county stock can be at: (node code, name).
async fn stock_section(
    s: &AppState,
    cx: &Ctx,
    p: &Product,
) -> (Vec<StockSku>, Vec<(String, String)>) {
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
    let places = nodes.into_iter().map(|n| (n.code, n.name)).collect();
    let mut stock = vec![];
    for sku in &p.skus {
        let Ok(levels) = s.store.stock_levels(&cx.actor, sku.id).await else {
            continue;
        };
        stock.push(StockSku {
            id: sku.id,
            spec: sku.spec.clone(),
            levels,
        });
    }
    (stock, places)
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
            // Every stock form changes what the storefront says is left.
            s.stock_changed();
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

/// The product's back-office page: its details and lifecycle actions, photos, options, stock,
/// the edit form and the review history.
#[derive(Template)]
#[template(path = "catalog/manage_product.html")]
struct ProductPage<'a> {
    lang: Lang,
    csrf: &'a str,
    id: i64,
    county: &'a str,
    village: &'a str,
    seller: &'a str,
    status: String,
    reason: Option<&'a str>,
    /// Listed: the storefront page exists.
    listed: bool,
    /// The lifecycle actions the caller may take, with their labels.
    actions: Vec<(ProductAction, String)>,
    photos: &'a [bazaar_store::catalog::products::Photo],
    photo_alert: Option<String>,
    options: Vec<OptionRow>,
    stock: Vec<StockSku>,
    stock_alert: Option<String>,
    places: Vec<(String, String)>,
    f: FormView<'a>,
    categories: Vec<(String, String)>,
    history: Vec<HistoryRow>,
    /// Its words in each other language, as forms.
    texts: Vec<TextsForm>,
    /// Why the last translation was refused.
    texts_alert: Option<String>,
}

/// The form of a product's words in one language.
struct TextsForm {
    lang: &'static str,
    /// The language's own name.
    label: &'static str,
    done: bool,
    name: String,
    producer: String,
    description: String,
    /// Each option: SKU id, its Chinese specification, the translation.
    specs: Vec<(i64, String, String)>,
}

/// The translation forms of `p`.
async fn texts_forms(s: &AppState, p: &Product) -> Vec<TextsForm> {
    let mut out = Vec::new();
    for l in bazaar_store::catalog::texts::TEXT_LANGS {
        let t = s
            .store
            .product_texts(p.row.id, l)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        out.push(TextsForm {
            lang: l,
            label: Lang::parse(l).map(|x| x.native_name()).unwrap_or(l),
            done: !t.name.is_empty(),
            name: t.name.clone(),
            producer: t.producer.clone().unwrap_or_default(),
            description: t.description.clone().unwrap_or_default(),
            specs: p
                .skus
                .iter()
                .map(|k| {
                    let v = t
                        .specs
                        .iter()
                        .find(|(i, _)| *i == k.id)
                        .map(|(_, x)| x.clone())
                        .unwrap_or_default();
                    (k.id, k.spec.clone(), v)
                })
                .collect(),
        });
    }
    out
}

/// `POST /manage/products/{id}/texts`: the product's words in one language (all empty:
/// removed), for whoever may edit it.
pub async fn set_texts(
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
    let opt = |k: &str| Some(text(&form, k)).filter(|v| !v.trim().is_empty());
    let t = bazaar_store::catalog::texts::ProductTexts {
        lang: text(&form, "lang"),
        name: text(&form, "name"),
        description: opt("description"),
        producer: opt("producer"),
        specs: p
            .skus
            .iter()
            .map(|k| (k.id, text(&form, &format!("spec-{}", k.id))))
            .collect(),
    };
    match s.store.set_product_texts(&cx.actor, p.row.id, &t).await {
        Ok(()) => {
            s.stock_changed();
            // Its new names are searched at once, in every language they are in.
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to(&format!("/manage/products/{}#texts", p.row.id)).into_response()
        }
        Err(StoreError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| crate::app::error::field_message(cx.lang, &e.field, e.reason.code()))
                .collect::<Vec<_>>()
                .join("；");
            product_page(
                &s,
                &cx,
                &p,
                &HashMap::new(),
                &[],
                Some(Alert::Texts(msg)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => cx.error_page(e, &format!("/manage/products/{}", p.row.id)),
    }
}

/// One option of the product.
struct OptionRow {
    spec: String,
    price: String,
    weight_g: i64,
    code: String,
}

/// The stock of one option.
struct StockSku {
    id: i64,
    spec: String,
    levels: Vec<bazaar_store::stock::StockLevel>,
}

/// One change of the product's status, its time in the region's zone.
struct HistoryRow {
    at: String,
    from: String,
    to: String,
    who: String,
    reason: Option<String>,
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
    // Lifecycle actions this actor may take in this status.
    let reviewer = matches!(cx.actor.role, Role::Admin | Role::Operator);
    let actions: &[ProductAction] = match (reviewer, r.status.as_str()) {
        (true, "in_review") => &[ProductAction::Approve, ProductAction::Reject],
        (_, "draft" | "delisted") => &[ProductAction::Submit],
        (_, "listed") => &[ProductAction::Delist],
        _ => &[],
    };
    let actions = actions
        .iter()
        .map(|a| (*a, lang.t(&format!("action-{}", a.as_str()))))
        .collect();
    let options = p
        .skus
        .iter()
        .map(|sku| OptionRow {
            spec: sku.spec.clone(),
            price: Fen(sku.price_fen).to_string(),
            weight_g: sku.weight_g,
            code: sku.code.clone(),
        })
        .collect();
    let (stock, places) = stock_section(s, cx, p).await;
    // Review history: Beijing time, with the county's own beside it where it differs.
    let mut history = vec![];
    if let Ok(h) = s.store.history("product", r.id).await
        && !h.is_empty()
    {
        let zone = match s.store.region(&r.county_code).await {
            Ok(c) => Zone::parse(&c.timezone).unwrap_or(Zone::Shanghai),
            Err(_) => Zone::Shanghai,
        };
        for (from, to, who, reason, at) in h {
            history.push(HistoryRow {
                at: crate::app::view::when(lang, at, zone),
                from: from
                    .map(|f| lang.t(&format!("status-{f}")))
                    .unwrap_or_default(),
                to: lang.t(&format!("status-{to}")),
                who: who.unwrap_or_default(),
                reason,
            });
        }
    }
    cx.render(
        status,
        &r.name,
        &ProductPage {
            lang,
            csrf: &cx.csrf,
            id: r.id,
            county: &r.county,
            village: &r.village_name,
            seller: &r.seller_name,
            status: lang.t(&format!("status-{}", r.status)),
            reason: r.status_reason.as_deref(),
            listed: r.status == "listed",
            actions,
            photos: &p.photos,
            photo_alert: Alert::photo(&alert),
            options,
            stock,
            stock_alert: Alert::stock(&alert),
            places,
            f: FormView {
                lang,
                values,
                errors,
            },
            categories: category_options(lang),
            history,
            texts: texts_forms(s, p).await,
            texts_alert: Alert::texts(&alert),
        },
    )
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
            return crate::catalog::pages::message_page(
                lang,
                status,
                &crate::app::error::field_message(lang, "photo", reason),
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
        None => Err(crate::app::error::field_message(lang, "photo", "required")),
        Some((_, bytes)) => crate::catalog::api::store_photo(&s, &cx.actor, p.row.id, bytes)
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

//! The catalog area's JSON API: products, SKUs, photos, sellers and their review, media.

use crate::AppState;
use crate::app::api::*;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_domain::catalog::{Category, ProductAction, ProductInput, ProductPatch, SkuInput};
use bazaar_domain::seller::SellerInput;
use bazaar_domain::seller::{SellerDecision, SellerStatus};
use bazaar_search::Filters;
use bazaar_store::Cursor;
use bazaar_store::catalog::products::{Product, ProductFilter};
use bazaar_store::catalog::sellers::SellerFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The producer of a product, as shown with it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SellerRef {
    /// Seller id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// household, cooperative or enterprise.
    pub kind: String,
}

/// A product photo, with the address of its image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoView {
    /// Photo id.
    pub id: i64,
    /// Address of the image (`/media/…`).
    pub url: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

/// A product as the API answers it: `GET /api/v1/products/{id}` and every list item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    /// Id.
    pub id: i64,
    /// Stable code (from imports), when it has one.
    pub code: Option<String>,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Category code.
    pub category: String,
    /// County name.
    pub county: String,
    /// County code.
    pub county_code: String,
    /// Village of origin.
    pub village: String,
    /// Village code.
    pub village_code: String,
    /// The producer.
    pub seller: SellerRef,
    /// Whether it counts as a poverty-alleviation product (certificate or producer's status).
    pub poverty_alleviation: bool,
    /// Geographical-indication brand.
    pub gi_brand: Option<String>,
    /// Poverty-alleviation product certificate number.
    pub poverty_cert_no: Option<String>,
    /// Green food certificate.
    pub green_cert: bool,
    /// Organic certificate.
    pub organic_cert: bool,
    /// Shelf life in days.
    pub shelf_life_days: Option<i64>,
    /// Needs the cold chain.
    pub cold_chain: bool,
    /// Description.
    pub description: Option<String>,
    /// draft, in_review, listed or delisted.
    pub status: String,
    /// Reason of the last review decision.
    pub status_reason: Option<String>,
    /// Station agent who listed it for the villager (代卖), if any.
    pub listed_by: Option<i64>,
    /// SKUs with prices in fen.
    pub skus: Vec<bazaar_store::catalog::products::Sku>,
    /// Photos.
    pub photos: Vec<PhotoView>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        let r = &p.row;
        ProductView {
            id: r.id,
            code: r.code.clone(),
            name: r.name.clone(),
            name_en: r.name_en.clone(),
            category: r.category.clone(),
            county: r.county.clone(),
            county_code: r.county_code.clone(),
            village: r.village_name.clone(),
            village_code: r.village_code.clone(),
            seller: SellerRef {
                id: r.seller_id,
                name: r.seller_name.clone(),
                kind: r.seller_kind.clone(),
            },
            poverty_alleviation: r.is_poverty_alleviation(),
            gi_brand: r.gi_brand.clone(),
            poverty_cert_no: r.poverty_cert_no.clone(),
            green_cert: r.green_cert,
            organic_cert: r.organic_cert,
            shelf_life_days: r.shelf_life_days,
            cold_chain: r.cold_chain,
            description: r.description.clone(),
            status: r.status.clone(),
            status_reason: r.status_reason.clone(),
            listed_by: r.listed_by,
            skus: p.skus.clone(),
            photos: p
                .photos
                .iter()
                .map(|ph| PhotoView {
                    id: ph.id,
                    url: format!("/media/{}", ph.storage_key),
                    width: ph.width,
                    height: ph.height,
                })
                .collect(),
        }
    }
}

/// Product JSON: the shape of `GET /api/v1/products/{id}` and of list items.
pub fn product_json(p: &Product) -> Value {
    json!(ProductView::from(p))
}

/// A page of products. With `q`, also the total and whether the query had to be relaxed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    /// The products of this page.
    pub items: Vec<ProductView>,
    /// Cursor of the next page; absent on the last.
    pub next_cursor: Option<String>,
    /// Number of hits (searches only).
    pub total: Option<usize>,
    /// Whether nothing matched strictly and these are near matches (searches only).
    pub relaxed: Option<bool>,
    /// Suggested queries when nothing matched (searches only).
    pub suggestions: Option<Vec<String>>,
}

/// A page of sellers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SellerPage {
    /// The sellers of this page.
    pub items: Vec<bazaar_store::catalog::sellers::Seller>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/products?q=…&county=CODE&category=…&gi_brand=…&poverty=1&status=…&cursor=…`:
/// the public catalog (or, with `status` and a token, the products of that status the caller
/// may manage). With `q`, results are ranked by relevance and paged by offset cursor.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(("q" = Option<String>, Query, description = "Search text: Chinese, pinyin, initials or a SKU code"), ("county" = Option<String>, Query, description = "County code"), ("category" = Option<String>, Query, pattern = "^(|honey|grain_oil|fresh_produce|dried_fruit_nuts|meat_dairy|condiment|tea_drink|fungi|medicinal|craft)$", description = "Category code"), ("gi_brand" = Option<String>, Query, description = "GI brand"), ("poverty" = Option<String>, Query, pattern = "^(|0|1|true|false)$", description = "1 for poverty-alleviation products only"), ("status" = Option<String>, Query, pattern = "^(|draft|in_review|listed|delisted)$", description = "draft, in_review, listed or delisted: the caller's manageable products of that status (needs a token)"), ("cursor" = Option<String>, Query, pattern = "^(c[0-9a-z]{1,12})?$", description = "Cursor of the page, from `next_cursor`"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)")), responses((status = 200, description = "Public products, ranked when searching", body = ProductPage), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody)))]
pub async fn products(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<ProductPage>, ApiError> {
    let e = caller.lang;
    let category = param(&q, "category")
        .map(|c| Category::parse("category", c))
        .transpose()
        .map_err(|_| ApiError::field("category", "unknown_choice").in_lang(e))?;
    let status = param(&q, "status")
        .map(|c| bazaar_domain::catalog::ProductStatus::parse("status", c))
        .transpose()
        .map_err(|_| ApiError::field("status", "unknown_choice").in_lang(e))?;
    if status.is_some() {
        caller.require()?;
    }
    let poverty = match param(&q, "poverty") {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => return Err(ApiError::field("poverty", "invalid_format").in_lang(e)),
    };
    let cursor = Cursor::parse("cursor", param(&q, "cursor"))
        .map_err(|_| ApiError::field("cursor", "invalid_format").in_lang(e))?;
    let lim = limit(&caller, &q)?;
    let county = param(&q, "county").map(String::from);
    let gi_brand = param(&q, "gi_brand").map(String::from);
    if let (Some(text), None) = (param(&q, "q"), status) {
        let per = lim.unwrap_or(20) as usize;
        // Ranked results page by offset, as deep as the index serves (`bazaar_search` bounds
        // the collector's allocation): a cursor past them is an empty page.
        let offset = usize::try_from(cursor.0).unwrap_or(usize::MAX);
        let filters = Filters {
            county,
            category: category.map(|c| c.as_str().to_string()),
            gi_brand,
            poverty,
        };
        let hits = s
            .search()
            .search(text, &filters, offset, per)
            .map_err(|err| {
                tracing::error!(error = %err, "search failed");
                ApiError::of(ErrorCode::Internal)
            })?;
        let items = s.store.listed_products_by_ids(&hits.ids).await?;
        let next = (offset.saturating_add(per) < hits.total.min(bazaar_search::MAX_WINDOW))
            .then(|| Cursor((offset + per) as i64).encode());
        return Ok(Json(ProductPage {
            items: items.iter().map(ProductView::from).collect(),
            total: Some(hits.total),
            relaxed: Some(hits.relaxed),
            suggestions: Some(hits.suggestions),
            next_cursor: next,
        }));
    }
    let f = ProductFilter {
        county,
        category,
        gi_brand,
        poverty,
        status,
        q: None,
        cursor,
        limit: lim,
    };
    let page = s.store.products(caller.actor.as_ref(), &f).await?;
    Ok(Json(ProductPage {
        items: page.items.iter().map(ProductView::from).collect(),
        next_cursor: page.next.map(|c| c.encode()),
        total: None,
        relaxed: None,
        suggestions: None,
    }))
}

/// `GET /api/v1/products/{id}`: a listed product for anyone; other statuses only for those
/// who may manage it.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = i64, Path, description = "Product id")), responses((status = 200, description = "The product", body = ProductView), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody)))]
pub async fn product(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&caller, &id)?;
    let p = s.store.product_for(caller.actor.as_ref(), id).await?;
    Ok(Json(product_json(&p)))
}

/// `PATCH /api/v1/products/{id}`: changes a product; allowed to its seller, the agent who
/// listed it, and operators whose region contains it.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path, description = "Product id")), request_body = bazaar_domain::catalog::ProductPatch, responses((status = 200, description = "The changed product", body = ProductView), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody), (status = 422, description = "`village_code` names no village (`unknown_reference`)", body = ErrorBody)))]
pub async fn patch_product(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<ProductPatch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let patch = body(&caller, b)?;
    let p = s
        .store
        .patch_product(&actor, id, &patch)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok(Json(product_json(&p)))
}

/// Body of a lifecycle action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionBody {
    /// submit, approve, reject or delist.
    pub action: ProductAction,
    /// Reason (required to reject, and for an operator to delist).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/products/{id}/actions`: moves a product through review.
#[utoipa::path(post, path = "/api/v1/products/{id}/actions", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path, description = "Product id")), request_body = ActionBody, responses((status = 200, description = "The product in its new status", body = ProductView), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody), (status = 409, description = "Not allowed in the current status, or a business rule", body = ErrorBody)))]
pub async fn product_action(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<ActionBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let b = body(&caller, b)?;
    let p = s
        .store
        .product_action(&actor, id, b.action, b.reason.as_deref())
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok(Json(product_json(&p)))
}

/// `GET /api/v1/sellers?status=…`: the sellers the caller may see.
#[utoipa::path(get, path = "/api/v1/sellers", tag = "sellers", security(("bearer" = [])), params(("status" = Option<String>, Query, pattern = "^(|pending|approved|rejected)$", description = "pending, approved or rejected"), ("q" = Option<String>, Query, max_length = 40, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", description = "Digits: the end of the contact phone; words: part of the seller's or its village's name"), ("cursor" = Option<String>, Query, pattern = "^(c[0-9a-z]{1,12})?$", description = "Cursor of the page, from `next_cursor`"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)")), responses((status = 200, description = "Sellers the caller may see", body = SellerPage), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody)))]
pub async fn sellers(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<SellerPage>, ApiError> {
    let actor = caller.require()?;
    let status = match param(&q, "status") {
        None => None,
        Some(v) => Some(
            SellerStatus::from_db(v)
                .ok_or_else(|| ApiError::field("status", "unknown_choice").in_lang(caller.lang))?,
        ),
    };
    let cursor = Cursor::parse("cursor", param(&q, "cursor"))
        .map_err(|_| ApiError::field("cursor", "invalid_format").in_lang(caller.lang))?;
    let needle = bazaar_store::db::find::Needle::parse("q", param(&q, "q"))
        .map_err(|e| ApiError::field("q", e.reason.code()).in_lang(caller.lang))?;
    let page = s
        .store
        .sellers(
            actor,
            &SellerFilter {
                status,
                q: needle,
                cursor,
                limit: limit(&caller, &q)?,
            },
        )
        .await?;
    Ok(Json(SellerPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// `GET /api/v1/sellers/{id}`.
#[utoipa::path(get, path = "/api/v1/sellers/{id}", tag = "sellers", security(("bearer" = [])), params(("id" = i64, Path, description = "Seller id")), responses((status = 200, description = "The seller", body = bazaar_store::catalog::sellers::Seller), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody)))]
pub async fn seller(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?;
    let id = parse_id(&caller, &id)?;
    Ok(Json(json!(s.store.seller_for(actor, id).await?)))
}

/// Body of a seller decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionBody {
    /// approve or reject.
    #[schema(pattern = "^(approve|reject)$")]
    pub decision: String,
    /// Reason (required to reject).
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: Option<String>,
}

/// `POST /api/v1/sellers/{id}/decision`: the county operator approves or rejects.
#[utoipa::path(post, path = "/api/v1/sellers/{id}/decision", tag = "sellers", security(("bearer" = [])), params(("id" = i64, Path, description = "Seller id")), request_body = DecisionBody, responses((status = 200, description = "The seller after the decision", body = bazaar_store::catalog::sellers::Seller), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody), (status = 409, description = "Not allowed in the current status, or a business rule", body = ErrorBody)))]
pub async fn decide_seller(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let b = body(&caller, b)?;
    let d = match b.decision.as_str() {
        "approve" => SellerDecision::Approve,
        "reject" => SellerDecision::Reject,
        _ => return Err(ApiError::field("decision", "unknown_choice").in_lang(caller.lang)),
    };
    let seller = s
        .store
        .decide_seller(&actor, id, d, b.reason.as_deref())
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok(Json(json!(seller)))
}

/// `POST /api/v1/sellers`: registers a seller. Operators and admins create approved sellers in
/// their region; a station agent registers a villager of its area as a pending application.
#[utoipa::path(post, path = "/api/v1/sellers", tag = "sellers", security(("bearer" = [])), request_body = bazaar_domain::seller::SellerInput, responses((status = 201, description = "The new seller (pending when an agent registers a villager)", body = bazaar_store::catalog::sellers::Seller), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 422, description = "The code or registration number is taken (`duplicate`), or the village does not exist (`unknown_reference`)", body = ErrorBody)))]
pub async fn create_seller(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<SellerInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let input = body(&caller, b)?;
    let new = input
        .parse()
        .map_err(|e| ApiError::from(bazaar_store::StoreError::Invalid(e)).in_lang(caller.lang))?;
    let seller = s
        .store
        .create_seller(&actor, &new)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok((StatusCode::CREATED, Json(json!(seller))).into_response())
}

/// Body of `POST /api/v1/products`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProductBody {
    /// The producer.
    pub seller_id: i64,
    /// Product fields.
    #[serde(flatten)]
    pub product: ProductInput,
    /// SKUs (at least one before it can be submitted).
    #[serde(default)]
    pub skus: Vec<SkuInput>,
}

/// `POST /api/v1/products`: creates a draft product with its SKUs (the seller itself, a station
/// agent for a villager of its area, or an operator in scope).
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", security(("bearer" = [])), request_body = CreateProductBody, responses((status = 201, description = "The new draft product", body = ProductView), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 422, description = "`seller_id` or `village_code` names nothing (`unknown_reference`), or a SKU code is taken", body = ErrorBody)))]
pub async fn create_product(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<CreateProductBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let p = s
        .store
        .create_product_input(&actor, b.seller_id, &b.product, &b.skus)
        .await
        .map_err(|x| ApiError::from(x).in_lang(caller.lang))?;
    Ok((StatusCode::CREATED, Json(product_json(&p))).into_response())
}

/// `POST /api/v1/products/{id}/skus`: adds an option (SKU) to a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/skus", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")), request_body = SkuInput,
    responses((status = 201, description = "The new SKU", body = bazaar_store::catalog::products::Sku),
        (status = 400, description = "Bad input: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in or bad token", body = ErrorBody),
        (status = 403, description = "Outside the caller's rights or region", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "Not allowed in the product's current status", body = ErrorBody),
        (status = 422, description = "The code is taken (`duplicate`), or the barcode's check digit does not add up (`bad_check_digit`)", body = ErrorBody)))]
pub async fn add_sku(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<SkuInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let b = body(&caller, b)?;
    let fields = b
        .parse()
        .map_err(|e| ApiError::from(bazaar_store::StoreError::Invalid(e)).in_lang(caller.lang))?;
    let code = Some(b.code.trim().to_string()).filter(|c| !c.is_empty());
    let sku = s
        .store
        .add_sku(
            &actor,
            id,
            &bazaar_store::catalog::products::NewSku { code, fields },
        )
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok((StatusCode::CREATED, Json(sku)).into_response())
}

/// `PATCH /api/v1/skus/{id}`: changes an option's specification, price, weight, volume or
/// barcode (all fields given, as in `POST …/skus`; the code stays).
#[utoipa::path(patch, path = "/api/v1/skus/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "SKU id")), request_body = SkuInput,
    responses((status = 200, description = "The SKU", body = bazaar_store::catalog::products::Sku),
        (status = 400, description = "Bad input: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in or bad token", body = ErrorBody),
        (status = 403, description = "Outside the caller's rights or region", body = ErrorBody),
        (status = 404, description = "No such SKU", body = ErrorBody),
        (status = 422, description = "A barcode whose check digit does not add up (`bad_check_digit`)", body = ErrorBody)))]
pub async fn update_sku(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<SkuInput>, JsonRejection>,
) -> Result<Json<bazaar_store::catalog::products::Sku>, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let b = body(&caller, b)?;
    let fields = b
        .parse()
        .map_err(|e| ApiError::from(bazaar_store::StoreError::Invalid(e)).in_lang(caller.lang))?;
    let sku = s
        .store
        .update_sku(&actor, id, &fields)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok(Json(sku))
}

/// The bytes of an uploaded image, or the error for a body over the route's limit.
pub(crate) fn image_body(
    caller: &Caller,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|e| {
        ApiError {
            field: Some("photo".into()),
            reason: Some("too_large".into()),
            ..ApiError::new(e.status(), ErrorCode::PayloadTooLarge)
        }
        .in_lang(caller.lang)
    })
}

/// Checks, scales and re-encodes an uploaded image (see [`crate::catalog::media::process`]) and stores
/// it under `prefix/<digest>.jpg`; returns the key, width and height.
pub(crate) async fn save_image(
    s: &AppState,
    prefix: &str,
    bytes: Vec<u8>,
) -> Result<(String, u32, u32), ApiError> {
    // A bounded number of decodes at once (each may take 160 MB and a core for a second).
    let _permit = crate::catalog::media::DECODES
        .acquire()
        .await
        .map_err(|_| ApiError::of(ErrorCode::Unavailable))?;
    let processed = tokio::task::spawn_blocking(move || crate::catalog::media::process(&bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "photo task failed");
            ApiError::of(ErrorCode::Internal)
        })?
        .map_err(|e| {
            // No schema can say "a JPEG, PNG or WebP that decodes": a body that is not one is
            // 422, like other content that fits the document but cannot be processed.
            let status = match e {
                crate::catalog::media::UploadError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError {
                status,
                ..ApiError::field("photo", e.reason())
            }
        })?;
    let key = format!("{prefix}/{}.jpg", processed.digest);
    let media = s.media.clone();
    let k = key.clone();
    let (jpeg, thumb) = (processed.jpeg, processed.thumb);
    // The thumbnail first: a photo on record always has its card picture.
    tokio::task::spawn_blocking(move || {
        media.put(&crate::catalog::media::thumb_key(&k), &thumb)?;
        media.put(&k, &jpeg)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()))
    .map_err(|e| {
        tracing::error!(error = %e, "storing photo failed");
        ApiError::of(ErrorCode::Internal)
    })?;
    Ok((key, processed.width, processed.height))
}

/// Stores an uploaded photo of a product the actor may edit: checks and re-encodes the image
/// off the async workers, writes the file, then records it. Shared by the API and the back
/// office.
pub async fn store_photo(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    product_id: i64,
    bytes: Vec<u8>,
) -> Result<bazaar_store::catalog::products::Photo, ApiError> {
    // Rights first: nothing is decoded for a caller who may not edit the product.
    let p = s.store.product_for(Some(actor), product_id).await?;
    if !actor.can_edit(p.row.target()) {
        return Err(ApiError::of(ErrorCode::Forbidden));
    }
    // The count too: a thirteenth photo is refused before it is decoded.
    if p.photos.len() >= bazaar_store::catalog::products::MAX_PHOTOS {
        return Err(ApiError::field("photo", "out_of_range"));
    }
    let (key, width, height) = save_image(s, &format!("p/{product_id}"), bytes).await?;
    Ok(s.store
        .add_photo(actor, product_id, &key, width, height)
        .await?)
}

#[utoipa::path(post, path = "/api/v1/products/{id}/photos", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The image bytes: JPEG, PNG or WebP, at most 10 MB. It is checked by its content, scaled to at most 1200 px and stored as JPEG without its EXIF data."),
    responses((status = 201, description = "The stored photo", body = PhotoView),
        (status = 400, description = "The product already has 12 photos (field `photo`, `out_of_range`)", body = ErrorBody),
        (status = 422, description = "Empty, or not a JPEG, PNG or WebP image that decodes (field `photo`)", body = ErrorBody),
        (status = 401, description = "Not signed in or bad token", body = ErrorBody),
        (status = 403, description = "Outside the caller's rights or region", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 413, description = "Over 10 MB", body = ErrorBody)))]
/// `POST /api/v1/products/{id}/photos` with the image as the body.
pub async fn upload_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = parse_id(&caller, &id)?;
    let body = image_body(&caller, body)?;
    let ph = store_photo(&s, &actor, id, body.to_vec())
        .await
        .map_err(|e| e.in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok((
        StatusCode::CREATED,
        Json(PhotoView {
            id: ph.id,
            url: format!("/media/{}", ph.storage_key),
            width: ph.width,
            height: ph.height,
        }),
    )
        .into_response())
}

/// Makes and keeps the thumbnail `key` of the stored `photo`; `None` when there is no
/// such photo. Decodes under the same bound as uploads.
async fn make_thumbnail(
    s: &AppState,
    key: String,
    photo: String,
) -> Result<std::io::Result<Option<Vec<u8>>>, tokio::task::JoinError> {
    let Ok(_permit) = crate::catalog::media::DECODES.acquire().await else {
        return Ok(Ok(None));
    };
    let store = s.media.clone();
    tokio::task::spawn_blocking(move || {
        let Some(full) = store.get(&photo)? else {
            return Ok(None);
        };
        match crate::catalog::media::thumbnail(&full) {
            Ok(t) => {
                store.put(&key, &t)?;
                Ok(Some(t))
            }
            Err(_) => Ok(None),
        }
    })
    .await
}

/// `GET /media/{key}`: a stored photo (content-addressed, cached for a year), or its
/// thumbnail (`….t.jpg`).
pub async fn media(State(s): State<AppState>, Path(key): Path<String>) -> Response {
    if !crate::catalog::media::valid_key(&key) {
        return ApiError::of(ErrorCode::NotFound).into_response();
    }
    let store = s.media.clone();
    let found = match tokio::task::spawn_blocking(move || store.get(&key).map(|b| (key, b))).await {
        // A thumbnail missing (a photo kept before thumbnails were): made once from the photo.
        Ok(Ok((key, None))) => match crate::catalog::media::photo_of_thumb(&key) {
            Some(photo) => make_thumbnail(&s, key, photo).await,
            None => Ok(Ok(None)),
        },
        other => other.map(|r| r.map(|(_, b)| b)),
    };
    match found {
        Ok(Ok(Some(bytes))) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/jpeg"),
                (
                    axum::http::header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable",
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(None)) => ApiError::of(ErrorCode::NotFound).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading photo failed");
            ApiError::of(ErrorCode::Internal).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "photo task failed");
            ApiError::of(ErrorCode::Internal).into_response()
        }
    }
}

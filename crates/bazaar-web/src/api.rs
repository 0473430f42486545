//! JSON API handlers under `/api/v1`.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::catalog::{Category, ProductAction, ProductInput, ProductPatch, SkuInput};
use bazaar_domain::network::NodeKind;
use bazaar_domain::seller::SellerInput;
use bazaar_domain::seller::{SellerDecision, SellerStatus};
use bazaar_search::Filters;
use bazaar_store::auth::TokenKind;
use bazaar_store::network::NodeFilter;
use bazaar_store::products::NewSku;
use bazaar_store::products::{Product, ProductFilter};
use bazaar_store::sellers::SellerFilter;
use bazaar_store::{Cursor, KeyCursor};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

type Params = Query<HashMap<String, String>>;

fn body<T>(caller: &Caller, b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        tracing::debug!(error = %e, "bad JSON body");
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json").in_lang(caller.lang)
    })
}

fn limit(caller: &Caller, q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    match q.get("limit").map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::field("limit", "out_of_range").in_lang(caller.lang)),
        },
    }
}

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `GET /healthz`: the process lives and the database answers.
pub async fn healthz(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database_unreachable"})),
            )
                .into_response()
        }
    }
}

/// Any unknown path.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found")
}

/// Login body.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
}

/// `POST /api/v1/sessions`: exchanges a username and password for a bearer token.
pub async fn create_session(
    State(s): State<AppState>,
    client: crate::auth::ClientAddr,
    caller: Caller,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(&caller, b)?;
    if b.username.trim().is_empty() {
        return Err(ApiError::field("username", "required").in_lang(caller.lang));
    }
    if b.password.is_empty() {
        return Err(ApiError::field("password", "required").in_lang(caller.lang));
    }
    let (token, actor) = s
        .store
        .login(&b.username, &b.password, &client.0, TokenKind::Api)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    tracing::info!(user = actor.username, "API token issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": token, "user": actor})),
    )
        .into_response())
}

/// `DELETE /api/v1/sessions`: revokes the presented token.
pub async fn delete_session(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require()?;
    if let Some(t) = &caller.token {
        s.store.revoke_token(t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`.
pub async fn me(caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(caller.require()?)))
}

/// `GET /api/v1/regions?parent=CODE`: the children of a region (the provinces without it).
pub async fn regions(State(s): State<AppState>, Query(q): Params) -> Result<Json<Value>, ApiError> {
    let rows = s.store.region_children(param(&q, "parent")).await?;
    Ok(Json(json!({"items": rows})))
}

/// `GET /api/v1/nodes?region=CODE&kind=KIND&cursor=…&limit=…`: the service network.
/// Contact phones are masked for anonymous callers.
pub async fn nodes(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
    let e = caller.lang;
    let kind = param(&q, "kind")
        .map(|k| NodeKind::parse("kind", k))
        .transpose()
        .map_err(|_| ApiError::field("kind", "unknown_choice").in_lang(e))?;
    let cursor = KeyCursor::parse("cursor", param(&q, "cursor"))
        .map_err(|_| ApiError::field("cursor", "invalid_format").in_lang(e))?;
    let f = NodeFilter {
        region_code: param(&q, "region").map(String::from),
        kind,
        cursor,
        limit: limit(&caller, &q)?,
    };
    let (mut rows, next) = s.store.nodes(&f).await.map_err(|err| match err {
        bazaar_store::StoreError::NotFound => {
            ApiError::field("region", "unknown_reference").in_lang(e)
        }
        other => other.into(),
    })?;
    if caller.actor.is_none() {
        for n in &mut rows {
            n.contact_phone = n
                .contact_phone
                .as_deref()
                .map(bazaar_domain::text::mask_phone);
        }
    }
    Ok(Json(
        json!({"items": rows, "next_cursor": next.map(|c| c.encode())}),
    ))
}

/// Product JSON: the shape of `GET /api/v1/products/{id}` and of list items.
pub fn product_json(p: &Product) -> Value {
    let r = &p.row;
    json!({
        "id": r.id,
        "code": r.code,
        "name": r.name,
        "name_en": r.name_en,
        "category": r.category,
        "county": r.county,
        "county_code": r.county_code,
        "village": r.village_name,
        "village_code": r.village_code,
        "seller": {"id": r.seller_id, "name": r.seller_name, "kind": r.seller_kind},
        "poverty_alleviation": r.is_poverty_alleviation(),
        "gi_brand": r.gi_brand,
        "poverty_cert_no": r.poverty_cert_no,
        "green_cert": r.green_cert,
        "organic_cert": r.organic_cert,
        "shelf_life_days": r.shelf_life_days,
        "cold_chain": r.cold_chain,
        "description": r.description,
        "status": r.status,
        "status_reason": r.status_reason,
        "skus": p.skus,
    })
}

/// `GET /api/v1/products?q=…&county=CODE&category=…&gi_brand=…&poverty=1&status=…&cursor=…`:
/// the public catalog (or, with `status` and a token, the products of that status the caller
/// may manage). With `q`, results are ranked by relevance and paged by offset cursor.
pub async fn products(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
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
        let offset = cursor.0 as usize;
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
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            })?;
        let items = s.store.listed_products_by_ids(&hits.ids).await?;
        let next = (offset + per < hits.total).then(|| Cursor((offset + per) as i64).encode());
        return Ok(Json(json!({
            "items": items.iter().map(product_json).collect::<Vec<_>>(),
            "total": hits.total,
            "relaxed": hits.relaxed,
            "suggestions": hits.suggestions,
            "next_cursor": next,
        })));
    }
    let f = ProductFilter {
        county,
        category,
        gi_brand,
        poverty,
        status,
        cursor,
        limit: lim,
    };
    let page = s.store.products(caller.actor.as_ref(), &f).await?;
    Ok(Json(json!({
        "items": page.items.iter().map(product_json).collect::<Vec<_>>(),
        "next_cursor": page.next.map(|c| c.encode()),
    })))
}

fn parse_id(caller: &Caller, s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found").in_lang(caller.lang))
}

/// `GET /api/v1/products/{id}`: a listed product for anyone; other statuses only for those
/// who may manage it.
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
#[derive(Debug, Deserialize)]
pub struct ActionBody {
    /// submit, approve, reject or delist.
    pub action: ProductAction,
    /// Reason (required to reject, and for an operator to delist).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/products/{id}/actions`: moves a product through review.
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
pub async fn sellers(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<Value>, ApiError> {
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
    let page = s
        .store
        .sellers(
            actor,
            &SellerFilter {
                status,
                cursor,
                limit: limit(&caller, &q)?,
            },
        )
        .await?;
    Ok(Json(
        json!({"items": page.items, "next_cursor": page.next.map(|c| c.encode())}),
    ))
}

/// `GET /api/v1/sellers/{id}`.
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
#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    /// approve or reject.
    pub decision: String,
    /// Reason (required to reject).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/sellers/{id}/decision`: the county operator approves or rejects.
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
#[derive(Debug, Deserialize)]
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
pub async fn create_product(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<CreateProductBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let e = caller.lang;
    let seller = s
        .store
        .seller(b.seller_id)
        .await
        .map_err(|_| ApiError::field("seller_id", "unknown_reference").in_lang(e))?;
    let mut errs = Vec::new();
    let fields = b
        .product
        .parse(Some(&seller.village_code))
        .map_err(|x| errs.extend(x))
        .ok();
    let mut skus = Vec::new();
    for (i, sku) in b.skus.iter().enumerate() {
        match sku.parse() {
            Ok(f) => skus.push(NewSku {
                code: Some(sku.code.trim().to_string()).filter(|c| !c.is_empty()),
                fields: f,
            }),
            Err(x) => errs.extend(x.into_iter().map(|mut fe| {
                fe.field = format!("skus[{i}].{}", fe.field);
                fe
            })),
        }
    }
    let Some(fields) = fields.filter(|_| errs.is_empty()) else {
        return Err(ApiError::from(bazaar_store::StoreError::Invalid(errs)).in_lang(e));
    };
    let p = s
        .store
        .create_product(&actor, b.seller_id, &fields, &skus)
        .await
        .map_err(|x| ApiError::from(x).in_lang(e))?;
    Ok((StatusCode::CREATED, Json(product_json(&p))).into_response())
}

fn scope_path(actor: &bazaar_domain::people::Actor) -> Result<Option<String>, ApiError> {
    match actor.role {
        bazaar_domain::people::Role::Admin => Ok(None),
        bazaar_domain::people::Role::Operator => Ok(actor.region_path.clone()),
        _ => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden")),
    }
}

/// `POST /api/v1/imports/{regions|nodes}` with a CSV body: all or nothing, inside the caller's
/// region; a bad file answers 422 with every bad row (line, column, reason).
pub async fn import_csv(
    State(s): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    scope_path(&actor).map_err(|e| e.in_lang(caller.lang))?;
    let r = match kind.as_str() {
        "regions" => s.store.import_regions(Some(&actor), &body).await,
        "nodes" => s.store.import_nodes(Some(&actor), &body).await,
        _ => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found").in_lang(caller.lang));
        }
    };
    let summary = r.map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok(Json(json!(summary)))
}

/// `GET /api/v1/exports/{regions|nodes}`: CSV of the caller's region (everything for admins).
pub async fn export_csv(
    State(s): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let scope = scope_path(&actor).map_err(|e| e.in_lang(caller.lang))?;
    let text = match kind.as_str() {
        "regions" => s.store.export_regions(scope.as_deref()).await?,
        "nodes" => s.store.export_nodes(scope.as_deref()).await?,
        _ => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found").in_lang(caller.lang));
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        text,
    )
        .into_response())
}

//! The network area's JSON API: the region tree, service points, CSV import and export.

use crate::AppState;
use crate::app::api::*;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_domain::network::NodeKind;
use bazaar_store::KeyCursor;
use bazaar_store::network::NodeFilter;
use serde::Serialize;
use serde_json::{Value, json};

/// `GET /api/v1/regions?parent=CODE`: the children of a region (the provinces without it).
#[utoipa::path(get, path = "/api/v1/regions", tag = "network", params(("parent" = Option<String>, Query, description = "Official code of the parent region; without it, the provinces")), responses((status = 200, description = "The child regions", body = RegionList)))]
pub async fn regions(
    State(s): State<AppState>,
    Query(q): Params,
) -> Result<Json<RegionList>, ApiError> {
    let rows = s.store.region_children(param(&q, "parent")).await?;
    Ok(Json(RegionList { items: rows }))
}

/// `GET /api/v1/nodes?region=CODE&kind=KIND&cursor=…&limit=…`: the service network.
/// Contact phones are masked for anonymous callers.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "network", params(("region" = Option<String>, Query, description = "Only nodes inside this region (official code)"), ("county" = Option<String>, Query, description = "Only nodes inside this county (its official code; the same as `region`)"), ("kind" = Option<String>, Query, pattern = "^(|prefecture_centre|county_centre|distribution_centre|township_station|village_point|locker_bank|carrier_outlet)$", description = "prefecture_centre, county_centre, distribution_centre, township_station, village_point, locker_bank or carrier_outlet"), ("cursor" = Option<String>, Query, pattern = "^(k([0-7][0-9a-fA-F])*)?$", description = "Cursor of the page, from `next_cursor`"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)")), responses((status = 200, description = "Network nodes; contact phones masked for anonymous callers", body = NodePage), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 422, description = "`region` names no region (`unknown_reference`)", body = ErrorBody)))]
pub async fn nodes(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<NodePage>, ApiError> {
    let e = caller.lang;
    let kind = param(&q, "kind")
        .map(|k| NodeKind::parse("kind", k))
        .transpose()
        .map_err(|_| ApiError::field("kind", "unknown_choice").in_lang(e))?;
    let cursor = KeyCursor::parse("cursor", param(&q, "cursor"))
        .map_err(|_| ApiError::field("cursor", "invalid_format").in_lang(e))?;
    let region = param(&q, "region").or(param(&q, "county"));
    let f = NodeFilter {
        region_code: region.map(String::from),
        kind,
        cursor,
        limit: limit(&caller, &q)?,
    };
    let (mut rows, next) = s.store.nodes(&f).await.map_err(|err| match err {
        bazaar_store::StoreError::NotFound => ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            ..ApiError::field("region", "unknown_reference").in_lang(e)
        },
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
    Ok(Json(NodePage {
        items: rows
            .into_iter()
            .map(|node| NodeItem {
                id: node.code.clone(),
                node,
            })
            .collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// A network node as the API lists it: its code doubles as its `id` (what
/// `destination_node_id` and a scan's `node_id` take).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeItem {
    /// The node's id (its code).
    pub id: String,
    /// The node.
    #[serde(flatten)]
    pub node: bazaar_store::network::Node,
}

/// A page of network nodes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodePage {
    /// The nodes of this page.
    pub items: Vec<NodeItem>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// A list of regions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegionList {
    /// The regions.
    pub items: Vec<bazaar_store::network::Region>,
}

fn scope_path(actor: &bazaar_domain::people::Actor) -> Result<Option<String>, ApiError> {
    match actor.role {
        bazaar_domain::people::Role::Admin => Ok(None),
        bazaar_domain::people::Role::Operator => Ok(actor.region_path.clone()),
        _ => Err(ApiError::of(ErrorCode::Forbidden)),
    }
}

/// `POST /api/v1/imports/{regions|nodes}` with a CSV body: all or nothing, inside the caller's
/// region; a bad file answers 422 with every bad row (line, column, reason).
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "network", security(("bearer" = [])), params(("kind" = String, Path, description = "regions or nodes")), request_body(content = String, content_type = "text/csv", description = "UTF-8 CSV with a header row"), responses((status = 200, description = "Rows created and updated", body = bazaar_store::db::csvio::ImportSummary), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody), (status = 422, description = "The file has errors: every bad row (line, column, reason); nothing was written", body = ErrorBody)))]
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
            return Err(ApiError::of(ErrorCode::NotFound).in_lang(caller.lang));
        }
    };
    let summary = r.map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok(Json(json!(summary)))
}

/// `GET /api/v1/exports/{regions|nodes}`: CSV of the caller's region (everything for admins).
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "network", security(("bearer" = [])), params(("kind" = String, Path, description = "regions or nodes")), responses((status = 200, description = "CSV of the caller's region", content_type = "text/csv", body = String), (status = 401, description = "Not signed in or bad token", body = ErrorBody), (status = 403, description = "Outside the caller's rights or region", body = ErrorBody), (status = 404, description = "No such record (or not visible to the caller)", body = ErrorBody)))]
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
            return Err(ApiError::of(ErrorCode::NotFound).in_lang(caller.lang));
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        text,
    )
        .into_response())
}

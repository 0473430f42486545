//! The job queue as admins see it: the scheduled jobs and the one-off jobs that fail or
//! died, and sending a dead one again.

use crate::AppState;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use bazaar_domain::ErrorCode;
use bazaar_store::jobs::JobRow;
use std::collections::HashMap;

#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "At most this many (default 100)")),
    responses((status = 200, description = "Every scheduled job (when it runs next, failures since it last succeeded, the last error), then the one-off jobs that are failing or dead, newest first", body = Vec<JobRow>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody)))]
/// `GET /api/v1/jobs`: the queue's health.
pub async fn jobs(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<JobRow>>, ApiError> {
    let actor = caller.require()?.clone();
    let limit = crate::app::api::limit_param(&q, 200)
        .map_err(|e| e.in_lang(caller.lang))?
        .unwrap_or(100);
    let mut rows = s.store.jobs(&actor, limit).await?;
    // An error may quote what a job sent (a phone, a code).
    for r in &mut rows {
        r.last_error = r.last_error.as_deref().map(crate::notify::mask_codes);
    }
    Ok(Json(rows))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, description = "Queued again, due now", body = JobRow),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No dead job with this id", body = ErrorBody)))]
/// `POST /api/v1/jobs/{id}/retry`: sends a dead job again.
pub async fn retry(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobRow>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))?;
    let mut row = s
        .store
        .retry_job(&actor, id, bazaar_domain::time::now_ms())
        .await?;
    row.last_error = row.last_error.as_deref().map(crate::notify::mask_codes);
    Ok(Json(row))
}

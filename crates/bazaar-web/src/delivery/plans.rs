//! Route planning from the API and the back office: `POST /api/v1/plans` plans a day (the
//! JSON of `docs/PLANNING.md`), `/manage/plan` does the same from a page and draws the routes
//! on an SVG map from the coordinates. One plan runs at a time per server (a plan keeps a core
//! busy for its whole time limit); a second caller is told to retry.

use crate::AppState;
use crate::app::auth::Caller;
use crate::app::backoffice::Ctx;
use crate::app::error::{ApiError, ErrorBody};
use crate::app::forms::text;
use crate::app::i18n::Lang;
use askama::Template;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::{Form, Json};
use bazaar_domain::ErrorCode;
use bazaar_domain::people::Role;
use bazaar_plan::{DayInput, DayPlan, PlanError, PlanOptions, RoadModel, Roads};
use bazaar_store::StoreError;
use bazaar_store::network::NodeFilter;
use std::collections::HashMap;
use std::time::Duration;

/// Longest time limit a caller may ask for, seconds.
pub const MAX_TIME_LIMIT: u64 = 60;

fn may_plan(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Operator)
}

/// The planning error as an API error: bad input names the stop, vehicle or depot.
fn plan_error(e: PlanError) -> ApiError {
    match e {
        // Every depot may leave its vehicles out, but one of them must have some.
        PlanError::EmptyFleet => ApiError::field("vehicles", "needed"),
        PlanError::Field {
            entity,
            field,
            reason,
            code,
        } => ApiError {
            details: Some(serde_json::json!([
                {"field": format!("{entity}.{field}"), "reason": code, "detail": reason}
            ])),
            ..ApiError::field(&format!("{entity}.{field}"), code)
        },
        PlanError::Roads(e) => {
            tracing::warn!(error = %e, "road service failed");
            ApiError::of(ErrorCode::RoadsUnavailable)
        }
        PlanError::Problem(e) => ApiError {
            details: Some(serde_json::json!([{"detail": e}])),
            ..ApiError::of(ErrorCode::PlanRefused)
        },
    }
}

/// Runs a plan on a blocking thread, one at a time.
async fn run(s: &AppState, day: DayInput, roads: Roads, seconds: u64) -> Result<DayPlan, ApiError> {
    let opts = PlanOptions {
        time_limit: Duration::from_secs(seconds.min(s.max_plan_seconds)),
        seed: 1,
        max_iterations: None,
    };
    run_planner(s, move || bazaar_plan::plan(&day, &roads, &opts)).await
}

/// Runs any planning call on a blocking thread, one at a time per server (a second caller is
/// told to retry: `planner_busy`).
pub(crate) async fn run_planner(
    s: &AppState,
    f: impl FnOnce() -> Result<DayPlan, PlanError> + Send + 'static,
) -> Result<DayPlan, ApiError> {
    let Ok(_permit) = s.planner.try_acquire() else {
        return Err(ApiError::of(ErrorCode::PlannerBusy));
    };
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "plan task failed");
            ApiError::of(ErrorCode::Internal)
        })?
        .map_err(plan_error)
}

pub(crate) fn roads_of(osrm: &Option<String>, name: Option<&str>) -> Result<Roads, ApiError> {
    if let Some(url) = osrm {
        let server = bazaar_integrations::osrm::Osrm::new(url).map_err(|e| {
            tracing::error!(error = %e, "the OSRM address");
            ApiError::of(ErrorCode::Internal)
        })?;
        return Ok(Roads::Osrm(std::sync::Arc::new(server)));
    }
    match name.unwrap_or("mountains") {
        "mountains" => Ok(Roads::Estimate(RoadModel::mountains())),
        "plains" => Ok(Roads::Estimate(RoadModel::plains())),
        _ => Err(ApiError::field("roads", "unknown_choice")),
    }
}

fn time_limit_of(v: Option<&str>) -> Result<u64, ApiError> {
    match v {
        None | Some("") => Ok(10),
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=MAX_TIME_LIMIT).contains(t))
            .ok_or_else(|| ApiError::field("time_limit", "out_of_range")),
    }
}

#[utoipa::path(post, path = "/api/v1/plans", tag = "logistics", security(("bearer" = [])),
    params(("time_limit" = Option<u64>, Query, minimum = 1, maximum = 60, description = "Seconds the solver may search, 1 to 60 (default 10; at most the server's `--max-plan-seconds`)"),
        ("roads" = Option<String>, Query, pattern = "^(mountains|plains)$", description = "Estimated roads when no OSRM server is configured: mountains (default) or plains")),
    request_body(content = Object, description = "The day: depots with vehicles, stops with demands and hours (docs/PLANNING.md); the schema is `PlanDay`"),
    responses((status = 200, description = "Routes, load profiles, times, and the stops left out with the reason", body = Object),
        (status = 400, description = "Bad input: the stop, vehicle or depot and the field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 422, description = "A day no schema can refuse: an id listed twice (`duplicate`), closing before opening (`inconsistent`), no vehicle at any depot (`vehicles`, `needed`)", body = ErrorBody),
        (status = 429, description = "Another plan is running (`planner_busy`); retry", body = ErrorBody),
        (status = 502, description = "The OSRM server failed (`roads_unavailable`)", body = ErrorBody)))]
/// `POST /api/v1/plans`: plans a day of joint delivery.
pub async fn plan_api(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
    b: Result<Json<DayInput>, JsonRejection>,
) -> Result<Json<DayPlan>, ApiError> {
    let lang = caller.lang;
    let actor = caller.require()?;
    if !may_plan(actor.role) {
        return Err(ApiError::of(ErrorCode::Forbidden).in_lang(lang));
    }
    let seconds =
        time_limit_of(q.get("time_limit").map(String::as_str)).map_err(|e| e.in_lang(lang))?;
    let roads =
        roads_of(&s.osrm, q.get("roads").map(String::as_str)).map_err(|e| e.in_lang(lang))?;
    let day = crate::app::api::body(&caller, b)?;
    Ok(Json(
        run(&s, day, roads, seconds)
            .await
            .map_err(|e| e.in_lang(lang))?,
    ))
}

/// An example day for an operator's county, from the service network: its distribution
/// centre as the depot with three vehicles, its township stations and village points as stops
/// with demands made up from their codes (labelled as an example on the page).
async fn example_day(s: &AppState, region: Option<&str>) -> Option<DayInput> {
    let filter = NodeFilter {
        region_code: region.map(str::to_string),
        kind: None,
        cursor: Default::default(),
        limit: Some(100),
    };
    let (nodes, _) = s.store.nodes(&filter).await.ok()?;
    let dc = nodes
        .iter()
        .find(|n| n.kind == "distribution_centre" && n.lat.is_some() && n.lng.is_some())?;
    let stops: Vec<bazaar_plan::StopInput> = nodes
        .iter()
        .filter(|n| matches!(n.kind.as_str(), "township_station" | "village_point"))
        .map(|n| {
            let seed: u32 = n.code.bytes().map(u32::from).sum();
            let township = n.kind == "township_station";
            let kg = if township {
                80 + seed % 200
            } else {
                8 + seed % 50
            } as f64;
            bazaar_plan::StopInput {
                id: n.code.clone(),
                name: n.name.clone(),
                lat: n.lat,
                lng: n.lng,
                deliver_kg: kg,
                deliver_m3: (kg / 150.0 * 100.0).round() / 100.0,
                cold_kg: if seed.is_multiple_of(5) {
                    (kg * 0.2).round()
                } else {
                    0.0
                },
                cold_m3: 0.0,
                pickup_kg: (seed % 40) as f64,
                pickup_m3: ((seed % 40) as f64 / 180.0 * 100.0).round() / 100.0,
                opens: n.opens.clone().unwrap_or_else(|| "09:00".into()),
                closes: n.closes.clone().unwrap_or_else(|| "19:00".into()),
                service_minutes: if township { 15.0 } else { 8.0 },
            }
        })
        .collect();
    let v = |id: &str, kg: f64, m3: f64, cold: bool| bazaar_plan::VehicleInput {
        id: id.into(),
        count: 1,
        capacity_kg: kg,
        capacity_m3: m3,
        cold_chain: cold,
        skills: vec![],
        fixed_cost_fen: 20_000,
        cost_per_km_fen: 150,
        shift_start: "07:30".into(),
        shift_end: "19:30".into(),
        start: None,
    };
    Some(DayInput {
        depots: vec![bazaar_plan::DepotInput {
            id: dc.code.clone(),
            name: dc.name.clone(),
            lat: dc.lat?,
            lng: dc.lng?,
            opens: dc.opens.clone().unwrap_or_else(|| "07:00".into()),
            closes: dc.closes.clone().unwrap_or_else(|| "21:00".into()),
            vehicles: vec![
                v("冷藏车-1", 800.0, 4.0, true),
                v("厢货-2", 1500.0, 8.0, false),
                v("厢货-3", 1500.0, 8.0, false),
            ],
        }],
        stops,
    })
}

/// Colours of the routes on the map.
const COLOURS: [&str; 8] = [
    "#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#138d75", "#a04000", "#2e4053",
];

/// The routes drawn from coordinates: depots as squares, stops as dots, one coloured line per
/// route (an equirectangular projection around the day's mean latitude); none without points.
fn svg_map(day: &DayInput, plan: &DayPlan) -> Option<MapView> {
    let mut pts: HashMap<&str, (f64, f64)> = HashMap::new();
    for d in &day.depots {
        pts.insert(d.id.as_str(), (d.lat, d.lng));
    }
    for s in &day.stops {
        if let (Some(a), Some(b)) = (s.lat, s.lng) {
            pts.insert(s.id.as_str(), (a, b));
        }
    }
    if pts.is_empty() {
        return None;
    }
    let lat0 = pts.values().map(|p| p.0).sum::<f64>() / pts.len() as f64;
    let k = lat0.to_radians().cos();
    let xy = |p: (f64, f64)| (p.1 * k, -p.0);
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in pts.values() {
        let (x, y) = xy(*p);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let span = (x1 - x0).max(y1 - y0).max(1e-6);
    let (w, h) = (600.0, 600.0 * ((y1 - y0) / span).max(0.3));
    let at = |p: (f64, f64)| {
        let (x, y) = xy(p);
        (
            10.0 + (x - x0) / span * (w - 20.0),
            10.0 + (y - y0) / span * (w - 20.0),
        )
    };
    let one = |v: f64| format!("{v:.1}");
    let lines = plan
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let depot = pts.get(r.depot.as_str()).copied();
            let points = depot
                .into_iter()
                .chain(
                    r.stops
                        .iter()
                        .filter_map(|s| pts.get(s.id.as_str()).copied()),
                )
                .chain(depot)
                .map(|p| {
                    let (x, y) = at(p);
                    (one(x), one(y))
                })
                .collect();
            MapLine {
                points,
                colour: COLOURS[i % COLOURS.len()],
                vehicle: r.vehicle.clone(),
            }
        })
        .collect();
    let unserved: Vec<&str> = plan.unserved.iter().map(|u| u.id.as_str()).collect();
    let stops = day
        .stops
        .iter()
        .filter_map(|s| {
            let (x, y) = at(*pts.get(s.id.as_str())?);
            Some(MapMark {
                x: one(x),
                y: one(y),
                fill: if unserved.contains(&s.id.as_str()) {
                    "#fff"
                } else {
                    "#333"
                },
                title: format!("{} {}", s.id, s.name),
            })
        })
        .collect();
    let depots = day
        .depots
        .iter()
        .map(|d| {
            let (x, y) = at((d.lat, d.lng));
            MapMark {
                x: one(x - 5.0),
                y: one(y - 5.0),
                fill: "#000",
                title: d.name.clone(),
            }
        })
        .collect();
    Some(MapView {
        width: format!("{w:.0}"),
        height: format!("{:.0}", h + 10.0),
        lines,
        stops,
        depots,
    })
}

/// The SVG map of a plan (`delivery/map.html`); numbers are formatted here.
pub(crate) struct MapView {
    /// The view box's width and height.
    pub(crate) width: String,
    pub(crate) height: String,
    pub(crate) lines: Vec<MapLine>,
    /// The stops as dots (white: left out).
    pub(crate) stops: Vec<MapMark>,
    /// The depots as squares (the corner's coordinates).
    pub(crate) depots: Vec<MapMark>,
}

/// One route on the map: its points, colour and vehicle.
pub(crate) struct MapLine {
    pub(crate) points: Vec<(String, String)>,
    pub(crate) colour: &'static str,
    pub(crate) vehicle: String,
}

/// A stop or a depot on the map.
pub(crate) struct MapMark {
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) fill: &'static str,
    pub(crate) title: String,
}

/// A plan as a page shows it (`delivery/plan.html`): the summary, the map, each route's stops,
/// the stops left out.
pub(crate) struct PlanView {
    pub(crate) summary: String,
    pub(crate) map: Option<MapView>,
    pub(crate) routes: Vec<RouteView>,
    /// The stops left out, with the reason.
    pub(crate) unserved: Vec<(String, String)>,
}

/// One route of a plan.
pub(crate) struct RouteView {
    pub(crate) colour: &'static str,
    pub(crate) vehicle: String,
    pub(crate) start: String,
    pub(crate) end: String,
    pub(crate) km: String,
    pub(crate) kg: String,
    pub(crate) stops: Vec<StopView>,
}

/// One stop of a route, the weights formatted.
pub(crate) struct StopView {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) start: String,
    pub(crate) depart: String,
    pub(crate) drop_kg: String,
    pub(crate) collect_kg: String,
    pub(crate) load_kg: String,
    pub(crate) load_m3: String,
}

/// The view of `plan` for the day `day`.
pub(crate) fn plan_view(cx: &Ctx, day: &DayInput, plan: &DayPlan) -> PlanView {
    let lang = cx.lang;
    let summary = lang.ta(
        "plan-summary",
        &[
            ("served", (plan.served as i64).into()),
            ("unserved", (plan.unserved.len() as i64).into()),
            ("vehicles", (plan.vehicles_used as i64).into()),
            ("km", format!("{:.1}", plan.distance_km).into()),
            ("seconds", format!("{:.1}", plan.solve_seconds).into()),
        ],
    );
    let routes = plan
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| RouteView {
            colour: COLOURS[i % COLOURS.len()],
            vehicle: r.vehicle.clone(),
            start: r.start.clone(),
            end: r.end.clone(),
            km: format!("{:.1}", r.distance_km),
            kg: format!("{:.0}", r.start_load_kg),
            stops: r
                .stops
                .iter()
                .map(|s| StopView {
                    name: s.name.clone(),
                    id: s.id.clone(),
                    start: s.start.clone(),
                    depart: s.depart.clone(),
                    drop_kg: format!("{:.0}", s.deliver_kg),
                    collect_kg: format!("{:.0}", s.pickup_kg),
                    load_kg: format!("{:.0}", s.load_kg),
                    load_m3: format!("{:.2}", s.load_m3),
                })
                .collect(),
        })
        .collect();
    let unserved = plan
        .unserved
        .iter()
        .map(|u| {
            let reason = serde_json::to_value(u.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            (u.id.clone(), lang.t(&format!("plan-why-{reason}")))
        })
        .collect();
    PlanView {
        summary,
        map: svg_map(day, plan),
        routes,
        unserved,
    }
}

/// The planning page: a refusal, the plan, then the form with the day as it was sent.
#[derive(Template)]
#[template(path = "delivery/plan_page.html")]
struct PlanPage<'a> {
    lang: Lang,
    csrf: &'a str,
    error: Option<String>,
    plan: Option<PlanView>,
    /// The day, as JSON.
    json: &'a str,
    /// The time limit, seconds.
    seconds: &'a str,
}

/// The planning page with `plan` or `error` above the form.
fn plan_page_of(
    cx: &Ctx,
    status: StatusCode,
    error: Option<String>,
    plan: Option<PlanView>,
    json: &str,
    seconds: &str,
) -> Response {
    cx.render(
        status,
        &cx.lang.t("plan-title"),
        &PlanPage {
            lang: cx.lang,
            csrf: &cx.csrf,
            error,
            plan,
            json,
            seconds,
        },
    )
}

/// `GET /manage/plan[?example=1]`: the planning form (with an example day of the operator's
/// county from the service network).
pub async fn plan_page(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_plan(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let mut json = String::new();
    if uri.query().is_some_and(|q| q.contains("example=1")) {
        let region = cx
            .actor
            .region_path
            .as_deref()
            .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
            .map(str::to_string);
        match example_day(&s, region.as_deref()).await {
            Some(day) => json = serde_json::to_string_pretty(&day).unwrap_or_default(),
            None => {
                return plan_page_of(
                    &cx,
                    StatusCode::OK,
                    Some(cx.lang.t("plan-no-example")),
                    None,
                    "",
                    "10",
                );
            }
        }
    }
    plan_page_of(&cx, StatusCode::OK, None, None, &json, "10")
}

/// `POST /manage/plan`: plans the day of the form and shows the routes.
pub async fn plan_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_plan(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let json = text(&form, "day");
    let seconds = text(&form, "time_limit");
    let fail = |status: StatusCode, msg: String| {
        plan_page_of(&cx, status, Some(msg), None, &json, &seconds)
    };
    let day: DayInput = match serde_json::from_str(&json) {
        Ok(d) => d,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}: {} {}:{}",
                    cx.lang.t("plan-day"),
                    cx.lang.t("reason-invalid_format"),
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    let result = match (
        time_limit_of(Some(seconds.as_str())),
        roads_of(&s.osrm, Some(text(&form, "roads").as_str())),
    ) {
        (Ok(t), Ok(r)) => run(&s, day.clone(), r, t).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match result {
        Ok(plan) => plan_page_of(
            &cx,
            StatusCode::OK,
            None,
            Some(plan_view(&cx, &day, &plan)),
            &json,
            &seconds,
        ),
        Err(e) => {
            let status = e.status;
            let detail = e
                .details
                .as_ref()
                .and_then(|d| d[0]["detail"].as_str().map(str::to_string))
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            fail(status, format!("{}{detail}", e.in_lang(cx.lang).message()))
        }
    }
}

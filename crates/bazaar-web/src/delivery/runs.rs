//! The day's joint delivery run of a county centre: its stops made from the parcels waiting
//! to go out to the points and those waiting at the points to be collected (all carriers
//! together), planned with `bazaar-plan`, reviewed (a stop moved from one route to another,
//! the routes re-sequenced and re-timed), published to the drivers, followed by their scans,
//! and re-planned when a vehicle breaks down.

use crate::AppState;
use crate::app::auth::Caller;
use crate::app::backoffice::Ctx;
use crate::app::error::{ApiError, ErrorBody};
use crate::app::i18n::Lang;
use crate::catalog::pages::encode;
use crate::delivery::plans::{PlanView, Planning, plan_view, roads_of, run_planner};
use askama::Template;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use bazaar_domain::ErrorCode;
use bazaar_domain::people::Role;
use bazaar_domain::time::{Zone, now_ms};
use bazaar_plan::{DayInput, DayPlan, DayState, PlanOptions, VehiclePosition};
use bazaar_store::delivery::runs::{DayDemands, ManifestParcel, RunRow};
use bazaar_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Seconds a run's first plan may search.
const PLAN_SECONDS: u64 = 5;
/// Seconds a review change or a re-plan may search.
const REPLAN_SECONDS: u64 = 2;

/// Seconds a run's first plan searches on a server with `planning`.
pub fn plan_seconds(planning: &Planning) -> u64 {
    PLAN_SECONDS.min(planning.max_seconds).max(1)
}

/// The day's stops and fleet as the planner reads them: a parcel weighs at least 1 kg and
/// takes at least 5 litres on the vehicle (carriers' minimum chargeable size).
pub fn day_input(d: &DayDemands) -> DayInput {
    let kg = |g: i64| (g.max(1000)) as f64 / 1000.0;
    let m3 = |cm3: i64| (cm3.max(5000)) as f64 / 1_000_000.0;
    let stops = d
        .stops
        .iter()
        .map(|s| {
            let township = s.node.kind == "township_station";
            bazaar_plan::StopInput {
                id: s.node.code.clone(),
                name: s.node.name.clone(),
                lat: s.node.lat,
                lng: s.node.lng,
                deliver_kg: s.drops.iter().map(|p| kg(p.1)).sum(),
                deliver_m3: s.drops.iter().map(|p| m3(p.2)).sum(),
                cold_kg: s.drops.iter().filter(|p| p.3).map(|p| kg(p.1)).sum(),
                cold_m3: s.drops.iter().filter(|p| p.3).map(|p| m3(p.2)).sum(),
                pickup_kg: s.collects.iter().map(|p| kg(p.1)).sum(),
                pickup_m3: s.collects.iter().map(|p| m3(p.2)).sum(),
                opens: s.node.opens.clone().unwrap_or_else(|| "09:00".into()),
                closes: s.node.closes.clone().unwrap_or_else(|| "19:00".into()),
                service_minutes: if township { 15.0 } else { 5.0 }
                    + (s.drops.len() + s.collects.len()) as f64 * 0.5,
            }
        })
        .collect();
    DayInput {
        depots: vec![bazaar_plan::DepotInput {
            id: d.depot.code.clone(),
            name: d.depot.name.clone(),
            lat: d.depot.lat.unwrap_or_default(),
            lng: d.depot.lng.unwrap_or_default(),
            opens: d.depot.opens.clone().unwrap_or_else(|| "07:00".into()),
            closes: d.depot.closes.clone().unwrap_or_else(|| "21:00".into()),
            vehicles: d.vehicles.iter().map(vehicle_input).collect(),
        }],
        stops,
    }
}

/// A centre's vehicle as the planner reads it: its code as the id, its name, its capacity
/// and shift; ¥200 a day and ¥1.50 a km.
pub fn vehicle_input(v: &bazaar_store::delivery::runs::Vehicle) -> bazaar_plan::VehicleInput {
    bazaar_plan::VehicleInput {
        id: v.code.clone(),
        name: Some(v.name.clone()),
        count: 1,
        capacity_kg: v.capacity_kg as f64,
        capacity_m3: v.capacity_l as f64 / 1000.0,
        cold_chain: v.cold_chain,
        skills: vec![],
        fixed_cost_fen: 20_000,
        cost_per_km_fen: 150,
        shift_start: v.shift_start.clone(),
        shift_end: v.shift_end.clone(),
        start: None,
    }
}

/// The zone and local date and time of a centre.
async fn local_now(store: &Store, region: &str) -> (Zone, String, String) {
    let zone = match store.region(region).await {
        Ok(r) => Zone::parse(&r.timezone).unwrap_or_default(),
        Err(_) => Zone::Shanghai,
    };
    let t = zone.format_ms(now_ms());
    let (day, hm) = t.split_once(' ').unwrap_or((&t, "08:00"));
    (zone, day.to_string(), hm.to_string())
}

fn parse_json<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, ApiError> {
    serde_json::from_str(s).map_err(|e| {
        tracing::error!(error = %e, "stored run does not parse");
        ApiError::of(ErrorCode::Internal)
    })
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Plans today's run of a centre and saves it as a draft (a request: told to retry while
/// another plan runs).
async fn create_run(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    depot: &str,
) -> Result<RunRow, ApiError> {
    plan_run(&s.store, &s.planning(), false, actor, depot).await
}

/// Plans today's run of `depot` as `actor` and saves it as a draft; `wait`: for the planner
/// to be free (a job) rather than refuse (a request).
pub async fn plan_run(
    store: &Store,
    planning: &Planning,
    wait: bool,
    actor: &bazaar_domain::people::Actor,
    depot: &str,
) -> Result<RunRow, ApiError> {
    let demands = store.day_demands(actor, depot).await?;
    if demands.vehicles.is_empty() {
        return Err(ApiError::field("vehicles", "needed"));
    }
    if demands.stops.is_empty() {
        return Err(ApiError::of(ErrorCode::NothingToDeliver));
    }
    let input = day_input(&demands);
    let roads = roads_of(&planning.osrm, None)?;
    let opts = PlanOptions {
        time_limit: Duration::from_secs(plan_seconds(planning)),
        seed: 1,
        max_iterations: None,
    };
    let day = input.clone();
    let plan = run_planner(planning, wait, move || {
        bazaar_plan::plan(&day, &roads, &opts)
    })
    .await?;
    let parcels: Vec<(i64, String, &'static str)> = demands
        .stops
        .iter()
        .flat_map(|st| {
            st.drops
                .iter()
                .map(move |p| (p.0, st.node.code.clone(), "drop"))
                .chain(
                    st.collects
                        .iter()
                        .map(move |p| (p.0, st.node.code.clone(), "collect")),
                )
        })
        .collect();
    let (_, today, _) = local_now(store, &demands.depot.region_code).await;
    Ok(store
        .save_run(
            actor,
            &demands.depot.code,
            &today,
            &to_json(&input),
            &to_json(&plan),
            &parcels,
        )
        .await?)
}

/// Moves a stop to another vehicle's route: every other stop stays on its vehicle, the
/// routes are re-sequenced and re-timed; a move that breaks a rule is refused.
async fn move_stop(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    id: i64,
    stop: &str,
    vehicle: &str,
) -> Result<RunRow, ApiError> {
    let run = s.store.run(actor, id).await?;
    if actor.role == Role::Driver {
        return Err(ApiError::of(ErrorCode::Forbidden));
    }
    let input: DayInput = parse_json(&run.input)?;
    let plan: DayPlan = parse_json(&run.plan)?;
    if !input.stops.iter().any(|x| x.id == stop) {
        return Err(ApiError::field("stop", "unknown_reference"));
    }
    let broken: Vec<&str> = run.broken.split(',').filter(|x| !x.is_empty()).collect();
    if !input.depots[0].vehicles.iter().any(|v| v.id == vehicle) || broken.contains(&vehicle) {
        return Err(ApiError::field("vehicle", "unknown_reference"));
    }
    let mut pinned: BTreeMap<String, String> = BTreeMap::new();
    for r in &plan.routes {
        for st in &r.stops {
            pinned.insert(st.id.clone(), r.vehicle.clone());
        }
    }
    pinned.insert(stop.to_string(), vehicle.to_string());
    let mut day = input.clone();
    day.depots[0]
        .vehicles
        .retain(|v| !broken.contains(&v.id.as_str()));
    let roads = roads_of(&s.osrm, None)?;
    let opts = PlanOptions {
        time_limit: Duration::from_secs(REPLAN_SECONDS.min(s.max_plan_seconds)),
        seed: 1,
        max_iterations: None,
    };
    let new = run_planner(&s.planning(), false, move || {
        bazaar_plan::plan_pinned(&day, &roads, &opts, &pinned)
    })
    .await?;
    let moved = new
        .routes
        .iter()
        .any(|r| r.vehicle == vehicle && r.stops.iter().any(|x| x.id == stop));
    if !moved || new.served < plan.served {
        return Err(ApiError {
            details: Some(json!([{"field": "vehicle", "reason": "no_room"}])),
            ..ApiError::of(ErrorCode::MoveBreaksARule)
        });
    }
    Ok(s.store
        .update_run_plan(actor, id, &to_json(&new), None)
        .await?)
}

/// Re-plans the rest of the day after `vehicle` broke down: visited stops stay done, the
/// vehicles on the road start from their last visited stop with their remaining drops on
/// board, the broken vehicle's stops go to vehicles that can still reach them.
async fn breakdown(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    id: i64,
    vehicle: &str,
) -> Result<RunRow, ApiError> {
    let run = s.store.run(actor, id).await?;
    if actor.role == Role::Driver {
        return Err(ApiError::of(ErrorCode::Forbidden));
    }
    if run.status != "published" {
        return Err(ApiError::of(ErrorCode::InvalidTransition));
    }
    let input: DayInput = parse_json(&run.input)?;
    let plan: DayPlan = parse_json(&run.plan)?;
    if !plan.routes.iter().any(|r| r.vehicle == vehicle) {
        return Err(ApiError::field("vehicle", "unknown_reference"));
    }
    let visited = s.store.run_visited(&run).await?;
    let depot = &input.depots[0];
    let (_, _, clock) = local_now(&s.store, &depot_region(s, &run.depot_node).await).await;
    let now = s.replan_time.clone().unwrap_or(clock);
    // After closing time nothing more goes out today.
    if let (Some(closes), Some(at)) = (minutes(&depot.closes), minutes(&now))
        && closes <= at
    {
        return Err(ApiError::of(ErrorCode::DayOver));
    }
    let mut positions = Vec::new();
    let mut broken: Vec<String> = run
        .broken
        .split(',')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect();
    broken.push(vehicle.to_string());
    for r in &plan.routes {
        if broken.contains(&r.vehicle) {
            continue;
        }
        let last = r.stops.iter().rev().find(|x| visited.contains(&x.id));
        let Some(last) = last else { continue };
        let at = input.stops.iter().find(|x| x.id == last.id);
        let remaining: Vec<&bazaar_plan::PlannedStop> = r
            .stops
            .iter()
            .filter(|x| !visited.contains(&x.id))
            .collect();
        positions.push(VehiclePosition {
            vehicle: r.vehicle.clone(),
            lat: at.and_then(|x| x.lat).unwrap_or(depot.lat),
            lng: at.and_then(|x| x.lng).unwrap_or(depot.lng),
            load_kg: remaining.iter().map(|x| x.deliver_kg).sum(),
            load_m3: remaining.iter().map(|x| x.deliver_m3).sum(),
            remaining: remaining.iter().map(|x| x.id.clone()).collect(),
        });
    }
    let state = DayState {
        now,
        finished: visited.clone(),
        broken: broken.clone(),
        positions,
    };
    let roads = roads_of(&s.osrm, None)?;
    let opts = PlanOptions {
        time_limit: Duration::from_secs(REPLAN_SECONDS.min(s.max_plan_seconds)),
        seed: 1,
        max_iterations: None,
    };
    let day = input.clone();
    let new = run_planner(&s.planning(), false, move || {
        bazaar_plan::replan(&day, &state, &roads, &opts)
    })
    .await?;
    Ok(s.store
        .update_run_plan(actor, id, &to_json(&new), Some(vehicle))
        .await?)
}

/// Minutes after midnight of an `H:MM` or `HH:MM` time.
fn minutes(hm: &str) -> Option<u32> {
    let (h, m) = hm.trim().split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

async fn depot_region(s: &AppState, depot: &str) -> String {
    s.store
        .node(depot)
        .await
        .map(|n| n.region_code)
        .unwrap_or_default()
}

/// A run as the API answers it: the stored row with its day and plan parsed, each stop's
/// parcels and whether it has been visited.
async fn run_json(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    run: RunRow,
) -> Result<Value, ApiError> {
    let input: Value = parse_json(&run.input)?;
    let plan: Value = parse_json(&run.plan)?;
    let parcels = s.store.run_parcels(actor, run.id).await?;
    let visited = s.store.run_visited(&run).await?;
    Ok(json!({
        "id": run.id,
        "depot_node": run.depot_node,
        "day": run.day,
        "status": run.status,
        "broken": run.broken.split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>(),
        "published_at": run.published_at,
        "replanned_at": run.replanned_at,
        "input": input,
        "plan": plan,
        "parcels_done": parcels.iter().filter(|p| p.done()).count(),
        "parcels": parcels,
        "visited": visited,
    }))
}

fn run_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))
}

/// Body of `POST /api/v1/runs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RunBody {
    /// The county's distribution centre (node code).
    pub depot_node: String,
}

#[utoipa::path(post, path = "/api/v1/runs", tag = "logistics", security(("bearer" = [])),
    request_body = RunBody,
    responses((status = 201, description = "Today's run planned as a draft: the day's stops (what waits at the centre for each point and what waits at the points to be collected, all carriers together), the routes, the parcels of each stop", body = Object),
        (status = 400, description = "No vehicles, or a field out of its schema", body = ErrorBody),
        (status = 422, description = "`depot_node` names no centre (`unknown_reference`)", body = ErrorBody),
        (status = 403, description = "Operators of the centre's region and admins only", body = ErrorBody),
        (status = 409, description = "Nothing to deliver or collect today (`nothing_to_deliver`)", body = ErrorBody),
        (status = 429, description = "Another plan is running; retry", body = ErrorBody)))]
/// `POST /api/v1/runs`: plans today's joint delivery run of a centre.
pub async fn create_api(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<RunBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let lang = caller.lang;
    let b = crate::app::api::body(&caller, b)?;
    let run = create_run(&s, &actor, b.depot_node.trim())
        .await
        .map_err(|e| e.in_lang(lang))?;
    let v = run_json(&s, &actor, run).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "logistics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The run: status, plan, parcels per stop, stops visited so far", body = Object),
        (status = 404, description = "No such run the caller may see", body = ErrorBody)))]
/// `GET /api/v1/runs/{id}`.
pub async fn get_api(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let run = s.store.run(&actor, run_id(&id)?).await?;
    Ok(Json(run_json(&s, &actor, run).await?))
}

/// Body of `POST /api/v1/runs/{id}/actions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RunAction {
    /// move (a stop to a vehicle), publish, or breakdown (of a vehicle).
    #[schema(pattern = "^(move|publish|breakdown)$")]
    pub action: String,
    /// The stop to move.
    #[serde(default)]
    pub stop: Option<String>,
    /// The vehicle a stop moves to, or that broke down.
    #[serde(default)]
    pub vehicle: Option<String>,
}

async fn act(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    id: i64,
    a: &RunAction,
) -> Result<RunRow, ApiError> {
    let need = |v: &Option<String>, f: &str| {
        v.as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .ok_or_else(|| ApiError::field(f, "required"))
    };
    match a.action.as_str() {
        "move" => {
            let stop = need(&a.stop, "stop")?;
            let vehicle = need(&a.vehicle, "vehicle")?;
            move_stop(s, actor, id, &stop, &vehicle).await
        }
        "publish" => Ok(s.store.publish_run(actor, id).await?),
        "breakdown" => {
            let vehicle = need(&a.vehicle, "vehicle")?;
            breakdown(s, actor, id, &vehicle).await
        }
        _ => Err(ApiError::field("action", "unknown_choice")),
    }
}

#[utoipa::path(post, path = "/api/v1/runs/{id}/actions", tag = "logistics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")), request_body = RunAction,
    responses((status = 200, description = "The run after the change", body = Object),
        (status = 400, description = "Unknown action, stop or vehicle", body = ErrorBody),
        (status = 403, description = "Operators of the centre's region and admins only", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
        (status = 422, description = "The stop or vehicle names nothing in this run (`unknown_reference`)", body = ErrorBody),
        (status = 409, description = "The move breaks a rule (no room or time on that vehicle), the run is not in a state for it, or (`day_over`) a breakdown reported after the centre has closed", body = ErrorBody)))]
/// `POST /api/v1/runs/{id}/actions`: move a stop, publish, report a breakdown.
pub async fn action_api(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<RunAction>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let lang = caller.lang;
    let b = crate::app::api::body(&caller, b)?;
    let run = act(&s, &actor, run_id(&id)?, &b)
        .await
        .map_err(|e| e.in_lang(lang))?;
    Ok(Json(run_json(&s, &actor, run).await?))
}

/// The driver's part of today's run: their route's stops in order, each with what to drop and
/// collect.
async fn manifest(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
) -> Result<
    Option<(
        String,
        RunRow,
        bazaar_plan::PlannedRoute,
        Vec<ManifestParcel>,
        Vec<String>,
    )>,
    ApiError,
> {
    let region = match &actor.region_path {
        Some(p) => p
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    };
    let (_, today, _) = local_now(&s.store, &region).await;
    let Some((vehicle, run)) = s.store.driver_run(actor, &today).await? else {
        return Ok(None);
    };
    let plan: DayPlan = parse_json(&run.plan)?;
    let label = vehicle.name.clone();
    let Some(route) = plan.routes.into_iter().find(|r| r.vehicle == vehicle.code) else {
        return Ok(Some((label, run, empty_route(), Vec::new(), Vec::new())));
    };
    let parcels = s.store.run_parcels(actor, run.id).await?;
    let mine: Vec<ManifestParcel> = parcels
        .into_iter()
        .filter(|p| route.stops.iter().any(|x| x.id == p.node_code))
        .collect();
    let visited = s.store.run_visited(&run).await?;
    Ok(Some((label, run, route, mine, visited)))
}

/// The service points of a route, by code: their address, contact and position for the
/// driver (the driver's right to the run is checked by [`manifest`]).
async fn stop_nodes(
    s: &AppState,
    route: &bazaar_plan::PlannedRoute,
) -> HashMap<String, bazaar_store::network::Node> {
    let mut out = HashMap::new();
    for st in &route.stops {
        if let Ok(n) = s.store.node(&st.id).await {
            out.insert(st.id.clone(), n);
        }
    }
    out
}

/// A navigation link to a point (高德地图's URI: it opens the app where installed, the map
/// page otherwise), from its coordinates.
fn navigation_link(n: &bazaar_store::network::Node) -> Option<String> {
    let (lat, lng) = (n.lat?, n.lng?);
    Some(format!(
        "https://uri.amap.com/marker?position={lng:.6},{lat:.6}&name={}&coordinate=wgs84&callnative=1",
        encode(&n.name)
    ))
}

fn empty_route() -> bazaar_plan::PlannedRoute {
    bazaar_plan::PlannedRoute {
        vehicle: String::new(),
        depot: String::new(),
        start: String::new(),
        end: String::new(),
        distance_km: 0.0,
        duration_minutes: 0.0,
        start_load_kg: 0.0,
        start_load_m3: 0.0,
        stops: Vec::new(),
    }
}

#[utoipa::path(get, path = "/api/v1/driver/manifest", tag = "logistics", security(("bearer" = [])),
    responses((status = 200, description = "Today's route of the driver's vehicle: stops in order with arrival times, what to drop and collect at each (waybills), which are done", body = Object),
        (status = 403, description = "Drivers only", body = ErrorBody),
        (status = 404, description = "No published run today for the driver's vehicle", body = ErrorBody)))]
/// `GET /api/v1/driver/manifest`.
pub async fn manifest_api(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let Some((vehicle, run, route, parcels, visited)) = manifest(&s, &actor).await? else {
        return Err(ApiError::of(ErrorCode::NotFound));
    };
    let nodes = stop_nodes(&s, &route).await;
    let stops: Vec<Value> = route
        .stops
        .iter()
        .map(|st| {
            let of = |action: &str| {
                parcels
                    .iter()
                    .filter(|p| p.node_code == st.id && p.action == action)
                    .collect::<Vec<_>>()
            };
            let n = nodes.get(&st.id);
            json!({
                "id": st.id, "name": st.name, "arrive": st.arrive, "depart": st.depart,
                "address": n.and_then(|n| n.address.clone()),
                "contact_name": n.and_then(|n| n.contact_name.clone()),
                "contact_phone": n.and_then(|n| n.contact_phone.clone()),
                "lat": n.and_then(|n| n.lat), "lng": n.and_then(|n| n.lng),
                "drop": of("drop"), "collect": of("collect"),
                "visited": visited.contains(&st.id),
            })
        })
        .collect();
    Ok(Json(json!({
        "run_id": run.id, "vehicle": vehicle, "vehicle_code": route.vehicle, "day": run.day, "start": route.start,
        "end": route.end, "distance_km": route.distance_km, "stops": stops,
    })))
}

// ---- pages ----

/// `GET /manage/runs`: the operator's centres and their latest runs, with "plan today's run".
pub async fn runs_page(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let depots = match s.store.plannable_depots(&cx.actor).await {
        Ok(d) => d,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let mut list = Vec::new();
    for d in &depots {
        let runs = s.store.runs(&cx.actor, &d.code).await.unwrap_or_default();
        list.push(DepotRuns {
            name: d.name.clone(),
            code: d.code.clone(),
            runs: runs
                .into_iter()
                .map(|r| RunItem {
                    id: r.id,
                    status: lang.t(&format!("run-status-{}", r.status)),
                    day: r.day,
                })
                .collect(),
        });
    }
    cx.render(
        StatusCode::OK,
        &lang.t("run-title"),
        &RunsPage {
            lang,
            csrf: &cx.csrf,
            depots: list,
        },
    )
}

/// The centres an operator plans for, each with "plan today's run" and its latest runs.
#[derive(Template)]
#[template(path = "delivery/runs.html")]
struct RunsPage<'a> {
    lang: Lang,
    csrf: &'a str,
    depots: Vec<DepotRuns>,
}

/// One centre and its runs.
struct DepotRuns {
    name: String,
    code: String,
    runs: Vec<RunItem>,
}

/// One run in the list: its day and status.
struct RunItem {
    id: i64,
    day: String,
    status: String,
}

/// `POST /manage/runs`: checks that there is a day to plan (the centre is the operator's,
/// it has vehicles, something waits), then plans it as a job and opens the page that follows
/// it: the page never waits on the planner.
pub async fn create_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let depot = form
        .get("depot_node")
        .map(|d| d.trim())
        .unwrap_or("")
        .to_string();
    let checked = match s.store.day_demands(&cx.actor, &depot).await {
        Ok(d) if d.vehicles.is_empty() => Err(ApiError::field("vehicles", "needed")),
        Ok(d) if d.stops.is_empty() => Err(ApiError::of(ErrorCode::NothingToDeliver)),
        Ok(_) => Ok(()),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = checked {
        return api_error_page(&cx, e, "/manage/runs");
    }
    let payload = json!({"depot": depot, "seconds": plan_seconds(&s.planning())});
    match s
        .store
        .enqueue_owned_job(
            &cx.actor,
            crate::jobs::DELIVERY_PLAN_RUN,
            &payload,
            now_ms(),
        )
        .await
    {
        Ok(job) => Redirect::to(&format!("/manage/planning/{job}")).into_response(),
        Err(e) => cx.error_page(e, "/manage/runs"),
    }
}

/// `GET /manage/planning/{job}`: a run being planned, for the operator who asked: queued,
/// then a progress bar over the planner's time limit, the page asking again every second
/// (`Refresh`, no script needed); once planned, on to the run's review; a refusal in words.
pub async fn planning_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let job = match id.parse::<i64>() {
        Ok(id) => s.store.owned_job(&cx.actor, id).await,
        Err(_) => Err(StoreError::NotFound),
    };
    let job = match job {
        Ok(j) if j.kind == crate::jobs::DELIVERY_PLAN_RUN => j,
        Ok(_) => return cx.error_page(StoreError::NotFound, "/manage/runs"),
        Err(e) => return cx.error_page(e, "/manage/runs"),
    };
    let result: Value = job
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    if let Some(run) = result["run_id"].as_i64() {
        return Redirect::to(&format!("/manage/runs/{run}")).into_response();
    }
    if let Some(code) = result["error"].as_str() {
        let msg = match (result["field"].as_str(), result["reason"].as_str()) {
            (Some(f), Some(r)) => crate::app::error::field_message(lang, f, r),
            _ => crate::app::error::code_message(lang, code),
        };
        return cx.render(
            StatusCode::OK,
            &lang.t("run-title"),
            &RunError {
                lang,
                msg: &msg,
                back: "/manage/runs",
            },
        );
    }
    if job.state == "dead" {
        return api_error_page(&cx, ApiError::of(ErrorCode::Internal), "/manage/runs");
    }
    let payload: Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let seconds = payload["seconds"]
        .as_i64()
        .unwrap_or(PLAN_SECONDS as i64)
        .max(1);
    let (heading, percent) = if job.state == "running" {
        let elapsed = (now_ms() - job.updated_at).max(0);
        // The solver searches for its whole time limit: the bar is the time gone, held
        // short of full until the plan is saved.
        let percent = (elapsed * 100 / (seconds * 1000)).clamp(1, 95);
        (lang.t("run-planning"), percent)
    } else if job.attempts > 0 {
        (lang.t("run-planning-again"), 0)
    } else {
        (lang.t("run-planning-queued"), 0)
    };
    let left = (seconds - (percent * seconds / 100)).max(1);
    let mut r = cx.render(
        StatusCode::OK,
        &lang.t("run-title"),
        &PlanningPage {
            lang,
            heading,
            percent,
            note: lang.ta("run-planning-left", &[("seconds", left.into())]),
        },
    );
    if let Ok(v) = axum::http::HeaderValue::from_str("1") {
        r.headers_mut().insert("refresh", v);
    }
    r
}

/// A run being planned: what is happening and how far it has gone.
#[derive(Template)]
#[template(path = "delivery/planning.html")]
struct PlanningPage {
    lang: Lang,
    heading: String,
    /// How far, 0–95.
    percent: i64,
    /// About how long is left, as a sentence.
    note: String,
}

fn api_error_page(cx: &Ctx, e: ApiError, back: &str) -> Response {
    let e = e.in_lang(cx.lang);
    cx.render(
        e.status,
        &cx.lang.t("run-title"),
        &RunError {
            lang: cx.lang,
            msg: &e.message(),
            back,
        },
    )
}

/// A refused action on a run: the message and the way back.
#[derive(Template)]
#[template(path = "app/error.html")]
struct RunError<'a> {
    lang: Lang,
    msg: &'a str,
    back: &'a str,
}

/// `GET /manage/runs/{id}`: the review (draft) or the progress (published) of a run.
pub async fn run_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/runs");
    };
    let run = match s.store.run(&cx.actor, id).await {
        Ok(r) => r,
        Err(e) => return cx.error_page(e, "/manage/runs"),
    };
    let (Ok(input), Ok(plan)) = (
        parse_json::<DayInput>(&run.input),
        parse_json::<DayPlan>(&run.plan),
    ) else {
        return cx.error_page(StoreError::Rule(ErrorCode::RunUnreadable), "/manage/runs");
    };
    let visited = s.store.run_visited(&run).await.unwrap_or_default();
    let parcels = s.store.run_parcels(&cx.actor, id).await.unwrap_or_default();
    let broken: Vec<&str> = run.broken.split(',').filter(|x| !x.is_empty()).collect();
    let name_of = crate::delivery::plans::vehicle_names(&input);
    let vehicles: Vec<(String, String)> = input.depots[0]
        .vehicles
        .iter()
        .map(|v| v.id.as_str())
        .filter(|v| !broken.contains(v))
        .map(|v| (v.to_string(), name_of(v)))
        .collect();
    let total: usize = plan.routes.iter().map(|r| r.stops.len()).sum();
    let mut draft = None;
    let mut progress = None;
    match run.status.as_str() {
        "draft" => {
            // Move a stop: one small form per stop.
            draft = Some(Draft {
                stops: plan
                    .routes
                    .iter()
                    .flat_map(|r| {
                        r.stops.iter().map(|st| DraftStop {
                            name: st.name.clone(),
                            id: st.id.clone(),
                            vehicle: r.vehicle.clone(),
                            vehicle_name: name_of(&r.vehicle),
                        })
                    })
                    .collect(),
                vehicles,
            });
        }
        "published" => {
            // Parcels handled, overall and per route (a stop can be visited with some of its
            // parcels still to find).
            let handled = |stops: &[&str]| {
                let mine: Vec<_> = parcels
                    .iter()
                    .filter(|p| stops.contains(&p.node_code.as_str()))
                    .collect();
                let done = mine.iter().filter(|p| p.done()).count();
                lang.ta(
                    "run-parcels-done",
                    &[
                        ("done", (done as i64).into()),
                        ("total", (mine.len() as i64).into()),
                    ],
                )
            };
            let all: Vec<&str> = parcels.iter().map(|p| p.node_code.as_str()).collect();
            progress = Some(Progress {
                visited: lang.ta(
                    "run-visited",
                    &[
                        ("done", (visited.len() as i64).into()),
                        ("total", (total as i64).into()),
                    ],
                ),
                handled: handled(&all),
                routes: plan
                    .routes
                    .iter()
                    .map(|r| {
                        let ids: Vec<&str> = r.stops.iter().map(|x| x.id.as_str()).collect();
                        RouteProgress {
                            vehicle: r.vehicle.clone(),
                            vehicle_name: name_of(&r.vehicle),
                            done: r.stops.iter().filter(|x| visited.contains(&x.id)).count(),
                            stops: r.stops.len(),
                            handled: handled(&ids),
                        }
                    })
                    .collect(),
            });
        }
        _ => {}
    }
    let parcel_count = lang.ta(
        "run-parcel-count",
        &[
            (
                "drop",
                (parcels.iter().filter(|p| p.action == "drop").count() as i64).into(),
            ),
            (
                "collect",
                (parcels.iter().filter(|p| p.action == "collect").count() as i64).into(),
            ),
        ],
    );
    cx.render(
        StatusCode::OK,
        &lang.t("run-title"),
        &RunPage {
            lang,
            csrf: &cx.csrf,
            id,
            depot: input
                .depots
                .first()
                .map(|d| d.name.as_str())
                .unwrap_or(&run.depot_node),
            day: &run.day,
            status: lang.t(&format!("run-status-{}", run.status)),
            broken: (!broken.is_empty()).then(|| {
                broken
                    .iter()
                    .map(|b| name_of(b))
                    .collect::<Vec<_>>()
                    .join("、")
            }),
            plan: plan_view(&cx, &input, &plan),
            draft,
            progress,
            parcel_count,
        },
    )
}

/// A run: its review (draft) or its progress (published), the plan, the parcels.
#[derive(Template)]
#[template(path = "delivery/run.html")]
struct RunPage<'a> {
    lang: Lang,
    csrf: &'a str,
    id: i64,
    depot: &'a str,
    day: &'a str,
    status: String,
    /// The vehicles broken down, listed.
    broken: Option<String>,
    plan: PlanView,
    draft: Option<Draft>,
    progress: Option<Progress>,
    /// How many parcels to drop and to collect, as a sentence.
    parcel_count: String,
}

/// The review of a draft: every stop with the vehicles it may move to (code, name).
struct Draft {
    stops: Vec<DraftStop>,
    vehicles: Vec<(String, String)>,
}

/// A stop of a draft and the vehicle it is on (code, name).
struct DraftStop {
    name: String,
    id: String,
    vehicle: String,
    vehicle_name: String,
}

/// A published run's progress: stops visited, parcels handled, per route.
struct Progress {
    visited: String,
    handled: String,
    routes: Vec<RouteProgress>,
}

/// One route's progress: its vehicle's code (the form's value) and name.
struct RouteProgress {
    vehicle: String,
    vehicle_name: String,
    done: usize,
    stops: usize,
    handled: String,
}

/// `POST /manage/runs/{id}/actions`: the review's and the centre's actions.
pub async fn action_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let back = format!("/manage/runs/{}", encode(&id));
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/runs");
    };
    let a = RunAction {
        action: form.get("action").cloned().unwrap_or_default(),
        stop: form.get("stop").cloned(),
        vehicle: form.get("vehicle").cloned(),
    };
    match act(&s, &cx.actor, id, &a).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => api_error_page(&cx, e, &back),
    }
}

/// `GET /manage/route`: the driver's manifest on the phone.
pub async fn route_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(_): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let found = match manifest(&s, &cx.actor).await {
        Ok(m) => m,
        Err(e) => return api_error_page(&cx, e, "/manage"),
    };
    let nodes = match &found {
        Some((_, _, route, _, _)) => stop_nodes(&s, route).await,
        None => HashMap::new(),
    };
    let manifest = found.map(|(vehicle, _run, route, parcels, visited)| Manifest {
        vehicle,
        start: route.start.clone(),
        end: route.end.clone(),
        km: format!("{:.1}", route.distance_km),
        stops: route
            .stops
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let list = |action: &str| {
                    parcels
                        .iter()
                        .filter(|p| p.node_code == st.id && p.action == action)
                        .map(|p| {
                            (
                                p.waybill.clone(),
                                lang.t(&format!("parcel-state-{}", p.state)),
                            )
                        })
                        .collect()
                };
                let n = nodes.get(&st.id);
                ManifestStop {
                    done: visited.contains(&st.id),
                    number: i + 1,
                    address: n.and_then(|n| n.address.clone()).filter(|a| !a.is_empty()),
                    contact: n.and_then(|n| n.contact_name.clone()).unwrap_or_default(),
                    phone: n
                        .and_then(|n| n.contact_phone.clone())
                        .filter(|p| !p.is_empty() && !p.contains('*')),
                    nav: n.and_then(navigation_link),
                    name: st.name.clone(),
                    arrive: st.arrive.clone(),
                    depart: st.depart.clone(),
                    drops: list("drop"),
                    collects: list("collect"),
                    node: encode(&st.id),
                }
            })
            .collect(),
    });
    cx.render(
        StatusCode::OK,
        &lang.t("route-title"),
        &RoutePage { lang, manifest },
    )
}

/// The driver's manifest, or a line saying there is none today.
#[derive(Template)]
#[template(path = "delivery/route.html")]
struct RoutePage {
    lang: Lang,
    manifest: Option<Manifest>,
}

/// The driver's route today.
struct Manifest {
    vehicle: String,
    start: String,
    end: String,
    km: String,
    stops: Vec<ManifestStop>,
}

/// One stop of the route: its parcels to drop and to collect (waybill, state), and the node
/// (URL-encoded) the scan links carry; the point's address, contact (to call) and a
/// navigation link.
struct ManifestStop {
    done: bool,
    /// Its place in the route, from 1.
    number: usize,
    address: Option<String>,
    contact: String,
    phone: Option<String>,
    nav: Option<String>,
    name: String,
    arrive: String,
    depart: String,
    drops: Vec<(String, String)>,
    collects: Vec<(String, String)>,
    node: String,
}

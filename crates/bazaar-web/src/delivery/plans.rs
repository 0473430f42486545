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

/// What planning needs of the server it runs on: the roads, the longest search, and the one
/// permit (a plan keeps a core busy for its whole time limit). The web server and the job
/// worker share one.
#[derive(Clone)]
pub struct Planning {
    /// An OSRM-compatible server for road distances; estimated when `None`.
    pub osrm: Option<String>,
    /// The most seconds one plan may search.
    pub max_seconds: u64,
    /// One plan at a time.
    pub permit: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for Planning {
    /// Estimated roads, a minute at most, a permit of its own.
    fn default() -> Self {
        Planning {
            osrm: None,
            max_seconds: MAX_TIME_LIMIT,
            permit: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

/// Runs a plan on a blocking thread, one at a time.
async fn run(s: &AppState, day: DayInput, roads: Roads, seconds: u64) -> Result<DayPlan, ApiError> {
    let opts = PlanOptions {
        time_limit: Duration::from_secs(seconds.min(s.max_plan_seconds)),
        seed: 1,
        max_iterations: None,
    };
    run_planner(&s.planning(), false, move || {
        bazaar_plan::plan(&day, &roads, &opts)
    })
    .await
}

/// Runs any planning call on a blocking thread, one at a time per server: a caller who
/// cannot `wait` (a request) is told to retry (`planner_busy`), a job waits its turn.
pub(crate) async fn run_planner(
    p: &Planning,
    wait: bool,
    f: impl FnOnce() -> Result<DayPlan, PlanError> + Send + 'static,
) -> Result<DayPlan, ApiError> {
    let _permit = if wait {
        p.permit.clone().acquire_owned().await.ok()
    } else {
        p.permit.clone().try_acquire_owned().ok()
    };
    if _permit.is_none() {
        return Err(ApiError::of(ErrorCode::PlannerBusy));
    }
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
    let v = |id: &str, name: &str, kg: f64, m3: f64, cold: bool| bazaar_plan::VehicleInput {
        id: id.into(),
        name: Some(name.into()),
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
    // The centre's own fleet, as its runs name it; three made-up vans for a centre without.
    let fleet = s.store.depot_vehicles(&dc.code).await.unwrap_or_default();
    let vehicles = if fleet.is_empty() {
        vec![
            v("V-1", "冷藏车-1", 800.0, 4.0, true),
            v("V-2", "厢货-2", 1500.0, 8.0, false),
            v("V-3", "厢货-3", 1500.0, 8.0, false),
        ]
    } else {
        fleet
            .iter()
            .map(crate::delivery::runs::vehicle_input)
            .collect()
    };
    Some(DayInput {
        depots: vec![bazaar_plan::DepotInput {
            id: dc.code.clone(),
            name: dc.name.clone(),
            lat: dc.lat?,
            lng: dc.lng?,
            opens: dc.opens.clone().unwrap_or_else(|| "07:00".into()),
            closes: dc.closes.clone().unwrap_or_else(|| "21:00".into()),
            vehicles,
        }],
        stops,
    })
}

/// Colours of the routes on the map.
const COLOURS: [&str; 8] = [
    "#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#138d75", "#a04000", "#2e4053",
];

/// The names people know the day's vehicles by: a vehicle's `name`, else its id; one of
/// `count` identical vehicles (`厢货-3`, a route of `V-3-2`) is its name with its number.
pub(crate) fn vehicle_names(day: &DayInput) -> impl Fn(&str) -> String + '_ {
    move |id: &str| {
        let vehicles = || day.depots.iter().flat_map(|d| d.vehicles.iter());
        if let Some(v) = vehicles().find(|v| v.id == id) {
            return v.name.clone().unwrap_or_else(|| v.id.clone());
        }
        if let Some((base, k)) = id.rsplit_once('-')
            && let Some(v) = vehicles().find(|v| v.id == base && v.count > 1)
        {
            return format!("{} #{k}", v.name.as_deref().unwrap_or(&v.id));
        }
        id.to_string()
    }
}

/// A point's name as short as a map can write it: up to its village (村), township (镇,
/// 乡) or town, else its first six characters (`塔温觉肯村电商物流服务点` → `塔温觉肯村`).
fn short_label(name: &str) -> String {
    for end in ["村", "镇", "乡", "嘎查", "苏木"] {
        if let Some(i) = name.find(end) {
            let cut = &name[..i + end.len()];
            if cut.chars().count() >= 2 {
                return cut.to_string();
            }
        }
    }
    name.chars().take(6).collect()
}

/// The routes drawn from coordinates (an equirectangular projection around the day's mean
/// latitude): the depot a labelled black square, each route a line of its own colour through
/// its stops, each stop a dot of its route's colour with its place in the route and its name
/// written beside it (readable without hovering: phones have no hover), a stop left out a
/// white dot. `None` without points.
fn svg_map(lang: Lang, day: &DayInput, plan: &DayPlan) -> Option<MapView> {
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
    // Room around the points for the dots and for the names written to their right.
    let (pad, right) = (18.0, 110.0);
    let span = (x1 - x0).max(y1 - y0).max(1e-6);
    let w = 480.0;
    let inner = w - pad - right;
    let h = pad * 2.0 + inner * ((y1 - y0) / span).max(0.25);
    let at = |p: (f64, f64)| {
        let (x, y) = xy(p);
        (pad + (x - x0) / span * inner, pad + (y - y0) / span * inner)
    };
    let one = |v: f64| format!("{v:.1}");
    let name_of = vehicle_names(day);
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
                vehicle: name_of(&r.vehicle),
                stops: lang.ta("plan-stops-n", &[("n", (r.stops.len() as i64).into())]),
            }
        })
        .collect();
    let mut stops = Vec::new();
    for (i, r) in plan.routes.iter().enumerate() {
        for (n, st) in r.stops.iter().enumerate() {
            let Some(p) = pts.get(st.id.as_str()) else {
                continue;
            };
            let (x, y) = at(*p);
            stops.push(MapMark {
                x: one(x),
                y: one(y),
                label_x: one(x + 11.0),
                label_y: one(y + 5.0),
                fill: COLOURS[i % COLOURS.len()],
                number: (n + 1).to_string(),
                label: short_label(&st.name),
            });
        }
    }
    for u in &plan.unserved {
        let Some(st) = day.stops.iter().find(|s| s.id == u.id) else {
            continue;
        };
        let Some(p) = pts.get(st.id.as_str()) else {
            continue;
        };
        let (x, y) = at(*p);
        stops.push(MapMark {
            x: one(x),
            y: one(y),
            label_x: one(x + 11.0),
            label_y: one(y + 5.0),
            fill: "#fff",
            number: String::new(),
            label: short_label(&st.name),
        });
    }
    let depots = day
        .depots
        .iter()
        .map(|d| {
            let (x, y) = at((d.lat, d.lng));
            MapMark {
                x: one(x - 8.0),
                y: one(y - 8.0),
                label_x: one(x + 11.0),
                label_y: one(y + 5.0),
                fill: "#000",
                number: String::new(),
                label: d.name.clone(),
            }
        })
        .collect();
    Some(MapView {
        width: format!("{w:.0}"),
        height: format!("{h:.0}"),
        left_out: stops.iter().any(|s| s.number.is_empty()),
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
    /// The stops as numbered dots in their route's colour (white: left out).
    pub(crate) stops: Vec<MapMark>,
    /// The depots as squares (the corner's coordinates).
    pub(crate) depots: Vec<MapMark>,
    /// Some stop is left out (the legend explains the white dot).
    pub(crate) left_out: bool,
}

/// One route on the map: its points, colour, vehicle and number of stops (the legend).
pub(crate) struct MapLine {
    pub(crate) points: Vec<(String, String)>,
    pub(crate) colour: &'static str,
    pub(crate) vehicle: String,
    /// "5 个站点".
    pub(crate) stops: String,
}

/// A stop or a depot on the map, with its label.
pub(crate) struct MapMark {
    pub(crate) x: String,
    pub(crate) y: String,
    /// Where its name is written.
    pub(crate) label_x: String,
    pub(crate) label_y: String,
    pub(crate) fill: &'static str,
    /// Its place in its route (empty: a depot or a stop left out).
    pub(crate) number: String,
    pub(crate) label: String,
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
    let name_of = vehicle_names(day);
    let routes = plan
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| RouteView {
            colour: COLOURS[i % COLOURS.len()],
            vehicle: name_of(&r.vehicle),
            start: r.start.clone(),
            end: r.end.clone(),
            km: format!("{:.1}", r.distance_km),
            kg: format!("{:.0}", r.start_load_kg),
            stops: r
                .stops
                .iter()
                .map(|s| StopView {
                    name: s.name.clone(),
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
            let name = day
                .stops
                .iter()
                .find(|s| s.id == u.id)
                .map(|s| s.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| u.id.clone());
            (name, lang.t(&format!("plan-why-{reason}")))
        })
        .collect();
    PlanView {
        summary,
        map: svg_map(lang, day, plan),
        routes,
        unserved,
    }
}

/// The most service points the planning form lists (a county has a few hundred at most).
const MAX_FORM_POINTS: usize = 600;
/// The most nodes of a county read to find them.
const MAX_SCAN_NODES: usize = 2000;

/// The planning form of a centre: its county's points with what they send and receive
/// (today's parcels unless the operator typed other figures), its vehicles to use.
pub(crate) struct NetworkForm {
    /// The centre planned from.
    depot: String,
    /// The centres the operator may plan from (code, name), to switch.
    depots: Vec<(String, String)>,
    points: Vec<PointRow>,
    vehicles: Vec<VehicleRow>,
}

/// One point of the form: kg to drop and to collect, as typed, and the point itself (its
/// place and hours, for the plan).
struct PointRow {
    code: String,
    name: String,
    node: bazaar_store::network::Node,
    drop: String,
    collect: String,
}

/// One vehicle of the form, ticked to use it.
struct VehicleRow {
    code: String,
    name: String,
    kg: i64,
    cold: bool,
    on: bool,
}

/// The form for `depot` (or the operator's first centre): every township station and village
/// point of its county, with today's parcels as the figures; `None` when the operator has no
/// centre with coordinates.
async fn network_form(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    depot: Option<&str>,
) -> Result<Option<NetworkForm>, ApiError> {
    let depots = s.store.plannable_depots(actor).await?;
    let depots: Vec<_> = depots
        .into_iter()
        .filter(|d| d.lat.is_some() && d.lng.is_some())
        .collect();
    let Some(dc) = depot
        .and_then(|c| depots.iter().find(|d| d.code == c))
        .or(depots.first())
    else {
        return Ok(None);
    };
    let demands = s.store.day_demands(actor, &dc.code).await?;
    let today = crate::delivery::runs::day_input(&demands);
    let county = bazaar_domain::region::county_of_code(&dc.region_code)
        .unwrap_or(&dc.region_code)
        .to_string();
    let nodes = s.store.nodes_in(&county, MAX_SCAN_NODES).await?;
    let points = nodes
        .into_iter()
        .filter(|n| {
            matches!(n.kind.as_str(), "township_station" | "village_point") && n.lat.is_some()
        })
        .take(MAX_FORM_POINTS)
        .map(|n| {
            let t = today.stops.iter().find(|x| x.id == n.code);
            let kg = |v: Option<f64>| match v {
                Some(v) if v > 0.0 => format!("{v:.0}"),
                _ => String::new(),
            };
            PointRow {
                drop: kg(t.map(|x| x.deliver_kg)),
                collect: kg(t.map(|x| x.pickup_kg)),
                code: n.code.clone(),
                name: n.name.clone(),
                node: n,
            }
        })
        .collect();
    let vehicles = demands
        .vehicles
        .iter()
        .map(|v| VehicleRow {
            code: v.code.clone(),
            name: v.name.clone(),
            kg: v.capacity_kg,
            cold: v.cold_chain,
            on: true,
        })
        .collect();
    Ok(Some(NetworkForm {
        depot: dc.code.clone(),
        depots: depots
            .iter()
            .map(|d| (d.code.clone(), d.name.clone()))
            .collect(),
        points,
        vehicles,
    }))
}

/// A kg figure of the form: empty is nothing; else 0 to 100 000 kg.
fn kg_of(v: &str) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() {
        return Some(0.0);
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && (0.0..=100_000.0).contains(x))
}

/// The day of a submitted form: its figures into `form`'s rows (kept on the page whatever
/// happens) and the day to plan, or the message naming the first bad figure.
async fn day_of_form(
    s: &AppState,
    lang: Lang,
    nf: &mut NetworkForm,
    fields: &HashMap<String, String>,
) -> Result<DayInput, String> {
    let mut bad = None;
    for p in &mut nf.points {
        for (key, slot, what) in [
            ("drop", &mut p.drop, "plan-drop"),
            ("collect", &mut p.collect, "plan-collect"),
        ] {
            *slot = fields
                .get(&format!("{key}.{}", p.code))
                .map(|v| v.trim().to_string())
                .unwrap_or_default();
            if bad.is_none() && kg_of(slot).is_none() {
                bad = Some(format!(
                    "{} · {}: {}",
                    p.name,
                    lang.t(what),
                    lang.t("plan-kg-bad")
                ));
            }
        }
    }
    for v in &mut nf.vehicles {
        v.on = fields.contains_key(&format!("vehicle.{}", v.code));
    }
    if let Some(b) = bad {
        return Err(b);
    }
    if !nf.vehicles.iter().any(|v| v.on) {
        return Err(lang.t("plan-pick-vehicle"));
    }
    let dc = s
        .store
        .node(&nf.depot)
        .await
        .map_err(|_| lang.t("error-not_found"))?;
    let fleet = s.store.depot_vehicles(&nf.depot).await.unwrap_or_default();
    let mut stops = Vec::new();
    for p in &nf.points {
        let (d, c) = (
            kg_of(&p.drop).unwrap_or(0.0),
            kg_of(&p.collect).unwrap_or(0.0),
        );
        if d <= 0.0 && c <= 0.0 {
            continue;
        }
        // The point as the form read it: no query per point.
        let n = &p.node;
        let township = n.kind == "township_station";
        stops.push(bazaar_plan::StopInput {
            id: n.code.clone(),
            name: n.name.clone(),
            lat: n.lat,
            lng: n.lng,
            deliver_kg: d,
            deliver_m3: (d / 150.0 * 100.0).round() / 100.0,
            cold_kg: 0.0,
            cold_m3: 0.0,
            pickup_kg: c,
            pickup_m3: (c / 180.0 * 100.0).round() / 100.0,
            opens: n.opens.clone().unwrap_or_else(|| "09:00".into()),
            closes: n.closes.clone().unwrap_or_else(|| "19:00".into()),
            service_minutes: if township { 15.0 } else { 8.0 },
        });
    }
    if stops.is_empty() {
        return Err(lang.t("plan-nothing"));
    }
    let vehicles = fleet
        .iter()
        .filter(|f| nf.vehicles.iter().any(|v| v.on && v.code == f.code))
        .map(crate::delivery::runs::vehicle_input)
        .collect();
    Ok(DayInput {
        depots: vec![bazaar_plan::DepotInput {
            id: dc.code.clone(),
            name: dc.name.clone(),
            lat: dc.lat.unwrap_or_default(),
            lng: dc.lng.unwrap_or_default(),
            opens: dc.opens.clone().unwrap_or_else(|| "07:00".into()),
            closes: dc.closes.clone().unwrap_or_else(|| "21:00".into()),
            vehicles,
        }],
        stops,
    })
}

/// The planning page: a refusal, the plan, then the form with the day as it was sent.
#[derive(Template)]
#[template(path = "delivery/plan_page.html")]
struct PlanPage<'a> {
    lang: Lang,
    csrf: &'a str,
    error: Option<String>,
    plan: Option<PlanView>,
    /// The form from the county's network (none: the operator has no centre to plan from).
    network: Option<NetworkForm>,
    /// The expert's JSON form is the one in use (shown open).
    expert: bool,
    /// The day, as JSON.
    json: &'a str,
    /// The time limit, seconds.
    seconds: &'a str,
}

/// What the planning page shows besides its forms.
struct Shown<'a> {
    status: StatusCode,
    error: Option<String>,
    plan: Option<PlanView>,
    network: Option<NetworkForm>,
    expert: bool,
    json: &'a str,
    seconds: &'a str,
}

/// The planning page with `plan` or `error` above the forms.
fn plan_page_of(cx: &Ctx, p: Shown<'_>) -> Response {
    cx.render(
        p.status,
        &cx.lang.t("plan-title"),
        &PlanPage {
            lang: cx.lang,
            csrf: &cx.csrf,
            error: p.error,
            plan: p.plan,
            network: p.network,
            expert: p.expert,
            json: p.json,
            seconds: p.seconds,
        },
    )
}

/// `GET /manage/plan[?depot=][&example=1]`: the planning form from the county's network
/// (today's parcels as the figures, the centre's vehicles), and the expert's JSON form
/// (with an example day of the county when asked).
pub async fn plan_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_plan(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let network = network_form(&s, &cx.actor, q.get("depot").map(String::as_str))
        .await
        .unwrap_or_default();
    let mut json = String::new();
    let mut error = None;
    let expert = q.get("example").is_some_and(|v| v == "1");
    if expert {
        match example_day(&s, cx.actor.region_code()).await {
            Some(day) => json = serde_json::to_string_pretty(&day).unwrap_or_default(),
            None => error = Some(cx.lang.t("plan-no-example")),
        }
    }
    plan_page_of(
        &cx,
        Shown {
            status: StatusCode::OK,
            error,
            plan: None,
            network,
            expert,
            json: &json,
            seconds: "10",
        },
    )
}

/// `POST /manage/plan`: plans the day of the network form (or, from the expert's form, of
/// its JSON) and shows the routes above the form as it was sent.
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
    let lang = cx.lang;
    let expert = form.contains_key("day");
    let json = text(&form, "day");
    let seconds = text(&form, "time_limit");
    let mut network = network_form(&s, &cx.actor, form.get("depot").map(String::as_str))
        .await
        .unwrap_or_default();
    let day: Result<DayInput, (StatusCode, String)> = if expert {
        serde_json::from_str(&json).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!(
                    "{}: {} {}:{}",
                    lang.t("plan-day"),
                    lang.t("reason-invalid_format"),
                    e.line(),
                    e.column()
                ),
            )
        })
    } else {
        match network.as_mut() {
            Some(nf) => day_of_form(&s, lang, nf, &form)
                .await
                .map_err(|m| (StatusCode::UNPROCESSABLE_ENTITY, m)),
            None => Err((StatusCode::UNPROCESSABLE_ENTITY, lang.t("plan-no-example"))),
        }
    };
    let result = match day {
        Err(e) => Err(e),
        Ok(day) => {
            let planned = match (
                time_limit_of(Some(seconds.as_str())),
                roads_of(&s.osrm, Some(text(&form, "roads").as_str())),
            ) {
                (Ok(t), Ok(r)) => run(&s, day.clone(), r, t).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            match planned {
                Ok(plan) => Ok(plan_view(&cx, &day, &plan)),
                Err(e) => {
                    let detail = e
                        .details
                        .as_ref()
                        .and_then(|d| d[0]["detail"].as_str().map(str::to_string))
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    Err((e.status, format!("{}{detail}", e.in_lang(lang).message())))
                }
            }
        }
    };
    let (status, error, plan) = match result {
        Ok(p) => (StatusCode::OK, None, Some(p)),
        Err((status, msg)) => (status, Some(msg), None),
    };
    plan_page_of(
        &cx,
        Shown {
            status,
            error,
            plan,
            network,
            expert,
            json: &json,
            seconds: &seconds,
        },
    )
}

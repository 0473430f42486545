//! The day's joint delivery plan (共同配送): a county distribution centre's vehicles go out
//! over the township stations and village points, dropping every carrier's parcels and
//! collecting the villagers' outgoing ones on the same round, within each point's opening
//! hours, cold-chain goods only on cold-chain vehicles.
//!
//! This crate turns such a day ([`DayInput`]: depots with their vehicles, stops with their
//! demands, hours and service times) into a routing problem for the solver (`bazaar-vrp`),
//! solves it and reads the answer back as routes people can follow ([`DayPlan`]): stops in
//! order with arrival and departure times, the load on board after each stop, distance,
//! duration, and the stops left out with the reason. [`replan`] plans the rest of a day after
//! a vehicle breaks down; [`generate_prefecture`] makes a Ganzi-like prefecture day for the
//! benchmark.
//!
//! Road distances come from [`Roads`]: an OSRM-compatible `table` service when one is
//! configured ([`Roads::Osrm`]), otherwise great-circle distance times a road factor with
//! travel times from a speed per road class ([`Roads::Estimate`]; see [`RoadModel`]).

pub mod generate;
pub mod model;
pub mod roads;

pub use generate::generate_prefecture;
pub use model::*;
pub use roads::{RoadModel, Roads, TableService};

use bazaar_vrp::{Depot, Matrix, ProblemBuilder, ProblemError, SolveParams, Stop, VehicleType};
use std::collections::BTreeMap;
use std::time::Duration;

/// Capacity dimensions: grams and cubic decimetres (litres), so that both are integers.
const DIMS: usize = 2;
/// The skill a cold-chain stop needs.
const COLD: &str = "cold-chain";
/// What leaving a stop out costs the solver: far more than any detour, so every stop that can
/// be served is served.
const STOP_PRIZE: i64 = 1_000_000_000;

/// One solver stop: a part of an input stop (a stop with cold-chain goods becomes a cold part
/// and an ambient part at the same place).
struct Part {
    stop: usize,
    cold: bool,
    delivery: [i64; DIMS],
    pickup: [i64; DIMS],
    service_s: i64,
    window: (i64, i64),
    skills: Vec<String>,
}

fn grams(kg: f64) -> i64 {
    (kg * 1000.0).round() as i64
}

fn litres(m3: f64) -> i64 {
    (m3 * 1000.0).round() as i64
}

/// Plans a day. Errors name the stop, vehicle or depot at fault; stops that cannot be served
/// (too big for every vehicle, hours that cannot be met, no room left) are listed in
/// [`DayPlan::unserved`] with the reason rather than failing the plan.
pub fn plan(input: &DayInput, roads: &Roads, opts: &PlanOptions) -> Result<DayPlan, PlanError> {
    plan_with(input, roads, opts, &BTreeMap::new(), &BTreeMap::new())
}

/// Plans a day with some stops tied to a vehicle (`stop id → vehicle id`, single vehicles):
/// how an operator's review moves a stop from one route to another — every other stop tied to
/// the vehicle it had, the moved one to its new vehicle, and the routes re-sequenced and
/// re-timed. A tie that breaks a rule leaves the stop unserved (no room left).
pub fn plan_pinned(
    input: &DayInput,
    roads: &Roads,
    opts: &PlanOptions,
    pinned: &BTreeMap<String, String>,
) -> Result<DayPlan, PlanError> {
    plan_with(input, roads, opts, pinned, &BTreeMap::new())
}

/// The shared planning path. `pinned` ties stops to one vehicle (goods already on board);
/// `depot_only` ties stops to the vehicles that start at a depot (goods still there).
fn plan_with(
    input: &DayInput,
    roads: &Roads,
    opts: &PlanOptions,
    pinned: &BTreeMap<String, String>,
    depot_only: &BTreeMap<String, String>,
) -> Result<DayPlan, PlanError> {
    input.validate()?;
    let started = std::time::Instant::now();
    // Every place: depots first, then stops; the matrices are over places.
    let mut places: Vec<(f64, f64)> = input.depots.iter().map(|d| (d.lat, d.lng)).collect();
    for s in &input.stops {
        places.push(s.position()?);
    }
    let (dist_m, dur_s) = roads.matrices(&places)?;
    let nd = input.depots.len();

    // Vehicles: one solver vehicle type per input vehicle group.
    let mut vts = Vec::new();
    let mut max_cap = [0i64; DIMS];
    let mut max_cold_cap = [0i64; DIMS];
    let mut any_cold = false;
    let mut vehicle_names = Vec::new();
    for (di, d) in input.depots.iter().enumerate() {
        for v in &d.vehicles {
            let cap = [grams(v.capacity_kg), litres(v.capacity_m3)];
            for k in 0..DIMS {
                max_cap[k] = max_cap[k].max(cap[k]);
                if v.cold_chain {
                    max_cold_cap[k] = max_cold_cap[k].max(cap[k]);
                }
            }
            any_cold |= v.cold_chain;
            let shift = (
                minutes(&v.shift_start, &v.id)?.max(minutes(&d.opens, &d.id)?) * 60,
                minutes(&v.shift_end, &v.id)?.min(minutes(&d.closes, &d.id)?) * 60,
            );
            let mut vt = VehicleType::new(v.id.clone(), v.count.max(1), cap.to_vec());
            vt.start_depot = di;
            vt.end_depot = di;
            vt.fixed_cost = v.fixed_cost_fen;
            // Costs per metre in fen/1000, so a route's cost stays an integer.
            vt.unit_distance_cost = v.cost_per_km_fen.max(1);
            vt.shift = shift;
            if v.cold_chain {
                vt.skills.push(COLD.into());
            }
            vt.skills.extend(v.skills.iter().cloned());
            vehicle_names.push((v.id.clone(), d.id.clone(), v.count.max(1)));
            vts.push(vt);
        }
    }
    if vts.is_empty() {
        return Err(PlanError::EmptyFleet);
    }

    // Tie pinned stops to their vehicle, depot-only stops to the vehicles still at the depot.
    for (i, vt) in vts.iter_mut().enumerate() {
        let (vid, did, _) = &vehicle_names[i];
        if pinned.values().any(|v| v == vid) {
            vt.skills.push(format!("onboard:{vid}"));
        }
        let at_depot = input.depots[vt.start_depot]
            .vehicles
            .iter()
            .any(|v| &v.id == vid && v.start.is_none());
        if at_depot && depot_only.values().any(|d| d == did) {
            vt.skills.push(format!("at-depot:{did}"));
        }
    }
    let servable = |skills: &[String]| {
        vts.iter()
            .any(|vt| skills.iter().all(|k| vt.skills.contains(k)))
    };

    // Stops: checked one by one; the impossible ones are listed, not planned.
    let mut unserved = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    for (si, s) in input.stops.iter().enumerate() {
        let deliver = [grams(s.deliver_kg), litres(s.deliver_m3)];
        let pickup = [grams(s.pickup_kg), litres(s.pickup_m3)];
        let cold = [
            grams(s.cold_kg.min(s.deliver_kg)),
            litres(s.cold_m3.min(s.deliver_m3)),
        ];
        let window = (
            minutes(&s.opens, &s.id)? * 60,
            minutes(&s.closes, &s.id)? * 60,
        );
        let service_s = (s.service_minutes * 60.0).round() as i64;
        let too_big = (0..DIMS).any(|k| deliver[k] > max_cap[k] || pickup[k] > max_cap[k]);
        let cold_needed = cold.iter().any(|c| *c > 0);
        let reason = if too_big {
            Some(UnservedWhy::LargerThanAnyVehicle)
        } else if cold_needed && !any_cold {
            Some(UnservedWhy::NoColdChainVehicle)
        } else if cold_needed && (0..DIMS).any(|k| cold[k] > max_cold_cap[k]) {
            Some(UnservedWhy::LargerThanAnyVehicle)
        } else if window.1 < window.0 {
            Some(UnservedWhy::HoursCannotBeMet)
        } else {
            // Reachable within its hours from some depot at all?
            let loc = nd + si;
            let reachable = input.depots.iter().enumerate().any(|(di, d)| {
                let open = minutes(&d.opens, &d.id).unwrap_or(0) * 60;
                let close = minutes(&d.closes, &d.id).unwrap_or(24 * 60) * 60;
                let there = open + dur_s.get(di, loc);
                let start = there.max(window.0);
                start <= window.1 && start + service_s + dur_s.get(loc, di) <= close
            });
            (!reachable).then_some(UnservedWhy::HoursCannotBeMet)
        };
        if let Some(why) = reason {
            unserved.push(UnservedStop {
                id: s.id.clone(),
                reason: why,
            });
            continue;
        }
        let mut skills = Vec::new();
        if let Some(v) = pinned.get(&s.id) {
            skills.push(format!("onboard:{v}"));
        }
        if let Some(d) = depot_only.get(&s.id) {
            skills.push(format!("at-depot:{d}"));
        }
        let ambient: [i64; DIMS] = std::array::from_fn(|k| deliver[k] - cold[k]);
        if cold_needed {
            // The cold part rides a cold-chain vehicle; the rest and the pickups any vehicle.
            let share = if deliver[0] > 0 {
                cold[0] as f64 / deliver[0] as f64
            } else {
                1.0
            };
            let mut cold_skills = skills.clone();
            cold_skills.push(COLD.into());
            parts.push(Part {
                stop: si,
                cold: true,
                delivery: cold,
                pickup: [0; DIMS],
                service_s: ((service_s as f64) * share).round().max(60.0) as i64,
                window,
                skills: cold_skills,
            });
            if ambient.iter().any(|a| *a > 0) || pickup.iter().any(|p| *p > 0) {
                parts.push(Part {
                    stop: si,
                    cold: false,
                    delivery: ambient,
                    pickup,
                    service_s: ((service_s as f64) * (1.0 - share)).round().max(60.0) as i64,
                    window,
                    skills,
                });
            }
        } else {
            parts.push(Part {
                stop: si,
                cold: false,
                delivery: deliver,
                pickup,
                service_s,
                window,
                skills,
            });
        }
        // A part whose goods sit on a vehicle (or at a depot) that nobody left can take.
        if parts
            .iter()
            .rev()
            .take_while(|p| p.stop == si)
            .any(|p| !servable(&p.skills))
        {
            while parts.last().is_some_and(|p| p.stop == si) {
                parts.pop();
            }
            unserved.push(UnservedStop {
                id: s.id.clone(),
                reason: UnservedWhy::NoRoomLeft,
            });
        }
    }

    // Solve once with the whole time limit; whatever the best plan found still breaks (the
    // search may run out of time before an overload costs more than a stop's prize) is taken
    // out below, route by route, and listed.
    let active: Vec<usize> = (0..parts.len()).collect();
    let problem = build_problem(input, &parts, &active, &vts, &dist_m, &dur_s)?;
    let params = SolveParams {
        time_limit: opts
            .time_limit
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100)),
        seed: opts.seed,
        max_iterations: opts.max_iterations,
    };
    let sol = bazaar_vrp::solve(&problem, &params);

    // Read the answer back per input stop.
    let mut routes = Vec::new();
    let mut count_per_type: BTreeMap<usize, usize> = BTreeMap::new();
    let mut stripped: Vec<usize> = Vec::new();
    let mut kept: Vec<bazaar_vrp::Route> = Vec::with_capacity(sol.routes.len());
    for solved in &sol.routes {
        // Whatever the search left breaking a rule comes out here (listed as no room left),
        // so the plan handed to drivers always keeps every rule.
        let (r, out) = keep_rules(&problem, solved);
        stripped.extend(out.iter().map(|v| active[*v]));
        if !r.visits.is_empty() {
            kept.push(r);
        }
    }
    // What is left out gets a second chance: each where it costs least and keeps every rule,
    // in a route or on a vehicle not used yet (the search may stop before trying, on a day of
    // a thousand points).
    let mut out: Vec<usize> = sol.unserved.iter().map(|u| u.stop).collect();
    out.extend(stripped.iter().copied());
    out.sort_unstable();
    out.dedup();
    let mut unused: Vec<usize> = problem
        .vehicle_types()
        .iter()
        .map(|v| v.num_available)
        .collect();
    for r in &kept {
        unused[r.vehicle_type] = unused[r.vehicle_type].saturating_sub(1);
    }
    let mut still_out = Vec::new();
    for s in out {
        if std::time::Instant::now() > started + opts.time_limit + Duration::from_secs(2) {
            still_out.push(s);
            continue;
        }
        match best_insertion(&problem, &kept, &unused, s) {
            Some((Some(i), route)) => kept[i] = route,
            Some((None, route)) => {
                unused[route.vehicle_type] -= 1;
                kept.push(route);
            }
            None => still_out.push(s),
        }
    }
    // And the solver's own checker, which shares no code with the search, confirms it.
    let report = bazaar_vrp::check(
        &problem,
        &bazaar_vrp::Solution {
            distance: kept.iter().map(|r| r.distance).sum(),
            routes: kept.clone(),
            unserved: Vec::new(),
            cost: 0,
            feasible: true,
            iterations: 0,
        },
    );
    for r in &kept {
        let (vid, did, count) = &vehicle_names[r.vehicle_type];
        let k = count_per_type.entry(r.vehicle_type).or_insert(0);
        *k += 1;
        let vehicle = if *count > 1 {
            format!("{vid}-{k}")
        } else {
            vid.clone()
        };
        let mut stops: Vec<PlannedStop> = Vec::new();
        for v in &r.visits {
            let p = &parts[active[v.stop]];
            let s = &input.stops[p.stop];
            let load = v.load_after.clone();
            // Two parts of one stop in a row are one visit.
            if let Some(last) = stops.last_mut()
                && last.id == s.id
            {
                last.depart = clock(v.departure);
                last.deliver_kg += p.delivery[0] as f64 / 1000.0;
                last.deliver_m3 += p.delivery[1] as f64 / 1000.0;
                last.pickup_kg += p.pickup[0] as f64 / 1000.0;
                last.pickup_m3 += p.pickup[1] as f64 / 1000.0;
                last.load_kg = load[0] as f64 / 1000.0;
                last.load_m3 = load[1] as f64 / 1000.0;
                continue;
            }
            stops.push(PlannedStop {
                id: s.id.clone(),
                name: s.name.clone(),
                arrive: clock(v.arrival),
                start: clock(v.service_start),
                depart: clock(v.departure),
                deliver_kg: p.delivery[0] as f64 / 1000.0,
                deliver_m3: p.delivery[1] as f64 / 1000.0,
                pickup_kg: p.pickup[0] as f64 / 1000.0,
                pickup_m3: p.pickup[1] as f64 / 1000.0,
                load_kg: load[0] as f64 / 1000.0,
                load_m3: load[1] as f64 / 1000.0,
            });
        }
        routes.push(PlannedRoute {
            vehicle,
            depot: did.clone(),
            start: clock(r.start_time),
            end: clock(r.end_time),
            distance_km: r.distance as f64 / 1000.0,
            duration_minutes: r.duration as f64 / 60.0,
            start_load_kg: r.start_load[0] as f64 / 1000.0,
            start_load_m3: r.start_load[1] as f64 / 1000.0,
            stops,
        });
    }
    let mut left: BTreeMap<usize, UnservedWhy> = BTreeMap::new();
    for d in &still_out {
        left.insert(parts[active[*d]].stop, UnservedWhy::NoRoomLeft);
    }
    for (si, why) in left {
        unserved.push(UnservedStop {
            id: input.stops[si].id.clone(),
            reason: why,
        });
    }
    Ok(DayPlan {
        distance_km: routes.iter().map(|r| r.distance_km).sum(),
        vehicles_used: routes.len(),
        served: input.stops.len() - unserved.len(),
        routes,
        unserved,
        feasible: report.is_feasible(),
        solve_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The solver's problem over the `active` parts: its locations are the depots, then one per
/// part.
fn build_problem(
    input: &DayInput,
    parts: &[Part],
    active: &[usize],
    vts: &[VehicleType],
    dist_m: &Matrix,
    dur_s: &Matrix,
) -> Result<bazaar_vrp::Problem, PlanError> {
    let nd = input.depots.len();
    let locs: Vec<usize> = (0..nd)
        .chain(active.iter().map(|a| nd + parts[*a].stop))
        .collect();
    let n = locs.len();
    let mut b = ProblemBuilder::new(DIMS);
    for d in &input.depots {
        let mut dep = Depot::new(d.id.clone());
        dep.coords = Some((d.lng, d.lat));
        dep.time_window = (
            minutes(&d.opens, &d.id)? * 60,
            minutes(&d.closes, &d.id)? * 60,
        );
        b.add_depot(dep);
    }
    for a in active {
        let p = &parts[*a];
        let s = &input.stops[p.stop];
        let mut st = Stop::new(
            if p.cold {
                format!("{} (cold)", s.id)
            } else {
                s.id.clone()
            },
            p.delivery.to_vec(),
        );
        st.coords = s.position().ok().map(|(lat, lng)| (lng, lat));
        st.pickup = p.pickup.to_vec();
        st.service_duration = p.service_s;
        st.time_window = p.window;
        st.required = false;
        st.prize = STOP_PRIZE;
        st.skills = p.skills.clone();
        b.add_stop(st);
    }
    for vt in vts {
        b.add_vehicle_type(vt.clone());
    }
    b.distance_matrix(Matrix::from_fn(n, |i, j| dist_m.get(locs[i], locs[j])));
    b.duration_matrix(Matrix::from_fn(n, |i, j| dur_s.get(locs[i], locs[j])));
    b.build()
        .map_err(|e: ProblemError| PlanError::Problem(e.to_string()))
}

/// Why a schedule breaks a rule.
enum Broken {
    /// The vehicle lacks a skill a stop needs.
    Skill,
    /// Overloaded somewhere along the route.
    Overload,
    /// The stop at this position is reached after it closes.
    Late(usize),
    /// Back after the shift or the depot's closing, or longer than allowed.
    Overrun,
}

/// A vehicle's schedule over `seq` leaving at `leave` (the earliest it may when `None`), with
/// times and loads computed here from the matrices, or the first rule it breaks.
fn schedule(
    problem: &bazaar_vrp::Problem,
    vehicle_type: usize,
    seq: &[usize],
    leave: Option<i64>,
) -> Result<bazaar_vrp::Route, Broken> {
    let vt = &problem.vehicle_types()[vehicle_type];
    let stops = problem.stops();
    if seq.iter().any(|s| !problem.compatible(vehicle_type, *s)) {
        return Err(Broken::Skill);
    }
    let dims = vt.capacity.len();
    let (from, to) = (vt.start_depot, vt.end_depot);
    let start: Vec<i64> = (0..dims)
        .map(|k| seq.iter().map(|s| stops[*s].delivery[k]).sum())
        .collect();
    let over = |load: &[i64]| load.iter().zip(&vt.capacity).any(|(l, c)| l > c);
    if over(&start) {
        return Err(Broken::Overload);
    }
    let leave = leave.unwrap_or_else(|| vt.shift.0.max(problem.depots()[from].time_window.0));
    let back_by = vt.shift.1.min(problem.depots()[to].time_window.1);
    let (dist, dur) = (problem.distance(), problem.duration());
    let (mut t, mut prev, mut load, mut distance) = (leave, from, start.clone(), 0);
    let mut visits = Vec::with_capacity(seq.len());
    for (i, s) in seq.iter().enumerate() {
        let loc = problem.stop_location(*s);
        let arrival = t + dur.get(prev, loc);
        if arrival > stops[*s].time_window.1 {
            return Err(Broken::Late(i));
        }
        let begin = arrival.max(stops[*s].time_window.0);
        for (k, l) in load.iter_mut().enumerate() {
            *l += stops[*s].pickup[k] - stops[*s].delivery[k];
        }
        if over(&load) {
            return Err(Broken::Overload);
        }
        distance += dist.get(prev, loc);
        visits.push(bazaar_vrp::Visit {
            stop: *s,
            arrival,
            service_start: begin,
            departure: begin + stops[*s].service_duration,
            load_after: load.clone(),
        });
        t = begin + stops[*s].service_duration;
        prev = loc;
    }
    let end = t + dur.get(prev, to);
    if end > back_by || vt.max_duration.is_some_and(|m| end - leave > m) {
        return Err(Broken::Overrun);
    }
    distance += dist.get(prev, to);
    Ok(bazaar_vrp::Route {
        vehicle_type,
        visits,
        distance,
        duration: end - leave,
        start_time: leave,
        end_time: end,
        start_load: start,
        time_warp: 0,
    })
}

/// Where stop `s` costs least while every rule holds: in route `Some(i)` at its best place,
/// or alone on an unused vehicle (`None`); the route as it would become.
fn best_insertion(
    problem: &bazaar_vrp::Problem,
    routes: &[bazaar_vrp::Route],
    unused: &[usize],
    s: usize,
) -> Option<(Option<usize>, bazaar_vrp::Route)> {
    let vts = problem.vehicle_types();
    let cost = |r: &bazaar_vrp::Route| r.distance * vts[r.vehicle_type].unit_distance_cost;
    let mut best: Option<(i64, Option<usize>, bazaar_vrp::Route)> = None;
    for (i, r) in routes.iter().enumerate() {
        if !problem.compatible(r.vehicle_type, s) {
            continue;
        }
        let seq: Vec<usize> = r.visits.iter().map(|v| v.stop).collect();
        for at in 0..=seq.len() {
            let mut with = seq.clone();
            with.insert(at, s);
            if let Ok(nr) = schedule(problem, r.vehicle_type, &with, None) {
                let delta = cost(&nr) - cost(r);
                if best.as_ref().is_none_or(|b| delta < b.0) {
                    best = Some((delta, Some(i), nr));
                }
            }
        }
    }
    for (v, left) in unused.iter().enumerate() {
        if *left == 0 {
            continue;
        }
        if let Ok(nr) = schedule(problem, v, &[s], None) {
            let delta = cost(&nr) + vts[v].fixed_cost;
            if best.as_ref().is_none_or(|b| delta < b.0) {
                best = Some((delta, None, nr));
            }
        }
    }
    best.map(|(_, i, r)| (i, r))
}

/// The route with the stops that break a rule taken out, and those stops (problem indices),
/// one at a time until [`schedule`] accepts it, leaving when the search said: an overload
/// takes out the largest load, a stop reached after it closes goes, an overrun takes out the
/// last stop. Taking a stop out never makes a later one later, so what stays keeps every rule.
fn keep_rules(
    problem: &bazaar_vrp::Problem,
    r: &bazaar_vrp::Route,
) -> (bazaar_vrp::Route, Vec<usize>) {
    let stops = problem.stops();
    let mut seq: Vec<usize> = r.visits.iter().map(|v| v.stop).collect();
    let mut out = Vec::new();
    loop {
        let drop = match schedule(problem, r.vehicle_type, &seq, Some(r.start_time)) {
            Ok(route) => return (route, out),
            Err(_) if seq.is_empty() => {
                let empty = bazaar_vrp::Route {
                    visits: Vec::new(),
                    ..r.clone()
                };
                return (empty, out);
            }
            // The largest load first; the search never gives a vehicle a stop it cannot serve.
            Err(Broken::Overload | Broken::Skill) => (0..seq.len())
                .max_by_key(|i| {
                    let st = &stops[seq[*i]];
                    st.delivery
                        .iter()
                        .zip(&st.pickup)
                        .map(|(d, p)| *d.max(p))
                        .sum::<i64>()
                })
                .unwrap_or(0),
            Err(Broken::Late(i)) => i,
            Err(Broken::Overrun) => seq.len() - 1,
        };
        out.push(seq.remove(drop));
    }
}

/// Re-plans the rest of a day after a breakdown: finished stops stay as they were; every
/// working vehicle starts from where it is now with what it has on board (its remaining
/// deliveries stay with it); the broken vehicle's remaining deliveries must come again from
/// its depot, so only vehicles that have not left it can take them; pickups go to whoever
/// passes. Stops that no longer fit are listed as unserved.
pub fn replan(
    input: &DayInput,
    state: &DayState,
    roads: &Roads,
    opts: &PlanOptions,
) -> Result<DayPlan, PlanError> {
    input.validate()?;
    let now = minutes(&state.now, "now")?;
    let now_s = now * 60;
    // Vehicles are individuals when the day is under way: a group of n becomes id-1 … id-n,
    // as the plan named them.
    let mut rest = input.clone();
    for d in &mut rest.depots {
        let mut single = Vec::new();
        for v in d.vehicles.drain(..) {
            if v.count <= 1 {
                single.push(v);
                continue;
            }
            for k in 1..=v.count {
                let mut one = v.clone();
                one.id = format!("{}-{k}", v.id);
                one.count = 1;
                single.push(one);
            }
        }
        d.vehicles = single;
    }
    let input = &rest.clone();
    let done: std::collections::BTreeSet<&str> =
        state.finished.iter().map(String::as_str).collect();
    rest.stops.retain(|s| !done.contains(s.id.as_str()));
    let mut pinned = BTreeMap::new();
    let mut depot_only = BTreeMap::new();
    for d in &mut rest.depots {
        let mut vehicles = Vec::new();
        for v in &d.vehicles {
            if state.broken.contains(&v.id) {
                continue;
            }
            let mut v = v.clone();
            if let Some(pos) = state.positions.iter().find(|p| p.vehicle == v.id) {
                // On the road: its own remaining deliveries stay on board.
                v.count = 1;
                v.start = Some((pos.lat, pos.lng));
                for s in &pos.remaining {
                    pinned.insert(s.clone(), v.id.clone());
                }
                v.capacity_kg = (v.capacity_kg - pos.load_kg).max(0.0)
                    + pos
                        .remaining
                        .iter()
                        .filter_map(|id| input.stops.iter().find(|s| &s.id == id))
                        .map(|s| s.deliver_kg)
                        .sum::<f64>();
                v.capacity_m3 = (v.capacity_m3 - pos.load_m3).max(0.0)
                    + pos
                        .remaining
                        .iter()
                        .filter_map(|id| input.stops.iter().find(|s| &s.id == id))
                        .map(|s| s.deliver_m3)
                        .sum::<f64>();
            }
            v.shift_start = clock(now_s.max(minutes(&v.shift_start, &v.id)? * 60));
            vehicles.push(v);
        }
        for b in state.broken.iter() {
            if let Some(pos) = state.positions.iter().find(|p| &p.vehicle == b) {
                for s in &pos.remaining {
                    let has_delivery = input
                        .stops
                        .iter()
                        .any(|x| &x.id == s && (x.deliver_kg > 0.0 || x.deliver_m3 > 0.0));
                    if has_delivery && d.vehicles.iter().any(|v| &v.id == b) {
                        depot_only.insert(s.clone(), d.id.clone());
                    }
                }
            }
        }
        d.vehicles = vehicles;
        d.opens = clock(now_s.max(minutes(&d.opens, &d.id)? * 60));
    }
    // Vehicles on the road start where they are: each becomes its own depot for the plan.
    let mut extra_depots = Vec::new();
    for d in &mut rest.depots {
        let mut stay = Vec::new();
        for v in d.vehicles.drain(..) {
            match v.start {
                Some((lat, lng)) => extra_depots.push(DepotInput {
                    id: format!("{}@road", v.id),
                    name: format!("{} ({})", v.id, d.name),
                    lat,
                    lng,
                    opens: clock(now_s),
                    closes: d.closes.clone(),
                    vehicles: vec![v],
                }),
                None => stay.push(v),
            }
        }
        d.vehicles = stay;
    }
    rest.depots.extend(extra_depots);
    rest.depots.retain(|d| !d.vehicles.is_empty());
    if rest.depots.is_empty() {
        return Err(PlanError::EmptyFleet);
    }
    // Stops whose goods are still at a depot need that depot's vehicles: keep its id.
    plan_with(&rest, roads, opts, &pinned, &depot_only)
}

/// `HH:MM` → minutes after midnight; the error names `who`.
pub fn minutes(s: &str, who: &str) -> Result<i64, PlanError> {
    let bad = || PlanError::Field {
        entity: who.to_string(),
        field: "time",
        reason: format!("'{s}' is not a time of day (HH:MM)"),
        code: "invalid_format",
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    // One or two digits of hours, exactly two of minutes: nothing else parses as a clock.
    let digits = |x: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return Err(bad());
    }
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Seconds after midnight → `HH:MM`.
pub fn clock(seconds: i64) -> String {
    let m = (seconds.max(0) + 30) / 60;
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Solver settings of a plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// How long the solver may search.
    pub time_limit: Duration,
    /// Seed (the same seed and input give the same plan, apart from where the clock stops).
    pub seed: u64,
    /// Stop after this many solver iterations instead (fully deterministic; tests).
    pub max_iterations: Option<u64>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            time_limit: Duration::from_secs(10),
            seed: 1,
            max_iterations: None,
        }
    }
}

#[cfg(test)]
mod tests;

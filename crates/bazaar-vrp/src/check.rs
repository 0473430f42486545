//! Independent feasibility checker. It shares no code with the search's
//! evaluation: it simulates each route directly from the [`Problem`].

use std::fmt;

use crate::problem::Problem;
use crate::solution::Solution;

/// One constraint violation found by [`check`].
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// A route uses a vehicle type that does not exist.
    UnknownVehicleType {
        /// Route index.
        route: usize,
    },
    /// More routes of a vehicle type than vehicles available.
    FleetExceeded {
        /// Vehicle type.
        vehicle_type: usize,
        /// Routes using it.
        used: usize,
        /// Vehicles available.
        available: usize,
    },
    /// A stop index out of range.
    UnknownStop {
        /// Route index.
        route: usize,
        /// The bad index.
        stop: usize,
    },
    /// A stop visited more than once.
    Duplicate {
        /// Stop index.
        stop: usize,
    },
    /// A required stop never visited.
    MissingRequired {
        /// Stop index.
        stop: usize,
    },
    /// Load above capacity at some point of a route.
    Capacity {
        /// Route index.
        route: usize,
        /// Position (0 = leaving the depot, k = after the k-th stop).
        position: usize,
        /// Dimension.
        dim: usize,
        /// Load on board.
        load: i64,
        /// Capacity.
        capacity: i64,
    },
    /// Service starts after the stop's window closes.
    Late {
        /// Route index.
        route: usize,
        /// Stop index.
        stop: usize,
        /// Arrival time.
        arrival: i64,
        /// Window end.
        latest: i64,
    },
    /// Route starts before the shift/depot opens or after it closes.
    BadStart {
        /// Route index.
        route: usize,
        /// Reported start time.
        start: i64,
    },
    /// Arrival at the end depot after the shift/depot closes.
    LateReturn {
        /// Route index.
        route: usize,
        /// Arrival.
        arrival: i64,
        /// Latest allowed.
        latest: i64,
    },
    /// Route longer than the vehicle's maximum duration.
    MaxDuration {
        /// Route index.
        route: usize,
        /// Duration.
        duration: i64,
        /// Maximum.
        max: i64,
    },
    /// A stop needs a skill the vehicle lacks.
    Skill {
        /// Route index.
        route: usize,
        /// Stop index.
        stop: usize,
    },
    /// The route's reported distance differs from the recomputed one.
    DistanceMismatch {
        /// Route index.
        route: usize,
        /// Reported.
        reported: i64,
        /// Recomputed.
        actual: i64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Result of [`check`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// All violations found (empty = feasible).
    pub violations: Vec<Violation>,
    /// Recomputed total distance.
    pub distance: i64,
    /// Recomputed objective (fixed + distance + duration costs + prizes of unserved optional stops).
    pub cost: i64,
}

impl CheckReport {
    /// Whether no violation was found.
    pub fn is_feasible(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks `solution` against every constraint of `problem`.
pub fn check(problem: &Problem, solution: &Solution) -> CheckReport {
    let mut v = Vec::new();
    let nd = problem.depots().len();
    let stops = problem.stops();
    let vts = problem.vehicle_types();
    let dist = problem.distance();
    let dur = problem.duration();
    let mut seen = vec![0usize; stops.len()];
    let mut used = vec![0usize; vts.len()];
    let mut total_dist = 0i64;
    let mut cost = 0i64;
    for (ri, route) in solution.routes.iter().enumerate() {
        let Some(vt) = vts.get(route.vehicle_type) else {
            v.push(Violation::UnknownVehicleType { route: ri });
            continue;
        };
        if route.visits.is_empty() {
            continue;
        }
        used[route.vehicle_type] += 1;
        let mut locs = Vec::with_capacity(route.visits.len());
        let mut ok = true;
        for visit in &route.visits {
            if visit.stop >= stops.len() {
                v.push(Violation::UnknownStop {
                    route: ri,
                    stop: visit.stop,
                });
                ok = false;
            } else {
                seen[visit.stop] += 1;
                locs.push(visit.stop);
            }
        }
        if !ok {
            continue;
        }
        // Distance.
        let mut d = 0i64;
        let mut prev = vt.start_depot;
        for &s in &locs {
            d += dist.get(prev, nd + s);
            prev = nd + s;
        }
        d += dist.get(prev, vt.end_depot);
        total_dist += d;
        if d != route.distance {
            v.push(Violation::DistanceMismatch {
                route: ri,
                reported: route.distance,
                actual: d,
            });
        }
        // Skills.
        for &s in &locs {
            let missing = stops[s].skills.iter().any(|sk| !vt.skills.contains(sk));
            if missing {
                v.push(Violation::Skill { route: ri, stop: s });
            }
        }
        // Load along the route, per dimension.
        for dim in 0..problem.dims() {
            let mut load: i64 = locs.iter().map(|&s| stops[s].delivery[dim]).sum();
            if load > vt.capacity[dim] {
                v.push(Violation::Capacity {
                    route: ri,
                    position: 0,
                    dim,
                    load,
                    capacity: vt.capacity[dim],
                });
            }
            for (k, &s) in locs.iter().enumerate() {
                load = load - stops[s].delivery[dim] + stops[s].pickup[dim];
                if load > vt.capacity[dim] {
                    v.push(Violation::Capacity {
                        route: ri,
                        position: k + 1,
                        dim,
                        load,
                        capacity: vt.capacity[dim],
                    });
                }
            }
        }
        // Time: simulate from the reported start time.
        let sd = &problem.depots()[vt.start_depot];
        let ed = &problem.depots()[vt.end_depot];
        let open = sd.time_window.0.max(vt.shift.0);
        let close = sd.time_window.1.min(vt.shift.1);
        let start = route.start_time;
        if start < open || start > close {
            v.push(Violation::BadStart { route: ri, start });
        }
        let mut t = start;
        let mut prev = vt.start_depot;
        for &s in &locs {
            t += dur.get(prev, nd + s);
            let (e, l) = stops[s].time_window;
            if t > l {
                v.push(Violation::Late {
                    route: ri,
                    stop: s,
                    arrival: t,
                    latest: l,
                });
            }
            t = t.max(e) + stops[s].service_duration;
            prev = nd + s;
        }
        t += dur.get(prev, vt.end_depot);
        let latest = ed.time_window.1.min(vt.shift.1);
        if t > latest {
            v.push(Violation::LateReturn {
                route: ri,
                arrival: t,
                latest,
            });
        }
        let end = t.max(ed.time_window.0);
        let duration = end - start;
        if let Some(m) = vt.max_duration
            && duration > m
        {
            v.push(Violation::MaxDuration {
                route: ri,
                duration,
                max: m,
            });
        }
        cost += vt.fixed_cost + vt.unit_distance_cost * d + vt.unit_duration_cost * duration;
    }
    for (t, &u) in used.iter().enumerate() {
        if u > vts[t].num_available {
            v.push(Violation::FleetExceeded {
                vehicle_type: t,
                used: u,
                available: vts[t].num_available,
            });
        }
    }
    for (s, &n) in seen.iter().enumerate() {
        if n > 1 {
            v.push(Violation::Duplicate { stop: s });
        }
        if n == 0 {
            if stops[s].required {
                v.push(Violation::MissingRequired { stop: s });
            } else {
                cost += stops[s].prize;
            }
        }
    }
    CheckReport {
        violations: v,
        distance: total_dist,
        cost,
    }
}

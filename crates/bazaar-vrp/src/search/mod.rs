//! Hybrid genetic search (Vidal 2022; PyVRP, Wouda, Lan & Kool 2024).
//!
//! The loop: select two parents by binary tournament on biased fitness,
//! recombine them with selective route exchange (SREX, Nagata & Kobayashi;
//! PyVRP's implementation), improve the offspring with the granular local
//! search, add it to the population, and with probability 0.8 repair an
//! infeasible offspring with boosted penalties. Penalties adapt to target a
//! share of feasible offspring. The population restarts when the best
//! solution has not improved for a while.

pub(crate) mod data;
pub(crate) mod indiv;
pub(crate) mod ls;
pub(crate) mod population;

use std::time::{Duration, Instant};

use data::Data;
use indiv::{CostEval, Indiv};
use ls::LocalSearch;
use population::{PopParams, Population};

use crate::rng::Rng;

/// Penalty manager (PyVRP `PenaltyManager` defaults).
struct Penalties {
    load: Vec<f64>,
    tw: f64,
    feas_load: Vec<Vec<bool>>,
    feas_tw: Vec<bool>,
}

const BETWEEN_UPDATES: usize = 50;
const PEN_INC: f64 = 1.34;
const PEN_DEC: f64 = 0.32;
const TARGET_FEAS: f64 = 0.43;
const FEAS_TOL: f64 = 0.05;
const PEN_MIN: f64 = 0.1;
const PEN_MAX: f64 = 100_000.0;
const REPAIR_BOOSTER: f64 = 12.0;
const REPAIR_PROB: f64 = 0.8;

impl Penalties {
    fn init(data: &Data) -> Self {
        let n = data.n;
        let nn = (n * n) as f64;
        let min_ud = data.vts.iter().map(|v| v.unit_dist).min().unwrap_or(1) as f64;
        let min_ut = data.vts.iter().map(|v| v.unit_dur).min().unwrap_or(0) as f64;
        let avg_dist = data.dist.iter().map(|&x| x as f64).sum::<f64>() / nn;
        let avg_dur = data.dur.iter().map(|&x| x as f64).sum::<f64>() / nn;
        let avg_cost = (min_ud * avg_dist + min_ut * avg_dur).max(1.0);
        let nc = (n - data.nd).max(1) as f64;
        let load = (0..data.dims)
            .map(|d| {
                let avg = (data.nd..n)
                    .map(|c| {
                        data.delivery[c * data.dims + d].max(data.pickup[c * data.dims + d]) as f64
                    })
                    .sum::<f64>()
                    / nc;
                (avg_cost / avg.max(1.0)).clamp(PEN_MIN, PEN_MAX)
            })
            .collect();
        let tw = (avg_cost / avg_dur.max(1.0)).clamp(PEN_MIN, PEN_MAX);
        Self {
            load,
            tw,
            feas_load: vec![Vec::new(); data.dims],
            feas_tw: Vec::new(),
        }
    }

    fn ce(&self) -> CostEval {
        CostEval {
            load: self.load.clone(),
            tw: self.tw,
        }
    }

    fn update(p: f64, list: &mut Vec<bool>, feas: bool) -> f64 {
        list.push(feas);
        if list.len() < BETWEEN_UPDATES {
            return p;
        }
        let avg = list.iter().filter(|&&x| x).count() as f64 / list.len() as f64;
        list.clear();
        let diff = TARGET_FEAS - avg;
        if diff.abs() < FEAS_TOL {
            return p;
        }
        let np = if diff > 0.0 { p * PEN_INC } else { p * PEN_DEC };
        np.clamp(PEN_MIN, PEN_MAX)
    }

    fn register(&mut self, ind: &Indiv) {
        for d in 0..self.load.len() {
            self.load[d] = Self::update(self.load[d], &mut self.feas_load[d], ind.excess[d] == 0);
        }
        self.tw = Self::update(self.tw, &mut self.feas_tw, ind.time_warp == 0);
    }
}

/// Stopping criteria and seed for the search.
#[derive(Debug, Clone)]
pub(crate) struct SearchParams {
    /// When the caller's clock started (preprocessing counts against the limit).
    pub start: Instant,
    pub time_limit: Duration,
    pub seed: u64,
    pub max_iterations: Option<u64>,
}

/// Result of the search.
pub(crate) struct SearchResult {
    pub best: Indiv,
    pub iterations: u64,
}

/// A random individual: clients shuffled and dealt round-robin over a number of
/// routes estimated from the total load, respecting skills where possible.
fn random_indiv(data: &Data, rng: &mut Rng) -> Indiv {
    let mut clients: Vec<usize> = (data.nd..data.n).filter(|&c| data.required[c]).collect();
    rng.shuffle(&mut clients);
    // Estimate the number of routes needed.
    let mut need = 1usize;
    let cap_max: Vec<i64> = (0..data.dims)
        .map(|d| data.vts.iter().map(|v| v.cap[d]).max().unwrap_or(1).max(1))
        .collect();
    for (d, &cap) in cap_max.iter().enumerate() {
        let tot: i64 = (data.nd..data.n)
            .map(|c| data.delivery[c * data.dims + d].max(data.pickup[c * data.dims + d]))
            .sum();
        need = need.max(((tot + cap - 1) / cap) as usize);
    }
    let fleet: usize = data.vts.iter().map(|v| v.num).sum();
    let nroutes = (need + need / 5 + 1).min(fleet).min(clients.len()).max(1);
    // Vehicle type slots, in order.
    let mut slots = Vec::new();
    for (v, vt) in data.vts.iter().enumerate() {
        for _ in 0..vt.num.min(clients.len().max(1)) {
            slots.push(v);
        }
        if slots.len() >= fleet.min(clients.len().max(1)) {
            break;
        }
    }
    rng.shuffle(&mut slots);
    slots.truncate(nroutes);
    let mut routes: Vec<(usize, Vec<usize>)> = slots.iter().map(|&v| (v, Vec::new())).collect();
    for (k, &c) in clients.iter().enumerate() {
        let start = k % routes.len();
        // First compatible route from the round-robin position.
        let r = (0..routes.len())
            .map(|o| (start + o) % routes.len())
            .find(|&r| data.skills[c] & !data.vts[routes[r].0].skills == 0);
        if let Some(r) = r {
            routes[r].1.push(c);
        }
    }
    routes.retain(|r| !r.1.is_empty());
    Indiv::from_routes(data, routes)
}

/// Pseudo-angle of a route's centroid around the data centroid (PyVRP SREX).
fn route_angle(data: &Data, route: &[usize]) -> f64 {
    let (mut x, mut y) = (0.0, 0.0);
    for &c in route {
        x += data.coords[c].0;
        y += data.coords[c].1;
    }
    let n = route.len().max(1) as f64;
    let dx = x / n - data.centroid.0;
    let dy = y / n - data.centroid.1;
    let s = dx.abs() + dy.abs();
    if s == 0.0 {
        return 0.0;
    }
    (1.0 - dx / s).copysign(dy)
}

/// Selective route exchange crossover (PyVRP's `selective_route_exchange`).
/// Unplanned clients are left for the local search to insert.
fn srex(
    data: &Data,
    a: &Indiv,
    b: &Indiv,
    rng: &mut Rng,
    in_b: &mut [bool],
    in_a: &mut [bool],
) -> Indiv {
    let na = a.routes.len();
    let nb = b.routes.len();
    if na == 0 || nb == 0 {
        return a.clone();
    }
    let mut ra: Vec<&(usize, Vec<usize>)> = a.routes.iter().collect();
    let mut rb: Vec<&(usize, Vec<usize>)> = b.routes.iter().collect();
    ra.sort_by(|x, y| route_angle(data, &x.1).total_cmp(&route_angle(data, &y.1)));
    rb.sort_by(|x, y| route_angle(data, &x.1).total_cmp(&route_angle(data, &y.1)));
    let mut start_a = rng.below(na);
    let mut start_b = rng.below(nb);
    let moved = 1 + rng.below(na.min(nb));
    in_a.iter_mut().for_each(|x| *x = false);
    in_b.iter_mut().for_each(|x| *x = false);
    for r in 0..moved {
        for &c in &ra[(start_a + r) % na].1 {
            in_a[c] = true;
        }
        for &c in &rb[(start_b + r) % nb].1 {
            in_b[c] = true;
        }
    }
    // Shift the selections to minimise |A \ B|.
    loop {
        let cnt_not_b =
            |r: usize, in_b: &[bool]| ra[r].1.iter().filter(|&&c| !in_b[c]).count() as i64;
        let cnt_in_a =
            |r: usize, in_a: &[bool]| rb[r].1.iter().filter(|&&c| in_a[c]).count() as i64;
        let a_left =
            cnt_not_b((start_a + na - 1) % na, in_b) - cnt_not_b((start_a + moved - 1) % na, in_b);
        let a_right = cnt_not_b((start_a + moved) % na, in_b) - cnt_not_b(start_a, in_b);
        let b_left =
            cnt_in_a((start_b + moved - 1) % nb, in_a) - cnt_in_a((start_b + nb - 1) % nb, in_a);
        let b_right = cnt_in_a(start_b, in_a) - cnt_in_a((start_b + moved) % nb, in_a);
        let best = a_left.min(a_right).min(b_left).min(b_right);
        if best >= 0 {
            break;
        }
        if best == a_left {
            for &c in &ra[(start_a + moved - 1) % na].1 {
                in_a[c] = false;
            }
            start_a = (start_a + na - 1) % na;
            for &c in &ra[start_a].1 {
                in_a[c] = true;
            }
        } else if best == a_right {
            for &c in &ra[start_a].1 {
                in_a[c] = false;
            }
            start_a = (start_a + 1) % na;
            for &c in &ra[(start_a + moved - 1) % na].1 {
                in_a[c] = true;
            }
        } else if best == b_left {
            for &c in &rb[(start_b + moved - 1) % nb].1 {
                in_b[c] = false;
            }
            start_b = (start_b + nb - 1) % nb;
            for &c in &rb[start_b].1 {
                in_b[c] = true;
            }
        } else {
            for &c in &rb[start_b].1 {
                in_b[c] = false;
            }
            start_b = (start_b + 1) % nb;
            for &c in &rb[(start_b + moved - 1) % nb].1 {
                in_b[c] = true;
            }
        }
    }
    // Offspring: A's routes with the selected ones replaced by B's selected
    // routes; clients of B's selection removed from A's kept routes.
    let mut routes: Vec<(usize, Vec<usize>)> = Vec::with_capacity(na);
    for r in 0..moved {
        let ia = (start_a + r) % na;
        let ib = (start_b + r) % nb;
        // Keep A's vehicle type so fleet counts stay valid.
        routes.push((ra[ia].0, rb[ib].1.clone()));
    }
    for r in moved..na {
        let ia = (start_a + r) % na;
        let kept: Vec<usize> = ra[ia].1.iter().copied().filter(|&c| !in_b[c]).collect();
        routes.push((ra[ia].0, kept));
    }
    routes.retain(|r| !r.1.is_empty());
    Indiv::from_routes(data, routes)
}

/// Runs the hybrid genetic search.
pub(crate) fn run(data: &Data, params: &SearchParams) -> SearchResult {
    let deadline = params.start + params.time_limit;
    let max_iter = params.max_iterations.unwrap_or(u64::MAX);
    // With an iteration limit the run must be fully deterministic: no clock
    // inside the local search.
    let ls_deadline = if params.max_iterations.is_some() {
        None
    } else {
        Some(deadline)
    };
    let mut rng = Rng::new(params.seed);
    let mut pen = Penalties::init(data);
    let pop_params = PopParams::default();
    let min_pop = pop_params.min_pop_size;
    let mut pop = Population::new(pop_params, data.nd);
    let mut ls = LocalSearch::new(data);
    let mut best: Option<Indiv> = None;
    let mut best_infeas: Option<(i64, Indiv)> = None;
    let mut in_a = vec![false; data.n];
    let mut in_b = vec![false; data.n];
    let stop =
        |it: u64| it >= max_iter || (params.max_iterations.is_none() && Instant::now() >= deadline);

    let mut iters: u64 = 0;
    let mut no_improve: u64 = 0;
    let restart_after: u64 = 20_000;

    let consider = |ind: &Indiv,
                    best: &mut Option<Indiv>,
                    best_infeas: &mut Option<(i64, Indiv)>,
                    ce: &CostEval|
     -> bool {
        if ind.feasible() {
            if best.as_ref().is_none_or(|b| ind.base_cost < b.base_cost) {
                *best = Some(ind.clone());
                return true;
            }
        } else {
            let c = ind.pen_cost(&ce.scaled(REPAIR_BOOSTER));
            if best_infeas.as_ref().is_none_or(|b| c < b.0) {
                *best_infeas = Some((c, ind.clone()));
            }
        }
        false
    };

    let educate = |ind: &Indiv,
                   pen: &mut Penalties,
                   pop: &mut Population,
                   ls: &mut LocalSearch,
                   rng: &mut Rng,
                   best: &mut Option<Indiv>,
                   best_infeas: &mut Option<(i64, Indiv)>|
     -> bool {
        let ce = pen.ce();
        let sol = ls.run(ind, &ce, rng, ls_deadline);
        pen.register(&sol);
        let mut improved = consider(&sol, best, best_infeas, &ce);
        let feasible = sol.feasible();
        if !feasible && rng.unit() < REPAIR_PROB {
            let boosted = ce.scaled(REPAIR_BOOSTER);
            let rep = ls.run(&sol, &boosted, rng, ls_deadline);
            improved |= consider(&rep, best, best_infeas, &ce);
            if rep.feasible() {
                pop.add(rep, &ce);
            }
        }
        pop.add(sol, &ce);
        improved
    };

    // Initial population.
    while pop.len() < min_pop && !stop(iters) {
        let ind = random_indiv(data, &mut rng);
        educate(
            &ind,
            &mut pen,
            &mut pop,
            &mut ls,
            &mut rng,
            &mut best,
            &mut best_infeas,
        );
        iters += 1;
    }
    while !stop(iters) {
        iters += 1;
        if no_improve >= restart_after {
            pop.clear();
            no_improve = 0;
            while pop.len() < min_pop && !stop(iters) {
                let ind = random_indiv(data, &mut rng);
                educate(
                    &ind,
                    &mut pen,
                    &mut pop,
                    &mut ls,
                    &mut rng,
                    &mut best,
                    &mut best_infeas,
                );
                iters += 1;
            }
            continue;
        }
        let ce = pen.ce();
        let (p1, p2) = pop.select(&mut rng, &ce);
        let child = srex(data, &p1, &p2, &mut rng, &mut in_b, &mut in_a);
        if educate(
            &child,
            &mut pen,
            &mut pop,
            &mut ls,
            &mut rng,
            &mut best,
            &mut best_infeas,
        ) {
            no_improve = 0;
        } else {
            no_improve += 1;
        }
    }
    let best = match (best, best_infeas) {
        (Some(b), _) => b,
        (None, Some((_, b))) => b,
        (None, None) => {
            // Out of time before the first local search: improve the random
            // start for whatever time is left (none, usually).
            let ind = random_indiv(data, &mut rng);
            ls.run(&ind, &pen.ce(), &mut rng, ls_deadline)
        }
    };
    SearchResult {
        best,
        iterations: iters,
    }
}

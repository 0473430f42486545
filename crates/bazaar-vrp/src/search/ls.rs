//! Granular local search with O(1) move evaluation on concatenated segments.
//!
//! Structure follows PyVRP's `LocalSearch` (Wouda, Lan & Kool 2024, MIT):
//! node operators Exchange(N, M) for N, M ≤ 2 (relocate, swap) and SwapTails
//! (2-opt*), tested between each client and its granular neighbours with
//! timestamps so that only pairs touching changed routes are re-evaluated;
//! then the SWAP* route operator (Vidal 2022, HGS-CVRP, MIT) on pairs of routes
//! whose polar sectors overlap; plus insertion of missing required clients and
//! insertion/removal of optional clients against their prize.
//!
//! Every route keeps prefix/suffix distance, load (per dimension, with
//! pickups and deliveries) and duration/time-warp segments, so a proposed route
//! made of a few pieces of existing routes is evaluated in O(1) per piece.

use std::time::Instant;

use super::data::{Data, DurSeg, LoadSeg, NONE};
use super::indiv::{CostEval, Indiv};
use crate::rng::Rng;

/// A piece of a proposed route.
#[derive(Debug, Clone, Copy)]
enum Seg {
    /// Visits `0..=end` of a route (includes its start depot).
    Before(usize, usize),
    /// Visits `start..` of a route (includes its end depot).
    After(usize, usize),
    /// Visits `i..=j` of a route (clients only; empty if `i > j`).
    Mid(usize, usize, usize),
    /// A single, currently unrouted client.
    Node(usize),
}

const EMPTY_SEG: Seg = Seg::Mid(0, 1, 0);

/// A proposed new content for one route.
#[derive(Debug, Clone, Copy)]
struct Prop {
    route: usize,
    segs: [Seg; 5],
    len: usize,
}

impl Prop {
    fn new(route: usize, s: &[Seg]) -> Self {
        let mut segs = [EMPTY_SEG; 5];
        segs[..s.len()].copy_from_slice(s);
        Self {
            route,
            segs,
            len: s.len(),
        }
    }
    fn segs(&self) -> &[Seg] {
        &self.segs[..self.len]
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Sector {
    start: i32,
    end: i32,
}

impl Sector {
    fn pmod(i: i32) -> i32 {
        i.rem_euclid(65536)
    }
    fn init(a: i32) -> Self {
        Self { start: a, end: a }
    }
    fn enclosed(&self, a: i32) -> bool {
        Self::pmod(a - self.start) <= Self::pmod(self.end - self.start)
    }
    fn extend(&mut self, a: i32) {
        if !self.enclosed(a) {
            if Self::pmod(a - self.end) <= Self::pmod(self.start - a) {
                self.end = a;
            } else {
                self.start = a;
            }
        }
    }
    fn overlap(&self, o: &Self) -> bool {
        Self::pmod(o.start - self.start) <= Self::pmod(self.end - self.start)
            || Self::pmod(self.start - o.start) <= Self::pmod(o.end - o.start)
    }
}

#[derive(Debug, Clone)]
struct Route {
    vt: usize,
    visits: Vec<usize>,
    cum_dist: Vec<i64>,
    lb: Vec<LoadSeg>,
    la: Vec<LoadSeg>,
    db: Vec<DurSeg>,
    da: Vec<DurSeg>,
    dac: Vec<DurSeg>,
    skill_after: Vec<u64>,
    dist: i64,
    dur: i64,
    tw: i64,
    excess: Vec<i64>,
    cost: i64,
    sector: Sector,
}

impl Route {
    #[inline]
    fn k(&self) -> usize {
        self.visits.len() - 2
    }
    #[inline]
    fn is_empty(&self) -> bool {
        self.visits.len() == 2
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct InsertPos {
    cost: i64,
    after: usize,
}

/// The local search engine. Reused across calls (no per-move allocation).
pub struct LocalSearch<'a> {
    data: &'a Data,
    routes: Vec<Route>,
    route_of: Vec<usize>,
    pos: Vec<usize>,
    order: Vec<usize>,
    last_tested: Vec<i64>,
    last_modified: Vec<i64>,
    last_tested_route: Vec<i64>,
    num_moves: i64,
    scratch_a: Vec<usize>,
    scratch_b: Vec<usize>,
    ce: CostEval,
    deadline: Option<Instant>,
    /// Routes per vehicle type: `type_range[vt]..type_range[vt+1]`.
    type_range: Vec<usize>,
    best_ins: Vec<[InsertPos; 3]>,
    removal: Vec<i64>,
    angle: Vec<i32>,
}

impl<'a> LocalSearch<'a> {
    pub fn new(data: &'a Data) -> Self {
        let mut routes = Vec::new();
        let mut type_range = vec![0];
        let nc = data.n - data.nd;
        for (v, vt) in data.vts.iter().enumerate() {
            // Never more routes of a type than clients.
            for _ in 0..vt.num.min(nc.max(1)) {
                routes.push(Route {
                    vt: v,
                    visits: vec![vt.start, vt.end],
                    cum_dist: Vec::new(),
                    lb: Vec::new(),
                    la: Vec::new(),
                    db: Vec::new(),
                    da: Vec::new(),
                    dac: Vec::new(),
                    skill_after: Vec::new(),
                    dist: 0,
                    dur: 0,
                    tw: 0,
                    excess: vec![0; data.dims],
                    cost: 0,
                    sector: Sector::default(),
                });
            }
            type_range.push(routes.len());
        }
        let nr = routes.len();
        let angle = (0..data.n)
            .map(|i| {
                let (x, y) = data.coords[i];
                let (cx, cy) = data.coords[0];
                (32768.0 * (y - cy).atan2(x - cx) / std::f64::consts::PI) as i32
            })
            .collect();
        Self {
            data,
            routes,
            route_of: vec![NONE; data.n],
            pos: vec![0; data.n],
            order: (data.nd..data.n).collect(),
            last_tested: vec![-1; data.n],
            last_modified: vec![0; nr],
            last_tested_route: vec![-1; nr],
            num_moves: 0,
            scratch_a: Vec::new(),
            scratch_b: Vec::new(),
            ce: CostEval {
                load: vec![1.0; data.dims],
                tw: 1.0,
            },
            deadline: None,
            type_range,
            best_ins: vec![[InsertPos::default(); 3]; data.n],
            removal: vec![0; data.n],
            angle,
        }
    }

    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Runs the local search on `indiv` and returns the improved individual.
    pub fn run(
        &mut self,
        indiv: &Indiv,
        ce: &CostEval,
        rng: &mut Rng,
        deadline: Option<Instant>,
    ) -> Indiv {
        self.ce = ce.clone();
        self.deadline = deadline;
        self.load(indiv);
        rng.shuffle(&mut self.order);
        loop {
            self.search();
            let before = self.num_moves;
            if self.timed_out() {
                break;
            }
            self.intensify();
            if self.num_moves == before || self.timed_out() {
                break;
            }
        }
        self.export()
    }

    fn load(&mut self, indiv: &Indiv) {
        let data = self.data;
        for r in self.routes.iter_mut() {
            let vt = &data.vts[r.vt];
            r.visits.clear();
            r.visits.push(vt.start);
            r.visits.push(vt.end);
        }
        self.route_of.iter_mut().for_each(|x| *x = NONE);
        let mut next = self.type_range[..self.type_range.len() - 1].to_vec();
        for (vt, clients) in &indiv.routes {
            let vt = *vt;
            if next[vt] >= self.type_range[vt + 1] {
                continue; // more routes than vehicles: leave clients unrouted
            }
            let r = next[vt];
            next[vt] += 1;
            let route = &mut self.routes[r];
            let end = route.visits.pop().unwrap_or(data.vts[vt].end);
            for &c in clients {
                if self.route_of[c] != NONE {
                    continue;
                }
                if data.has_skills && data.skills[c] & !data.vts[vt].skills != 0 {
                    continue;
                }
                route.visits.push(c);
                self.route_of[c] = r;
            }
            route.visits.push(end);
        }
        for r in 0..self.routes.len() {
            self.update(r);
        }
        self.num_moves = 0;
        self.last_tested.iter_mut().for_each(|x| *x = -1);
        self.last_modified.iter_mut().for_each(|x| *x = 0);
        self.last_tested_route.iter_mut().for_each(|x| *x = -1);
    }

    fn export(&self) -> Indiv {
        let data = self.data;
        let routes: Vec<(usize, Vec<usize>)> = self
            .routes
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| (r.vt, r.visits[1..r.visits.len() - 1].to_vec()))
            .collect();
        let mut ind = Indiv::from_routes(data, routes);
        for r in self.routes.iter().filter(|r| !r.is_empty()) {
            let vt = &data.vts[r.vt];
            ind.base_cost += vt.fixed + vt.unit_dist * r.dist + vt.unit_dur * r.dur;
            ind.distance += r.dist;
            ind.time_warp += r.tw;
            for d in 0..data.dims {
                ind.excess[d] += r.excess[d];
            }
        }
        for c in data.nd..data.n {
            if self.route_of[c] == NONE {
                if data.required[c] {
                    ind.missing += 1;
                } else {
                    ind.base_cost += data.prize[c];
                }
            }
        }
        ind
    }

    /// Recomputes all cached data of route `r`.
    fn update(&mut self, r: usize) {
        let data = self.data;
        let dims = data.dims;
        let route = &mut self.routes[r];
        let vt = &data.vts[route.vt];
        let len = route.visits.len();
        let v = &route.visits;
        route.cum_dist.resize(len, 0);
        route.cum_dist[0] = 0;
        for i in 1..len {
            route.cum_dist[i] = route.cum_dist[i - 1] + data.d(v[i - 1], v[i]);
        }
        route.dist = route.cum_dist[len - 1];
        for i in 1..len - 1 {
            self.route_of[v[i]] = r;
            self.pos[v[i]] = i;
        }
        // Loads.
        route.lb.resize(len * dims, LoadSeg::default());
        route.la.resize(len * dims, LoadSeg::default());
        for d in 0..dims {
            route.lb[d] = LoadSeg::default();
            for i in 1..len {
                let s = if i == len - 1 {
                    LoadSeg::default()
                } else {
                    data.load_single(v[i], d)
                };
                route.lb[i * dims + d] = route.lb[(i - 1) * dims + d].merge(s);
            }
            route.la[(len - 1) * dims + d] = LoadSeg::default();
            for i in (0..len - 1).rev() {
                let s = if i == 0 {
                    LoadSeg::default()
                } else {
                    data.load_single(v[i], d)
                };
                route.la[i * dims + d] = s.merge(route.la[(i + 1) * dims + d]);
            }
            route.excess[d] = (route.lb[(len - 1) * dims + d].load - vt.cap[d]).max(0);
        }
        // Durations.
        if data.has_time {
            route.db.resize(len, vt.start_seg);
            route.da.resize(len, vt.end_seg);
            route.dac.resize(len, vt.end_seg);
            route.db[0] = vt.start_seg;
            for i in 1..len {
                let s = if i == len - 1 {
                    vt.end_seg
                } else {
                    data.dur_single(v[i])
                };
                route.db[i] = route.db[i - 1].merge(data.t(v[i - 1], v[i]), s);
            }
            route.da[len - 1] = vt.end_seg;
            for i in (0..len - 1).rev() {
                let s = if i == 0 {
                    vt.start_seg
                } else {
                    data.dur_single(v[i])
                };
                route.da[i] = s.merge(data.t(v[i], v[i + 1]), route.da[i + 1]);
            }
            if len > 2 {
                route.dac[len - 2] = data.dur_single(v[len - 2]);
                for i in (1..len - 2).rev() {
                    route.dac[i] = data
                        .dur_single(v[i])
                        .merge(data.t(v[i], v[i + 1]), route.dac[i + 1]);
                }
            }
            let tot = route.db[len - 1];
            route.dur = tot.duration;
            route.tw = tot.time_warp + (tot.duration - vt.max_dur).max(0);
        }
        if data.has_skills {
            route.skill_after.resize(len, 0);
            route.skill_after[len - 1] = 0;
            for i in (0..len - 1).rev() {
                route.skill_after[i] = route.skill_after[i + 1] | data.skills[v[i]];
            }
        }
        // Cost.
        route.cost = if len == 2 {
            0
        } else {
            let mut c = vt.fixed + vt.unit_dist * route.dist + vt.unit_dur * route.dur;
            c += self.ce.tw_pen(route.tw);
            for d in 0..dims {
                c += self.ce.load_pen(d, route.excess[d]);
            }
            c
        };
        // Polar sector.
        if len > 2 {
            let mut s = Sector::init(self.angle[v[1]]);
            for &c in &v[1..len - 1] {
                s.extend(self.angle[c]);
            }
            route.sector = s;
        }
        self.last_modified[r] = self.num_moves;
    }

    // ----- segment evaluation -------------------------------------------------

    /// (first location, last location, internal distance, number of clients).
    #[inline(always)]
    fn seg_info(&self, s: Seg) -> (usize, usize, i64, usize) {
        match s {
            Seg::Before(r, e) => {
                let rt = &self.routes[r];
                (rt.visits[0], rt.visits[e], rt.cum_dist[e], e)
            }
            Seg::After(r, st) => {
                let rt = &self.routes[r];
                let last = rt.visits.len() - 1;
                (
                    rt.visits[st],
                    rt.visits[last],
                    rt.cum_dist[last] - rt.cum_dist[st],
                    last - st,
                )
            }
            Seg::Mid(r, i, j) => {
                if i > j {
                    return (NONE, NONE, 0, 0);
                }
                let rt = &self.routes[r];
                (
                    rt.visits[i],
                    rt.visits[j],
                    rt.cum_dist[j] - rt.cum_dist[i],
                    j - i + 1,
                )
            }
            Seg::Node(c) => (c, c, 0, 1),
        }
    }

    #[inline]
    fn seg_load(&self, s: Seg, d: usize) -> LoadSeg {
        let dims = self.data.dims;
        match s {
            Seg::Before(r, e) => self.routes[r].lb[e * dims + d],
            Seg::After(r, st) => self.routes[r].la[st * dims + d],
            Seg::Mid(r, i, j) => {
                let rt = &self.routes[r];
                if j == rt.k() {
                    rt.la[i * dims + d]
                } else if !self.data.has_pickups {
                    let del = rt.lb[j * dims + d].delivery - rt.lb[(i - 1) * dims + d].delivery;
                    LoadSeg {
                        delivery: del,
                        pickup: 0,
                        load: del,
                    }
                } else {
                    let mut acc = self.data.load_single(rt.visits[i], d);
                    for p in i + 1..=j {
                        acc = acc.merge(self.data.load_single(rt.visits[p], d));
                    }
                    acc
                }
            }
            Seg::Node(c) => self.data.load_single(c, d),
        }
    }

    #[inline]
    fn seg_dur(&self, s: Seg) -> DurSeg {
        match s {
            Seg::Before(r, e) => self.routes[r].db[e],
            Seg::After(r, st) => self.routes[r].da[st],
            Seg::Mid(r, i, j) => {
                let rt = &self.routes[r];
                if j == rt.k() {
                    rt.dac[i]
                } else {
                    let data = self.data;
                    let mut acc = data.dur_single(rt.visits[i]);
                    for p in i + 1..=j {
                        acc = acc.merge(
                            data.t(rt.visits[p - 1], rt.visits[p]),
                            data.dur_single(rt.visits[p]),
                        );
                    }
                    acc
                }
            }
            Seg::Node(c) => self.data.dur_single(c),
        }
    }

    #[inline]
    fn seg_skills(&self, s: Seg, target: usize) -> u64 {
        match s {
            Seg::Mid(r, i, j) if r != target && i <= j => {
                let rt = &self.routes[r];
                if j == rt.k() {
                    rt.skill_after[i]
                } else {
                    rt.visits[i..=j]
                        .iter()
                        .fold(0, |m, &c| m | self.data.skills[c])
                }
            }
            Seg::Node(c) => self.data.skills[c],
            _ => 0,
        }
    }

    /// Cost of the proposal's route, or `None` if it violates a hard
    /// constraint (skills). With `bound`, returns early (as `Some(bound)`) once
    /// the partial cost proves it is at least `bound`.
    #[inline]
    fn prop_cost(&self, p: &Prop, bound: i64) -> Option<i64> {
        let data = self.data;
        let vt = &data.vts[self.routes[p.route].vt];
        let mut dist = 0;
        let mut prev = NONE;
        let mut ncl = 0;
        for &s in p.segs() {
            let (f, l, sd, c) = self.seg_info(s);
            if f == NONE {
                continue;
            }
            if prev != NONE {
                dist += data.d(prev, f);
            }
            dist += sd;
            prev = l;
            ncl += c;
        }
        if ncl == 0 {
            return Some(0);
        }
        let mut cost = vt.fixed + vt.unit_dist * dist;
        if cost >= bound {
            return Some(bound);
        }
        if data.has_skills {
            let need = p
                .segs()
                .iter()
                .fold(0, |m, &s| m | self.seg_skills(s, p.route));
            if need & !vt.skills != 0 {
                return None;
            }
        }
        for d in 0..data.dims {
            let mut acc = LoadSeg::default();
            for &s in p.segs() {
                acc = acc.merge(self.seg_load(s, d));
            }
            cost += self.ce.load_pen(d, acc.load - vt.cap[d]);
        }
        if cost >= bound {
            return Some(bound);
        }
        if data.has_time {
            let mut acc: Option<DurSeg> = None;
            let mut prev = NONE;
            for &s in p.segs() {
                let (f, l, _, _) = self.seg_info(s);
                if f == NONE {
                    continue;
                }
                let ds = self.seg_dur(s);
                acc = Some(match acc {
                    None => ds,
                    Some(a) => a.merge(data.t(prev, f), ds),
                });
                prev = l;
            }
            if let Some(a) = acc {
                let tw = a.time_warp + (a.duration - vt.max_dur).max(0);
                cost += vt.unit_dur * a.duration + self.ce.tw_pen(tw);
            }
        }
        Some(cost)
    }

    /// Delta cost of replacing the routes in `props` by their proposals.
    /// Returns `i64::MAX` if infeasible w.r.t. hard constraints or (when
    /// `exact` is false) if certainly not improving.
    fn delta(&self, props: &[Prop], exact: bool) -> i64 {
        let mut old = 0;
        for p in props {
            old += self.routes[p.route].cost;
        }
        let mut acc = 0;
        for p in props {
            let bound = if exact { i64::MAX } else { old - acc };
            // Remaining proposals cost at least 0, so the bound is valid.
            match self.prop_cost(p, bound) {
                None => return i64::MAX,
                Some(c) => {
                    acc += c;
                    if !exact && acc >= old {
                        return i64::MAX;
                    }
                }
            }
        }
        acc - old
    }

    /// Rebuilds routes from the proposals, then updates them.
    fn apply(&mut self, props: &[Prop]) {
        self.num_moves += 1;
        let mut bufs = [
            std::mem::take(&mut self.scratch_a),
            std::mem::take(&mut self.scratch_b),
        ];
        for (k, p) in props.iter().enumerate() {
            let buf = &mut bufs[k];
            buf.clear();
            for &s in p.segs() {
                match s {
                    Seg::Before(r, e) => buf.extend_from_slice(&self.routes[r].visits[..=e]),
                    Seg::After(r, st) => buf.extend_from_slice(&self.routes[r].visits[st..]),
                    Seg::Mid(r, i, j) => {
                        if i <= j {
                            buf.extend_from_slice(&self.routes[r].visits[i..=j]);
                        }
                    }
                    Seg::Node(c) => buf.push(c),
                }
            }
        }
        // Clients that left every proposal (removals) become unrouted.
        for p in props {
            for &c in &self.routes[p.route].visits {
                if !self.data.is_depot(c) {
                    self.route_of[c] = NONE;
                }
            }
        }
        for (k, p) in props.iter().enumerate() {
            std::mem::swap(&mut self.routes[p.route].visits, &mut bufs[k]);
        }
        for p in props {
            self.update(p.route);
        }
        let [a, b] = bufs;
        self.scratch_a = a;
        self.scratch_b = b;
    }

    // ----- node operators ---------------------------------------------------------

    /// Fixed + distance cost of route `r` with a new distance (0 if empty).
    #[inline(always)]
    fn partial_cost(&self, r: usize, dist: i64, empty: bool) -> i64 {
        if empty {
            0
        } else {
            let vt = &self.data.vts[self.routes[r].vt];
            vt.fixed + vt.unit_dist * dist
        }
    }

    /// Cheap distance-only filter for Exchange(N, M): false if the move
    /// certainly does not improve (penalties can only add cost).
    #[inline(always)]
    fn exchange_may_improve(
        &self,
        n: usize,
        m: usize,
        ru: usize,
        iu: usize,
        rv: usize,
        iv: usize,
    ) -> bool {
        let data = self.data;
        let ur = &self.routes[ru];
        let (pu, uf, ul, su) = (
            ur.visits[iu - 1],
            ur.visits[iu],
            ur.visits[iu + n - 1],
            ur.visits[iu + n],
        );
        let intra_u = ur.cum_dist[iu + n - 1] - ur.cum_dist[iu];
        if ru == rv {
            if m == 0 {
                let (vv, sv) = (ur.visits[iv], ur.visits[iv + 1]);
                let delta = data.d(pu, su) - data.d(pu, uf) - data.d(ul, su)
                    + data.d(vv, uf)
                    + data.d(ul, sv)
                    - data.d(vv, sv);
                let ud = data.vts[ur.vt].unit_dist;
                return ud * delta < ur.cost - ud * ur.dist - data.vts[ur.vt].fixed;
            }
            return true;
        }
        let vr = &self.routes[rv];
        let (new_u, new_v, u_empty) = if m == 0 {
            let (vv, sv) = (vr.visits[iv], vr.visits[iv + 1]);
            (
                ur.dist + data.d(pu, su) - data.d(pu, uf) - data.d(ul, su) - intra_u,
                vr.dist + data.d(vv, uf) + data.d(ul, sv) - data.d(vv, sv) + intra_u,
                ur.k() == n,
            )
        } else {
            let (pv, vf, vl, sv) = (
                vr.visits[iv - 1],
                vr.visits[iv],
                vr.visits[iv + m - 1],
                vr.visits[iv + m],
            );
            let intra_v = vr.cum_dist[iv + m - 1] - vr.cum_dist[iv];
            (
                ur.dist + data.d(pu, vf) + data.d(vl, su) - data.d(pu, uf) - data.d(ul, su)
                    + intra_v
                    - intra_u,
                vr.dist + data.d(pv, uf) + data.d(ul, sv) - data.d(pv, vf) - data.d(vl, sv)
                    + intra_u
                    - intra_v,
                false,
            )
        };
        self.partial_cost(ru, new_u, u_empty) + self.partial_cost(rv, new_v, false)
            < ur.cost + vr.cost
    }

    /// Exchange(N, M): moves `N` clients starting at position `iu` of route
    /// `ru` and `M` visits starting at `iv` of `rv` (M = 0: insert after `iv`).
    fn exchange(&mut self, n: usize, m: usize, ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        let ku = self.routes[ru].k();
        let kv = self.routes[rv].k();
        if iu == 0 || iu + n - 1 > ku {
            return false;
        }
        if m > 0 && (iv == 0 || iv + m - 1 > kv) {
            return false;
        }
        if !self.exchange_may_improve(n, m, ru, iu, rv, iv) {
            return false;
        }
        let mut props = [Prop::new(0, &[]), Prop::new(0, &[])];
        let np;
        if ru != rv {
            if m == 0 {
                props[0] = Prop::new(ru, &[Seg::Before(ru, iu - 1), Seg::After(ru, iu + n)]);
                props[1] = Prop::new(
                    rv,
                    &[
                        Seg::Before(rv, iv),
                        Seg::Mid(ru, iu, iu + n - 1),
                        Seg::After(rv, iv + 1),
                    ],
                );
            } else {
                props[0] = Prop::new(
                    ru,
                    &[
                        Seg::Before(ru, iu - 1),
                        Seg::Mid(rv, iv, iv + m - 1),
                        Seg::After(ru, iu + n),
                    ],
                );
                props[1] = Prop::new(
                    rv,
                    &[
                        Seg::Before(rv, iv - 1),
                        Seg::Mid(ru, iu, iu + n - 1),
                        Seg::After(rv, iv + m),
                    ],
                );
            }
            np = 2;
        } else {
            let r = ru;
            if m == 0 {
                if iv + 1 >= iu && iv < iu + n {
                    return false;
                }
                props[0] = if iv < iu {
                    Prop::new(
                        r,
                        &[
                            Seg::Before(r, iv),
                            Seg::Mid(r, iu, iu + n - 1),
                            Seg::Mid(r, iv + 1, iu - 1),
                            Seg::After(r, iu + n),
                        ],
                    )
                } else {
                    Prop::new(
                        r,
                        &[
                            Seg::Before(r, iu - 1),
                            Seg::Mid(r, iu + n, iv),
                            Seg::Mid(r, iu, iu + n - 1),
                            Seg::After(r, iv + 1),
                        ],
                    )
                };
            } else if iu < iv {
                if iu + n > iv {
                    return false;
                }
                props[0] = Prop::new(
                    r,
                    &[
                        Seg::Before(r, iu - 1),
                        Seg::Mid(r, iv, iv + m - 1),
                        Seg::Mid(r, iu + n, iv - 1),
                        Seg::Mid(r, iu, iu + n - 1),
                        Seg::After(r, iv + m),
                    ],
                );
            } else {
                if iv + m > iu {
                    return false;
                }
                props[0] = Prop::new(
                    r,
                    &[
                        Seg::Before(r, iv - 1),
                        Seg::Mid(r, iu, iu + n - 1),
                        Seg::Mid(r, iv + m, iu - 1),
                        Seg::Mid(r, iv, iv + m - 1),
                        Seg::After(r, iu + n),
                    ],
                );
            }
            np = 1;
        }
        let d = self.delta(&props[..np], false);
        if d < 0 {
            self.apply(&props[..np]);
            true
        } else {
            false
        }
    }

    /// SwapTails (2-opt*): exchanges the tails after `iu` in `ru` and `iv` in `rv`.
    fn swap_tails(&mut self, ru: usize, iu: usize, rv: usize, iv: usize) -> bool {
        if ru == rv {
            return false;
        }
        let ku = self.routes[ru].k();
        let kv = self.routes[rv].k();
        if iu == ku && iv == kv {
            return false;
        }
        {
            // Distance-only lower bound.
            let (u_r, v_r) = (&self.routes[ru], &self.routes[rv]);
            let data = self.data;
            let tail = |r: &Route, i: usize, k: usize| -> Option<(usize, usize, i64)> {
                (i < k).then(|| {
                    (
                        r.visits[i + 1],
                        r.visits[k],
                        r.cum_dist[k] - r.cum_dist[i + 1],
                    )
                })
            };
            let new_dist = |own: &Route, i: usize, other: Option<(usize, usize, i64)>| -> i64 {
                let here = own.visits[i];
                let end = own.visits[own.visits.len() - 1];
                own.cum_dist[i]
                    + match other {
                        Some((f, l, intra)) => data.d(here, f) + intra + data.d(l, end),
                        None => data.d(here, end),
                    }
            };
            let tv = tail(v_r, iv, kv);
            let tu = tail(u_r, iu, ku);
            let nu = self.partial_cost(ru, new_dist(u_r, iu, tv), iu == 0 && tv.is_none());
            let nv = self.partial_cost(rv, new_dist(v_r, iv, tu), iv == 0 && tu.is_none());
            if nu + nv >= u_r.cost + v_r.cost {
                return false;
            }
        }
        let props = [
            Prop::new(
                ru,
                &[
                    Seg::Before(ru, iu),
                    Seg::Mid(rv, iv + 1, kv),
                    Seg::After(ru, ku + 1),
                ],
            ),
            Prop::new(
                rv,
                &[
                    Seg::Before(rv, iv),
                    Seg::Mid(ru, iu + 1, ku),
                    Seg::After(rv, kv + 1),
                ],
            ),
        ];
        let d = self.delta(&props, false);
        if d < 0 {
            self.apply(&props);
            true
        } else {
            false
        }
    }

    fn node_ops(&mut self, u: usize, rv: usize, iv: usize) -> bool {
        let ru = self.route_of[u];
        let iu = self.pos[u];
        if iv == 0 {
            // v is the start depot of rv: insertion at the front, and 2-opt*.
            return self.exchange(1, 0, ru, iu, rv, 0)
                || self.exchange(2, 0, ru, iu, rv, 0)
                || self.swap_tails(ru, iu, rv, 0);
        }
        self.exchange(1, 0, ru, iu, rv, iv)
            || self.exchange(2, 0, ru, iu, rv, iv)
            || self.exchange(1, 1, ru, iu, rv, iv)
            || self.exchange(2, 1, ru, iu, rv, iv)
            || self.exchange(2, 2, ru, iu, rv, iv)
            || self.swap_tails(ru, iu, rv, iv)
    }

    /// First empty route of each type, tried for client `u`.
    fn empty_route_moves(&mut self, u: usize) -> bool {
        for vt in 0..self.data.vts.len() {
            let (a, b) = (self.type_range[vt], self.type_range[vt + 1]);
            if let Some(re) = (a..b).find(|&r| self.routes[r].is_empty()) {
                let ru = self.route_of[u];
                if self.routes[ru].k() > 1 && self.exchange(1, 0, ru, self.pos[u], re, 0) {
                    return true;
                }
            }
        }
        false
    }

    /// Best insertion of unrouted `u`: `(delta, route, after)`.
    fn best_insertion(&self, u: usize) -> Option<(i64, usize, usize)> {
        let mut best: Option<(i64, usize, usize)> = None;
        for &v in &self.data.neighbours[u] {
            let rv = self.route_of[v];
            if rv == NONE {
                continue;
            }
            self.consider_insert(u, rv, self.pos[v], &mut best);
            self.consider_insert(u, rv, self.pos[v] - 1, &mut best);
        }
        for vt in 0..self.data.vts.len() {
            let (a, b) = (self.type_range[vt], self.type_range[vt + 1]);
            if let Some(re) = (a..b).find(|&r| self.routes[r].is_empty()) {
                self.consider_insert(u, re, 0, &mut best);
            }
        }
        if best.is_none() {
            // Fallback: every position of every route.
            for r in 0..self.routes.len() {
                if self.routes[r].is_empty() {
                    continue;
                }
                for after in 0..=self.routes[r].k() {
                    self.consider_insert(u, r, after, &mut best);
                }
            }
        }
        best
    }

    fn consider_insert(
        &self,
        u: usize,
        r: usize,
        after: usize,
        best: &mut Option<(i64, usize, usize)>,
    ) {
        let props = [Prop::new(
            r,
            &[
                Seg::Before(r, after),
                Seg::Node(u),
                Seg::After(r, after + 1),
            ],
        )];
        let d = self.delta(&props, true);
        if d != i64::MAX && best.is_none_or(|b| d < b.0) {
            *best = Some((d, r, after));
        }
    }

    fn insert(&mut self, u: usize, r: usize, after: usize) {
        let props = [Prop::new(
            r,
            &[
                Seg::Before(r, after),
                Seg::Node(u),
                Seg::After(r, after + 1),
            ],
        )];
        self.apply(&props);
    }

    /// One pass structure of PyVRP's `search`: node operators until no improving move.
    fn search(&mut self) {
        let data = self.data;
        let mut order = std::mem::take(&mut self.order);
        let mut count = 0usize;
        'outer: loop {
            let mut improved = false;
            for &u in &order {
                count += 1;
                if count.is_multiple_of(32) && self.timed_out() {
                    break 'outer;
                }
                let last_tested = self.last_tested[u];
                self.last_tested[u] = self.num_moves;
                if self.route_of[u] == NONE {
                    if let Some((d, r, after)) = self.best_insertion(u)
                        && (data.required[u] || d < data.prize[u])
                    {
                        self.insert(u, r, after);
                        improved = true;
                    }
                    continue;
                }
                if !data.required[u] {
                    let ru = self.route_of[u];
                    let iu = self.pos[u];
                    let props = [Prop::new(
                        ru,
                        &[Seg::Before(ru, iu - 1), Seg::After(ru, iu + 1)],
                    )];
                    let d = self.delta(&props, true);
                    if d != i64::MAX && d + data.prize[u] < 0 {
                        self.apply(&props);
                        improved = true;
                        continue;
                    }
                }
                for k in 0..data.neighbours[u].len() {
                    let v = data.neighbours[u][k];
                    let rv = self.route_of[v];
                    if rv == NONE {
                        continue;
                    }
                    let ru = self.route_of[u];
                    if self.last_modified[ru] > last_tested || self.last_modified[rv] > last_tested
                    {
                        if self.node_ops(u, rv, self.pos[v]) {
                            improved = true;
                            continue;
                        }
                        let rv = self.route_of[v];
                        if self.pos[v] == 1 && self.node_ops(u, rv, 0) {
                            improved = true;
                        }
                    }
                }
                let ru = self.route_of[u];
                if self.last_modified[ru] > last_tested && self.empty_route_moves(u) {
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        self.order = std::mem::take(&mut order);
    }

    // ----- SWAP* ------------------------------------------------------------------

    fn intensify(&mut self) {
        let nr = self.routes.len();
        let mut count = 0usize;
        loop {
            let mut improved = false;
            for a in 0..nr {
                if self.routes[a].is_empty() {
                    continue;
                }
                let last = self.last_tested_route[a];
                self.last_tested_route[a] = self.num_moves;
                for b in a + 1..nr {
                    if self.routes[b].is_empty() || self.routes[a].is_empty() {
                        continue;
                    }
                    if !(self.last_modified[a] > last || self.last_modified[b] > last) {
                        continue;
                    }
                    if !self.routes[a].sector.overlap(&self.routes[b].sector) {
                        continue;
                    }
                    count += 1;
                    if count.is_multiple_of(8) && self.timed_out() {
                        return;
                    }
                    if self.swap_star(a, b) {
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// Distance-only top-3 insertion positions of each client of `from` into `into`.
    fn preprocess_insertions(&mut self, from: usize, into: usize) {
        let data = self.data;
        let (rf, ri) = (&self.routes[from], &self.routes[into]);
        let vt = &data.vts[ri.vt];
        for i in 1..=rf.k() {
            let u = rf.visits[i];
            let mut best = [InsertPos {
                cost: i64::MAX,
                after: NONE,
            }; 3];
            for p in 0..=ri.k() {
                let (a, b) = (ri.visits[p], ri.visits[p + 1]);
                let c = vt.unit_dist * (data.d(a, u) + data.d(u, b) - data.d(a, b));
                if c < best[2].cost {
                    let ins = InsertPos { cost: c, after: p };
                    if c < best[0].cost {
                        best[2] = best[1];
                        best[1] = best[0];
                        best[0] = ins;
                    } else if c < best[1].cost {
                        best[2] = best[1];
                        best[1] = ins;
                    } else {
                        best[2] = ins;
                    }
                }
            }
            self.best_ins[u] = best;
            // Distance-only removal delta.
            let (p, s) = (rf.visits[i - 1], rf.visits[i + 1]);
            self.removal[u] =
                data.vts[rf.vt].unit_dist * (data.d(p, s) - data.d(p, u) - data.d(u, s));
        }
    }

    /// Cheapest distance delta of inserting `u` into route `r` where `v`
    /// (at position `iv`) is removed; returns (delta, after-position).
    fn best_insert_without(&self, u: usize, r: usize, iv: usize) -> (i64, usize) {
        let data = self.data;
        let rt = &self.routes[r];
        let vt = &data.vts[rt.vt];
        let (p, v, s) = (rt.visits[iv - 1], rt.visits[iv], rt.visits[iv + 1]);
        // In place of v.
        let mut best = (
            vt.unit_dist * (data.d(p, u) + data.d(u, s) - data.d(p, s)),
            iv, // marker: in place
        );
        let _ = v;
        for ins in &self.best_ins[u] {
            if ins.after == NONE {
                break;
            }
            if ins.after != iv && ins.after != iv - 1 {
                if ins.cost < best.0 {
                    best = (ins.cost, ins.after);
                }
                break;
            }
        }
        best
    }

    fn swap_star(&mut self, a: usize, b: usize) -> bool {
        let data = self.data;
        self.preprocess_insertions(a, b);
        self.preprocess_insertions(b, a);
        let dims = data.dims;
        let (vta, vtb) = (&data.vts[self.routes[a].vt], &data.vts[self.routes[b].vt]);
        let mut best = (0i64, NONE, NONE, 0usize, 0usize);
        let (ka, kb) = (self.routes[a].k(), self.routes[b].k());
        let la = &self.routes[a].lb[(ka + 1) * dims..(ka + 2) * dims];
        let lb = &self.routes[b].lb[(kb + 1) * dims..(kb + 2) * dims];
        for iu in 1..=ka {
            let u = self.routes[a].visits[iu];
            if data.has_skills && data.skills[u] & !vtb.skills != 0 {
                continue;
            }
            for iv in 1..=kb {
                let v = self.routes[b].visits[iv];
                if data.has_skills && data.skills[v] & !vta.skills != 0 {
                    continue;
                }
                // Approximate load penalty change (deliveries/pickups swapped).
                let mut delta = 0;
                for d in 0..dims {
                    let (du, dv) = (
                        data.delivery[u * dims + d].max(data.pickup[u * dims + d]),
                        data.delivery[v * dims + d].max(data.pickup[v * dims + d]),
                    );
                    delta += self.ce.load_pen(d, la[d].load - du + dv - vta.cap[d])
                        - self.ce.load_pen(d, la[d].load - vta.cap[d])
                        + self.ce.load_pen(d, lb[d].load - dv + du - vtb.cap[d])
                        - self.ce.load_pen(d, lb[d].load - vtb.cap[d]);
                }
                delta += self.removal[u] + self.removal[v];
                if delta >= best.0 {
                    continue;
                }
                let (cu, pu) = self.best_insert_without(u, b, iv);
                delta += cu;
                if delta >= best.0 {
                    continue;
                }
                let (cv, pv) = self.best_insert_without(v, a, iu);
                delta += cv;
                if delta < best.0 {
                    best = (delta, u, v, pu, pv);
                }
            }
        }
        if best.1 == NONE {
            return false;
        }
        let (_, u, v, pu, pv) = best;
        let (iu, iv) = (self.pos[u], self.pos[v]);
        // Route a: remove u (at iu), insert v after pv (pv == iu: in place).
        let pa = Self::swap_star_prop(a, iu, b, iv, pv);
        let pb = Self::swap_star_prop(b, iv, a, iu, pu);
        let props = [pa, pb];
        let d = self.delta(&props, false);
        if d < 0 {
            self.apply(&props);
            true
        } else {
            false
        }
    }

    /// Route `r` with its client at `ir` removed and client at `(o, io)`
    /// inserted after position `after` (or in place when `after == ir`).
    fn swap_star_prop(r: usize, ir: usize, o: usize, io: usize, after: usize) -> Prop {
        let ins = Seg::Mid(o, io, io);
        if after == ir || after == ir - 1 {
            Prop::new(r, &[Seg::Before(r, ir - 1), ins, Seg::After(r, ir + 1)])
        } else if after < ir {
            Prop::new(
                r,
                &[
                    Seg::Before(r, after),
                    ins,
                    Seg::Mid(r, after + 1, ir - 1),
                    Seg::After(r, ir + 1),
                ],
            )
        } else {
            Prop::new(
                r,
                &[
                    Seg::Before(r, ir - 1),
                    Seg::Mid(r, ir + 1, after),
                    ins,
                    Seg::After(r, after + 1),
                ],
            )
        }
    }
}

//! Route-based individuals, penalised costs and broken-pairs distance.

use super::data::Data;

/// Penalty weights for infeasibility (per unit of excess load per dimension,
/// per unit of time warp).
#[derive(Debug, Clone)]
pub struct CostEval {
    pub load: Vec<f64>,
    pub tw: f64,
}

impl CostEval {
    #[inline]
    pub fn load_pen(&self, d: usize, excess: i64) -> i64 {
        if excess <= 0 {
            0
        } else {
            (self.load[d] * excess as f64).ceil() as i64
        }
    }

    #[inline]
    pub fn tw_pen(&self, tw: i64) -> i64 {
        if tw <= 0 {
            0
        } else {
            (self.tw * tw as f64).ceil() as i64
        }
    }

    /// The same weights multiplied by `f`.
    pub fn scaled(&self, f: f64) -> Self {
        Self {
            load: self.load.iter().map(|x| x * f).collect(),
            tw: self.tw * f,
        }
    }
}

/// A solution as seen by the genetic algorithm.
#[derive(Debug, Clone)]
pub struct Indiv {
    /// Non-empty routes: (vehicle type, client locations).
    pub routes: Vec<(usize, Vec<usize>)>,
    /// Fixed + distance + duration costs + prizes of unserved optional clients.
    pub base_cost: i64,
    /// Total distance.
    pub distance: i64,
    /// Total excess load per dimension.
    pub excess: Vec<i64>,
    /// Total time warp (incl. excess duration).
    pub time_warp: i64,
    /// Required clients not routed.
    pub missing: usize,
    /// Predecessor per location (`NONE` if unrouted, `DEPOT` for a depot).
    pub pred: Vec<u32>,
    /// Successor per location.
    pub succ: Vec<u32>,
}

const DEPOT: u32 = u32::MAX - 1;
const UNROUTED: u32 = u32::MAX;

impl Indiv {
    /// Builds neighbour arrays for the given routes; costs must be filled in by the caller.
    pub fn from_routes(data: &Data, routes: Vec<(usize, Vec<usize>)>) -> Self {
        let mut pred = vec![UNROUTED; data.n];
        let mut succ = vec![UNROUTED; data.n];
        for (_, r) in &routes {
            for (k, &c) in r.iter().enumerate() {
                pred[c] = if k == 0 { DEPOT } else { r[k - 1] as u32 };
                succ[c] = if k + 1 == r.len() {
                    DEPOT
                } else {
                    r[k + 1] as u32
                };
            }
        }
        Self {
            routes,
            base_cost: 0,
            distance: 0,
            excess: vec![0; data.dims],
            time_warp: 0,
            missing: 0,
            pred,
            succ,
        }
    }

    /// Whether capacity, time windows, and required clients are all satisfied.
    pub fn feasible(&self) -> bool {
        self.missing == 0 && self.time_warp == 0 && self.excess.iter().all(|&e| e == 0)
    }

    /// Penalised cost under `ce`.
    pub fn pen_cost(&self, ce: &CostEval) -> i64 {
        let mut c = self.base_cost + ce.tw_pen(self.time_warp);
        for (d, &e) in self.excess.iter().enumerate() {
            c += ce.load_pen(d, e);
        }
        c + self.missing as i64 * 1_000_000_000
    }

    /// Broken-pairs distance in `[0, 1]` (PyVRP): share of client neighbour
    /// relations (predecessor and successor) that differ.
    pub fn broken_pairs(&self, o: &Self, nd: usize) -> f64 {
        let n = self.pred.len();
        if n <= nd {
            return 0.0;
        }
        let mut diff = 0usize;
        for c in nd..n {
            diff += (self.pred[c] != o.pred[c]) as usize + (self.succ[c] != o.succ[c]) as usize;
        }
        diff as f64 / (2 * (n - nd)) as f64
    }

    /// Whether `self` and `o` visit the same clients in the same order per route
    /// (ignores route order).
    pub fn same_as(&self, o: &Self) -> bool {
        self.pred == o.pred && self.succ == o.succ && self.base_cost == o.base_cost
    }
}

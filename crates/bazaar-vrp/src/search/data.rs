//! Flat, cache-friendly copy of the problem used by the search, plus the
//! segment types used for O(1) move evaluation (Vidal et al. 2013; PyVRP).

use crate::problem::Problem;

/// Sentinel for "no route"/"no node".
pub const NONE: usize = usize::MAX;

/// Load segment of one capacity dimension (PyVRP `LoadSegment`): deliveries
/// and pickups of a sequence of visits and the maximum load carried along it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSeg {
    pub delivery: i64,
    pub pickup: i64,
    pub load: i64,
}

impl LoadSeg {
    #[inline]
    pub fn single(delivery: i64, pickup: i64) -> Self {
        Self {
            delivery,
            pickup,
            load: delivery.max(pickup),
        }
    }

    #[inline]
    pub fn merge(self, o: Self) -> Self {
        Self {
            delivery: self.delivery + o.delivery,
            pickup: self.pickup + o.pickup,
            load: (self.load + o.delivery).max(o.load + self.pickup),
        }
    }
}

/// Duration segment (Vidal et al. 2013 time-window concatenation): total
/// duration (travel + service + wait), accumulated time warp and the
/// earliest/latest start times that achieve them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurSeg {
    pub duration: i64,
    pub time_warp: i64,
    pub early: i64,
    pub late: i64,
}

impl DurSeg {
    #[inline]
    pub fn single(service: i64, early: i64, late: i64) -> Self {
        Self {
            duration: service,
            time_warp: 0,
            early,
            late,
        }
    }

    /// Concatenates `self`, an edge of duration `edge`, then `o`.
    #[inline]
    pub fn merge(self, edge: i64, o: Self) -> Self {
        let at_second = self.duration - self.time_warp + edge;
        let diff_wait = (o.early - at_second - self.late).max(0);
        let diff_tw = (self.early + at_second - o.late).max(0);
        Self {
            duration: self.duration + o.duration + edge + diff_wait,
            time_warp: self.time_warp + o.time_warp + diff_tw,
            early: (o.early - at_second).max(self.early) - diff_wait,
            late: (o.late - at_second).min(self.late) + diff_tw,
        }
    }
}

/// Vehicle type, flattened.
#[derive(Debug, Clone)]
pub struct Vt {
    pub cap: Vec<i64>,
    pub start: usize,
    pub end: usize,
    pub fixed: i64,
    pub unit_dist: i64,
    pub unit_dur: i64,
    pub start_seg: DurSeg,
    pub end_seg: DurSeg,
    pub max_dur: i64,
    pub skills: u64,
    pub num: usize,
}

/// Flattened problem data. Locations: depots `0..nd`, clients `nd..n`.
#[derive(Debug, Clone)]
pub struct Data {
    pub nd: usize,
    pub n: usize,
    pub dims: usize,
    pub dist: Vec<i64>,
    pub dur: Vec<i64>,
    pub delivery: Vec<i64>,
    pub pickup: Vec<i64>,
    pub service: Vec<i64>,
    pub tw_e: Vec<i64>,
    pub tw_l: Vec<i64>,
    pub prize: Vec<i64>,
    pub required: Vec<bool>,
    pub skills: Vec<u64>,
    pub coords: Vec<(f64, f64)>,
    pub vts: Vec<Vt>,
    /// Whether durations/time windows can matter at all.
    pub has_time: bool,
    /// Whether any client has a pickup.
    pub has_pickups: bool,
    /// Whether any client needs a skill.
    pub has_skills: bool,
    /// Granular neighbourhoods, per location (empty for depots).
    pub neighbours: Vec<Vec<usize>>,
    pub centroid: (f64, f64),
}

impl Data {
    pub fn new(p: &Problem, num_neighbours: usize) -> Self {
        let nd = p.depots.len();
        let n = nd + p.stops.len();
        let dims = p.dims;
        let mut delivery = vec![0; n * dims];
        let mut pickup = vec![0; n * dims];
        let mut service = vec![0; n];
        let mut tw_e = vec![0; n];
        let mut tw_l = vec![0; n];
        let mut prize = vec![0; n];
        let mut required = vec![false; n];
        let mut skills = vec![0; n];
        let mut coords = vec![(0.0, 0.0); n];
        for (i, d) in p.depots.iter().enumerate() {
            tw_e[i] = d.time_window.0;
            tw_l[i] = d.time_window.1;
            coords[i] = d.coords.unwrap_or((0.0, 0.0));
        }
        for (s, st) in p.stops.iter().enumerate() {
            let i = nd + s;
            for d in 0..dims {
                delivery[i * dims + d] = st.delivery[d];
                pickup[i * dims + d] = st.pickup[d];
            }
            service[i] = st.service_duration;
            tw_e[i] = st.time_window.0;
            tw_l[i] = st.time_window.1;
            prize[i] = st.prize;
            required[i] = st.required;
            skills[i] = p.stop_skills[s];
            coords[i] = st.coords.unwrap_or((0.0, 0.0));
        }
        let vts: Vec<Vt> = p
            .vehicle_types
            .iter()
            .enumerate()
            .map(|(v, vt)| {
                let sd = &p.depots[vt.start_depot];
                let ed = &p.depots[vt.end_depot];
                let se = sd.time_window.0.max(vt.shift.0);
                let sl = sd.time_window.1.min(vt.shift.1);
                let ee = ed.time_window.0.max(vt.shift.0);
                let el = ed.time_window.1.min(vt.shift.1);
                Vt {
                    cap: vt.capacity.clone(),
                    start: vt.start_depot,
                    end: vt.end_depot,
                    fixed: vt.fixed_cost,
                    unit_dist: vt.unit_distance_cost,
                    unit_dur: vt.unit_duration_cost,
                    start_seg: DurSeg::single(0, se, sl.max(se)),
                    end_seg: DurSeg::single(0, ee, el.max(ee)),
                    max_dur: vt.max_duration.unwrap_or(i64::MAX / 4),
                    skills: p.vehicle_skills[v],
                    num: vt.num_available,
                }
            })
            .collect();
        let big = i64::MAX / 8;
        let has_tw = p
            .stops
            .iter()
            .any(|s| s.time_window.0 > 0 || s.time_window.1 < big)
            || p.depots
                .iter()
                .any(|d| d.time_window.0 > 0 || d.time_window.1 < big)
            || p.vehicle_types
                .iter()
                .any(|v| v.shift.0 > 0 || v.shift.1 < big || v.max_duration.is_some());
        let has_dur_cost = p.vehicle_types.iter().any(|v| v.unit_duration_cost > 0);
        let mut data = Data {
            nd,
            n,
            dims,
            dist: p.distance.data().to_vec(),
            dur: p.duration.data().to_vec(),
            delivery,
            pickup,
            service,
            tw_e,
            tw_l,
            prize,
            required,
            skills,
            coords,
            vts,
            has_time: has_tw || has_dur_cost,
            has_pickups: p.stops.iter().any(|s| s.pickup.iter().any(|&x| x > 0)),
            has_skills: p.stop_skills.iter().any(|&m| m != 0),
            neighbours: Vec::new(),
            centroid: (0.0, 0.0),
        };
        let nc = (n - nd).max(1) as f64;
        let (sx, sy) = data.coords[nd..]
            .iter()
            .fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1));
        data.centroid = (sx / nc, sy / nc);
        data.neighbours = data.compute_neighbours(num_neighbours);
        data
    }

    #[inline]
    pub fn d(&self, i: usize, j: usize) -> i64 {
        self.dist[i * self.n + j]
    }

    #[inline]
    pub fn t(&self, i: usize, j: usize) -> i64 {
        self.dur[i * self.n + j]
    }

    #[inline]
    pub fn is_depot(&self, i: usize) -> bool {
        i < self.nd
    }

    #[inline]
    pub fn load_single(&self, i: usize, d: usize) -> LoadSeg {
        LoadSeg::single(
            self.delivery[i * self.dims + d],
            self.pickup[i * self.dims + d],
        )
    }

    #[inline]
    pub fn dur_single(&self, i: usize) -> DurSeg {
        DurSeg::single(self.service[i], self.tw_e[i], self.tw_l[i])
    }

    /// Granular neighbourhoods with PyVRP's proximity measure
    /// (Vidal et al. 2013): edge cost plus weighted minimum wait time and
    /// time warp, made symmetric, minus prizes.
    fn compute_neighbours(&self, k: usize) -> Vec<Vec<usize>> {
        let (nd, n) = (self.nd, self.n);
        let nc = n - nd;
        let k = k.min(nc.saturating_sub(1));
        let unit_dist = self
            .vts
            .iter()
            .map(|v| v.unit_dist)
            .min()
            .unwrap_or(1)
            .max(0) as f64;
        let unit_dur = self
            .vts
            .iter()
            .map(|v| v.unit_dur)
            .min()
            .unwrap_or(0)
            .max(0) as f64;
        let prox = |i: usize, j: usize| -> f64 {
            let mut p = unit_dist * self.d(i, j) as f64 + unit_dur * self.t(i, j) as f64;
            if self.has_time {
                let wait =
                    (self.tw_e[j] - self.t(i, j) - self.service[i] - self.tw_l[i]).max(0) as f64;
                let tw =
                    (self.tw_e[i] + self.service[i] + self.t(i, j) - self.tw_l[j]).max(0) as f64;
                p += 0.2 * wait + tw;
            }
            p - self.prize[j] as f64
        };
        let mut out = vec![Vec::new(); n];
        let mut cand: Vec<(f64, usize)> = Vec::with_capacity(nc);
        for i in nd..n {
            cand.clear();
            for j in nd..n {
                if j != i {
                    cand.push((prox(i, j).min(prox(j, i)), j));
                }
            }
            cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            out[i] = cand.iter().take(k).map(|c| c.1).collect();
        }
        out
    }
}

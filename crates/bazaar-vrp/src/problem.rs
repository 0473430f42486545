//! The routing problem model: depots, stops, a heterogeneous fleet and the
//! distance/duration matrices, built and validated by [`ProblemBuilder`].
//!
//! Locations are numbered depots first, then stops, in the order they were
//! added: location `i < num_depots` is depot `i`, location `num_depots + s` is
//! stop `s`. Both matrices are indexed by location.
//!
//! All quantities are integers. Callers pick a fixed scaling (e.g. tenths of a
//! kilometre, seconds) so that values are exact.

use std::collections::BTreeMap;
use std::fmt;

/// Maximum number of distinct skills across the whole problem.
pub const MAX_SKILLS: usize = 64;

/// A square integer matrix indexed by location (depots first, then stops).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    n: usize,
    data: Vec<i64>,
}

impl Matrix {
    /// Creates an `n × n` matrix from row-major data.
    ///
    /// Returns [`ProblemError::MatrixSize`] if `data.len() != n * n`.
    pub fn new(n: usize, data: Vec<i64>) -> Result<Self, ProblemError> {
        if data.len() != n * n {
            return Err(ProblemError::MatrixSize {
                which: "matrix",
                expected: n * n,
                got: data.len(),
            });
        }
        Ok(Self { n, data })
    }

    /// Creates an `n × n` matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> i64) -> Self {
        let mut data = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                data.push(f(i, j));
            }
        }
        Self { n, data }
    }

    /// Number of rows (= columns).
    pub fn size(&self) -> usize {
        self.n
    }

    /// Entry `(i, j)`. Panics if out of range (indices are validated on build).
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> i64 {
        self.data[i * self.n + j]
    }

    /// Row-major data.
    pub fn data(&self) -> &[i64] {
        &self.data
    }
}

/// A depot: where vehicles start and end. A vehicle's current position during
/// re-planning is also modelled as a depot (with a time window starting now).
#[derive(Debug, Clone, PartialEq)]
pub struct Depot {
    /// Human-readable identifier used in error messages.
    pub name: String,
    /// Optional planar coordinates (used for neighbourhoods and crossover).
    pub coords: Option<(f64, f64)>,
    /// Opening time window `(earliest, latest)`.
    pub time_window: (i64, i64),
}

impl Depot {
    /// A depot open all the time.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            coords: None,
            time_window: (0, i64::MAX / 4),
        }
    }
}

/// A stop (customer) with deliveries and/or pickups.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// Human-readable identifier used in error messages.
    pub name: String,
    /// Optional planar coordinates (used for neighbourhoods and crossover).
    pub coords: Option<(f64, f64)>,
    /// Amount delivered here (loaded at the depot), one entry per capacity dimension.
    pub delivery: Vec<i64>,
    /// Amount picked up here (carried to the end depot), one entry per dimension.
    pub pickup: Vec<i64>,
    /// Service duration at the stop.
    pub service_duration: i64,
    /// Time window `(earliest, latest)` for the start of service.
    pub time_window: (i64, i64),
    /// Whether the stop must be served. Optional stops may be left out at the cost of `prize`.
    pub required: bool,
    /// Cost incurred when an optional stop is not served (ignored for required stops).
    pub prize: i64,
    /// Skills a vehicle must have to serve this stop (e.g. `"cold-chain"`).
    pub skills: Vec<String>,
}

impl Stop {
    /// A required stop with the given deliveries, no pickups, no time window.
    pub fn new(name: impl Into<String>, delivery: Vec<i64>) -> Self {
        let dims = delivery.len();
        Self {
            name: name.into(),
            coords: None,
            delivery,
            pickup: vec![0; dims],
            service_duration: 0,
            time_window: (0, i64::MAX / 4),
            required: true,
            prize: 0,
            skills: Vec::new(),
        }
    }
}

/// A vehicle type: `num_available` identical vehicles.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleType {
    /// Human-readable identifier used in error messages.
    pub name: String,
    /// Number of vehicles of this type.
    pub num_available: usize,
    /// Capacity per dimension.
    pub capacity: Vec<i64>,
    /// Depot index where the vehicle starts.
    pub start_depot: usize,
    /// Depot index where the vehicle ends.
    pub end_depot: usize,
    /// Cost incurred when the vehicle is used.
    pub fixed_cost: i64,
    /// Cost per unit of distance.
    pub unit_distance_cost: i64,
    /// Cost per unit of route duration.
    pub unit_duration_cost: i64,
    /// Shift window `(earliest start, latest end)`.
    pub shift: (i64, i64),
    /// Maximum route duration, if any.
    pub max_duration: Option<i64>,
    /// Skills the vehicle has.
    pub skills: Vec<String>,
}

impl VehicleType {
    /// `num_available` vehicles with the given capacity, starting and ending at depot 0,
    /// costing one per unit of distance.
    pub fn new(name: impl Into<String>, num_available: usize, capacity: Vec<i64>) -> Self {
        Self {
            name: name.into(),
            num_available,
            capacity,
            start_depot: 0,
            end_depot: 0,
            fixed_cost: 0,
            unit_distance_cost: 1,
            unit_duration_cost: 0,
            shift: (0, i64::MAX / 4),
            max_duration: None,
            skills: Vec::new(),
        }
    }
}

/// Why a problem is invalid. Each variant names the offending stop/vehicle/depot.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemError {
    /// The fleet has no vehicles.
    EmptyFleet,
    /// There is no depot.
    NoDepot,
    /// A quantity vector has the wrong number of capacity dimensions.
    Dimensions {
        /// Which entity (`stop 'x'` / `vehicle type 'y'`).
        entity: String,
        /// Expected number of dimensions.
        expected: usize,
        /// Number found.
        got: usize,
    },
    /// A matrix has the wrong size.
    MatrixSize {
        /// `"distance"` or `"duration"`.
        which: &'static str,
        /// Expected number of entries.
        expected: usize,
        /// Number found.
        got: usize,
    },
    /// No matrix was given and some location has no coordinates to compute one.
    MissingCoordinates {
        /// The location lacking coordinates.
        entity: String,
    },
    /// A negative quantity, duration or matrix entry.
    Negative {
        /// Which entity.
        entity: String,
        /// Which field.
        field: &'static str,
    },
    /// A time window whose start is after its end.
    TimeWindow {
        /// Which entity.
        entity: String,
        /// Window start.
        start: i64,
        /// Window end.
        end: i64,
    },
    /// A vehicle type refers to a depot that does not exist.
    UnknownDepot {
        /// The vehicle type.
        vehicle: String,
        /// The depot index given.
        depot: usize,
    },
    /// A stop needs a skill that no vehicle has.
    UnknownSkill {
        /// The stop.
        stop: String,
        /// The skill.
        skill: String,
    },
    /// More than [`MAX_SKILLS`] distinct skills.
    TooManySkills,
    /// A required stop no vehicle can serve, with the reason.
    ImpossibleStop {
        /// The stop.
        stop: String,
        /// Why (e.g. demand larger than every compatible vehicle's capacity).
        reason: String,
    },
}

impl fmt::Display for ProblemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyFleet => write!(f, "the fleet is empty: no vehicle available"),
            Self::NoDepot => write!(f, "the problem has no depot"),
            Self::Dimensions {
                entity,
                expected,
                got,
            } => write!(
                f,
                "{entity}: expected {expected} capacity dimension(s), got {got}"
            ),
            Self::MatrixSize {
                which,
                expected,
                got,
            } => write!(
                f,
                "{which} matrix has {got} entries, expected {expected} (locations squared)"
            ),
            Self::MissingCoordinates { entity } => write!(
                f,
                "{entity} has no coordinates and no distance matrix was given"
            ),
            Self::Negative { entity, field } => write!(f, "{entity}: negative {field}"),
            Self::TimeWindow { entity, start, end } => {
                write!(f, "{entity}: time window start {start} is after end {end}")
            }
            Self::UnknownDepot { vehicle, depot } => {
                write!(f, "vehicle type '{vehicle}': depot {depot} does not exist")
            }
            Self::UnknownSkill { stop, skill } => {
                write!(f, "stop '{stop}' needs skill '{skill}' that no vehicle has")
            }
            Self::TooManySkills => write!(f, "more than {MAX_SKILLS} distinct skills"),
            Self::ImpossibleStop { stop, reason } => {
                write!(f, "required stop '{stop}' cannot be served: {reason}")
            }
        }
    }
}

impl std::error::Error for ProblemError {}

/// A validated routing problem. Build it with [`ProblemBuilder`].
#[derive(Debug, Clone)]
pub struct Problem {
    pub(crate) dims: usize,
    pub(crate) depots: Vec<Depot>,
    pub(crate) stops: Vec<Stop>,
    pub(crate) vehicle_types: Vec<VehicleType>,
    pub(crate) distance: Matrix,
    pub(crate) duration: Matrix,
    pub(crate) stop_skills: Vec<u64>,
    pub(crate) vehicle_skills: Vec<u64>,
}

impl Problem {
    /// Number of capacity dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// The depots.
    pub fn depots(&self) -> &[Depot] {
        &self.depots
    }
    /// The stops.
    pub fn stops(&self) -> &[Stop] {
        &self.stops
    }
    /// The vehicle types.
    pub fn vehicle_types(&self) -> &[VehicleType] {
        &self.vehicle_types
    }
    /// Distance matrix over locations (depots first, then stops).
    pub fn distance(&self) -> &Matrix {
        &self.distance
    }
    /// Duration (travel time) matrix over locations.
    pub fn duration(&self) -> &Matrix {
        &self.duration
    }
    /// Number of locations (`depots + stops`).
    pub fn num_locations(&self) -> usize {
        self.depots.len() + self.stops.len()
    }
    /// Location index of stop `s`.
    pub fn stop_location(&self, s: usize) -> usize {
        self.depots.len() + s
    }
    /// Whether vehicle type `v` has every skill stop `s` needs.
    pub fn compatible(&self, v: usize, s: usize) -> bool {
        self.stop_skills[s] & !self.vehicle_skills[v] == 0
    }
}

/// How to derive matrices from coordinates when none are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EuclideanRounding {
    /// `round(scale · d)`.
    Round,
    /// `floor(scale · d)` (e.g. Solomon's one-decimal truncation with scale 10).
    Floor,
    /// `ceil(scale · d)`.
    Ceil,
}

/// Builder for [`Problem`]; [`ProblemBuilder::build`] validates everything.
#[derive(Debug, Clone)]
pub struct ProblemBuilder {
    dims: usize,
    depots: Vec<Depot>,
    stops: Vec<Stop>,
    vehicle_types: Vec<VehicleType>,
    distance: Option<Matrix>,
    duration: Option<Matrix>,
    euclid: (i64, EuclideanRounding),
}

impl ProblemBuilder {
    /// A builder for a problem with `dims` capacity dimensions (e.g. 2 for kg and m³).
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            depots: Vec::new(),
            stops: Vec::new(),
            vehicle_types: Vec::new(),
            distance: None,
            duration: None,
            euclid: (1, EuclideanRounding::Round),
        }
    }

    /// Adds a depot; returns its depot index.
    pub fn add_depot(&mut self, depot: Depot) -> usize {
        self.depots.push(depot);
        self.depots.len() - 1
    }

    /// Adds a stop; returns its stop index.
    pub fn add_stop(&mut self, stop: Stop) -> usize {
        self.stops.push(stop);
        self.stops.len() - 1
    }

    /// Adds a vehicle type; returns its index.
    pub fn add_vehicle_type(&mut self, vt: VehicleType) -> usize {
        self.vehicle_types.push(vt);
        self.vehicle_types.len() - 1
    }

    /// Sets the distance matrix (locations: depots first, then stops).
    pub fn distance_matrix(&mut self, m: Matrix) -> &mut Self {
        self.distance = Some(m);
        self
    }

    /// Sets the duration matrix. Defaults to the distance matrix.
    pub fn duration_matrix(&mut self, m: Matrix) -> &mut Self {
        self.duration = Some(m);
        self
    }

    /// When no distance matrix is given, compute it from coordinates as
    /// `rounding(scale · euclidean distance)`.
    pub fn euclidean(&mut self, scale: i64, rounding: EuclideanRounding) -> &mut Self {
        self.euclid = (scale, rounding);
        self
    }

    /// Validates and builds the problem.
    pub fn build(self) -> Result<Problem, ProblemError> {
        let dims = self.dims;
        if self.depots.is_empty() {
            return Err(ProblemError::NoDepot);
        }
        if self.vehicle_types.iter().all(|v| v.num_available == 0) {
            return Err(ProblemError::EmptyFleet);
        }
        let n_loc = self.depots.len() + self.stops.len();
        for d in &self.depots {
            let e = format!("depot '{}'", d.name);
            if d.time_window.0 > d.time_window.1 {
                return Err(ProblemError::TimeWindow {
                    entity: e,
                    start: d.time_window.0,
                    end: d.time_window.1,
                });
            }
        }
        for s in &self.stops {
            let e = format!("stop '{}'", s.name);
            for (v, what) in [(&s.delivery, "delivery"), (&s.pickup, "pickup")] {
                if v.len() != dims {
                    return Err(ProblemError::Dimensions {
                        entity: format!("{e} {what}"),
                        expected: dims,
                        got: v.len(),
                    });
                }
                if v.iter().any(|&x| x < 0) {
                    return Err(ProblemError::Negative {
                        entity: e,
                        field: what,
                    });
                }
            }
            if s.service_duration < 0 {
                return Err(ProblemError::Negative {
                    entity: e,
                    field: "service duration",
                });
            }
            if s.prize < 0 {
                return Err(ProblemError::Negative {
                    entity: e,
                    field: "prize",
                });
            }
            if s.time_window.0 > s.time_window.1 {
                return Err(ProblemError::TimeWindow {
                    entity: e,
                    start: s.time_window.0,
                    end: s.time_window.1,
                });
            }
        }
        for v in &self.vehicle_types {
            let e = format!("vehicle type '{}'", v.name);
            if v.capacity.len() != dims {
                return Err(ProblemError::Dimensions {
                    entity: e,
                    expected: dims,
                    got: v.capacity.len(),
                });
            }
            if v.capacity.iter().any(|&x| x < 0) {
                return Err(ProblemError::Negative {
                    entity: e,
                    field: "capacity",
                });
            }
            for dep in [v.start_depot, v.end_depot] {
                if dep >= self.depots.len() {
                    return Err(ProblemError::UnknownDepot {
                        vehicle: v.name.clone(),
                        depot: dep,
                    });
                }
            }
            if v.shift.0 > v.shift.1 {
                return Err(ProblemError::TimeWindow {
                    entity: e,
                    start: v.shift.0,
                    end: v.shift.1,
                });
            }
            if v.max_duration.is_some_and(|m| m < 0) {
                return Err(ProblemError::Negative {
                    entity: e,
                    field: "max duration",
                });
            }
            if v.fixed_cost < 0 || v.unit_distance_cost < 0 || v.unit_duration_cost < 0 {
                return Err(ProblemError::Negative {
                    entity: e,
                    field: "cost",
                });
            }
        }

        // Skills → bit masks.
        let mut skill_ids: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &self.vehicle_types {
            for s in &v.skills {
                let next = skill_ids.len();
                skill_ids.entry(s.as_str()).or_insert(next);
            }
        }
        if skill_ids.len() > MAX_SKILLS {
            return Err(ProblemError::TooManySkills);
        }
        let mask = |skills: &[String]| -> u64 {
            skills
                .iter()
                .filter_map(|s| skill_ids.get(s.as_str()))
                .fold(0u64, |m, &i| m | (1u64 << i))
        };
        let vehicle_skills: Vec<u64> = self.vehicle_types.iter().map(|v| mask(&v.skills)).collect();
        let mut stop_skills = Vec::with_capacity(self.stops.len());
        for s in &self.stops {
            for sk in &s.skills {
                if !skill_ids.contains_key(sk.as_str()) {
                    return Err(ProblemError::UnknownSkill {
                        stop: s.name.clone(),
                        skill: sk.clone(),
                    });
                }
            }
            stop_skills.push(mask(&s.skills));
        }

        // Matrices.
        let coords = |i: usize| -> Option<(f64, f64)> {
            if i < self.depots.len() {
                self.depots[i].coords
            } else {
                self.stops[i - self.depots.len()].coords
            }
        };
        let loc_name = |i: usize| -> String {
            if i < self.depots.len() {
                format!("depot '{}'", self.depots[i].name)
            } else {
                format!("stop '{}'", self.stops[i - self.depots.len()].name)
            }
        };
        let distance = match self.distance {
            Some(m) => {
                if m.size() != n_loc {
                    return Err(ProblemError::MatrixSize {
                        which: "distance",
                        expected: n_loc * n_loc,
                        got: m.data().len(),
                    });
                }
                m
            }
            None => {
                let mut pts = Vec::with_capacity(n_loc);
                for i in 0..n_loc {
                    match coords(i) {
                        Some(p) => pts.push(p),
                        None => {
                            return Err(ProblemError::MissingCoordinates {
                                entity: loc_name(i),
                            });
                        }
                    }
                }
                let (scale, rounding) = self.euclid;
                Matrix::from_fn(n_loc, |i, j| {
                    let (dx, dy) = (pts[i].0 - pts[j].0, pts[i].1 - pts[j].1);
                    let d = (dx * dx + dy * dy).sqrt() * scale as f64;
                    let r = match rounding {
                        EuclideanRounding::Round => d.round(),
                        // Guard against 29.999999 when the true value is 30.
                        EuclideanRounding::Floor => (d + 1e-9).floor(),
                        EuclideanRounding::Ceil => (d - 1e-9).ceil(),
                    };
                    r as i64
                })
            }
        };
        let duration = match self.duration {
            Some(m) => {
                if m.size() != n_loc {
                    return Err(ProblemError::MatrixSize {
                        which: "duration",
                        expected: n_loc * n_loc,
                        got: m.data().len(),
                    });
                }
                m
            }
            None => distance.clone(),
        };
        for (m, which) in [(&distance, "distance"), (&duration, "duration")] {
            if let Some(k) = m.data().iter().position(|&x| x < 0) {
                return Err(ProblemError::Negative {
                    entity: format!("{} → {}", loc_name(k / n_loc), loc_name(k % n_loc)),
                    field: if which == "distance" {
                        "distance"
                    } else {
                        "duration"
                    },
                });
            }
        }

        let problem = Problem {
            dims,
            depots: self.depots,
            stops: self.stops,
            vehicle_types: self.vehicle_types,
            distance,
            duration,
            stop_skills,
            vehicle_skills,
        };

        // Every required stop must be servable alone by some vehicle.
        for (s, stop) in problem.stops.iter().enumerate() {
            if !stop.required {
                continue;
            }
            let mut reasons = Vec::new();
            let mut ok = false;
            for (v, vt) in problem.vehicle_types.iter().enumerate() {
                if vt.num_available == 0 {
                    continue;
                }
                if let Some(r) = single_stop_infeasibility(&problem, v, s) {
                    reasons.push(format!("vehicle type '{}': {r}", vt.name));
                } else {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(ProblemError::ImpossibleStop {
                    stop: stop.name.clone(),
                    reason: reasons.join("; "),
                });
            }
        }
        Ok(problem)
    }
}

/// Why vehicle type `v` cannot serve stop `s` on a route of its own, if it cannot.
pub(crate) fn single_stop_infeasibility(p: &Problem, v: usize, s: usize) -> Option<String> {
    let vt = &p.vehicle_types[v];
    let stop = &p.stops[s];
    if !p.compatible(v, s) {
        return Some("lacks a required skill".into());
    }
    for d in 0..p.dims {
        let need = stop.delivery[d].max(stop.pickup[d]);
        if need > vt.capacity[d] {
            return Some(format!(
                "demand {need} in dimension {d} exceeds capacity {}",
                vt.capacity[d]
            ));
        }
    }
    let loc = p.stop_location(s);
    let sd = &p.depots[vt.start_depot];
    let ed = &p.depots[vt.end_depot];
    let depart = sd.time_window.0.max(vt.shift.0);
    let arrive = depart.saturating_add(p.duration.get(vt.start_depot, loc));
    let begin = arrive.max(stop.time_window.0);
    if begin > stop.time_window.1 {
        return Some(format!(
            "earliest arrival {arrive} is after the stop's window end {}",
            stop.time_window.1
        ));
    }
    let back = begin
        .saturating_add(stop.service_duration)
        .saturating_add(p.duration.get(loc, vt.end_depot));
    let back_begin = back.max(ed.time_window.0);
    if back_begin > ed.time_window.1.min(vt.shift.1) {
        return Some(format!(
            "cannot return to the end depot before {}",
            ed.time_window.1.min(vt.shift.1)
        ));
    }
    if let Some(m) = vt.max_duration {
        // Shortest possible duration of a direct trip (no waiting).
        let min_dur = p.duration.get(vt.start_depot, loc)
            + stop.service_duration
            + p.duration.get(loc, vt.end_depot);
        if min_dur > m {
            return Some(format!("direct trip {min_dur} exceeds max duration {m}"));
        }
    }
    None
}

//! Instance and solution files: Solomon VRPTW text, CVRPLIB/VRPLIB `.vrp`
//! (format detected automatically) and VRPLIB `.sol` solutions.
//!
//! Conventions (as in the benchmark literature):
//! - Solomon: each arc's distance is the Euclidean distance truncated to one
//!   decimal, `floor(10·d)/10`; travel time equals distance. Everything is
//!   stored ×10 as integers so it is exact. Objective: total distance; the
//!   fleet is the `NUMBER` of the file.
//! - VRPLIB `EUC_2D`: each arc rounded to the nearest integer (TSPLIB);
//!   `EXPLICIT` weights are used as given. Vehicles unlimited unless a
//!   `VEHICLES` entry is present.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::problem::{
    Depot, EuclideanRounding, Matrix, Problem, ProblemBuilder, ProblemError, Stop, VehicleType,
};
use crate::solution::{Solution, SolveParams, solve};

/// A parse error with the 1-based line number (0 when it concerns the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number, 0 for the whole file.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

fn perr(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// Any error of [`solve_instance_file`] and [`read_instance`].
#[derive(Debug)]
pub enum Error {
    /// The file could not be read.
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is malformed.
    Parse(ParseError),
    /// The instance is not a valid problem.
    Problem(ProblemError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "cannot read {path}: {source}"),
            Self::Parse(e) => write!(f, "malformed instance: {e}"),
            Self::Problem(e) => write!(f, "invalid instance: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Self::Parse(e)
    }
}

impl From<ProblemError> for Error {
    fn from(e: ProblemError) -> Self {
        Self::Problem(e)
    }
}

/// Instance file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Solomon VRPTW text (`C101.txt`).
    Solomon,
    /// CVRPLIB / VRPLIB `.vrp`.
    Vrplib,
}

/// A parsed benchmark instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// Detected format.
    pub format: Format,
    /// The routing problem (integer, scaled).
    pub problem: Problem,
    /// Stored values are real values × `scale` (10 for Solomon, 1 for VRPLIB).
    pub scale: i64,
    /// Customer number of each stop as used in `.sol` files.
    pub ids: Vec<usize>,
}

impl Instance {
    /// Formats a scaled integer cost as in `.sol` files (`827.3` for Solomon).
    pub fn format_cost(&self, c: i64) -> String {
        if self.scale == 1 {
            c.to_string()
        } else if self.scale == 10 {
            format!("{}.{}", c / 10, (c % 10).abs())
        } else {
            format!("{}", c as f64 / self.scale as f64)
        }
    }
}

/// Reads and parses an instance file (format detected from the content).
pub fn read_instance(path: impl AsRef<Path>) -> Result<Instance, Error> {
    let p = path.as_ref();
    let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })?;
    parse_instance(&text)
}

/// Parses instance text, detecting Solomon vs VRPLIB.
pub fn parse_instance(text: &str) -> Result<Instance, Error> {
    let is_solomon =
        text.lines().any(|l| l.trim() == "VEHICLE") && text.lines().any(|l| l.trim() == "CUSTOMER");
    if is_solomon {
        parse_solomon(text)
    } else if text
        .lines()
        .any(|l| l.contains(':') || l.trim().ends_with("_SECTION"))
    {
        parse_vrplib(text)
    } else {
        Err(perr(
            0,
            "unrecognised format: neither Solomon (VEHICLE/CUSTOMER) nor VRPLIB (KEY : value)",
        )
        .into())
    }
}

fn nums<T: std::str::FromStr>(line: &str, lineno: usize, what: &str) -> Result<Vec<T>, ParseError> {
    line.split_whitespace()
        .map(|t| {
            t.parse::<T>()
                .map_err(|_| perr(lineno, format!("{what}: '{t}' is not a valid number")))
        })
        .collect()
}

fn parse_solomon(text: &str) -> Result<Instance, Error> {
    let lines: Vec<&str> = text.lines().collect();
    let name = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .unwrap_or("solomon")
        .to_string();
    let find = |key: &str| lines.iter().position(|l| l.trim() == key);
    let vi = find("VEHICLE").ok_or_else(|| perr(0, "missing VEHICLE section"))?;
    let ci = find("CUSTOMER").ok_or_else(|| perr(0, "missing CUSTOMER section"))?;
    // Vehicle line: first line after VEHICLE with two integers.
    let mut fleet = None;
    for (i, l) in lines.iter().enumerate().take(ci).skip(vi + 1) {
        let t = l.trim();
        if t.is_empty() || t.starts_with("NUMBER") {
            continue;
        }
        let v: Vec<i64> = nums(t, i + 1, "vehicle line")?;
        if v.len() != 2 {
            return Err(perr(i + 1, "vehicle line: expected NUMBER and CAPACITY").into());
        }
        if v[0] <= 0 || v[1] < 0 {
            return Err(perr(
                i + 1,
                "vehicle line: NUMBER must be positive and CAPACITY non-negative",
            )
            .into());
        }
        fleet = Some((v[0] as usize, v[1], i + 1));
        break;
    }
    let (num, cap, _) =
        fleet.ok_or_else(|| perr(vi + 1, "VEHICLE section has no NUMBER CAPACITY line"))?;
    let mut rows = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(ci + 1) {
        let t = l.trim();
        if t.is_empty() || t.starts_with("CUST") {
            continue;
        }
        let v: Vec<f64> = nums(t, i + 1, "customer line")?;
        if v.len() != 7 {
            return Err(perr(
                i + 1,
                format!("customer line: expected 7 numbers (no, x, y, demand, ready, due, service), got {}", v.len()),
            )
            .into());
        }
        if v[4] > v[5] {
            return Err(perr(
                i + 1,
                format!(
                    "customer {}: ready time {} after due date {}",
                    v[0], v[4], v[5]
                ),
            )
            .into());
        }
        if v[3] < 0.0 || v[6] < 0.0 {
            return Err(perr(i + 1, "negative demand or service time").into());
        }
        rows.push((i + 1, v));
    }
    if rows.is_empty() {
        return Err(perr(ci + 1, "no customer lines (the first one is the depot)").into());
    }
    let s10 = |x: f64| (x * 10.0).round() as i64;
    let mut b = ProblemBuilder::new(1);
    let (_, d0) = &rows[0];
    b.add_depot(Depot {
        name: format!("{}", d0[0]),
        coords: Some((d0[1], d0[2])),
        time_window: (s10(d0[4]), s10(d0[5])),
    });
    let mut ids = Vec::new();
    for (_, r) in &rows[1..] {
        let mut s = Stop::new(format!("{}", r[0]), vec![r[3].round() as i64]);
        s.coords = Some((r[1], r[2]));
        s.time_window = (s10(r[4]), s10(r[5]));
        s.service_duration = s10(r[6]);
        b.add_stop(s);
        ids.push(r[0].round() as usize);
    }
    let mut vt = VehicleType::new("vehicle", num, vec![cap]);
    vt.shift = (s10(d0[4]), s10(d0[5]));
    b.add_vehicle_type(vt);
    b.euclidean(10, EuclideanRounding::Floor);
    let problem = b.build()?;
    Ok(Instance {
        name,
        format: Format::Solomon,
        problem,
        scale: 10,
        ids,
    })
}

fn parse_vrplib(text: &str) -> Result<Instance, Error> {
    let lines: Vec<&str> = text.lines().collect();
    let mut name = String::from("vrplib");
    let mut dim: Option<usize> = None;
    let mut capacity: Option<i64> = None;
    let mut vehicles: Option<usize> = None;
    let mut ewt = String::from("EUC_2D");
    let mut ewf = String::from("FULL_MATRIX");
    let mut coords: Vec<Option<(f64, f64)>> = Vec::new();
    let mut demand: Vec<Option<i64>> = Vec::new();
    let mut tws: Vec<Option<(i64, i64)>> = Vec::new();
    let mut service: Vec<i64> = Vec::new();
    let mut depots: Vec<usize> = Vec::new();
    let mut weights: Vec<i64> = Vec::new();
    let mut i = 0;
    let need_dim =
        |dim: Option<usize>, line: usize| dim.ok_or_else(|| perr(line, "section before DIMENSION"));
    while i < lines.len() {
        let lineno = i + 1;
        let t = lines[i].trim();
        i += 1;
        if t.is_empty() || t == "EOF" {
            continue;
        }
        if let Some((k, val)) = t.split_once(':') {
            let k = k.trim().to_ascii_uppercase();
            let val = val.trim().trim_matches('"').trim();
            let parse_usize = |s: &str| {
                s.parse::<usize>()
                    .map_err(|_| perr(lineno, format!("{k}: '{s}' is not a non-negative integer")))
            };
            match k.as_str() {
                "NAME" => name = val.to_string(),
                "DIMENSION" => {
                    let n = parse_usize(val)?;
                    if n < 2 {
                        return Err(perr(
                            lineno,
                            "DIMENSION must be at least 2 (a depot and a customer)",
                        )
                        .into());
                    }
                    dim = Some(n);
                    coords = vec![None; n];
                    demand = vec![None; n];
                    tws = vec![None; n];
                    service = vec![0; n];
                }
                "CAPACITY" => {
                    capacity = Some(val.parse::<i64>().map_err(|_| {
                        perr(lineno, format!("CAPACITY: '{val}' is not an integer"))
                    })?)
                }
                "VEHICLES" => vehicles = Some(parse_usize(val)?),
                "EDGE_WEIGHT_TYPE" => ewt = val.to_ascii_uppercase(),
                "EDGE_WEIGHT_FORMAT" => ewf = val.to_ascii_uppercase(),
                _ => {} // TYPE, COMMENT, etc.
            }
            continue;
        }
        let section = t
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        // Lines of a section run until the next non-numeric line.
        let mut body = Vec::new();
        while i < lines.len() {
            let l = lines[i].trim();
            let numeric = l
                .split_whitespace()
                .next()
                .is_some_and(|tok| tok.parse::<f64>().is_ok());
            if !numeric && !l.is_empty() {
                break;
            }
            if !l.is_empty() {
                body.push((i + 1, l));
            }
            i += 1;
        }
        match section.as_str() {
            "NODE_COORD_SECTION" => {
                let n = need_dim(dim, lineno)?;
                for (ln, l) in &body {
                    let v: Vec<f64> = nums(l, *ln, "node coordinate")?;
                    if v.len() < 3 {
                        return Err(perr(*ln, "node coordinate: expected 'id x y'").into());
                    }
                    let id = node_index(v[0], n, *ln)?;
                    coords[id] = Some((v[1], v[2]));
                }
            }
            "DEMAND_SECTION" => {
                let n = need_dim(dim, lineno)?;
                for (ln, l) in &body {
                    let v: Vec<i64> = nums(l, *ln, "demand")?;
                    if v.len() != 2 {
                        return Err(perr(*ln, "demand: expected 'id demand'").into());
                    }
                    let id = node_index(v[0] as f64, n, *ln)?;
                    if v[1] < 0 {
                        return Err(perr(*ln, "demand: negative").into());
                    }
                    demand[id] = Some(v[1]);
                }
            }
            "TIME_WINDOW_SECTION" => {
                let n = need_dim(dim, lineno)?;
                for (ln, l) in &body {
                    let v: Vec<i64> = nums(l, *ln, "time window")?;
                    if v.len() != 3 {
                        return Err(perr(*ln, "time window: expected 'id start end'").into());
                    }
                    if v[1] > v[2] {
                        return Err(perr(
                            *ln,
                            format!("time window start {} after end {}", v[1], v[2]),
                        )
                        .into());
                    }
                    let id = node_index(v[0] as f64, n, *ln)?;
                    tws[id] = Some((v[1], v[2]));
                }
            }
            "SERVICE_TIME_SECTION" => {
                let n = need_dim(dim, lineno)?;
                for (ln, l) in &body {
                    let v: Vec<i64> = nums(l, *ln, "service time")?;
                    if v.len() != 2 || v[1] < 0 {
                        return Err(
                            perr(*ln, "service time: expected 'id time' with time >= 0").into()
                        );
                    }
                    let id = node_index(v[0] as f64, n, *ln)?;
                    service[id] = v[1];
                }
            }
            "DEPOT_SECTION" => {
                let n = need_dim(dim, lineno)?;
                for (ln, l) in &body {
                    let v: Vec<i64> = nums(l, *ln, "depot")?;
                    for x in v {
                        if x == -1 {
                            break;
                        }
                        depots.push(node_index(x as f64, n, *ln)?);
                    }
                }
            }
            "EDGE_WEIGHT_SECTION" => {
                for (ln, l) in &body {
                    let v: Vec<f64> = nums(l, *ln, "edge weight")?;
                    weights.extend(v.iter().map(|x| x.round() as i64));
                }
            }
            _ => {
                if !section.ends_with("_SECTION") {
                    return Err(perr(lineno, format!("unexpected line '{t}'")).into());
                }
                // Unknown sections are skipped.
            }
        }
    }
    let n = dim.ok_or_else(|| perr(0, "missing DIMENSION"))?;
    let cap = capacity.ok_or_else(|| perr(0, "missing CAPACITY"))?;
    if depots.is_empty() {
        depots.push(0);
    }
    let dist: Option<Matrix> = match ewt.as_str() {
        "EUC_2D" => None,
        "EXPLICIT" => Some(explicit_matrix(&weights, n, &ewf)?),
        other => return Err(perr(0, format!("unsupported EDGE_WEIGHT_TYPE {other}")).into()),
    };
    for (id, d) in demand.iter().enumerate() {
        if d.is_none() && !depots.contains(&id) {
            return Err(perr(0, format!("node {} has no DEMAND_SECTION entry", id + 1)).into());
        }
    }
    // Reorder: depots first, then customers in file order.
    let is_depot = |id: usize| depots.contains(&id);
    let order: Vec<usize> = depots
        .iter()
        .copied()
        .chain((0..n).filter(|&id| !is_depot(id)))
        .collect();
    let big = i64::MAX / 8;
    let mut b = ProblemBuilder::new(1);
    for &id in &depots {
        b.add_depot(Depot {
            name: format!("node {}", id + 1),
            coords: coords[id],
            time_window: tws[id].unwrap_or((0, big)),
        });
    }
    let mut ids = Vec::new();
    for &id in order.iter().skip(depots.len()) {
        let mut s = Stop::new(format!("node {}", id + 1), vec![demand[id].unwrap_or(0)]);
        s.coords = coords[id];
        s.time_window = tws[id].unwrap_or((0, big));
        s.service_duration = service[id];
        b.add_stop(s);
        ids.push(id);
    }
    let nc = n - depots.len();
    for (k, &dep) in depots.iter().enumerate() {
        let mut vt = VehicleType::new(
            format!("vehicles at depot {}", dep + 1),
            vehicles.unwrap_or(nc).max(1),
            vec![cap],
        );
        vt.start_depot = k;
        vt.end_depot = k;
        if let Some(tw) = tws[dep] {
            vt.shift = tw;
        }
        b.add_vehicle_type(vt);
    }
    if let Some(m) = dist {
        let m = Matrix::from_fn(n, |i, j| m.get(order[i], order[j]));
        b.distance_matrix(m);
    } else {
        b.euclidean(1, EuclideanRounding::Round);
    }
    let problem = b.build()?;
    Ok(Instance {
        name,
        format: Format::Vrplib,
        problem,
        scale: 1,
        ids,
    })
}

fn node_index(id: f64, n: usize, line: usize) -> Result<usize, ParseError> {
    if id.fract() != 0.0 || id < 1.0 || id as usize > n {
        return Err(perr(line, format!("node id {id} outside 1..={n}")));
    }
    Ok(id as usize - 1)
}

fn explicit_matrix(w: &[i64], n: usize, format: &str) -> Result<Matrix, ParseError> {
    let mut m = vec![0i64; n * n];
    let mut it = w.iter();
    let mut next = || {
        it.next().copied().ok_or_else(|| {
            perr(
                0,
                format!("EDGE_WEIGHT_SECTION too short for {format} of dimension {n}"),
            )
        })
    };
    for i in 0..n {
        let cols: Box<dyn Iterator<Item = usize>> = match format {
            "FULL_MATRIX" => Box::new(0..n),
            "LOWER_ROW" => Box::new(0..i),
            "LOWER_DIAG_ROW" => Box::new(0..=i),
            "UPPER_ROW" => Box::new(i + 1..n),
            "UPPER_DIAG_ROW" => Box::new(i..n),
            other => return Err(perr(0, format!("unsupported EDGE_WEIGHT_FORMAT {other}"))),
        };
        for j in cols {
            let x = next()?;
            m[i * n + j] = x;
            if format != "FULL_MATRIX" {
                m[j * n + i] = x;
            }
        }
    }
    Matrix::new(n, m).map_err(|e| perr(0, e.to_string()))
}

/// A parsed `.sol` file.
#[derive(Debug, Clone, PartialEq)]
pub struct SolFile {
    /// Routes as customer numbers (depot omitted).
    pub routes: Vec<Vec<usize>>,
    /// The `Cost` line, if present.
    pub cost: Option<f64>,
}

/// Parses a VRPLIB `.sol` file (`Route #1: 12 5 7` lines and `Cost 827.3`).
pub fn parse_sol(text: &str) -> Result<SolFile, ParseError> {
    let mut routes = Vec::new();
    let mut cost = None;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("route") {
            let (_, rest) = t
                .split_once(':')
                .ok_or_else(|| perr(i + 1, "route line without ':'"))?;
            routes.push(nums::<usize>(rest, i + 1, "route")?);
        } else if lower.starts_with("cost") {
            let v = t[4..].trim();
            cost = Some(
                v.parse::<f64>()
                    .map_err(|_| perr(i + 1, format!("cost: '{v}' is not a number")))?,
            );
        } else {
            return Err(perr(i + 1, format!("unexpected line '{t}'")));
        }
    }
    Ok(SolFile { routes, cost })
}

/// Formats a solution in VRPLIB `.sol` layout using the instance's customer numbers.
pub fn write_sol(inst: &Instance, sol: &Solution) -> String {
    let mut out = String::new();
    for (k, r) in sol.routes.iter().enumerate() {
        let ids: Vec<String> = r
            .visits
            .iter()
            .map(|v| inst.ids[v.stop].to_string())
            .collect();
        out.push_str(&format!("Route #{}: {}\n", k + 1, ids.join(" ")));
    }
    out.push_str(&format!("Cost {}\n", inst.format_cost(sol.cost)));
    out
}

/// Reads an instance file, solves it within `time_limit` with `seed`, and
/// returns the solution in `.sol` layout.
pub fn solve_instance_file(
    path: impl AsRef<Path>,
    time_limit: Duration,
    seed: u64,
) -> Result<String, Error> {
    let inst = read_instance(path)?;
    let sol = solve(
        &inst.problem,
        &SolveParams {
            time_limit,
            seed,
            max_iterations: None,
        },
    );
    Ok(write_sol(&inst, &sol))
}

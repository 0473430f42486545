//! Road distances and travel times between places.
//!
//! With an OSRM-compatible server ([`Roads::Osrm`], reached through a [`TableService`]: the
//! HTTP client is `bazaar_integrations::osrm`) the `table` service gives both, asked in
//! blocks of at most 100 places per request (OSRM's default `--max-table-size`). Without one
//! ([`Roads::Estimate`]) they are estimated: the great-circle distance times a road factor
//! (roads wind: about 1.3 on plains, 1.7 in Ganzi's mountains), and the time at a speed that
//! depends on the kind of road such a trip mostly uses, judged by its length: village roads for
//! short hops, county roads for middle ones, national and provincial roads for long runs.

use crate::PlanError;
use bazaar_vrp::Matrix;
use std::sync::Arc;

/// How estimated roads behave.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadModel {
    /// Road distance ÷ great-circle distance.
    pub road_factor: f64,
    /// `(up to km of road, km/h)`, by increasing length; the last applies beyond.
    pub speeds: Vec<(f64, f64)>,
}

impl RoadModel {
    /// Plains and river valleys (Bayingolin, Kashgar): factor 1.3; 30 km/h up to 5 km of road
    /// (village roads), 45 km/h up to 30 km (county roads), 60 km/h beyond.
    pub fn plains() -> Self {
        Self {
            road_factor: 1.3,
            speeds: vec![(5.0, 30.0), (30.0, 45.0), (f64::INFINITY, 60.0)],
        }
    }

    /// High mountains (Ganzi): factor 1.7; 20, 35 and 45 km/h.
    pub fn mountains() -> Self {
        Self {
            road_factor: 1.7,
            speeds: vec![(5.0, 20.0), (30.0, 35.0), (f64::INFINITY, 45.0)],
        }
    }

    /// Road metres and seconds between two points.
    pub fn estimate(&self, a: (f64, f64), b: (f64, f64)) -> (i64, i64) {
        let km = great_circle_km(a, b) * self.road_factor;
        let kmh = self
            .speeds
            .iter()
            .find(|(upto, _)| km <= *upto)
            .or(self.speeds.last())
            .map(|(_, v)| *v)
            .unwrap_or(40.0)
            .max(1.0);
        (
            (km * 1000.0).round() as i64,
            (km / kmh * 3600.0).round() as i64,
        )
    }
}

/// Where distances come from.
#[derive(Debug, Clone)]
pub enum Roads {
    /// Estimated from coordinates.
    Estimate(RoadModel),
    /// An OSRM-compatible server (profile `driving`).
    Osrm(Arc<dyn TableService>),
}

/// An OSRM-compatible server's `table` service: the answer's body to a GET of `path`
/// (`/table/v1/driving/…`), an error naming nothing private when there is none. OSRM answers
/// its own errors (400 `NoTable`, …) with a JSON body naming the code, which the planner reads.
pub trait TableService: Send + Sync + std::fmt::Debug {
    /// GETs `path` of the server.
    fn get(&self, path: &str) -> Result<String, String>;
}

/// Great-circle distance in km (haversine, mean Earth radius).
pub fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

/// Places per OSRM request.
const BLOCK: usize = 50;

impl Roads {
    /// Distance (metres) and duration (seconds) matrices over `places` (latitude, longitude).
    pub fn matrices(&self, places: &[(f64, f64)]) -> Result<(Matrix, Matrix), PlanError> {
        let n = places.len();
        match self {
            Roads::Estimate(m) => {
                let mut d = vec![0i64; n * n];
                let mut t = vec![0i64; n * n];
                for i in 0..n {
                    for j in 0..n {
                        if i != j {
                            let (dm, ts) = m.estimate(places[i], places[j]);
                            d[i * n + j] = dm;
                            t[i * n + j] = ts;
                        }
                    }
                }
                Ok((matrix(n, d)?, matrix(n, t)?))
            }
            Roads::Osrm(base) => {
                let mut d = vec![0i64; n * n];
                let mut t = vec![0i64; n * n];
                for a in (0..n).step_by(BLOCK) {
                    for b in (0..n).step_by(BLOCK) {
                        let src: Vec<usize> = (a..(a + BLOCK).min(n)).collect();
                        let dst: Vec<usize> = (b..(b + BLOCK).min(n)).collect();
                        let (bd, bt) = osrm_block(base.as_ref(), places, &src, &dst)?;
                        for (x, i) in src.iter().enumerate() {
                            for (y, j) in dst.iter().enumerate() {
                                d[i * n + j] = bd[x][y];
                                t[i * n + j] = bt[x][y];
                            }
                        }
                    }
                }
                Ok((matrix(n, d)?, matrix(n, t)?))
            }
        }
    }
}

fn matrix(n: usize, data: Vec<i64>) -> Result<Matrix, PlanError> {
    Matrix::new(n, data).map_err(|e| PlanError::Roads(e.to_string()))
}

type Block = Vec<Vec<i64>>;

/// One `table` request: the places of `src` and `dst` (deduplicated), with `sources` and
/// `destinations` indices; an unreachable pair is an error naming nothing private.
fn osrm_block(
    server: &dyn TableService,
    places: &[(f64, f64)],
    src: &[usize],
    dst: &[usize],
) -> Result<(Block, Block), PlanError> {
    let mut all: Vec<usize> = src.to_vec();
    for j in dst {
        if !all.contains(j) {
            all.push(*j);
        }
    }
    let coords: Vec<String> = all
        .iter()
        .map(|i| format!("{:.6},{:.6}", places[*i].1, places[*i].0))
        .collect();
    let idx = |set: &[usize]| {
        set.iter()
            .filter_map(|i| all.iter().position(|x| x == i))
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(";")
    };
    let path = format!(
        "/table/v1/driving/{}?sources={}&destinations={}&annotations=distance,duration",
        coords.join(";"),
        idx(src),
        idx(dst)
    );
    let body = server.get(&path).map_err(PlanError::Roads)?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| PlanError::Roads(format!("bad answer: {e}")))?;
    if v["code"] != "Ok" {
        return Err(PlanError::Roads(format!(
            "server answered {}",
            v["code"].as_str().unwrap_or("nothing")
        )));
    }
    let read = |key: &str, scale: f64| -> Result<Block, PlanError> {
        let rows = v[key]
            .as_array()
            .ok_or_else(|| PlanError::Roads(format!("no {key} in the answer")))?;
        if rows.len() != src.len() {
            return Err(PlanError::Roads(format!("{key}: wrong number of rows")));
        }
        rows.iter()
            .map(|r| {
                let r = r
                    .as_array()
                    .filter(|r| r.len() == dst.len())
                    .ok_or_else(|| PlanError::Roads(format!("{key}: wrong row length")))?;
                r.iter()
                    .map(|x| {
                        x.as_f64()
                            .map(|f| (f * scale).round() as i64)
                            .ok_or_else(|| PlanError::Roads("a place cannot be reached".into()))
                    })
                    .collect()
            })
            .collect()
    };
    Ok((read("distances", 1.0)?, read("durations", 1.0)?))
}

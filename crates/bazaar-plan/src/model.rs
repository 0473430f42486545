//! What a day's plan reads and what it answers, as JSON.

use serde::{Deserialize, Serialize};

/// The day to plan: the depots (distribution centres) with their vehicles, and the stops.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayInput {
    /// Distribution centres; each vehicle starts and ends at its own.
    pub depots: Vec<DepotInput>,
    /// Township stations and village points to visit.
    pub stops: Vec<StopInput>,
}

/// A distribution centre.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DepotInput {
    /// Code (the network node code, e.g. `DC-513334`).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Latitude (WGS-84 degrees).
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// Opening time, `HH:MM` local.
    #[serde(default = "default_opens")]
    pub opens: String,
    /// Closing time: every vehicle is back by then.
    #[serde(default = "default_closes")]
    pub closes: String,
    /// Its vehicles.
    #[serde(default)]
    pub vehicles: Vec<VehicleInput>,
}

/// A vehicle (or `count` identical ones).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VehicleInput {
    /// Plate or fleet number.
    pub id: String,
    /// The name people know it by (`厢货-2`), shown wherever the plan is; its id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many identical vehicles (default 1).
    #[serde(default = "one")]
    pub count: usize,
    /// Payload, kg.
    pub capacity_kg: f64,
    /// Load space, m³.
    pub capacity_m3: f64,
    /// Refrigerated (may carry cold-chain goods).
    #[serde(default)]
    pub cold_chain: bool,
    /// Other abilities stops may require.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Cost of using it for the day, fen.
    #[serde(default)]
    pub fixed_cost_fen: i64,
    /// Running cost per km, fen (default 100: ¥1/km).
    #[serde(default = "per_km")]
    pub cost_per_km_fen: i64,
    /// Shift start, `HH:MM`.
    #[serde(default = "default_opens")]
    pub shift_start: String,
    /// Shift end, `HH:MM`.
    #[serde(default = "default_closes")]
    pub shift_end: String,
    /// Where it is now (re-planning; set by [`crate::replan`]), latitude and longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<(f64, f64)>,
}

/// A stop: what to drop and collect there, when it is open, how long a visit takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopInput {
    /// Code (the node code, e.g. `VP-513334101201`).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Latitude; a stop without coordinates is refused by name.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(default)]
    pub lng: Option<f64>,
    /// Parcels to drop, kg.
    #[serde(default)]
    pub deliver_kg: f64,
    /// Parcels to drop, m³.
    #[serde(default)]
    pub deliver_m3: f64,
    /// Of the parcels to drop, the cold-chain part, kg.
    #[serde(default)]
    pub cold_kg: f64,
    /// Of the parcels to drop, the cold-chain part, m³.
    #[serde(default)]
    pub cold_m3: f64,
    /// Parcels to collect (villagers' outgoing goods), kg.
    #[serde(default)]
    pub pickup_kg: f64,
    /// Parcels to collect, m³.
    #[serde(default)]
    pub pickup_m3: f64,
    /// Opens, `HH:MM`.
    #[serde(default = "default_opens")]
    pub opens: String,
    /// Closes: service must start by then.
    #[serde(default = "default_closes")]
    pub closes: String,
    /// Minutes a visit takes (unloading, scanning, loading).
    #[serde(default = "default_service")]
    pub service_minutes: f64,
}

fn default_opens() -> String {
    "08:00".into()
}
fn default_closes() -> String {
    "20:00".into()
}
fn default_service() -> f64 {
    10.0
}
fn one() -> usize {
    1
}
fn per_km() -> i64 {
    100
}

impl StopInput {
    /// The stop's coordinates, or an error naming it.
    pub fn position(&self) -> Result<(f64, f64), PlanError> {
        match (self.lat, self.lng) {
            (Some(lat), Some(lng)) if valid_coords(lat, lng) => Ok((lat, lng)),
            (Some(_), Some(_)) => Err(PlanError::Field {
                entity: format!("stop {}", self.id),
                field: "lat/lng",
                reason: "coordinates out of range".into(),
                code: "out_of_range",
            }),
            _ => Err(PlanError::Field {
                entity: format!("stop {}", self.id),
                field: "lat/lng",
                reason: "no coordinates".into(),
                code: "required",
            }),
        }
    }
}

fn valid_coords(lat: f64, lng: f64) -> bool {
    lat.is_finite()
        && lng.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lng)
}

/// The most stops a day may have: the distance and time matrices grow with the square of
/// the places (3,000 stops: about 150 MB); a prefecture's day has some 1,500.
pub const MAX_STOPS: usize = 3000;
/// The most vehicles, and depots, a day may have.
pub const MAX_VEHICLES: usize = 1000;

impl DayInput {
    /// Checks what the solver cannot: sizes, ids, coordinates, quantities, times. The first
    /// problem is returned, naming the stop, vehicle or depot.
    pub fn validate(&self) -> Result<(), PlanError> {
        let vehicles: usize = self.depots.iter().map(|d| d.vehicles.len()).sum();
        for (field, n, max) in [
            ("stops", self.stops.len(), MAX_STOPS),
            ("depots", self.depots.len(), MAX_VEHICLES),
            ("vehicles", vehicles, MAX_VEHICLES),
        ] {
            if n > max {
                return Err(PlanError::Field {
                    entity: "plan".into(),
                    field,
                    reason: format!("{n} given, at most {max}"),
                    code: "out_of_range",
                });
            }
        }
        if self.depots.is_empty() {
            return Err(PlanError::Field {
                entity: "plan".into(),
                field: "depots",
                reason: "no depot".into(),
                code: "required",
            });
        }
        if self.depots.iter().all(|d| d.vehicles.is_empty()) {
            return Err(PlanError::EmptyFleet);
        }
        let mut ids = std::collections::BTreeSet::new();
        let texts = self
            .depots
            .iter()
            .map(|d| (format!("depot {}", d.id), &d.id, &d.name))
            .chain(
                self.stops
                    .iter()
                    .map(|s| (format!("stop {}", s.id), &s.id, &s.name)),
            );
        for (entity, id, name) in texts {
            for (field, text, max) in [("id", id, 60), ("name", name, 120)] {
                if text.chars().count() > max {
                    return Err(PlanError::Field {
                        entity,
                        field,
                        reason: format!("at most {max} characters"),
                        code: "too_long",
                    });
                }
            }
        }
        for d in &self.depots {
            if !valid_coords(d.lat, d.lng) {
                return Err(PlanError::Field {
                    entity: format!("depot {}", d.id),
                    field: "lat/lng",
                    reason: "coordinates out of range".into(),
                    code: "out_of_range",
                });
            }
            let (o, c) = (
                crate::minutes(&d.opens, &d.id)?,
                crate::minutes(&d.closes, &d.id)?,
            );
            if c <= o {
                return Err(PlanError::Field {
                    entity: format!("depot {}", d.id),
                    field: "closes",
                    reason: "closes before it opens".into(),
                    code: "inconsistent",
                });
            }
            for v in &d.vehicles {
                if !ids.insert(format!("v:{}", v.id)) {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "id",
                        reason: "listed twice".into(),
                        code: "duplicate",
                    });
                }
                let ok = |x: f64| x.is_finite() && x > 0.0 && x < 1.0e6;
                if !ok(v.capacity_kg) || !ok(v.capacity_m3) {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "capacity",
                        reason: "capacity must be positive".into(),
                        code: "out_of_range",
                    });
                }
                if v.id.chars().count() > 60 {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id.chars().take(60).collect::<String>()),
                        field: "id",
                        reason: "at most 60 characters".into(),
                        code: "too_long",
                    });
                }
                if v.name.as_ref().is_some_and(|n| n.chars().count() > 60) {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "name",
                        reason: "at most 60 characters".into(),
                        code: "too_long",
                    });
                }
                if v.skills.len() > 20 || v.skills.iter().any(|s| s.chars().count() > 40) {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "skills",
                        reason: "at most 20 skills of 40 characters".into(),
                        code: "out_of_range",
                    });
                }
                for (field, x, max) in [
                    ("fixed_cost_fen", v.fixed_cost_fen, 100_000_000),
                    ("cost_per_km_fen", v.cost_per_km_fen, 100_000),
                ] {
                    if !(0..=max).contains(&x) {
                        return Err(PlanError::Field {
                            entity: format!("vehicle {}", v.id),
                            field,
                            reason: format!("from 0 to {max} fen"),
                            code: "out_of_range",
                        });
                    }
                }
                if v.start.is_some_and(|(lat, lng)| !valid_coords(lat, lng)) {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "start",
                        reason: "coordinates out of range".into(),
                        code: "out_of_range",
                    });
                }
                if v.count == 0 || v.count > 1000 {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "count",
                        reason: "between 1 and 1000".into(),
                        code: "out_of_range",
                    });
                }
                if crate::minutes(&v.shift_end, &v.id)? <= crate::minutes(&v.shift_start, &v.id)? {
                    return Err(PlanError::Field {
                        entity: format!("vehicle {}", v.id),
                        field: "shift_end",
                        reason: "shift ends before it starts".into(),
                        code: "inconsistent",
                    });
                }
            }
        }
        for s in &self.stops {
            if !ids.insert(format!("s:{}", s.id)) {
                return Err(PlanError::Field {
                    entity: format!("stop {}", s.id),
                    field: "id",
                    reason: "listed twice".into(),
                    code: "duplicate",
                });
            }
            s.position()?;
            for (field, x) in [
                ("deliver_kg", s.deliver_kg),
                ("deliver_m3", s.deliver_m3),
                ("cold_kg", s.cold_kg),
                ("cold_m3", s.cold_m3),
                ("pickup_kg", s.pickup_kg),
                ("pickup_m3", s.pickup_m3),
                ("service_minutes", s.service_minutes),
            ] {
                if !x.is_finite() || !(0.0..1.0e6).contains(&x) {
                    return Err(PlanError::Field {
                        entity: format!("stop {}", s.id),
                        field,
                        reason: "must be a number from 0".into(),
                        code: "out_of_range",
                    });
                }
            }
            crate::minutes(&s.opens, &s.id)?;
            crate::minutes(&s.closes, &s.id)?;
        }
        Ok(())
    }
}

/// Why a plan could not be made at all.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// No vehicle at any depot.
    EmptyFleet,
    /// A field of a stop, vehicle or depot is wrong.
    Field {
        /// `stop VP-…`, `vehicle 川A…`, `depot DC-…`.
        entity: String,
        /// The field.
        field: &'static str,
        /// Why, in words.
        reason: String,
        /// Why, as a stable reason code (`required`, `out_of_range`, `invalid_format`,
        /// `inconsistent`, `duplicate`).
        code: &'static str,
    },
    /// The road service failed (OSRM unreachable or answering nonsense).
    Roads(String),
    /// The routing problem was refused.
    Problem(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::EmptyFleet => write!(f, "no vehicle: the fleet is empty"),
            PlanError::Field {
                entity,
                field,
                reason,
                ..
            } => write!(f, "{entity}: {field}: {reason}"),
            PlanError::Roads(e) => write!(f, "road distances: {e}"),
            PlanError::Problem(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// The plan of a day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayPlan {
    /// One per vehicle used.
    pub routes: Vec<PlannedRoute>,
    /// Stops left out, with the reason.
    pub unserved: Vec<UnservedStop>,
    /// Stops served.
    pub served: usize,
    /// Vehicles used.
    pub vehicles_used: usize,
    /// Total road distance, km.
    pub distance_km: f64,
    /// Whether every route keeps every rule (load along the route, hours, shifts, cold chain).
    pub feasible: bool,
    /// Seconds spent planning.
    pub solve_seconds: f64,
}

/// One vehicle's round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedRoute {
    /// The vehicle (`id-2` for the second of a group).
    pub vehicle: String,
    /// Its depot.
    pub depot: String,
    /// Leaves the depot, `HH:MM`.
    pub start: String,
    /// Back at the depot.
    pub end: String,
    /// Road distance, km.
    pub distance_km: f64,
    /// Duration, minutes.
    pub duration_minutes: f64,
    /// Loaded at the depot, kg.
    pub start_load_kg: f64,
    /// Loaded at the depot, m³.
    pub start_load_m3: f64,
    /// The stops in order.
    pub stops: Vec<PlannedStop>,
}

/// One visit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedStop {
    /// Stop code.
    pub id: String,
    /// Stop name.
    pub name: String,
    /// Arrives, `HH:MM`.
    pub arrive: String,
    /// Starts service (after waiting for opening).
    pub start: String,
    /// Leaves.
    pub depart: String,
    /// Dropped, kg.
    pub deliver_kg: f64,
    /// Dropped, m³.
    pub deliver_m3: f64,
    /// Collected, kg.
    pub pickup_kg: f64,
    /// Collected, m³.
    pub pickup_m3: f64,
    /// On board when leaving, kg (the load profile).
    pub load_kg: f64,
    /// On board when leaving, m³.
    pub load_m3: f64,
}

/// A stop left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnservedStop {
    /// Stop code.
    pub id: String,
    /// Why.
    pub reason: UnservedWhy,
}

/// Why a stop is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnservedWhy {
    /// Its delivery or pickup is larger than any vehicle (or its cold part than any
    /// refrigerated one).
    LargerThanAnyVehicle,
    /// It has cold-chain goods and there is no refrigerated vehicle.
    NoColdChainVehicle,
    /// No vehicle can reach it while it is open and be back before its depot closes.
    HoursCannotBeMet,
    /// The fleet has no room or time left for it today.
    NoRoomLeft,
}

/// Where the day stands when re-planning.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DayState {
    /// Now, `HH:MM`.
    pub now: String,
    /// Stops already served (fixed).
    #[serde(default)]
    pub finished: Vec<String>,
    /// Vehicles out of service.
    #[serde(default)]
    pub broken: Vec<String>,
    /// Vehicles on the road: where they are, what they carry, which stops they still have.
    #[serde(default)]
    pub positions: Vec<VehiclePosition>,
}

/// A vehicle on the road.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VehiclePosition {
    /// Vehicle id.
    pub vehicle: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
    /// On board now, kg.
    #[serde(default)]
    pub load_kg: f64,
    /// On board now, m³.
    #[serde(default)]
    pub load_m3: f64,
    /// Its stops not yet served (their parcels are on board).
    #[serde(default)]
    pub remaining: Vec<String>,
}

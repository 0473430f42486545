//! The day's joint delivery from a county centre: what waits to go out to the points and what
//! waits at the points to be collected (all carriers together) becomes the stops of a run;
//! the run is planned (in `bazaar-web`, with `bazaar-plan`), reviewed as a draft, published to
//! the drivers, followed by the scans made along it, and re-planned after a breakdown.
//!
//! The store keeps the run's day and plan as JSON (it does not know the planner) and which
//! parcels each stop drops or collects.

use crate::network::Node;
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::delivery::{RunAction, RunStatus, run_transition};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use serde::Serialize;

/// A vehicle of a county centre.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Vehicle {
    /// Fleet code (unique).
    pub code: String,
    /// Its centre.
    pub depot_node: String,
    /// Name shown to people (`厢货-2`).
    pub name: String,
    /// Payload, kg.
    pub capacity_kg: i64,
    /// Load space, litres.
    pub capacity_l: i64,
    /// Refrigerated.
    pub cold_chain: bool,
    /// Its driver's account.
    pub driver_id: Option<i64>,
    /// Shift start, `HH:MM`.
    pub shift_start: String,
    /// Shift end, `HH:MM`.
    pub shift_end: String,
}

/// What one point sends and receives today.
#[derive(Debug, Clone, Serialize)]
pub struct StopDemand {
    /// The point.
    pub node: Node,
    /// Parcels to drop there: (id, weight g, volume cm³, cold chain).
    pub drops: Vec<(i64, i64, i64, bool)>,
    /// Parcels to collect there: (id, weight g, volume cm³).
    pub collects: Vec<(i64, i64, i64)>,
}

/// A county centre's day: its node, vehicles and stops.
#[derive(Debug, Clone, Serialize)]
pub struct DayDemands {
    /// The centre.
    pub depot: Node,
    /// Its vehicles.
    pub vehicles: Vec<Vehicle>,
    /// The points with something to drop or collect.
    pub stops: Vec<StopDemand>,
}

/// A run as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// The centre.
    pub depot_node: String,
    /// The day, `YYYY-MM-DD` (Beijing).
    pub day: String,
    /// draft, published or superseded.
    pub status: String,
    /// The day planned (JSON, `bazaar_plan::DayInput`).
    pub input: String,
    /// The plan (JSON, `bazaar_plan::DayPlan`).
    pub plan: String,
    /// Vehicles broken down today, comma-separated.
    pub broken: String,
    /// Published (UTC ms).
    pub published_at: Option<i64>,
    /// Last re-planned (UTC ms).
    pub replanned_at: Option<i64>,
    /// Planned (UTC ms).
    pub created_at: i64,
}

/// A parcel a stop drops or collects, as a driver's manifest lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ManifestParcel {
    /// Parcel id.
    pub id: i64,
    /// The point.
    pub node_code: String,
    /// drop or collect.
    pub action: String,
    /// Carrier code.
    pub carrier: String,
    /// Waybill.
    pub waybill: String,
    /// Canonical state now.
    pub state: String,
    /// Recipient (for drops).
    pub recipient_name: String,
    /// Weight, g.
    pub weight_g: i64,
    /// Cold chain.
    pub cold_chain: bool,
}

impl ManifestParcel {
    /// Handled at its stop: a drop on the point's shelf or beyond; a collection on its way
    /// (past `picked_up`, which is where the agent's collection from the villager leaves it).
    pub fn done(&self) -> bool {
        match self.action.as_str() {
            "drop" => matches!(
                self.state.as_str(),
                "in_locker_or_station" | "delivered" | "returning" | "returned"
            ),
            _ => !matches!(
                self.state.as_str(),
                "ordered" | "awaiting_pickup" | "picked_up"
            ),
        }
    }
}

const RUN_COLS: &str = "id, depot_node, day, status, input, plan, broken, published_at, \
    replanned_at, created_at";

impl Store {
    /// A centre the actor may plan for: an operator's own region, an admin anywhere.
    async fn plannable_depot(&self, actor: &Actor, depot: &str) -> Result<Node, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let (node, path) = self
            .node_with_path(depot)
            .await
            .map_err(|_| StoreError::field("depot_node", Reason::UnknownReference))?;
        if !matches!(node.kind.as_str(), "distribution_centre" | "county_centre") {
            return Err(StoreError::field("depot_node", Reason::UnknownChoice));
        }
        if !actor.can_manage_network(&path) {
            return Err(StoreError::Forbidden);
        }
        Ok(node)
    }

    /// The centres (distribution or county) the actor may plan for.
    pub async fn plannable_depots(&self, actor: &Actor) -> Result<Vec<Node>, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let scope = if actor.role == Role::Admin {
            "%".to_string()
        } else {
            crate::logistics::watch::scope_like(actor)
        };
        let sql = format!(
            "SELECT {} FROM nodes n JOIN regions r ON r.code = n.region_code \
             WHERE n.kind IN ('distribution_centre', 'county_centre') AND r.path LIKE $1 \
             AND (n.kind = 'distribution_centre' OR NOT EXISTS (SELECT 1 FROM nodes d \
             WHERE d.kind = 'distribution_centre' AND d.region_code = n.region_code)) \
             ORDER BY n.code LIMIT 100",
            crate::network::NODE_COLS
                .split(", ")
                .map(|c| format!("n.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(&scope).fetch_all(p).await?
        }))
    }

    /// The vehicles of a centre, by code (for a page that plans its day: the caller's right to
    /// the centre is checked by that page).
    pub async fn depot_vehicles(&self, depot: &str) -> Result<Vec<Vehicle>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT code, depot_node, name, capacity_kg, capacity_l, cold_chain, driver_id, \
                 shift_start, shift_end FROM vehicles WHERE depot_node = $1 ORDER BY code",
            )
            .bind(depot)
            .fetch_all(p)
            .await?
        }))
    }

    /// What a centre's day holds: parcels arrived at the county for its points (all carriers)
    /// to drop, villagers' parcels collected at its points to pick up, and its vehicles.
    pub async fn day_demands(&self, actor: &Actor, depot: &str) -> Result<DayDemands, StoreError> {
        let depot = self.plannable_depot(actor, depot).await?;
        // The county of the depot (a depot above the county level: its own code's prefix).
        let county = bazaar_domain::region::county_of_code(&depot.region_code)
            .unwrap_or(&depot.region_code)
            .to_string();
        let like = format!("{county}%");
        let vehicles = self.depot_vehicles(&depot.code).await?;
        type DropRow = (i64, String, i64, i64, bool);
        let (drops, collects): (Vec<DropRow>, Vec<DropRow>) = on_read!(self, |p| {
            (
                sqlx::query_as(
                    "SELECT p.id, p.dest_node, p.weight_g, p.volume_cm3, p.cold_chain \
                     FROM parcels p JOIN nodes n ON n.code = p.dest_node \
                     WHERE p.direction <> 'upstream' AND p.state = 'arrived_destination_city' \
                     AND n.region_code LIKE $1 \
                     AND n.kind IN ('village_point', 'township_station', 'locker_bank') \
                     ORDER BY p.id LIMIT 20000",
                )
                .bind(&like)
                .fetch_all(p)
                .await?,
                sqlx::query_as(
                    "SELECT p.id, p.last_node, p.weight_g, p.volume_cm3, p.cold_chain \
                     FROM parcels p JOIN nodes n ON n.code = p.last_node \
                     WHERE p.direction = 'upstream' AND p.state = 'picked_up' \
                     AND n.region_code LIKE $1 \
                     AND n.kind IN ('village_point', 'township_station', 'locker_bank') \
                     ORDER BY p.id LIMIT 20000",
                )
                .bind(&like)
                .fetch_all(p)
                .await?,
            )
        });
        let mut by_node: std::collections::BTreeMap<String, StopDemand> = Default::default();
        let mut codes: Vec<String> = drops.iter().chain(&collects).map(|d| d.1.clone()).collect();
        codes.sort();
        codes.dedup();
        for c in codes {
            let node = self.node(&c).await?;
            by_node.insert(
                c,
                StopDemand {
                    node,
                    drops: Vec::new(),
                    collects: Vec::new(),
                },
            );
        }
        for (id, node, g, cm3, cold) in drops {
            if let Some(s) = by_node.get_mut(&node) {
                s.drops.push((id, g, cm3, cold));
            }
        }
        for (id, node, g, cm3, _) in collects {
            if let Some(s) = by_node.get_mut(&node) {
                s.collects.push((id, g, cm3));
            }
        }
        Ok(DayDemands {
            depot,
            vehicles,
            stops: by_node.into_values().collect(),
        })
    }

    /// Saves a planned run as a draft with the parcels each stop drops and collects.
    pub async fn save_run(
        &self,
        actor: &Actor,
        depot: &str,
        day: &str,
        input: &str,
        plan: &str,
        parcels: &[(i64, String, &'static str)],
    ) -> Result<RunRow, StoreError> {
        let depot = self.plannable_depot(actor, depot).await?;
        let now = now_ms();
        let id = in_tx!(self, |c| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO delivery_runs (depot_node, day, status, input, plan, created_by, \
                 created_at) VALUES ($1, $2, 'draft', $3, $4, $5, $6) RETURNING id",
            )
            .bind(&depot.code)
            .bind(day)
            .bind(input)
            .bind(plan)
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            for (parcel, node, action) in parcels {
                sqlx::query(
                    "INSERT INTO run_parcels (run_id, parcel_id, node_code, action) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(parcel)
                .bind(node)
                .bind(action)
                .execute(&mut *c)
                .await?;
            }
            Ok(id)
        })?;
        self.run(actor, id).await
    }

    /// A run, for the operators of its centre, admins, and the drivers of its vehicles.
    pub async fn run(&self, actor: &Actor, id: i64) -> Result<RunRow, StoreError> {
        let sql = format!("SELECT {RUN_COLS} FROM delivery_runs WHERE id = $1");
        let r: Option<RunRow> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        let r = r.ok_or(StoreError::NotFound)?;
        match actor.role {
            Role::Driver => {
                let mine: i64 = on_read!(self, |p| {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM vehicles WHERE depot_node = $1 AND driver_id = $2",
                    )
                    .bind(&r.depot_node)
                    .bind(actor.user_id)
                    .fetch_one(p)
                    .await?
                });
                if mine == 0 || RunStatus::from_db(&r.status) != Some(RunStatus::Published) {
                    return Err(StoreError::NotFound);
                }
            }
            _ => {
                self.plannable_depot(actor, &r.depot_node)
                    .await
                    .map_err(|_| StoreError::NotFound)?;
            }
        }
        Ok(r)
    }

    /// A centre's latest runs, newest first.
    pub async fn runs(&self, actor: &Actor, depot: &str) -> Result<Vec<RunRow>, StoreError> {
        let depot = self.plannable_depot(actor, depot).await?;
        let sql = format!(
            "SELECT {RUN_COLS} FROM delivery_runs WHERE depot_node = $1 ORDER BY id DESC LIMIT 20"
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(&depot.code).fetch_all(p).await?
        }))
    }

    /// Replaces a run's plan (a stop moved, a breakdown re-planned); `broken` adds a vehicle
    /// to those out of service. A superseded run cannot change.
    pub async fn update_run_plan(
        &self,
        actor: &Actor,
        id: i64,
        plan: &str,
        broken: Option<&str>,
    ) -> Result<RunRow, StoreError> {
        let r = self.run(actor, id).await?;
        if actor.role == Role::Driver {
            return Err(StoreError::Forbidden);
        }
        // Stops are moved while reviewing a draft; a published run changes by re-planning.
        let action = if broken.is_some() {
            RunAction::Replan
        } else {
            RunAction::Change
        };
        if RunStatus::from_db(&r.status)
            .and_then(|s| run_transition(s, action))
            .is_none()
        {
            return Err(StoreError::InvalidTransition {
                from: r.status,
                action: "change".into(),
            });
        }
        let broken = match broken {
            Some(v) if r.broken.is_empty() => v.to_string(),
            Some(v) => format!("{},{v}", r.broken),
            None => r.broken.clone(),
        };
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE delivery_runs SET plan = $1, broken = $2, \
                 replanned_at = CASE WHEN status = 'published' THEN $3 ELSE replanned_at END \
                 WHERE id = $4",
            )
            .bind(plan)
            .bind(&broken)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })?;
        self.run(actor, id).await
    }

    /// Publishes a draft to the drivers; an earlier published run of the same centre and day
    /// is superseded.
    pub async fn publish_run(&self, actor: &Actor, id: i64) -> Result<RunRow, StoreError> {
        let r = self.run(actor, id).await?;
        if actor.role == Role::Driver {
            return Err(StoreError::Forbidden);
        }
        let publishable = RunStatus::from_db(&r.status)
            .and_then(|s| run_transition(s, RunAction::Publish))
            .is_some();
        if !publishable {
            return Err(StoreError::InvalidTransition {
                from: r.status,
                action: RunAction::Publish.as_str().into(),
            });
        }
        let now = now_ms();
        in_tx!(self, |c| {
            // The earlier published run of the day gives way first (one published run per
            // centre and day, by a unique index); then this draft, if it still is one.
            sqlx::query(
                "UPDATE delivery_runs SET status = 'superseded' WHERE depot_node = $1 \
                 AND day = $2 AND status = 'published' AND id <> $3 \
                 AND EXISTS (SELECT 1 FROM delivery_runs d WHERE d.id = $3 AND d.status = 'draft')",
            )
            .bind(&r.depot_node)
            .bind(&r.day)
            .bind(id)
            .execute(&mut *c)
            .await?;
            let hit = sqlx::query(
                "UPDATE delivery_runs SET status = 'published', published_at = $1 \
                 WHERE id = $2 AND status = 'draft'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::InvalidTransition {
                    from: "published".into(),
                    action: "publish".into(),
                });
            }
            Ok(())
        })?;
        self.run(actor, id).await
    }

    /// The parcels of a run's stops, with their state now.
    pub async fn run_parcels(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<ManifestParcel>, StoreError> {
        self.run(actor, id).await?;
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT p.id, x.node_code, x.action, p.carrier, p.waybill, p.state, \
                 p.recipient_name, p.weight_g, p.cold_chain FROM run_parcels x \
                 JOIN parcels p ON p.id = x.parcel_id WHERE x.run_id = $1 \
                 ORDER BY x.node_code, x.action DESC, p.id",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        }))
    }

    /// The run's stops that have been visited: a scan at the stop since the run was
    /// published (the driver's drop or collection scans).
    pub async fn run_visited(&self, run: &RunRow) -> Result<Vec<String>, StoreError> {
        let Some(since) = run.published_at else {
            return Ok(Vec::new());
        };
        Ok(on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT DISTINCT e.node_code FROM parcel_events e \
                 JOIN run_parcels x ON x.parcel_id = e.parcel_id AND x.node_code = e.node_code \
                 WHERE x.run_id = $1 AND e.at >= $2 AND e.source = 'scan' \
                 AND e.code IN ('delivered_to_point', 'put_in_locker', 'loaded_on_vehicle', \
                 'picked_up_by_recipient')",
            )
            .bind(run.id)
            .bind(since)
            .fetch_all(p)
            .await?
        }))
    }

    /// The driver's vehicle and today's published run of its centre.
    pub async fn driver_run(
        &self,
        actor: &Actor,
        day: &str,
    ) -> Result<Option<(Vehicle, RunRow)>, StoreError> {
        if actor.role != Role::Driver {
            return Err(StoreError::Forbidden);
        }
        let v: Option<Vehicle> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT code, depot_node, name, capacity_kg, capacity_l, cold_chain, driver_id, \
                 shift_start, shift_end FROM vehicles WHERE driver_id = $1 ORDER BY code LIMIT 1",
            )
            .bind(actor.user_id)
            .fetch_optional(p)
            .await?
        });
        let Some(v) = v else { return Ok(None) };
        let sql = format!(
            "SELECT {RUN_COLS} FROM delivery_runs WHERE depot_node = $1 AND day = $2 \
             AND status = 'published' ORDER BY id DESC LIMIT 1"
        );
        let r: Option<RunRow> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(&v.depot_node)
                .bind(day)
                .fetch_optional(p)
                .await?
        });
        Ok(r.map(|r| (v, r)))
    }

    /// Adds a vehicle to a centre (demo data and the fleet list).
    pub async fn add_vehicle(&self, v: &Vehicle) -> Result<(), StoreError> {
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO vehicles (code, depot_node, name, capacity_kg, capacity_l, cold_chain, \
                 driver_id, shift_start, shift_end) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&v.code)
            .bind(&v.depot_node)
            .bind(&v.name)
            .bind(v.capacity_kg)
            .bind(v.capacity_l)
            .bind(v.cold_chain)
            .bind(v.driver_id)
            .bind(&v.shift_start)
            .bind(&v.shift_end)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }
}

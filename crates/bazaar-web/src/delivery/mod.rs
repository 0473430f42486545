//! The delivery area (DESIGN.md §10): the day's joint delivery. `plans.rs` plans a day from
//! the API and `/manage/plan` (one plan at a time per server, on a blocking thread);
//! `runs.rs` is the run planned from the parcels waiting — reviewed, published, the driver's
//! manifest, re-planned after a breakdown. The planner is `bazaar_plan`, the SQL
//! `bazaar_store::delivery::runs`.

pub mod plans;
pub mod runs;

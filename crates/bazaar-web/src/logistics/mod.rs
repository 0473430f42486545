//! The logistics area (DESIGN.md §10): parcels, scans, tracking feeds and 快递100 pushes,
//! pickups at village points, the stalled list, WeChat bindings for pickup codes. `api.rs`
//! is the JSON API, `pages.rs` the back-office pages (the scanning page with its offline
//! queue, the shelf, the stalled list), `wechat.rs` the bindings' API. The rules live in
//! `bazaar_domain::logistics`, the SQL in `bazaar_store::{parcels, pickup, watch, ingest}`.

pub mod api;
pub mod pages;
pub mod wechat;

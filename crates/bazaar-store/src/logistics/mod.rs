//! Logistics: parcels and their scans ([`parcels`]), carriers' events and manifests
//! ([`ingest`]), village pickup and the notifications outbox ([`pickup`]), the 48-hour watch
//! ([`watch`]), WeChat bindings ([`wechat`]) and the synthetic history of the benchmarks
//! ([`history`]). The four first call each other: they are one area.

pub mod history;
pub mod ingest;
pub mod parcels;
pub mod pickup;
pub mod watch;
pub mod wechat;

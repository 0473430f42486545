//! # bazaar-domain
//!
//! The rules of Bazaar, free of HTTP and SQL: the region tree and the service network placed on
//! it, people and what each role may do, sellers, and the catalog (products and SKUs).
//!
//! Invariants kept here:
//! - money is integer fen ([`money::Fen`]); times are UTC milliseconds, shown in a region's zone;
//! - every input that enters the system is parsed into a type whose constructor checked it
//!   ("parse, don't validate"); a failed check is a [`error::FieldError`] naming the field and a
//!   stable reason code that the web layer translates;
//! - lifecycle changes (sellers, products, orders, refunds, delivery runs) go through transition tables, never ad-hoc updates;
//! - access decisions are pure functions of an [`people::Actor`] and the target's scope.
//!
//! Storage is described by the repository types in `bazaar-store`; this crate never depends on
//! it (CI checks `cargo tree -p bazaar-domain -i sqlx` prints nothing).
#![forbid(unsafe_code)]

pub mod aftersales;
pub mod catalog;
pub mod delivery;
pub mod error;
pub mod live;
pub mod logistics;
pub mod money;
pub mod network;
pub mod orders;
pub mod people;
pub mod region;
pub mod seller;
pub mod text;
pub mod time;

pub use error::{
    AftersalesError, CatalogError, DeliveryError, ErrorCode, FieldError, LiveError, LogisticsError,
    OrdersError, PeopleError, Reason, RequestError, StockError,
};

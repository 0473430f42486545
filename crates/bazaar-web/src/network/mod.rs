//! The service network: the region tree and the service points in the JSON API, with their
//! CSV import and export ([`api`]).

pub mod api;

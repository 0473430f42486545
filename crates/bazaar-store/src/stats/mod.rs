//! Statistics: income attribution and sales reports ([`reports`]).

pub mod reports;

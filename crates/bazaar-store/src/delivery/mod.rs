//! Delivery: the day's joint runs from a county centre ([`runs`]).

pub mod runs;

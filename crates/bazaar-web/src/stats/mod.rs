//! Statistics: the reports pages ([`pages`]).

pub mod pages;

//! The catalog: sellers and their review ([`sellers`]), products with SKUs, photos and their
//! review lifecycle ([`products`]).

pub mod products;
pub mod sellers;

//! The catalog: sellers and their review ([`sellers`]), products with SKUs, photos and their
//! review lifecycle ([`products`]), their words in other languages ([`texts`]).

pub mod products;
pub mod sellers;
pub mod texts;

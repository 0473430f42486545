//! The catalog: the storefront's pages ([`pages`]: home, pavilions, search, product), the back
//! office's product pages ([`manage`]) and sellers ([`sellers`]), and photos ([`media`]); its JSON API ([`api`]).

pub mod api;
pub mod glance;
pub mod manage;
pub mod media;
pub mod pages;
pub mod sellers;

//! Orders: the API ([`api`]: orders, payments, refunds, shipping), the buyer's pages
//! ([`pages`]: cart, checkout, orders, paying) and the back office's ([`manage`]: a seller's
//! orders, the station's 代买, payments to confirm, refunds).

pub mod api;
pub mod manage;
pub mod pages;
pub mod paste;
pub mod picker;

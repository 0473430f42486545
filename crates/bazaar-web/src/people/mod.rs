//! People: sessions, the caller and accounts in the JSON API ([`api`]); the back office's
//! accounts and imports ([`manage`]).

pub mod api;
pub mod manage;

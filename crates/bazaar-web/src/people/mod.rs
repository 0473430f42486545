//! People: the back office's accounts and imports ([`manage`]).

pub mod manage;

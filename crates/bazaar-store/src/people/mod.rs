//! People: accounts and passwords, sessions and tokens ([`auth`]), accounts as administered
//! ([`users`]), and the throttles of guessable secrets ([`throttle`]).

pub mod auth;
pub mod throttle;
pub mod users;

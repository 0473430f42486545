//! What every area shares: the request's caller and its rights ([`auth`], [`session`],
//! [`backoffice`]), errors and their messages ([`error`], [`i18n`]), the frame and template
//! plumbing ([`view`], [`forms`]), the embedded style sheet and scripts ([`assets`]), the
//! server's transport ([`server`]), [`metrics`] and the API's description ([`openapi`]).

pub mod api;
pub mod assets;
pub mod auth;
pub mod backoffice;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod metrics;
pub mod openapi;
pub mod server;
pub mod session;
pub mod view;

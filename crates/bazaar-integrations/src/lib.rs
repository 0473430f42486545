//! # bazaar-integrations
//!
//! Every service outside Bazaar that it talks to or that talks to it, one module each, behind
//! a small trait so that the rest of the house never sees HTTP or a vendor's format:
//!
//! | module | service | trait it fills |
//! |---|---|---|
//! | [`sms`] | an SMS gateway (a relay to a cloud SMS service or a modem on the county's LAN) | [`sms::TextGateway`] |
//! | [`wechat`] | the centre's WeChat service account (服务号) template messages | [`wechat::TemplateChannel`] |
//! | [`payment`] | the payment sandbox's signed notifications | [`payment::PaymentProvider`] |
//! | [`osrm`] | an OSRM road server's `table` service | [`bazaar_plan::TableService`] |
//! | [`kuaidi100`] | 快递100's subscription push: its signature and carrier codes | — (pure functions) |
//!
//! Calls are blocking, through one `ureq` client configuration ([`http`]); the web layer runs
//! them off its async threads. Nothing here logs a secret, a token or a phone number.
#![forbid(unsafe_code)]

pub mod http;
pub mod kuaidi100;
pub mod osrm;
pub mod payment;
pub mod sign;
pub mod sms;
pub mod wechat;

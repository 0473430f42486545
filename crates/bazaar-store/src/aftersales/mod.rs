//! After-sales: refunds, their decision and arbitration ([`refunds`]).

pub mod refunds;

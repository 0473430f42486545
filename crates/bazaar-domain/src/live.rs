//! Live selling: a live room's sessions and their flash offers, as state machines, and the
//! terms of an offer with their rules (DESIGN.md §12).
//!
//! A session: scheduled → live ⇄ paused → ended (a scheduled session may also be called off:
//! ended). An offer: draft → scheduled (its cap set aside from the stock) → live ⇄ paused,
//! live → sold out → live (units held by unpaid orders come back), and from any of scheduled,
//! live, paused or sold out → ended (time up, stopped) → settled (every hold paid or released,
//! the unsold units back in stock). An ended offer never reopens.

use crate::{FieldError, Reason};
use serde::{Deserialize, Serialize};

/// Where the stream itself runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// 抖音.
    Douyin,
    /// 快手.
    Kuaishou,
    /// 微信视频号.
    Channels,
    /// Another platform.
    Other,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 4] = [
        Platform::Douyin,
        Platform::Kuaishou,
        Platform::Channels,
        Platform::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Douyin => "douyin",
            Platform::Kuaishou => "kuaishou",
            Platform::Channels => "channels",
            Platform::Other => "other",
        }
    }

    /// Reads `field`'s value.
    pub fn parse(field: &str, s: &str) -> Result<Platform, FieldError> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Announced; buyers may book it.
    Scheduled,
    /// On air.
    Live,
    /// A break.
    Paused,
    /// Over (or called off before it started).
    Ended,
}

impl SessionStatus {
    /// Every status.
    pub const ALL: [SessionStatus; 4] = [
        SessionStatus::Scheduled,
        SessionStatus::Live,
        SessionStatus::Paused,
        SessionStatus::Ended,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Live => "live",
            SessionStatus::Paused => "paused",
            SessionStatus::Ended => "ended",
        }
    }

    /// The status of a stored name.
    pub fn from_db(s: &str) -> Option<SessionStatus> {
        SessionStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What a host does to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionAction {
    /// Goes on air.
    Start,
    /// Takes a break.
    Pause,
    /// Back on air.
    Resume,
    /// Over.
    End,
    /// Pins a product (讲解中); the status does not change.
    Pin,
}

impl SessionAction {
    /// Every action.
    pub const ALL: [SessionAction; 5] = [
        SessionAction::Start,
        SessionAction::Pause,
        SessionAction::Resume,
        SessionAction::End,
        SessionAction::Pin,
    ];

    /// The name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionAction::Start => "start",
            SessionAction::Pause => "pause",
            SessionAction::Resume => "resume",
            SessionAction::End => "end",
            SessionAction::Pin => "pin",
        }
    }

    /// Reads `field`'s value.
    pub fn parse(field: &str, s: &str) -> Result<SessionAction, FieldError> {
        SessionAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// The status `action` leads a session to from `from`, or `None` when not allowed.
pub fn session_transition(from: SessionStatus, action: SessionAction) -> Option<SessionStatus> {
    use SessionAction as A;
    use SessionStatus as S;
    match (from, action) {
        (S::Scheduled, A::Start) => Some(S::Live),
        (S::Live, A::Pause) => Some(S::Paused),
        (S::Paused, A::Resume) => Some(S::Live),
        (S::Scheduled | S::Live | S::Paused, A::End) => Some(S::Ended),
        (S::Scheduled | S::Live | S::Paused, A::Pin) => Some(from),
        _ => None,
    }
}

/// Where a flash offer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Written, nothing set aside yet.
    Draft,
    /// Its cap set aside from the stock, waiting for its start.
    Scheduled,
    /// Taking orders.
    Live,
    /// Stopped for a moment by the host.
    Paused,
    /// Every unit sold or held; back to live when held units return.
    SoldOut,
    /// Over: time up, stopped, or sold out at its end. Never reopens.
    Ended,
    /// Every hold paid or released, the unsold units back in stock.
    Settled,
}

impl OfferStatus {
    /// Every status.
    pub const ALL: [OfferStatus; 7] = [
        OfferStatus::Draft,
        OfferStatus::Scheduled,
        OfferStatus::Live,
        OfferStatus::Paused,
        OfferStatus::SoldOut,
        OfferStatus::Ended,
        OfferStatus::Settled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Draft => "draft",
            OfferStatus::Scheduled => "scheduled",
            OfferStatus::Live => "live",
            OfferStatus::Paused => "paused",
            OfferStatus::SoldOut => "sold_out",
            OfferStatus::Ended => "ended",
            OfferStatus::Settled => "settled",
        }
    }

    /// The status of a stored name.
    pub fn from_db(s: &str) -> Option<OfferStatus> {
        OfferStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Over for good: ended or settled.
    pub fn is_over(self) -> bool {
        matches!(self, OfferStatus::Ended | OfferStatus::Settled)
    }
}

/// What moves an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferAction {
    /// Sets the cap aside (a draft becomes scheduled).
    Schedule,
    /// Opens it (the host, or its start time).
    Start,
    /// Stops taking orders for a moment.
    Pause,
    /// Takes orders again.
    Resume,
    /// Ends it before its time (host or operator).
    Stop,
    /// The last unit went (the system).
    SellOut,
    /// Held units came back (the system).
    Restock,
    /// Its end time came (the system).
    TimeUp,
    /// Every hold is decided: the unsold units go back to stock (the system).
    Settle,
}

impl OfferAction {
    /// The actions a person may send.
    pub const BY_HAND: [OfferAction; 5] = [
        OfferAction::Schedule,
        OfferAction::Start,
        OfferAction::Pause,
        OfferAction::Resume,
        OfferAction::Stop,
    ];

    /// The name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferAction::Schedule => "schedule",
            OfferAction::Start => "start",
            OfferAction::Pause => "pause",
            OfferAction::Resume => "resume",
            OfferAction::Stop => "stop",
            OfferAction::SellOut => "sell_out",
            OfferAction::Restock => "restock",
            OfferAction::TimeUp => "time_up",
            OfferAction::Settle => "settle",
        }
    }

    /// Reads an action a person sent in `field`.
    pub fn parse(field: &str, s: &str) -> Result<OfferAction, FieldError> {
        OfferAction::BY_HAND
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// The status `action` leads an offer to from `from`, or `None` when not allowed.
pub fn offer_transition(from: OfferStatus, action: OfferAction) -> Option<OfferStatus> {
    use OfferAction as A;
    use OfferStatus as S;
    match (from, action) {
        (S::Draft, A::Schedule) => Some(S::Scheduled),
        (S::Scheduled, A::Start) => Some(S::Live),
        (S::Live, A::Pause) => Some(S::Paused),
        (S::Paused, A::Resume) => Some(S::Live),
        (S::Live, A::SellOut) => Some(S::SoldOut),
        (S::SoldOut, A::Restock) => Some(S::Live),
        (S::Scheduled | S::Live | S::Paused | S::SoldOut, A::Stop | A::TimeUp) => Some(S::Ended),
        (S::Ended, A::Settle) => Some(S::Settled),
        _ => None,
    }
}

/// Why a flash order was refused (the API's reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlashRefusal {
    /// Nothing left (every unit sold or held).
    SoldOut,
    /// The buyer would hold more than the per-buyer limit.
    LimitExceeded,
    /// Not taking orders now (scheduled, paused, a draft).
    OfferNotLive,
    /// Over for good.
    OfferEnded,
}

impl FlashRefusal {
    /// The reason's code.
    pub fn code(self) -> &'static str {
        match self {
            FlashRefusal::SoldOut => "sold_out",
            FlashRefusal::LimitExceeded => "limit_exceeded",
            FlashRefusal::OfferNotLive => "offer_not_live",
            FlashRefusal::OfferEnded => "offer_ended",
        }
    }

    /// The error code it is answered with.
    pub fn error_code(self) -> crate::ErrorCode {
        match self {
            FlashRefusal::SoldOut => crate::ErrorCode::SoldOut,
            FlashRefusal::LimitExceeded => crate::ErrorCode::LimitExceeded,
            FlashRefusal::OfferNotLive => crate::ErrorCode::OfferNotLive,
            FlashRefusal::OfferEnded => crate::ErrorCode::OfferEnded,
        }
    }

    /// Why an offer in `status` takes no order, if it does not.
    pub fn of_status(status: OfferStatus) -> Option<FlashRefusal> {
        match status {
            OfferStatus::Live => None,
            OfferStatus::SoldOut => Some(FlashRefusal::SoldOut),
            OfferStatus::Ended | OfferStatus::Settled => Some(FlashRefusal::OfferEnded),
            OfferStatus::Draft | OfferStatus::Scheduled | OfferStatus::Paused => {
                Some(FlashRefusal::OfferNotLive)
            }
        }
    }
}

/// The largest cap of one offer.
pub const MAX_CAP: i64 = 10_000_000;
/// The longest payment window of a flash order, in minutes.
pub const MAX_HOLD_MINUTES: i64 = 60;
/// A flash order's payment window when the offer names none, in minutes.
pub const DEFAULT_HOLD_MINUTES: i64 = 10;

/// An offer's terms as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferTerms {
    /// Price of one unit, fen.
    pub price_fen: i64,
    /// Units on offer.
    pub cap: i64,
    /// Most units one buyer may hold or buy.
    pub per_buyer_limit: i64,
    /// Most units in one order.
    pub per_order_limit: i64,
    /// Opens at (UTC ms).
    pub starts_at: i64,
    /// Closes at (UTC ms).
    pub ends_at: i64,
    /// Payment window of its orders, minutes.
    pub hold_minutes: i64,
}

impl OfferTerms {
    /// Every field that breaks a rule, named: amounts at least 1 (the cap at most
    /// [`MAX_CAP`]), a per-order limit within the per-buyer limit, an end after the start, a
    /// payment window of 1 to [`MAX_HOLD_MINUTES`] minutes.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errs = vec![];
        if self.price_fen < 1 {
            errs.push(FieldError::new("price_fen", Reason::OutOfRange));
        }
        if !(1..=MAX_CAP).contains(&self.cap) {
            errs.push(FieldError::new("cap", Reason::OutOfRange));
        }
        if self.per_buyer_limit < 1 {
            errs.push(FieldError::new("per_buyer_limit", Reason::OutOfRange));
        }
        if self.per_order_limit < 1 {
            errs.push(FieldError::new("per_order_limit", Reason::OutOfRange));
        } else if self.per_buyer_limit >= 1 && self.per_order_limit > self.per_buyer_limit {
            errs.push(FieldError::new("per_order_limit", Reason::Inconsistent));
        }
        if self.ends_at <= self.starts_at {
            errs.push(FieldError::new("ends_at", Reason::Inconsistent));
        }
        if !(1..=MAX_HOLD_MINUTES).contains(&self.hold_minutes) {
            errs.push(FieldError::new("hold_minutes", Reason::OutOfRange));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_offer_never_reopens() {
        for a in [
            OfferAction::Schedule,
            OfferAction::Start,
            OfferAction::Resume,
            OfferAction::Restock,
        ] {
            assert_eq!(offer_transition(OfferStatus::Ended, a), None);
            assert_eq!(offer_transition(OfferStatus::Settled, a), None);
        }
        assert_eq!(
            offer_transition(OfferStatus::SoldOut, OfferAction::Restock),
            Some(OfferStatus::Live)
        );
        assert_eq!(
            offer_transition(OfferStatus::Draft, OfferAction::Start),
            None,
            "a draft has nothing set aside"
        );
    }

    #[test]
    fn sessions_pause_resume_and_end() {
        use SessionAction as A;
        use SessionStatus as S;
        assert_eq!(session_transition(S::Scheduled, A::Start), Some(S::Live));
        assert_eq!(session_transition(S::Live, A::Pause), Some(S::Paused));
        assert_eq!(session_transition(S::Paused, A::Resume), Some(S::Live));
        assert_eq!(session_transition(S::Paused, A::End), Some(S::Ended));
        assert_eq!(session_transition(S::Ended, A::Start), None);
        assert_eq!(session_transition(S::Ended, A::Pin), None);
        assert_eq!(session_transition(S::Live, A::Pin), Some(S::Live));
    }

    #[test]
    fn terms_name_every_bad_field() {
        let t = OfferTerms {
            price_fen: 0,
            cap: 0,
            per_buyer_limit: 0,
            per_order_limit: 0,
            starts_at: 10,
            ends_at: 5,
            hold_minutes: 0,
        };
        let fields: Vec<String> = t.check().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "price_fen",
                "cap",
                "per_buyer_limit",
                "per_order_limit",
                "ends_at",
                "hold_minutes"
            ]
        );
        let ok = OfferTerms {
            price_fen: 2990,
            cap: 50,
            per_buyer_limit: 2,
            per_order_limit: 2,
            starts_at: 0,
            ends_at: 1,
            hold_minutes: 10,
        };
        assert!(ok.check().is_empty());
        let over = OfferTerms {
            per_order_limit: 3,
            ..ok
        };
        assert_eq!(over.check()[0].reason, Reason::Inconsistent);
    }
}

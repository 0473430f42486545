//! Messages to people (SMS, WeChat), composed in the recipient's language.
//!
//! The store decides *that* a person is told something and *what* it says ([`Message`]: a
//! kind and its values), inside the transaction of the change it tells of; the words come
//! from the catalogues, through the [`Messages`] the store was given (the web crate gives
//! its Fluent catalogues, `bazaar_web::i18n::Catalogues`). The language is the recipient's:
//! the account's (the one it last signed in with), else the service point's (a villager
//! reached by phone only), else Chinese. The outbox row keeps the text as sent.

use std::fmt::Debug;

/// What a message says: its kind and its values, each with its catalogue name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// A parcel is on a point's shelf: the code to collect it with.
    PickupCode {
        /// The point's name.
        point: &'a str,
        /// The carrier's name.
        carrier: &'a str,
        /// The waybill number.
        waybill: &'a str,
        /// The pickup code.
        code: &'a str,
        /// The shelf slot.
        slot: &'a str,
        /// The point's opening hours (`08:00–20:00`), or empty.
        hours: &'a str,
    },
    /// A parcel has waited `days` days; it goes back after `back_days`.
    PickupReminder {
        /// The point's name.
        point: &'a str,
        /// The waybill number.
        waybill: &'a str,
        /// The pickup code.
        code: &'a str,
        /// Days it has waited.
        days: i64,
        /// Days on the shelf before it goes back.
        back_days: i64,
    },
    /// A parcel not collected in `days` days went back to its sender.
    Returned {
        /// Days it waited.
        days: i64,
    },
    /// A seller's parcels without news for too long.
    Stalled {
        /// How many.
        parcels: i64,
    },
}

/// A value of a message: text, or a number (numbers choose a catalogue's plural forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text.
    Text(&'a str),
    /// A whole number.
    Number(i64),
}

impl<'a> Message<'a> {
    /// The kind stored with the notification (`pickup_code`, …); the catalogue key is
    /// `notify-<kind>`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::PickupCode { .. } => "pickup_code",
            Message::PickupReminder { .. } => "pickup_reminder",
            Message::Returned { .. } => "returned",
            Message::Stalled { .. } => "stalled",
        }
    }

    /// Its values by catalogue name.
    pub fn args(&self) -> Vec<(&'static str, Value<'a>)> {
        use Value::{Number, Text};
        match *self {
            Message::PickupCode {
                point,
                carrier,
                waybill,
                code,
                slot,
                hours,
            } => vec![
                ("point", Text(point)),
                ("carrier", Text(carrier)),
                ("waybill", Text(waybill)),
                ("code", Text(code)),
                ("slot", Text(slot)),
                ("hours", Text(hours)),
            ],
            Message::PickupReminder {
                point,
                waybill,
                code,
                days,
                back_days,
            } => vec![
                ("point", Text(point)),
                ("waybill", Text(waybill)),
                ("code", Text(code)),
                ("days", Number(days)),
                ("back_days", Number(back_days)),
            ],
            Message::Returned { days } => vec![("days", Number(days))],
            Message::Stalled { parcels } => vec![("parcels", Number(parcels))],
        }
    }
}

/// Words for messages: composes a message in a language (a BCP 47 tag such as `ug`;
/// `None` or one without a catalogue: the default language).
pub trait Messages: Send + Sync + Debug {
    /// The text of `m` in `lang`.
    fn compose(&self, lang: Option<&str>, m: &Message<'_>) -> String;
}

/// Messages without catalogues, for a store used on its own (its unit tests, tools): the
/// kind and the values, `pickup_code: point=…, code=…`. A running Bazaar gives the store
/// its catalogues.
#[derive(Debug, Default)]
pub struct Plain;

impl Messages for Plain {
    fn compose(&self, _lang: Option<&str>, m: &Message<'_>) -> String {
        let args: Vec<String> = m
            .args()
            .into_iter()
            .map(|(k, v)| match v {
                Value::Text(t) => format!("{k}={t}"),
                Value::Number(n) => format!("{k}={n}"),
            })
            .collect();
        format!("{}: {}", m.kind(), args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_name_the_kind_and_every_value() {
        let m = Message::PickupReminder {
            point: "哈尔恩根村服务站",
            waybill: "YT5000000000001",
            code: "123456",
            days: 3,
            back_days: 7,
        };
        let t = Plain.compose(Some("ug"), &m);
        assert!(t.starts_with("pickup_reminder: "), "{t}");
        for v in [
            "哈尔恩根村服务站",
            "YT5000000000001",
            "123456",
            "days=3",
            "back_days=7",
        ] {
            assert!(t.contains(v), "{t}");
        }
    }
}

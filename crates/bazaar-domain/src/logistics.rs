//! Logistics rules without storage: the carriers and their waybill formats, parcel
//! directions, the one canonical set of parcel states, what each of our scans means, and how
//! 快递100's push states map onto ours (the raw code is always kept beside).

use crate::{FieldError, Reason};
use serde::{Deserialize, Serialize};

/// One way a carrier writes its waybill numbers: a literal prefix, a run of digits (whose
/// first digit may be restricted), a literal suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaybillFormat {
    /// Letters before the digits (`SF`, `JT`), or empty.
    pub prefix: &'static str,
    /// How many further letters, any, follow the prefix (the service letter of `EA…CN`).
    pub letters: usize,
    /// Fewest digits.
    pub min_digits: usize,
    /// Most digits.
    pub max_digits: usize,
    /// Allowed first digits (empty: any).
    pub first: &'static str,
    /// Letters after the digits (`CN` for UPU S10 numbers), or empty.
    pub suffix: &'static str,
}

impl WaybillFormat {
    const fn digits(min: usize, max: usize, first: &'static str) -> Self {
        Self {
            prefix: "",
            letters: 0,
            min_digits: min,
            max_digits: max,
            first,
            suffix: "",
        }
    }

    const fn prefixed(prefix: &'static str, min: usize, max: usize) -> Self {
        Self {
            prefix,
            letters: 0,
            min_digits: min,
            max_digits: max,
            first: "",
            suffix: "",
        }
    }

    /// Whether `w` (upper case, no spaces) is written this way.
    pub fn matches(&self, w: &str) -> bool {
        let Some(rest) = w.strip_prefix(self.prefix) else {
            return false;
        };
        if rest.len() < self.letters
            || !rest.is_char_boundary(self.letters)
            || !rest[..self.letters].bytes().all(|b| b.is_ascii_uppercase())
        {
            return false;
        }
        let rest = &rest[self.letters..];
        let Some(digits) = rest.strip_suffix(self.suffix) else {
            return false;
        };
        (self.min_digits..=self.max_digits).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (self.first.is_empty()
                || digits
                    .chars()
                    .next()
                    .is_some_and(|c| self.first.contains(c)))
    }
}

/// A carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carrier {
    /// Our code (also 快递100's company code where it has one).
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// A regional carrier (serves a province or a few counties).
    pub regional: bool,
    /// The ways its waybill numbers are written.
    pub formats: &'static [WaybillFormat],
}

/// UPU S10 numbers of China Post's international and EMS items: two letters, nine digits, CN.
const EMS_S10: &[WaybillFormat] = &[
    WaybillFormat {
        prefix: "E",
        letters: 1,
        min_digits: 9,
        max_digits: 9,
        first: "",
        suffix: "CN",
    },
    WaybillFormat::digits(13, 13, "159"),
];

/// The carriers Bazaar knows. The formats of the national carriers are those their waybills
/// carry (SF + 12–13 digits, YT + 13, JT + 13, JD + 11–13, …); the regional carriers' formats are
/// the ones agreed with them (a two-letter prefix and 10–12 digits).
pub const CARRIERS: &[Carrier] = &[
    Carrier {
        code: "ems",
        name: "中国邮政/EMS",
        name_en: "China Post / EMS",
        regional: false,
        formats: EMS_S10,
    },
    Carrier {
        code: "shunfeng",
        name: "顺丰速运",
        name_en: "SF Express",
        regional: false,
        formats: &[
            WaybillFormat::prefixed("SF", 12, 13),
            WaybillFormat::digits(12, 12, ""),
        ],
    },
    Carrier {
        code: "yuantong",
        name: "圆通速递",
        name_en: "YTO Express",
        regional: false,
        formats: &[WaybillFormat::prefixed("YT", 13, 13)],
    },
    Carrier {
        code: "yunda",
        name: "韵达快递",
        name_en: "Yunda Express",
        regional: false,
        formats: &[
            WaybillFormat::digits(13, 13, "1345"),
            WaybillFormat::digits(15, 15, "1345"),
        ],
    },
    Carrier {
        code: "zhongtong",
        name: "中通快递",
        name_en: "ZTO Express",
        regional: false,
        formats: &[WaybillFormat::digits(12, 14, "2567")],
    },
    Carrier {
        code: "shentong",
        name: "申通快递",
        name_en: "STO Express",
        regional: false,
        formats: &[WaybillFormat::digits(13, 15, "234568")],
    },
    Carrier {
        code: "jtexpress",
        name: "极兔速递",
        name_en: "J&T Express",
        regional: false,
        formats: &[WaybillFormat::prefixed("JT", 13, 13)],
    },
    Carrier {
        code: "jd",
        name: "京东物流",
        name_en: "JD Logistics",
        regional: false,
        formats: &[
            WaybillFormat::prefixed("JD", 11, 13),
            WaybillFormat::prefixed("JDVA", 11, 11),
            WaybillFormat::prefixed("JDVB", 11, 11),
            WaybillFormat::prefixed("JDVC", 11, 11),
        ],
    },
    Carrier {
        code: "qinge",
        name: "秦歌物流",
        name_en: "Qinge Logistics",
        regional: true,
        formats: &[WaybillFormat::prefixed("QG", 10, 12)],
    },
    Carrier {
        code: "huizhong",
        name: "惠众冷链",
        name_en: "Huizhong Cold Chain",
        regional: true,
        formats: &[WaybillFormat::prefixed("HZ", 10, 12)],
    },
    Carrier {
        code: BAZAAR_CARRIER,
        name: "县域共同配送",
        name_en: "County joint delivery",
        regional: true,
        formats: &[WaybillFormat::prefixed("BZ", 12, 12)],
    },
];

/// The county's own network as a carrier: an order's parcel gets a `BZ` waybill when it is
/// paid, which the village point scans when it collects it; a seller who hands it to an
/// express company replaces it with that company's waybill.
pub const BAZAAR_CARRIER: &str = "bazaar";

/// The waybill the county network gives an order part's parcel: `BZ` and twelve digits, the
/// part's number through a keyed permutation of 0…10¹²−1 (see [`permute_waybill`]), so
/// waybills are unique without a lookup yet do not count up: knowing one tells nothing of
/// the next.
pub fn bazaar_waybill(part_id: i64, round: impl Fn(u8, u64) -> u64) -> String {
    let n = part_id.rem_euclid(WAYBILL_SPACE as i64) as u64;
    format!("BZ{:012}", permute_waybill(n, round))
}

/// How many numbers twelve digits hold.
pub const WAYBILL_SPACE: u64 = 1_000_000_000_000;

/// A bijection of 0…10¹²−1 onto itself: a balanced Feistel network of eight rounds over two
/// halves of six digits, each round adding (mod 10⁶) `round(i, other half)`. The store's
/// round function is a keyed hash with a secret of the database, so the output cannot be
/// predicted without it; whatever the function, the result is a permutation.
pub fn permute_waybill(n: u64, round: impl Fn(u8, u64) -> u64) -> u64 {
    const HALF: u64 = 1_000_000;
    let (mut l, mut r) = ((n % WAYBILL_SPACE) / HALF, n % HALF);
    for i in 0..8 {
        let f = round(i, r) % HALF;
        (l, r) = (r, (l + f) % HALF);
    }
    l * HALF + r
}

/// The carrier with this code.
pub fn carrier(code: &str) -> Option<&'static Carrier> {
    CARRIERS.iter().find(|c| c.code == code)
}

/// The carriers whose waybills are written like `waybill` (normalised first): one when the
/// number tells its carrier (a seller's scanner needs no carrier picker), several when formats
/// overlap (plain 13 digits), none when no carrier writes it so.
pub fn carriers_of(waybill: &str) -> Vec<&'static Carrier> {
    let w = normalise_waybill(waybill);
    CARRIERS
        .iter()
        .filter(|c| c.formats.iter().any(|f| f.matches(&w)))
        .collect()
}

/// A waybill number as it is stored and looked up: upper case, spaces and dashes removed.
pub fn normalise_waybill(waybill: &str) -> String {
    waybill
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A waybill number for `carrier`, normalised (see [`normalise_waybill`]), or the field
/// error naming why not.
pub fn check_waybill(carrier_code: &str, waybill: &str) -> Result<String, FieldError> {
    let c =
        carrier(carrier_code).ok_or_else(|| FieldError::new("carrier", Reason::UnknownChoice))?;
    let w = normalise_waybill(waybill);
    if w.is_empty() {
        return Err(FieldError::new("waybill", Reason::Required));
    }
    if c.formats.iter().any(|f| f.matches(&w)) {
        Ok(w)
    } else {
        Err(FieldError::new("waybill", Reason::NotThisCarrier))
    }
}

/// Which way a parcel moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Farm products up from the villages (农产品上行, the first kilometre).
    Upstream,
    /// Parcels down to the villages (工业品下行, the last kilometre).
    Downstream,
    /// Deliveries in town.
    SameCity,
}

impl Direction {
    /// The stored snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
            Direction::SameCity => "same_city",
        }
    }

    /// From the stored name (a column only ever holds the three; anything else reads as
    /// downstream, the common case).
    pub fn from_db(s: &str) -> Direction {
        match s {
            "upstream" => Direction::Upstream,
            "same_city" => Direction::SameCity,
            _ => Direction::Downstream,
        }
    }
}

/// The one set of parcel states every source maps onto, in the order a parcel normally passes
/// them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ParcelState {
    /// A waybill exists, nothing handed over yet.
    Ordered,
    /// Waiting for the carrier to collect it.
    AwaitingPickup,
    /// Collected (揽收).
    PickedUp,
    /// On its way.
    InTransit,
    /// At the destination city or county centre.
    ArrivedDestinationCity,
    /// Out for delivery (派件).
    OutForDelivery,
    /// In a locker or at a village point, waiting for the recipient.
    InLockerOrStation,
    /// Delivered (签收). Final.
    Delivered,
    /// Something went wrong (疑难): needs a person.
    Exception,
    /// Refused by the recipient (拒签).
    Refused,
    /// On its way back to the sender (退回).
    Returning,
    /// Back with the sender (退签). Final.
    Returned,
    /// Cancelled before it moved (销单). Final.
    Cancelled,
}

impl ParcelState {
    /// Every state, in order.
    pub const ALL: [ParcelState; 13] = [
        ParcelState::Ordered,
        ParcelState::AwaitingPickup,
        ParcelState::PickedUp,
        ParcelState::InTransit,
        ParcelState::ArrivedDestinationCity,
        ParcelState::OutForDelivery,
        ParcelState::InLockerOrStation,
        ParcelState::Delivered,
        ParcelState::Exception,
        ParcelState::Refused,
        ParcelState::Returning,
        ParcelState::Returned,
        ParcelState::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParcelState::Ordered => "ordered",
            ParcelState::AwaitingPickup => "awaiting_pickup",
            ParcelState::PickedUp => "picked_up",
            ParcelState::InTransit => "in_transit",
            ParcelState::ArrivedDestinationCity => "arrived_destination_city",
            ParcelState::OutForDelivery => "out_for_delivery",
            ParcelState::InLockerOrStation => "in_locker_or_station",
            ParcelState::Delivered => "delivered",
            ParcelState::Exception => "exception",
            ParcelState::Refused => "refused",
            ParcelState::Returning => "returning",
            ParcelState::Returned => "returned",
            ParcelState::Cancelled => "cancelled",
        }
    }

    /// The state of a stored name.
    pub fn from_db(s: &str) -> Option<ParcelState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Nothing more will happen to the parcel (the 48-hour watch ignores it).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ParcelState::Delivered | ParcelState::Returned | ParcelState::Cancelled
        )
    }

    /// Where the parcel stands on the normal way from ordered to delivered (none for the
    /// exception states).
    pub fn rank(self) -> Option<u8> {
        let r = ParcelState::ALL[..8].iter().position(|s| *s == self)?;
        Some(r as u8)
    }

    /// The state after an event that says `next`, replayed in time order. States move
    /// forward along the normal way only (a late "in transit" after "arrived" changes
    /// nothing); the explicit exception paths are: any open parcel can meet an exception, be
    /// refused, turn back or be returned; an exception or refusal can be resolved by any step
    /// of the normal way; a parcel can be cancelled only before it is collected or out of an
    /// exception; a returning parcel signed for is back with its sender. Final states stay.
    pub fn after(self, next: ParcelState) -> ParcelState {
        use ParcelState as P;
        if self.is_final() || next == self {
            return self;
        }
        match (self, next) {
            (_, P::Exception | P::Refused | P::Returning | P::Returned) => next,
            (P::Ordered | P::AwaitingPickup | P::Exception, P::Cancelled) => next,
            (_, P::Cancelled) => self,
            (P::Returning, P::Delivered) => P::Returned,
            (P::Returning, _) => self,
            (P::Exception | P::Refused, _) => next,
            _ => match (self.rank(), next.rank()) {
                (Some(a), Some(b)) if b > a => next,
                _ => self,
            },
        }
    }

    /// The state that a timeline of states, in time order, leaves a new parcel in.
    pub fn replay(states: impl IntoIterator<Item = ParcelState>) -> ParcelState {
        states
            .into_iter()
            .fold(ParcelState::Ordered, ParcelState::after)
    }
}

/// A handover we scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanKind {
    /// Collected at the village point (a villager's outgoing parcel).
    CollectedAtVillage,
    /// Received at the township station.
    ReceivedAtTownship,
    /// Arrived at the county centre.
    ArrivedAtCounty,
    /// Sorted to a delivery route.
    SortedToRoute,
    /// Loaded on a vehicle.
    LoadedOnVehicle,
    /// Delivered to a village point.
    DeliveredToPoint,
    /// Put in a locker.
    PutInLocker,
    /// Picked up by the recipient.
    PickedUpByRecipient,
    /// Handed to a trunk carrier (leaving the county).
    HandedToTrunkCarrier,
}

impl ScanKind {
    /// Every kind.
    pub const ALL: [ScanKind; 9] = [
        ScanKind::CollectedAtVillage,
        ScanKind::ReceivedAtTownship,
        ScanKind::ArrivedAtCounty,
        ScanKind::SortedToRoute,
        ScanKind::LoadedOnVehicle,
        ScanKind::DeliveredToPoint,
        ScanKind::PutInLocker,
        ScanKind::PickedUpByRecipient,
        ScanKind::HandedToTrunkCarrier,
    ];

    /// What can be scanned at a place of kind `node_kind` (a node kind's stored name), the
    /// likeliest first: a village point receives parcels and collects villagers' ones, a
    /// township station receives and sends on, a county centre receives, sorts, loads and hands
    /// to the trunk carriers; a locker takes parcels in. Another kind of place: every kind.
    pub fn at_place(node_kind: &str) -> Vec<ScanKind> {
        use ScanKind::*;
        match node_kind {
            "village_point" => vec![DeliveredToPoint, CollectedAtVillage],
            "locker_bank" => vec![PutInLocker, CollectedAtVillage],
            "township_station" => vec![
                ReceivedAtTownship,
                LoadedOnVehicle,
                DeliveredToPoint,
                CollectedAtVillage,
            ],
            "distribution_centre" | "county_centre" | "prefecture_centre" => vec![
                ArrivedAtCounty,
                SortedToRoute,
                LoadedOnVehicle,
                HandedToTrunkCarrier,
            ],
            _ => ScanKind::ALL.to_vec(),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanKind::CollectedAtVillage => "collected_at_village",
            ScanKind::ReceivedAtTownship => "received_at_township",
            ScanKind::ArrivedAtCounty => "arrived_at_county",
            ScanKind::SortedToRoute => "sorted_to_route",
            ScanKind::LoadedOnVehicle => "loaded_on_vehicle",
            ScanKind::DeliveredToPoint => "delivered_to_point",
            ScanKind::PutInLocker => "put_in_locker",
            ScanKind::PickedUpByRecipient => "picked_up_by_recipient",
            ScanKind::HandedToTrunkCarrier => "handed_to_trunk_carrier",
        }
    }

    /// The kind of a stored name, or the field error.
    pub fn parse(field: &str, s: &str) -> Result<ScanKind, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }

    /// What the scan says about a parcel moving `direction`: going up, everything before the
    /// trunk carrier is the first kilometre (collected, then in transit); going down, the
    /// county centre is the destination city and the village point the last stop.
    pub fn state(self, direction: Direction) -> ParcelState {
        use ParcelState as P;
        match (self, direction) {
            (ScanKind::CollectedAtVillage, _) => P::PickedUp,
            (ScanKind::ReceivedAtTownship, _) => P::InTransit,
            (ScanKind::ArrivedAtCounty | ScanKind::SortedToRoute, Direction::Upstream) => {
                P::InTransit
            }
            (ScanKind::ArrivedAtCounty | ScanKind::SortedToRoute, _) => P::ArrivedDestinationCity,
            (ScanKind::LoadedOnVehicle, Direction::Upstream) => P::InTransit,
            (ScanKind::LoadedOnVehicle, _) => P::OutForDelivery,
            (ScanKind::DeliveredToPoint | ScanKind::PutInLocker, _) => P::InLockerOrStation,
            (ScanKind::PickedUpByRecipient, _) => P::Delivered,
            (ScanKind::HandedToTrunkCarrier, _) => P::InTransit,
        }
    }
}

/// Our state for a 快递100 push state (`lastResult.state`, or a finer code of its advanced
/// states): 0 在途, 1 揽收, 2 疑难, 3 签收, 4 退签, 5 派件, 6 退回, 7 转投, 8 清关, 14 拒签, and the
/// finer 101 已下单, 102 待揽收, 103 已揽收, 1001 到达派件城市, 1002 干线, 201–210 (疑难 kinds:
/// 203 拒收, 210 销单), 301–304 (签收 kinds: 304 投柜或站签收), 401 已销单, 501 投柜或驿站,
/// 1401 拒签. `None` for a code we do not know (stored raw, state unchanged).
pub fn kuaidi100_state(code: &str) -> Option<ParcelState> {
    use ParcelState as P;
    Some(match code.trim() {
        "101" => P::Ordered,
        "102" => P::AwaitingPickup,
        "1" | "103" => P::PickedUp,
        "0" | "1002" | "7" | "8" => P::InTransit,
        "1001" => P::ArrivedDestinationCity,
        "5" => P::OutForDelivery,
        "501" | "304" => P::InLockerOrStation,
        "3" | "301" | "302" | "303" => P::Delivered,
        "203" | "14" | "1401" => P::Refused,
        "210" | "401" => P::Cancelled,
        "2" | "201" | "202" | "204" | "205" | "206" | "207" | "208" | "209" => P::Exception,
        "6" => P::Returning,
        "4" => P::Returned,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_waybill_names_its_carrier_when_its_format_is_its_own() {
        let codes = |w: &str| {
            super::carriers_of(w)
                .iter()
                .map(|c| c.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("jt 1234567890123"), ["jtexpress"]);
        assert_eq!(codes("SF1234567890123"), ["shunfeng"]);
        assert_eq!(codes("BZ123456789012"), ["bazaar"]);
        assert!(
            codes("1234567890123").len() > 1,
            "plain digits are ambiguous"
        );
        assert!(codes("hello").is_empty());
    }

    #[test]
    fn own_waybills_are_a_permutation_that_does_not_count_up() {
        let round = |i: u8, r: u64| r.wrapping_mul(2_654_435_761).rotate_left(u32::from(i) + 7);
        let mut seen = std::collections::HashSet::new();
        for n in 0..20_000 {
            let w = bazaar_waybill(n, round);
            assert!(check_waybill(BAZAAR_CARRIER, &w).is_ok(), "{w}");
            assert!(seen.insert(w), "collision at {n}");
        }
        let a = bazaar_waybill(1, round);
        let b = bazaar_waybill(2, round);
        assert_ne!(a, "BZ000000000001");
        assert_ne!(&a[..8], &b[..8], "{a} {b}");
        assert!(permute_waybill(WAYBILL_SPACE - 1, round) < WAYBILL_SPACE);
    }

    use super::*;

    #[test]
    fn waybills_are_checked_per_carrier() {
        assert_eq!(
            check_waybill("shunfeng", "sf 1234 5678 9012").as_deref(),
            Ok("SF123456789012")
        );
        assert!(check_waybill("shunfeng", "YT1234567890123").is_err());
        assert_eq!(
            check_waybill("yuantong", "YT1234567890123").as_deref(),
            Ok("YT1234567890123")
        );
        assert!(check_waybill("ems", "EA123456789CN").is_ok());
        assert!(check_waybill("ems", "1123456789012").is_ok());
        assert!(check_waybill("ems", "EA12345678CN").is_err());
        assert!(check_waybill("zhongtong", "75123456789012").is_ok());
        assert!(check_waybill("zhongtong", "95123456789012").is_err());
        assert!(check_waybill("jtexpress", "JT1234567890123").is_ok());
        assert!(check_waybill("jd", "JDVA12345678901").is_ok());
        assert!(check_waybill("huizhong", "HZ2026112301").is_ok());
        assert_eq!(
            check_waybill("nobody", "1").map_err(|e| e.field),
            Err("carrier".to_string())
        );
        assert_eq!(
            check_waybill("yunda", "  ").map_err(|e| e.reason),
            Err(Reason::Required)
        );
        // Every carrier accepts some number and refuses junk.
        for c in CARRIERS {
            assert!(
                check_waybill(c.code, "not-a-waybill!").is_err(),
                "{}",
                c.code
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_waybill_or_a_named_error(w in "\\PC{0,40}", c in 0usize..12) {
            let code = CARRIERS.get(c).map(|c| c.code).unwrap_or("unknown");
            match check_waybill(code, &w) {
                Ok(n) => proptest::prop_assert!(n.bytes().all(|b| b.is_ascii_alphanumeric())),
                Err(e) => proptest::prop_assert!(e.field == "waybill" || e.field == "carrier"),
            }
        }
    }

    #[test]
    fn every_kuaidi100_state_maps_and_finals_are_final() {
        for code in ["0", "1", "2", "3", "4", "5", "6", "7", "14", "501", "304"] {
            assert!(kuaidi100_state(code).is_some(), "{code}");
        }
        assert_eq!(kuaidi100_state("3"), Some(ParcelState::Delivered));
        assert_eq!(kuaidi100_state("14"), Some(ParcelState::Refused));
        assert_eq!(kuaidi100_state("501"), Some(ParcelState::InLockerOrStation));
        assert_eq!(kuaidi100_state("999"), None);
        assert!(ParcelState::Delivered.is_final() && !ParcelState::Exception.is_final());
        for s in ParcelState::ALL {
            assert_eq!(ParcelState::from_db(s.as_str()), Some(s));
        }
    }

    /// The explicit exception paths: every move that is not forward on the normal way.
    fn is_exception_path(from: ParcelState, to: ParcelState) -> bool {
        use ParcelState as P;
        matches!(to, P::Exception | P::Refused | P::Returning | P::Returned)
            || matches!(from, P::Exception | P::Refused) && !to.is_final()
            || matches!(from, P::Exception | P::Refused) && to == P::Delivered
            || to == P::Cancelled && matches!(from, P::Ordered | P::AwaitingPickup | P::Exception)
    }

    proptest::proptest! {
        #[test]
        fn states_only_move_forward_except_through_exception_paths(
            codes in proptest::collection::vec(0usize..13, 0..30)
        ) {
            let mut s = ParcelState::Ordered;
            for c in codes {
                let next = s.after(ParcelState::ALL[c]);
                if s.is_final() {
                    proptest::prop_assert_eq!(next, s, "a final state stays");
                }
                if next != s {
                    let forward = matches!((s.rank(), next.rank()), (Some(a), Some(b)) if b > a);
                    proptest::prop_assert!(
                        forward || is_exception_path(s, next),
                        "{:?} -> {:?} is neither forward nor an exception path", s, next
                    );
                }
                s = next;
            }
        }
    }

    #[test]
    fn late_and_exceptional_events() {
        use ParcelState as P;
        assert_eq!(
            P::ArrivedDestinationCity.after(P::InTransit),
            P::ArrivedDestinationCity
        );
        assert_eq!(P::InTransit.after(P::Cancelled), P::InTransit);
        assert_eq!(P::Exception.after(P::OutForDelivery), P::OutForDelivery);
        assert_eq!(P::Returning.after(P::Delivered), P::Returned);
        assert_eq!(P::Delivered.after(P::Exception), P::Delivered);
        assert_eq!(
            P::replay([
                P::PickedUp,
                P::InTransit,
                P::InLockerOrStation,
                P::Delivered
            ]),
            P::Delivered
        );
    }

    #[test]
    fn scans_mean_different_things_up_and_down() {
        use Direction::*;
        assert_eq!(
            ScanKind::ArrivedAtCounty.state(Downstream),
            ParcelState::ArrivedDestinationCity
        );
        assert_eq!(
            ScanKind::ArrivedAtCounty.state(Upstream),
            ParcelState::InTransit
        );
        assert_eq!(
            ScanKind::LoadedOnVehicle.state(Downstream),
            ParcelState::OutForDelivery
        );
        assert_eq!(
            ScanKind::PickedUpByRecipient.state(Downstream),
            ParcelState::Delivered
        );
        for k in ScanKind::ALL {
            assert_eq!(ScanKind::parse("kind", k.as_str()), Ok(k));
        }
        assert!(ScanKind::parse("kind", "teleported").is_err());
    }
}

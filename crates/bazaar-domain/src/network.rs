//! The service network placed on the region tree: centres, warehouses, stations, village
//! points, locker banks and carrier outlets.

use crate::error::{FieldError, Reason};
use serde::Serialize;

/// Kind of network node (节点).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// 州级公共服务中心
    PrefectureCentre,
    /// 县级公共服务中心
    CountyCentre,
    /// 仓储物流配送中心
    DistributionCentre,
    /// 乡镇电商物流服务站
    TownshipStation,
    /// 村级电商物流服务点
    VillagePoint,
    /// 智能快递柜
    LockerBank,
    /// 快递网点
    CarrierOutlet,
}

impl NodeKind {
    /// All kinds.
    pub const ALL: [NodeKind; 7] = [
        NodeKind::PrefectureCentre,
        NodeKind::CountyCentre,
        NodeKind::DistributionCentre,
        NodeKind::TownshipStation,
        NodeKind::VillagePoint,
        NodeKind::LockerBank,
        NodeKind::CarrierOutlet,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::PrefectureCentre => "prefecture_centre",
            NodeKind::CountyCentre => "county_centre",
            NodeKind::DistributionCentre => "distribution_centre",
            NodeKind::TownshipStation => "township_station",
            NodeKind::VillagePoint => "village_point",
            NodeKind::LockerBank => "locker_bank",
            NodeKind::CarrierOutlet => "carrier_outlet",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// A node code: 2–40 characters of ASCII letters, digits, `-` and `_`.
pub fn parse_node_code(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, Reason::Required));
    }
    if s.len() > 40 {
        return Err(FieldError::new(field, Reason::TooLong));
    }
    if s.len() < 2
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    Ok(s.to_string())
}

/// A time of day as minutes after midnight, written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ClockTime(pub u16);

impl ClockTime {
    /// Parses `HH:MM` (00:00 to 23:59; also `24:00` for the end of the day).
    pub fn parse(field: &str, s: &str) -> Result<ClockTime, FieldError> {
        let s = s.trim();
        let (h, m) = s
            .split_once(':')
            .ok_or_else(|| FieldError::new(field, Reason::InvalidFormat))?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(FieldError::new(field, Reason::InvalidFormat));
        }
        let h: u16 = h
            .parse()
            .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
        let m: u16 = m
            .parse()
            .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(FieldError::new(field, Reason::OutOfRange));
        }
        Ok(ClockTime(h * 60 + m))
    }

    /// `HH:MM`.
    pub fn to_hhmm(self) -> String {
        format!("{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Opening hours of a node: one daily window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpeningHours {
    /// Opens at.
    pub opens: ClockTime,
    /// Closes at (after `opens`).
    pub closes: ClockTime,
}

impl OpeningHours {
    /// Parses an optional window: both empty means unknown; otherwise both are required and
    /// closing must come after opening.
    pub fn parse_opt(opens: &str, closes: &str) -> Result<Option<OpeningHours>, FieldError> {
        match (opens.trim().is_empty(), closes.trim().is_empty()) {
            (true, true) => Ok(None),
            (true, false) => Err(FieldError::new("opens", Reason::Required)),
            (false, true) => Err(FieldError::new("closes", Reason::Required)),
            _ => {
                let o = ClockTime::parse("opens", opens)?;
                let c = ClockTime::parse("closes", closes)?;
                if c <= o {
                    return Err(FieldError::new("closes", Reason::Inconsistent));
                }
                Ok(Some(OpeningHours {
                    opens: o,
                    closes: c,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hours() {
        let h = OpeningHours::parse_opt("09:00", "20:00")
            .expect("ok")
            .expect("some");
        assert_eq!(h.opens.to_hhmm(), "09:00");
        assert!(OpeningHours::parse_opt("20:00", "09:00").is_err());
        assert!(OpeningHours::parse_opt("9:60", "20:00").is_err());
        assert!(OpeningHours::parse_opt("", "20:00").is_err());
        assert_eq!(OpeningHours::parse_opt("", "").expect("ok"), None);
        assert!(NodeKind::parse("kind", "village_point").is_ok());
        assert!(NodeKind::parse("kind", "village").is_err());
        assert!(parse_node_code("code", "VP-HARENGEN").is_ok());
        assert!(parse_node_code("code", "VP HARENGEN").is_err());
    }

    proptest! {
        #[test]
        fn clock_parse_never_panics(s in "\\PC{0,8}") {
            let _ = ClockTime::parse("opens", &s);
        }

        #[test]
        fn clock_round_trip(m in 0u16..1440) {
            prop_assert_eq!(ClockTime::parse("t", &ClockTime(m).to_hhmm()), Ok(ClockTime(m)));
        }
    }
}

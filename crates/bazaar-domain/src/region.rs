//! The region tree: province → prefecture → county → township → village, keyed by the official
//! administrative division code (行政区划代码).

use crate::error::{FieldError, Reason};
use crate::time::Zone;
use serde::Serialize;

/// Level of a region in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// 省 / 自治区
    Province,
    /// 州 / 地区 / 市
    Prefecture,
    /// 县 / 县级市
    County,
    /// 乡 / 镇
    Township,
    /// 村
    Village,
}

impl RegionLevel {
    /// All levels, from the top.
    pub const ALL: [RegionLevel; 5] = [
        RegionLevel::Province,
        RegionLevel::Prefecture,
        RegionLevel::County,
        RegionLevel::Township,
        RegionLevel::Village,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::Prefecture => "prefecture",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }

    /// Number of digits of the official code at this level (6 down to county, then 9 and 12).
    pub fn code_len(self) -> usize {
        match self {
            RegionLevel::Province | RegionLevel::Prefecture | RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        }
    }

    /// The level a child of this level must have.
    pub fn child(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::Province => Some(RegionLevel::Prefecture),
            RegionLevel::Prefecture => Some(RegionLevel::County),
            RegionLevel::County => Some(RegionLevel::Township),
            RegionLevel::Township => Some(RegionLevel::Village),
            RegionLevel::Village => None,
        }
    }
}

/// An official administrative division code: 6 digits (province, prefecture, county),
/// 9 (township) or 12 (village).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses a code: digits only, 6, 9 or 12 of them.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, Reason::Required));
        }
        if !matches!(s.len(), 6 | 9 | 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(field, Reason::InvalidFormat));
        }
        Ok(Self(s.to_string()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A coordinate pair (WGS84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatLng {
    /// Latitude, −90..=90.
    pub lat: f64,
    /// Longitude, −180..=180.
    pub lng: f64,
}

impl LatLng {
    /// Parses an optional pair; both or neither must be present. China lies within
    /// latitude 3..54 and longitude 73..136; anything outside is refused as out of range.
    pub fn parse_opt(lat: &str, lng: &str) -> Result<Option<LatLng>, FieldError> {
        let (lat, lng) = (lat.trim(), lng.trim());
        match (lat.is_empty(), lng.is_empty()) {
            (true, true) => return Ok(None),
            (true, false) => return Err(FieldError::new("lat", Reason::Required)),
            (false, true) => return Err(FieldError::new("lng", Reason::Required)),
            _ => {}
        }
        let num = |field: &str, s: &str, lo: f64, hi: f64| -> Result<f64, FieldError> {
            let v: f64 = s
                .parse()
                .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
            if !v.is_finite() || v < lo || v > hi {
                return Err(FieldError::new(field, Reason::OutOfRange));
            }
            Ok(v)
        };
        Ok(Some(LatLng {
            lat: num("lat", lat, 3.0, 54.0)?,
            lng: num("lng", lng, 73.0, 136.0)?,
        }))
    }
}

/// A validated region, ready to be stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewRegion {
    /// Official code.
    pub code: RegionCode,
    /// Chinese name.
    pub name: String,
    /// English or pinyin name.
    pub name_en: Option<String>,
    /// Level in the tree.
    pub level: RegionLevel,
    /// Parent code; `None` only for provinces.
    pub parent_code: Option<RegionCode>,
    /// Where it is.
    pub location: Option<LatLng>,
    /// Zone its times are shown in.
    #[serde(skip)]
    pub zone: Zone,
}

impl NewRegion {
    /// Checks the shape rules that need no other record: code length matches the level, a
    /// province has no parent, every other level has one, and the parent code is a prefix-shaped
    /// ancestor (townships and villages extend their parent's code).
    pub fn check(&self) -> Result<(), FieldError> {
        if self.code.as_str().len() != self.level.code_len() {
            return Err(FieldError::new("code", Reason::Inconsistent));
        }
        match (&self.parent_code, self.level) {
            (None, RegionLevel::Province) => Ok(()),
            (Some(_), RegionLevel::Province) => {
                Err(FieldError::new("parent_code", Reason::Inconsistent))
            }
            (None, _) => Err(FieldError::new("parent_code", Reason::Required)),
            (Some(p), level) => {
                let ok = match level {
                    RegionLevel::Township | RegionLevel::Village => {
                        self.code.as_str().starts_with(p.as_str())
                    }
                    _ => p.as_str().len() == 6 && p.as_str()[..2] == self.code.as_str()[..2],
                };
                if ok {
                    Ok(())
                } else {
                    Err(FieldError::new("parent_code", Reason::Inconsistent))
                }
            }
        }
    }
}

/// Great-circle distance in kilometres (haversine).
pub fn great_circle_km(a: LatLng, b: LatLng) -> f64 {
    let r = 6371.0_f64;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str, level: RegionLevel, parent: Option<&str>) -> NewRegion {
        NewRegion {
            code: RegionCode::parse("code", code).expect("code"),
            name: "x".into(),
            name_en: None,
            level,
            parent_code: parent.map(|p| RegionCode::parse("parent_code", p).expect("parent")),
            location: None,
            zone: Zone::Shanghai,
        }
    }

    #[test]
    fn code_rules() {
        assert!(RegionCode::parse("code", "652829").is_ok());
        assert!(RegionCode::parse("code", "65282").is_err());
        assert!(RegionCode::parse("code", "65282a").is_err());
        assert!(
            region("652829", RegionLevel::County, Some("652800"))
                .check()
                .is_ok()
        );
        assert!(
            region("652829201", RegionLevel::Township, Some("652829"))
                .check()
                .is_ok()
        );
        assert!(
            region("652829201", RegionLevel::Township, Some("513334"))
                .check()
                .is_err()
        );
        assert!(
            region("652829", RegionLevel::Township, None)
                .check()
                .is_err()
        );
        assert!(
            region("650000", RegionLevel::Province, None)
                .check()
                .is_ok()
        );
    }

    #[test]
    fn coordinates() {
        assert!(LatLng::parse_opt("41.98", "86.63").expect("ok").is_some());
        assert!(LatLng::parse_opt("", "").expect("ok").is_none());
        assert!(LatLng::parse_opt("91", "86").is_err());
        assert!(LatLng::parse_opt("41", "").is_err());
        assert!(LatLng::parse_opt("NaN", "86").is_err());
        let bohu = LatLng {
            lat: 41.98,
            lng: 86.63,
        };
        let korla = LatLng {
            lat: 41.76,
            lng: 86.15,
        };
        let d = great_circle_km(bohu, korla);
        assert!((40.0..50.0).contains(&d), "{d}");
    }
}

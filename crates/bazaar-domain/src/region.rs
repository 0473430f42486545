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

impl RegionCode {
    /// The county this region is in, by its code: a township's or village's first six
    /// digits; a six-digit code is a county's own unless it ends in `00` (a province's or a
    /// prefecture's). `None` above the county level. Agrees with [`RegionPath::county`]
    /// (test `the_county_of_a_code_is_the_county_of_its_path`).
    pub fn county(&self) -> Option<&str> {
        county_of_code(&self.0)
    }
}

/// The county of a region code given as text (see [`RegionCode::county`]); `None` for a
/// code above the county level or not a code at all.
pub fn county_of_code(code: &str) -> Option<&str> {
    let code = code.trim();
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        9 | 12 => Some(&code[..6]),
        6 if !code.ends_with("00") => Some(code),
        _ => None,
    }
}

/// A region's place in the tree: the codes from its province down to itself, written
/// `/650000/653100/653122/` (the form kept in `regions.path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionPath(String);

impl RegionPath {
    /// Takes a stored path; `None` when it holds no code.
    pub fn new(path: &str) -> Option<RegionPath> {
        let has_code = path.split('/').any(|c| !c.trim().is_empty());
        has_code.then(|| RegionPath(path.trim().to_string()))
    }

    /// The codes, from the province down.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The province's code.
    pub fn province(&self) -> Option<&str> {
        self.codes().next()
    }

    /// The county's code: the third code; `None` for a province or a prefecture.
    pub fn county(&self) -> Option<&str> {
        self.codes().nth(2)
    }

    /// The county's code, or the deepest code of a path above the county level (a
    /// prefecture operator's scope).
    pub fn county_or_deepest(&self) -> &str {
        self.county()
            .or_else(|| self.codes().last())
            .unwrap_or_default()
    }

    /// Whether `other` is this region or lies under it.
    pub fn contains(&self, other: &RegionPath) -> bool {
        let mine: Vec<&str> = self.codes().collect();
        let theirs: Vec<&str> = other.codes().collect();
        theirs.len() >= mine.len() && theirs[..mine.len()] == mine[..]
    }

    /// The path as stored.
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

#[cfg(test)]
mod path_tests {
    use super::*;
    use proptest::prelude::*;

    /// A consistent chain of codes, province down to a village, cut at `depth` (1–5).
    fn chain(p: u32, f: u32, c: u32, t: u32, v: u32, depth: usize) -> Vec<String> {
        let province = format!("{:02}0000", 11 + p % 55);
        let prefecture = format!("{}{:02}00", &province[..2], 1 + f % 90);
        let county = format!("{}{:02}", &prefecture[..4], 1 + c % 90);
        let township = format!("{county}{:03}", 1 + t % 900);
        let village = format!("{township}{:03}", 1 + v % 900);
        let all = [province, prefecture, county, township, village];
        all[..depth].to_vec()
    }

    proptest! {
        #[test]
        fn the_county_of_a_code_is_the_county_of_its_path(
            p in 0u32..100, f in 0u32..100, c in 0u32..100, t in 0u32..1000, v in 0u32..1000,
            depth in 1usize..=5,
        ) {
            let codes = chain(p, f, c, t, v, depth);
            let path = RegionPath::new(&format!("/{}/", codes.join("/"))).expect("path");
            let deepest = RegionCode::parse("code", codes.last().expect("code")).expect("code");
            prop_assert_eq!(path.county(), deepest.county());
            prop_assert_eq!(path.province(), Some(codes[0].as_str()));
            let parent = RegionPath::new(&format!("/{}/", codes[..codes.len().max(2) - 1].join("/")))
                .expect("parent");
            prop_assert!(parent.contains(&path));
            prop_assert!(path.contains(&path));
            prop_assert_eq!(path.contains(&parent), depth == 1);
        }
    }

    #[test]
    fn paths_and_codes_above_a_county_have_no_county() {
        let p = RegionPath::new("/650000/653100/").expect("path");
        assert_eq!(p.county(), None);
        assert_eq!(p.county_or_deepest(), "653100");
        assert_eq!(county_of_code("650000"), None);
        assert_eq!(county_of_code("653122100001"), Some("653122"));
        assert_eq!(county_of_code("x53122"), None);
        assert!(RegionPath::new("//").is_none());
    }
}

//! Time: stored as UTC milliseconds since the Unix epoch; shown in a region's zone.
//!
//! China keeps no daylight saving time, so the two zones Bazaar serves are fixed offsets:
//! Asia/Shanghai (UTC+8, the default) and Asia/Urumqi (UTC+6, which Xinjiang regions may use).

use ::time::{OffsetDateTime, UtcOffset};

/// A time zone a region shows its times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// Asia/Shanghai, UTC+8 (Beijing time), the default.
    #[default]
    Shanghai,
    /// Asia/Urumqi, UTC+6 (Xinjiang time).
    Urumqi,
}

impl Zone {
    /// Parses an IANA name; only the two zones above are accepted.
    pub fn parse(s: &str) -> Option<Zone> {
        match s.trim() {
            "" | "Asia/Shanghai" => Some(Zone::Shanghai),
            "Asia/Urumqi" => Some(Zone::Urumqi),
            _ => None,
        }
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Shanghai => "Asia/Shanghai",
            Zone::Urumqi => "Asia/Urumqi",
        }
    }

    fn offset_hours(self) -> i8 {
        match self {
            Zone::Shanghai => 8,
            Zone::Urumqi => 6,
        }
    }

    /// The UTC milliseconds of local midnight starting 1 January of `year` in this zone
    /// (`None` outside 1970–9999).
    pub fn year_start_ms(self, year: i32) -> Option<i64> {
        if !(1970..=9999).contains(&year) {
            return None;
        }
        let date = ::time::Date::from_calendar_date(year, ::time::Month::January, 1).ok()?;
        let off = UtcOffset::from_hms(self.offset_hours(), 0, 0).ok()?;
        let t = date.midnight().assume_offset(off);
        Some(t.unix_timestamp() * 1000)
    }

    /// The UTC milliseconds of a local `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD HH:MM`) in this
    /// zone, as carriers write their event times; `None` when it is not such a time.
    pub fn parse_local(self, s: &str) -> Option<i64> {
        let (d, t) = s.trim().split_once(' ')?;
        let mut dp = d.split('-').map(|x| x.parse::<i32>().ok());
        let (y, mo, da) = (dp.next()??, dp.next()??, dp.next()??);
        let mut tp = t.trim().split(':').map(|x| x.parse::<u8>().ok());
        let (h, mi) = (tp.next()??, tp.next()??);
        let sec = match tp.next() {
            Some(x) => x?,
            None => 0,
        };
        let month = ::time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
        let date = ::time::Date::from_calendar_date(y, month, u8::try_from(da).ok()?).ok()?;
        let time = ::time::Time::from_hms(h, mi, sec).ok()?;
        let off = UtcOffset::from_hms(self.offset_hours(), 0, 0).ok()?;
        Some(date.with_time(time).assume_offset(off).unix_timestamp() * 1000)
    }

    /// The local month (`YYYY-MM`) of a UTC millisecond timestamp.
    pub fn month_of(self, utc_ms: i64) -> String {
        self.format_ms(utc_ms).chars().take(7).collect()
    }

    /// Formats a UTC millisecond timestamp as local `YYYY-MM-DD HH:MM` in this zone.
    pub fn format_ms(self, utc_ms: i64) -> String {
        let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(utc_ms) * 1_000_000)
        else {
            return String::new();
        };
        let Ok(off) = UtcOffset::from_hms(self.offset_hours(), 0, 0) else {
            return String::new();
        };
        let t = t.to_offset(off);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

/// How a time reads on a page: Beijing time, everywhere; where the place keeps another
/// zone (新疆时间), the local time of day beside it: (Beijing `YYYY-MM-DD HH:MM`, local
/// `HH:MM` when it differs).
pub fn beijing_and_local(utc_ms: i64, local: Zone) -> (String, Option<String>) {
    let beijing = Zone::Shanghai.format_ms(utc_ms);
    if local == Zone::Shanghai {
        return (beijing, None);
    }
    let l = local.format_ms(utc_ms);
    let hm = l.split_once(' ').map(|(_, hm)| hm.to_string());
    (beijing, hm)
}

/// The earliest time Bazaar takes from outside (2000-01-01 UTC, ms): older is a typo or a
/// zero clock.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// The latest time Bazaar takes from outside (2100-01-01 UTC, ms); how far ahead of now an
/// outside clock may be is each input's own, narrower window.
pub const LATEST_MS: i64 = 4_102_444_800_000;

/// The current time in UTC milliseconds.
pub fn now_ms() -> i64 {
    let n = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads an RFC 3339 time (`2026-12-04T20:00:00+08:00`) sent in `field`, as UTC ms; refused
/// when it is not one or lies outside [`EARLIEST_MS`]..[`LATEST_MS`].
pub fn parse_rfc3339(field: &str, s: &str) -> Result<i64, crate::FieldError> {
    use crate::{FieldError, Reason};
    let t = OffsetDateTime::parse(s.trim(), &::time::format_description::well_known::Rfc3339)
        .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| FieldError::new(field, Reason::OutOfRange))?;
    if !(EARLIEST_MS..=LATEST_MS).contains(&ms) {
        return Err(FieldError::new(field, Reason::OutOfRange));
    }
    Ok(ms)
}

/// A UTC ms time as RFC 3339 in UTC (`2026-12-04T12:00:00Z`).
pub fn rfc3339(utc_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(utc_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&::time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_and_bounds() {
        let ms = parse_rfc3339("t", "2026-12-04T20:00:00+08:00").expect("a time");
        assert_eq!(rfc3339(ms), "2026-12-04T12:00:00Z");
        assert!(parse_rfc3339("t", "tomorrow").is_err());
        assert!(parse_rfc3339("t", "1970-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn pages_read_beijing_time_with_xinjiang_time_beside_it() {
        let t = Zone::Shanghai
            .parse_local("2026-12-03 14:05")
            .expect("time");
        assert_eq!(
            beijing_and_local(t, Zone::Shanghai),
            ("2026-12-03 14:05".to_string(), None)
        );
        assert_eq!(
            beijing_and_local(t, Zone::Urumqi),
            ("2026-12-03 14:05".to_string(), Some("12:05".to_string()))
        );
    }

    #[test]
    fn carrier_times_are_read_in_beijing_time() {
        let z = Zone::Shanghai;
        let t = z.parse_local("2026-11-23 08:30:15").expect("time");
        assert_eq!(z.format_ms(t), "2026-11-23 08:30");
        assert_eq!(t % 60_000, 15_000);
        assert_eq!(z.parse_local("2026-11-23 08:30"), Some(t - 15_000));
        for bad in [
            "",
            "2026-13-01 00:00:00",
            "2026-11-23",
            "2026-11-23 25:00:00",
            "x y",
        ] {
            assert_eq!(z.parse_local(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_in_zone() {
        // 2026-11-23T00:00:00Z
        let ms = 1_795_392_000_000;
        assert_eq!(Zone::Shanghai.format_ms(ms), "2026-11-23 08:00");
        assert_eq!(Zone::Urumqi.format_ms(ms), "2026-11-23 06:00");
        assert_eq!(Zone::parse("Asia/Urumqi"), Some(Zone::Urumqi));
        assert_eq!(Zone::parse("Europe/Paris"), None);
    }
}

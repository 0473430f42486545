//! Money in integer fen (分): ¥1.00 = 100 fen. Never a float.

use crate::error::{FieldError, Reason};

/// An amount of money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Fen(pub i64);

impl Fen {
    /// Parses a price typed by a person in yuan ("68", "68.5", "68.50", "¥1,280.00") into fen.
    /// At most two decimals; negative amounts and amounts over ¥10,000,000 are refused.
    pub fn parse_yuan(field: &str, input: &str) -> Result<Fen, FieldError> {
        let s: String = input
            .trim()
            .trim_start_matches(['¥', '￥'])
            .chars()
            .filter(|c| *c != ',')
            .collect();
        if s.is_empty() {
            return Err(FieldError::new(field, Reason::Required));
        }
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s.as_str(), ""),
        };
        let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        if int_part.is_empty() || !digits(int_part) || !digits(frac_part) || frac_part.len() > 2 {
            return Err(FieldError::new(field, Reason::InvalidFormat));
        }
        if int_part.len() > 9 {
            return Err(FieldError::new(field, Reason::OutOfRange));
        }
        let yuan: i64 = int_part
            .parse()
            .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
        let mut frac = frac_part.to_string();
        while frac.len() < 2 {
            frac.push('0');
        }
        let fen_part: i64 = frac
            .parse()
            .map_err(|_| FieldError::new(field, Reason::InvalidFormat))?;
        Fen::checked(field, yuan * 100 + fen_part)
    }

    /// Accepts an amount already in fen when it is within the allowed range (0 to ¥10,000,000).
    pub fn checked(field: &str, fen: i64) -> Result<Fen, FieldError> {
        if !(0..=1_000_000_000).contains(&fen) {
            return Err(FieldError::new(field, Reason::OutOfRange));
        }
        Ok(Fen(fen))
    }

    /// Yuan with two decimals, e.g. `68.00`.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "¥{}", self.yuan_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_yuan() {
        assert_eq!(Fen::parse_yuan("p", "68"), Ok(Fen(6800)));
        assert_eq!(Fen::parse_yuan("p", "68.5"), Ok(Fen(6850)));
        assert_eq!(Fen::parse_yuan("p", "¥1,280.05"), Ok(Fen(128005)));
        assert!(Fen::parse_yuan("p", "1.234").is_err());
        assert!(Fen::parse_yuan("p", "-3").is_err());
        assert!(Fen::parse_yuan("p", "abc").is_err());
        assert!(Fen::parse_yuan("p", "99999999999999999999").is_err());
        assert_eq!(Fen(6800).to_string(), "¥68.00");
    }

    proptest! {
        #[test]
        fn yuan_round_trip(f in 0i64..1_000_000_000) {
            prop_assert_eq!(Fen::parse_yuan("p", &Fen(f).yuan_string()), Ok(Fen(f)));
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Fen::parse_yuan("p", &s);
        }
    }
}

//! Keyset pagination: an opaque cursor and a page of items.

use bazaar_domain::{FieldError, Reason};

/// A query parameter value for dynamically built queries.
#[derive(Debug, Clone)]
pub enum Param {
    /// Integer.
    I(i64),
    /// Text.
    S(String),
    /// Optional text (NULL when `None`).
    OS(Option<String>),
    /// Optional integer.
    OI(Option<i64>),
    /// Optional float.
    OF(Option<f64>),
    /// Boolean.
    B(bool),
}

/// Where the next page starts in a list ordered by a text key: after this key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyCursor(pub String);

impl KeyCursor {
    /// Parses the opaque text form; empty means the first page.
    pub fn parse(field: &str, s: Option<&str>) -> Result<KeyCursor, FieldError> {
        let bad = || FieldError::new(field, Reason::InvalidFormat);
        match s.map(str::trim) {
            None | Some("") => Ok(KeyCursor(String::new())),
            Some(s) => {
                let h = s.strip_prefix('k').ok_or_else(bad)?;
                let bytes = hex::decode(h).map_err(|_| bad())?;
                String::from_utf8(bytes).map(KeyCursor).map_err(|_| bad())
            }
        }
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        format!("k{}", hex::encode(self.0.as_bytes()))
    }
}

/// Where the next page starts: after the row with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor(pub i64);

impl Cursor {
    /// Parses the opaque text form sent back by clients; empty means the first page.
    pub fn parse(field: &str, s: Option<&str>) -> Result<Cursor, FieldError> {
        match s.map(str::trim) {
            None | Some("") => Ok(Cursor(0)),
            Some(s) => s
                .strip_prefix('c')
                .and_then(|h| i64::from_str_radix(h, 36).ok())
                .filter(|v| *v >= 0)
                .map(Cursor)
                .ok_or_else(|| FieldError::new(field, Reason::InvalidFormat)),
        }
    }

    /// The opaque text form.
    pub fn encode(self) -> String {
        let mut n = self.0;
        let mut digits = Vec::new();
        loop {
            let d = (n % 36) as u32;
            digits.push(char::from_digit(d, 36).unwrap_or('0'));
            n /= 36;
            if n == 0 {
                break;
            }
        }
        let s: String = digits.into_iter().rev().collect();
        format!("c{s}")
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page, when there is one.
    pub next: Option<Cursor>,
}

/// Clamps a requested page size to 1..=100 (default 20).
pub fn page_size(limit: Option<i64>) -> i64 {
    limit.unwrap_or(20).clamp(1, 100)
}

/// Splits `rows` fetched with `limit + 1` into a page, using `id` to build the next cursor.
pub fn into_page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    if more {
        rows.truncate(limit as usize);
    }
    let next = if more {
        rows.last().map(|r| Cursor(id(r)))
    } else {
        None
    };
    Page { items: rows, next }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursor_round_trip(n in 0i64..i64::MAX) {
            prop_assert_eq!(Cursor::parse("cursor", Some(&Cursor(n).encode())), Ok(Cursor(n)));
        }

        #[test]
        fn cursor_parse_never_panics(s in "\\PC{0,20}") {
            let _ = Cursor::parse("cursor", Some(&s));
        }
    }

    #[test]
    fn bad_cursors() {
        assert!(Cursor::parse("cursor", Some("zzz")).is_err());
        assert!(Cursor::parse("cursor", Some("c-5")).is_err());
        assert_eq!(Cursor::parse("cursor", None), Ok(Cursor(0)));
    }
}

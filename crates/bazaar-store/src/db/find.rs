//! What a person types in a back-office list's search box, made into a query clause: digits
//! find an order by its number or a phone by its last digits, words find a name.

use super::page::Param;
use bazaar_domain::{FieldError, Reason};

/// The longest search text, in characters: a name, a phone number, an order number fit.
pub const MAX_NEEDLE_CHARS: usize = 40;

/// A search, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needle {
    /// Only digits (spaces and dashes dropped): an id, a whole phone, a phone's tail.
    Digits(String),
    /// Anything else: part of a name.
    Words(String),
}

impl Needle {
    /// Reads the search box `field`: none when empty, refused when longer than
    /// [`MAX_NEEDLE_CHARS`] or holding control characters.
    pub fn parse(field: &str, q: Option<&str>) -> Result<Option<Needle>, FieldError> {
        let q = q.map(str::trim).unwrap_or_default();
        if q.is_empty() {
            return Ok(None);
        }
        if q.chars().count() > MAX_NEEDLE_CHARS {
            return Err(FieldError::new(field, Reason::TooLong));
        }
        if q.chars().any(char::is_control) {
            return Err(FieldError::new(field, Reason::InvalidFormat));
        }
        let digits: String = q.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.chars().all(|c| c.is_ascii_digit()) && !digits.is_empty() {
            Ok(Some(Needle::Digits(digits)))
        } else {
            Ok(Some(Needle::Words(q.to_string())))
        }
    }

    /// The text as it goes back into the search box.
    pub fn as_str(&self) -> &str {
        match self {
            Needle::Digits(s) | Needle::Words(s) => s,
        }
    }
}

/// `s` as a LIKE pattern that finds it anywhere, its own `%`, `_` and `\` taken literally
/// (with `ESCAPE '\'`).
pub fn contains(s: &str) -> String {
    format!("%{}%", escape_like(s))
}

/// `s` as a LIKE pattern that finds it at the end (a phone's last digits).
pub fn ends_with(s: &str) -> String {
    format!("%{}", escape_like(s))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The clause that finds `needle` among orders (alias `o`): digits are the order's number,
/// the whole phone (11 digits) or its last digits (4 or more); words are part of the
/// recipient's or the villager's name. Parameters are pushed onto `params` and numbered after
/// those already there.
pub fn order_clause(needle: &Needle, params: &mut Vec<Param>) -> String {
    let mut next = |p: Param| {
        params.push(p);
        format!("${}", params.len())
    };
    match needle {
        Needle::Digits(d) if d.len() == 11 => format!("o.phone = {}", next(Param::S(d.clone()))),
        Needle::Digits(d) => {
            let id = d.parse::<i64>().unwrap_or(-1);
            let by_id = format!("o.id = {}", next(Param::I(id)));
            if d.len() >= 4 {
                let tail = next(Param::S(ends_with(d)));
                format!("({by_id} OR o.phone LIKE {tail} ESCAPE '\\')")
            } else {
                by_id
            }
        }
        Needle::Words(w) => {
            let a = next(Param::S(contains(w)));
            format!(
                "(o.recipient LIKE {a} ESCAPE '\\' OR COALESCE(o.villager_name, '') LIKE {a} \
                 ESCAPE '\\')"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_words_and_bounds() {
        assert_eq!(Needle::parse("q", None).expect("read"), None);
        assert_eq!(Needle::parse("q", Some("  ")).expect("read"), None);
        assert_eq!(
            Needle::parse("q", Some("138-1234 5678")).expect("read"),
            Some(Needle::Digits("13812345678".into()))
        );
        assert_eq!(
            Needle::parse("q", Some(" 张三 ")).expect("read"),
            Some(Needle::Words("张三".into()))
        );
        let long = "字".repeat(MAX_NEEDLE_CHARS + 1);
        assert_eq!(
            Needle::parse("q", Some(&long)).expect_err("refused").reason,
            Reason::TooLong
        );
        assert!(Needle::parse("q", Some("a\u{7}b")).is_err());
        assert_eq!(contains("5%_\\"), "%5\\%\\_\\\\%");
    }
}

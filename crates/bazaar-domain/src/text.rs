//! Small text helpers: phone numbers and their masking.

use crate::error::{FieldError, Reason};

/// Parses a phone number: a mainland mobile (11 digits starting with 1) or a landline with
/// area code (7–12 digits with an optional `-`). Spaces and dashes typed by people are removed.
pub fn parse_phone(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.is_empty() {
        return Ok(None);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(7..=12).contains(&digits.len()) {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    if digits.len() == 11 && !digits.starts_with('1') && !digits.starts_with('0') {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    Ok(Some(digits))
}

/// Masks a phone number for pages and logs that do not need it whole: `139****1234`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(
            parse_phone("p", "139 0000 1234").expect("ok").as_deref(),
            Some("13900001234")
        );
        assert!(parse_phone("p", "1390000123x").is_err());
        assert_eq!(parse_phone("p", "").expect("ok"), None);
        assert_eq!(mask_phone("13900001234"), "139****1234");
        assert_eq!(mask_phone("123"), "***");
    }
}

/// The languages Bazaar speaks, as BCP 47 tags: Chinese (the default), English, Uyghur,
/// Tibetan.
pub const LANGUAGES: [&str; 4] = ["zh-CN", "en", "ug", "bo"];

/// Reads an optional language field: empty is `None`; otherwise one of [`LANGUAGES`]
/// (`zh` and `zh-cn` are read as `zh-CN`), else `unknown_choice`.
pub fn parse_language(
    field: &str,
    s: &str,
) -> Result<Option<&'static str>, crate::error::FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let primary = s
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|l| {
            l.split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(&primary))
        })
        .copied()
        .map(Some)
        .ok_or_else(|| crate::error::FieldError::new(field, crate::error::Reason::UnknownChoice))
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn languages_are_read_by_their_primary_tag() {
        assert_eq!(parse_language("lang", ""), Ok(None));
        assert_eq!(parse_language("lang", " ug "), Ok(Some("ug")));
        assert_eq!(parse_language("lang", "zh"), Ok(Some("zh-CN")));
        assert_eq!(parse_language("lang", "ZH-cn"), Ok(Some("zh-CN")));
        assert!(parse_language("lang", "fr").is_err());
    }
}

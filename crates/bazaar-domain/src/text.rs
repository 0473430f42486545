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

//! Validation errors: which field, and why, as a stable reason code.

use serde::Serialize;

/// Why a field was refused. The snake_case name is stable and is the key of the translated
/// message (`reason-<name>` in the Fluent catalogues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The field is missing or empty.
    Required,
    /// The field may be left out in general but is needed here: for this role, or with what
    /// another field says (a rejection's reason, an operator's region).
    Needed,
    /// The field is longer than allowed.
    TooLong,
    /// The value does not have the expected shape.
    InvalidFormat,
    /// The value is not one of the allowed choices.
    UnknownChoice,
    /// A number is outside the allowed range.
    OutOfRange,
    /// The value refers to something that does not exist.
    UnknownReference,
    /// The value is already taken by another record.
    Duplicate,
    /// The value contradicts another field.
    Inconsistent,
    /// The thing cannot be here (a parcel scanned at a point of another county).
    WrongPlace,
    /// Several entries that are each within bounds add up to more than is allowed (an
    /// order's lines of the same SKU).
    OverTotal,
    /// A waybill number that is not written the way its carrier writes them.
    NotThisCarrier,
    /// A time outside the window around now that is allowed (a scan from the phone's
    /// future, a month-old queue, a carrier event ahead of the clock).
    OutOfWindow,
    /// Outside the caller's region or service point.
    OutOfScope,
    /// A code that does not match (a pickup code, the phone's last digits).
    WrongCode,
}

impl Reason {
    /// The stable snake_case code of this reason.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::Needed => "needed",
            Reason::TooLong => "too_long",
            Reason::InvalidFormat => "invalid_format",
            Reason::UnknownChoice => "unknown_choice",
            Reason::OutOfRange => "out_of_range",
            Reason::UnknownReference => "unknown_reference",
            Reason::Duplicate => "duplicate",
            Reason::Inconsistent => "inconsistent",
            Reason::WrongPlace => "wrong_place",
            Reason::NotThisCarrier => "not_this_carrier",
            Reason::OverTotal => "over_total",
            Reason::OutOfWindow => "out_of_window",
            Reason::WrongCode => "wrong_code",
            Reason::OutOfScope => "out_of_scope",
        }
    }
}

/// A refused input: the field it came from and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {}", reason.code())]
pub struct FieldError {
    /// Name of the field as the caller sent it (form field, JSON key or CSV column).
    pub field: String,
    /// Why it was refused.
    pub reason: Reason,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, Reason::Required));
    }
    optional_text(field, v, max).map(|o| o.unwrap_or_default())
}

/// Whether text holds characters that hide or reorder what a reader sees: the bidirectional
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, which can make
/// `exe.txt` read `txt.exe`) and the invisible zero-width space, word joiner and byte-order
/// mark (U+200B, U+2060, U+FEFF), which make two names look the same. The joiners U+200C,
/// U+200D and the marks U+200E, U+200F stay allowed: Uyghur and Tibetan writing uses them.
pub fn has_hidden_chars(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// Checks an optional free-text field: trimmed; empty becomes `None`; at most `max` characters;
/// no control characters other than newlines and tabs, nothing hidden ([`has_hidden_chars`]).
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > max {
        return Err(FieldError::new(field, Reason::TooLong));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        || has_hidden_chars(v)
    {
        return Err(FieldError::new(field, Reason::InvalidFormat));
    }
    Ok(Some(v.to_string()))
}

/// Keeps the value of `r`, or records its error in `errs` (to report every bad field at once).
pub fn take<T>(errs: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(required_text("name", "  蜂蜜 ", 10).as_deref(), Ok("蜂蜜"));
        assert_eq!(
            required_text("name", "   ", 10).map_err(|e| e.reason),
            Err(Reason::Required)
        );
        assert_eq!(
            required_text("name", "蜂蜜蜂蜜蜂蜜", 5).map_err(|e| e.reason),
            Err(Reason::TooLong)
        );
        assert_eq!(optional_text("x", "", 5), Ok(None));
        assert_eq!(
            optional_text("x", "a\u{0}b", 5).map_err(|e| e.reason),
            Err(Reason::InvalidFormat)
        );
        // Reordering and invisible characters: "阿西木\u{202E}gpj.exe" reads otherwise.
        for hidden in [
            "阿西木\u{202E}exe",
            "蜂\u{200B}蜜",
            "\u{2066}x\u{2069}",
            "a\u{FEFF}",
        ] {
            assert_eq!(
                required_text("name", hidden, 20).map_err(|e| e.reason),
                Err(Reason::InvalidFormat),
                "{hidden:?}"
            );
        }
        // Uyghur's joiners and direction marks are writing, not tricks.
        assert!(required_text("name", "ئا\u{200C}نا \u{200F}12", 20).is_ok());
    }
}

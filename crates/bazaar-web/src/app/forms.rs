//! Form rendering for the back office: labelled inputs that keep what the user typed and show,
//! next to each field, why it was refused — in the user's language.

use crate::app::error::field_message;
use crate::app::i18n::Lang;
use axum::extract::Multipart;
use bazaar_domain::{FieldError, Reason};
use std::collections::HashMap;

/// A form being shown: its values (as typed) and the errors of its last submission.
pub struct FormView<'a> {
    /// Language of labels and messages.
    pub lang: Lang,
    /// Values by field name.
    pub values: &'a HashMap<String, String>,
    /// Refused fields (names may carry a prefix such as `skus[0].`).
    pub errors: &'a [FieldError],
}

impl FormView<'_> {
    /// The value of field `name` as typed ("" when absent).
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether field `name` currently holds `v` (the chosen option of a select).
    pub fn is(&self, name: &str, v: &str) -> bool {
        self.value(name) == v
    }

    /// Whether checkbox `name` is on (its value is `1`, `on` or `true`).
    pub fn checked(&self, name: &str) -> bool {
        matches!(self.value(name), "1" | "on" | "true")
    }

    /// The refusal of field `name` (matching `name` or `….name`).
    fn refusal(&self, name: &str) -> Option<&FieldError> {
        self.errors
            .iter()
            .find(|e| e.field == name || e.field.ends_with(&format!(".{name}")))
    }

    /// The message shown under field `name`, when it was refused.
    pub fn error(&self, name: &str) -> Option<String> {
        self.refusal(name)
            .map(|e| field_message(self.lang, &e.field, e.reason.code()))
    }

    /// Whether field `name` was refused.
    pub fn invalid(&self, name: &str) -> bool {
        self.refusal(name).is_some()
    }

    /// The messages of every error of the submission.
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| field_message(self.lang, &e.field, e.reason.code()))
            .collect()
    }
}

/// A checkbox value of a submitted form.
pub fn flag(form: &HashMap<String, String>, name: &str) -> bool {
    matches!(
        form.get(name).map(String::as_str),
        Some("1" | "on" | "true")
    )
}

/// A text value of a submitted form ("" when absent).
pub fn text(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name).cloned().unwrap_or_default()
}

/// An optional whole number of a submitted form: empty is `None`; anything but digits is an
/// error of that field.
pub fn number(
    form: &HashMap<String, String>,
    name: &str,
    errs: &mut Vec<FieldError>,
) -> Option<i64> {
    let v = form.get(name).map(|s| s.trim()).unwrap_or("");
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.push(FieldError::new(name, Reason::InvalidFormat));
            None
        }
    }
}

/// A multipart form: its text fields, and the one file it carries (field name, bytes).
pub struct Upload {
    /// Text fields.
    pub fields: HashMap<String, String>,
    /// The chosen files (field name, bytes), in order, at most [`MAX_FILES`].
    pub files: Vec<(String, Vec<u8>)>,
}

/// At most this many files in one form.
pub const MAX_FILES: usize = 6;

/// Reads a multipart form. `Err` when the body is malformed or over the route's limit.
pub async fn read_multipart(mut m: Multipart) -> Result<Upload, FieldError> {
    let mut up = Upload {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let reason = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Reason::OutOfRange
                } else {
                    Reason::InvalidFormat
                };
                return Err(FieldError::new("file", reason));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some();
        let bytes = field
            .bytes()
            .await
            .map_err(|_| FieldError::new("file", Reason::OutOfRange))?;
        if is_file {
            if !bytes.is_empty() {
                if up.files.len() >= MAX_FILES {
                    return Err(FieldError::new(name, Reason::OutOfRange));
                }
                up.files.push((name, bytes.to_vec()));
            }
        } else if up.fields.len() < 64 {
            up.fields
                .insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(up)
}

/// The pairs of an `application/x-www-form-urlencoded` body (or a query string), decoded;
/// bad escapes are kept as they are.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .take(500)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

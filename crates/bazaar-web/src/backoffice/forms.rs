//! Form rendering for the back office: labelled inputs that keep what the user typed and show,
//! next to each field, why it was refused — in the user's language.

use crate::error::field_message;
use crate::i18n::Lang;
use crate::pages::esc;
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
    fn value(&self, name: &str) -> String {
        esc(self.values.get(name).map(String::as_str).unwrap_or(""))
    }

    /// The error shown under field `name` (matching `name` or `….name`).
    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|e| e.field == name || e.field.ends_with(&format!(".{name}")))
            .map(|e| {
                format!(
                    "<br><small class=\"err\" id=\"{name}-err\">{}</small>",
                    esc(&field_message(self.lang, &e.field, e.reason.code()))
                )
            })
            .unwrap_or_default()
    }

    fn invalid(&self, name: &str) -> &'static str {
        if self
            .errors
            .iter()
            .any(|e| e.field == name || e.field.ends_with(&format!(".{name}")))
        {
            " aria-invalid=\"true\""
        } else {
            ""
        }
    }

    /// A labelled text input; `extra` holds attributes such as `required` or
    /// `inputmode="decimal"`.
    pub fn input(&self, name: &str, label_key: &str, extra: &str) -> String {
        format!(
            "<label>{}<br><input name=\"{name}\" value=\"{}\"{}{}{extra}>{}</label>",
            esc(&self.lang.t(label_key)),
            self.value(name),
            self.invalid(name),
            if extra.contains("type=") {
                ""
            } else {
                " type=\"text\""
            },
            self.error(name)
        )
    }

    /// A labelled multi-line input.
    pub fn textarea(&self, name: &str, label_key: &str) -> String {
        format!(
            "<label>{}<br><textarea name=\"{name}\" rows=\"3\" cols=\"40\"{}>{}</textarea>{}</label>",
            esc(&self.lang.t(label_key)),
            self.invalid(name),
            self.value(name),
            self.error(name)
        )
    }

    /// A labelled choice; `options` are (value, shown text).
    pub fn select(&self, name: &str, label_key: &str, options: &[(String, String)]) -> String {
        let current = self.values.get(name).map(String::as_str).unwrap_or("");
        let mut o = format!(
            "<label>{}<br><select name=\"{name}\"{}>",
            esc(&self.lang.t(label_key)),
            self.invalid(name)
        );
        for (v, text) in options {
            o.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                esc(v),
                if v == current { " selected" } else { "" },
                esc(text)
            ));
        }
        o.push_str(&format!("</select>{}</label>", self.error(name)));
        o
    }

    /// A checkbox (checked when the value is `1`, `on` or `true`).
    pub fn checkbox(&self, name: &str, label_key: &str) -> String {
        let on = matches!(
            self.values.get(name).map(String::as_str),
            Some("1" | "on" | "true")
        );
        format!(
            "<label><input type=\"checkbox\" name=\"{name}\" value=\"1\"{}> {}</label>",
            if on { " checked" } else { "" },
            esc(&self.lang.t(label_key))
        )
    }

    /// Every error of the submission as one alert (for errors of fields the form does not
    /// show, and for screen readers).
    pub fn summary(&self) -> String {
        if self.errors.is_empty() {
            return String::new();
        }
        let mut o = String::from("<div role=\"alert\" class=\"err\"><ul>");
        for e in self.errors {
            o.push_str(&format!(
                "<li>{}</li>",
                esc(&field_message(self.lang, &e.field, e.reason.code()))
            ));
        }
        o.push_str("</ul></div>");
        o
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

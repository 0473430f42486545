//! Sending notifications: pickup codes, reminders, returns and the watch's word to sellers
//! are written to an outbox in the same transaction as what caused them; `serve` drains it
//! through a [`Notifier`]. The default writes them to the log (phone numbers masked); an
//! SMS gateway on the county's network takes them over HTTP.

use bazaar_domain::text::mask_phone;
use bazaar_store::Store;
use bazaar_store::pickup::Notification;
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The future a notifier's `send` returns.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// A way to reach people (SMS, WeChat, the log).
pub trait Notifier: Send + Sync {
    /// The channel's name, recorded with each notification sent.
    fn channel(&self) -> &'static str;
    /// Sends one notification; an error is retried later (five times at most).
    fn send<'a>(&'a self, n: &'a Notification) -> Sending<'a>;
}

/// Writes notifications to the log, the phone number masked. The default: a county that has
/// not set up SMS still sees what would have been sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn channel(&self) -> &'static str {
        "log"
    }
    fn send<'a>(&'a self, n: &'a Notification) -> Sending<'a> {
        Box::pin(async move {
            tracing::info!(
                kind = %n.kind,
                user = ?n.user_id,
                phone = %n.phone.as_deref().map(mask_phone).unwrap_or_default(),
                parcel = ?n.parcel_id,
                "notification: {}",
                mask_codes(&n.body)
            );
            Ok(())
        })
    }
}

/// The text with every run of six or more digits (a pickup code, a phone number) masked, so
/// the log holds no code that opens a shelf.
pub fn mask_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 6 {
            out.extend(std::iter::repeat_n('*', run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// An SMS gateway reached over plain HTTP on the county's own network (a modem gateway or a
/// relay to the carrier's SMS service): each notification with a phone is POSTed as
/// `{"phone", "text", "kind"}`; a 2xx answer means sent. Notifications without a phone are
/// skipped as sent to nobody.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    url: String,
    token: Option<String>,
}

impl SmsGateway {
    /// A gateway at `url` (`http://host:port/path`), with a bearer token if it wants one.
    pub fn new(url: &str, token: Option<String>) -> Result<SmsGateway, String> {
        if !url.starts_with("http://") {
            return Err("the SMS gateway address must start with http://".into());
        }
        Ok(SmsGateway {
            url: url.to_string(),
            token,
        })
    }

    fn post(&self, body: &str) -> Result<(), String> {
        let rest = self.url.trim_start_matches("http://");
        let (hostport, path) = match rest.split_once('/') {
            Some((h, p)) => (h, format!("/{p}")),
            None => (rest, "/".to_string()),
        };
        let addr = if hostport.contains(':') {
            hostport.to_string()
        } else {
            format!("{hostport}:80")
        };
        let mut s = std::net::TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let auth = self
            .token
            .as_deref()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\
             Content-Type: application/json; charset=utf-8\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut head = [0u8; 16];
        let n = s.read(&mut head).map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]);
        match line.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(()),
            Some(code) => Err(format!("gateway answered HTTP {code}")),
            None => Err("malformed gateway answer".into()),
        }
    }
}

impl Notifier for SmsGateway {
    fn channel(&self) -> &'static str {
        "sms"
    }
    fn send<'a>(&'a self, n: &'a Notification) -> Sending<'a> {
        Box::pin(async move {
            let Some(phone) = n.phone.clone() else {
                return Ok(());
            };
            let body =
                serde_json::json!({"phone": phone, "text": n.body, "kind": n.kind}).to_string();
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.post(&body))
                .await
                .map_err(|e| e.to_string())?
        })
    }
}

/// Sends what is waiting in the outbox; returns how many were sent.
pub async fn drain(store: &Store, notifier: &Arc<dyn Notifier>) -> Result<usize, String> {
    let pending = store
        .unsent_notifications(200)
        .await
        .map_err(|e| e.to_string())?;
    let mut sent = 0;
    for n in &pending {
        // Several nodes may drain at once: each notification is sent by the one that claims it.
        if !store
            .claim_notification(n.id, n.attempts)
            .await
            .map_err(|e| e.to_string())?
        {
            continue;
        }
        let r = notifier.send(n).await;
        if r.is_ok() {
            sent += 1;
        }
        store
            .notification_sent(n.id, notifier.channel(), r.err().as_deref())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::mask_codes;

    #[test]
    fn codes_and_numbers_are_masked_short_numbers_kept() {
        assert_eq!(
            mask_codes("取件码 123456，货架 A-03，营业时间 09:00"),
            "取件码 ******，货架 A-03，营业时间 09:00"
        );
        assert_eq!(mask_codes("13912345678"), "***********");
    }
}

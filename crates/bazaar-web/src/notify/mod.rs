//! Sending notifications: pickup codes, reminders, returns and the watch's word to sellers
//! are written to an outbox in the same transaction as what caused them; `serve` drains it
//! through a [`Notifier`]. The default writes them to the log (phone numbers and codes
//! masked). Configured, [`Channels`] sends each one by WeChat when its phone or account is
//! bound to a follower of the centre's service account ([`WeChat`], free), else by SMS
//! ([`SmsGateway`]), falling back to SMS when WeChat refuses. Both speak HTTPS through one
//! blocking client run off the async threads (docs/adr/0007-http-client.md).

use crate::app::i18n::Lang;
use bazaar_domain::text::mask_phone;
use bazaar_integrations::sms::TextGateway;
use bazaar_integrations::wechat::{TemplateChannel, TemplateMessage};
use bazaar_store::Store;
use bazaar_store::logistics::pickup::Notification;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The future a notifier's `send` returns: the channel the notification went by.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<&'static str, String>> + Send + 'a>>;

/// A way to reach people (SMS, WeChat, the log).
pub trait Notifier: Send + Sync {
    /// The channels' names, recorded with a notification that could not be sent.
    fn channel(&self) -> &'static str;
    /// Sends one notification and names the channel it went by; an error is retried later
    /// (five times at most).
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
            Ok("log")
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

/// Runs a blocking HTTP call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// A template message's title, in the language the notification was composed in.
fn title(n: &Notification) -> String {
    let lang = n
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::ZhCn);
    let key = format!("notify-title-{}", n.kind);
    if lang.has(&key) {
        lang.t(&key)
    } else {
        lang.t("notify-title-other")
    }
}

/// Sends a notification's text by SMS.
async fn by_sms(
    sms: &Arc<dyn TextGateway>,
    phone: &str,
    n: &Notification,
) -> Result<&'static str, String> {
    let (g, phone, body, kind) = (
        sms.clone(),
        phone.to_string(),
        n.body.clone(),
        n.kind.clone(),
    );
    blocking(move || g.send_text(&phone, &body, &kind)).await?;
    Ok("sms")
}

/// The configured channels, tried in order for each notification: WeChat when it has a
/// bound follower, else (or when WeChat refuses) SMS when it has a phone; the log for what
/// neither can take (and for everything when neither is configured).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// The service account, if configured (`bazaar_integrations::wechat::WeChat`).
    pub wechat: Option<Arc<dyn TemplateChannel>>,
    /// The SMS gateway, if configured (`bazaar_integrations::sms::SmsGateway`).
    pub sms: Option<Arc<dyn TextGateway>>,
}

impl Notifier for Channels {
    fn channel(&self) -> &'static str {
        match (&self.wechat, &self.sms) {
            (Some(_), Some(_)) => "wechat,sms",
            (Some(_), None) => "wechat",
            (None, Some(_)) => "sms",
            (None, None) => "log",
        }
    }
    fn send<'a>(&'a self, n: &'a Notification) -> Sending<'a> {
        Box::pin(async move {
            if self.wechat.is_none() && self.sms.is_none() {
                return LogNotifier.send(n).await;
            }
            let mut failed = None;
            if let (Some(w), Some(openid)) = (&self.wechat, n.openid.clone()) {
                let (w, m, title) = (w.clone(), n.clone(), title(n));
                let sent = blocking(move || {
                    let message = TemplateMessage {
                        title: &title,
                        body: &m.body,
                        code: m.pickup_code.as_deref(),
                        waybill: m.waybill.as_deref(),
                        place: m.place.as_deref(),
                    };
                    w.send_template(&openid, &message)
                });
                match sent.await {
                    Ok(()) => return Ok("wechat"),
                    Err(e) => {
                        tracing::warn!(notification = n.id, error = %e, "WeChat refused");
                        failed = Some(e);
                    }
                }
            }
            match (&self.sms, &n.phone) {
                (Some(sms), Some(phone)) => by_sms(sms, phone, n).await,
                _ => match failed {
                    Some(e) => Err(e),
                    None => LogNotifier.send(n).await,
                },
            }
        })
    }
}

/// Notifications sent at once by one drain.
pub const PARALLEL_SENDS: usize = 16;
/// How long one drain may take (it runs every 10 s): a send not answered by then is
/// abandoned, counted as a failed attempt and tried again on a later drain.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(8);

/// Sends what is waiting in the outbox, [`PARALLEL_SENDS`] at a time within
/// [`DRAIN_BUDGET`]: a hanging gateway delays no pickup code by more than a drain. Each
/// failure is logged (no phone, no code); a notification that failed its last attempt stays
/// in the outbox, listed for admins (`GET /api/v1/notifications?status=failed`), never
/// dropped. Returns how many were sent.
pub async fn drain(store: &Store, notifier: &Arc<dyn Notifier>) -> Result<usize, String> {
    drain_within(store, notifier, DRAIN_BUDGET).await
}

/// [`drain`] with its time budget.
#[tracing::instrument(name = "outbox_drain", skip_all)]
pub async fn drain_within(
    store: &Store,
    notifier: &Arc<dyn Notifier>,
    budget: Duration,
) -> Result<usize, String> {
    let deadline = tokio::time::Instant::now() + budget;
    let pending = store
        .unsent_notifications(200)
        .await
        .map_err(|e| e.to_string())?;
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL_SENDS));
    let mut running = tokio::task::JoinSet::new();
    for n in pending {
        // Several nodes may drain at once: each notification is sent by the one that claims it.
        if !store
            .claim_notification(n.id, n.attempts)
            .await
            .map_err(|e| e.to_string())?
        {
            continue;
        }
        let (store, notifier, slots) = (store.clone(), notifier.clone(), slots.clone());
        running.spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return false;
            };
            let sent = tokio::time::timeout_at(deadline, notifier.send(&n)).await;
            let (channel, error) = match sent {
                Ok(Ok(c)) => (c, None),
                Ok(Err(e)) => (notifier.channel(), Some(e)),
                Err(_) => (
                    notifier.channel(),
                    Some("no answer within the drain's time".into()),
                ),
            };
            if let Some(e) = &error {
                let last = n.attempts + 1 >= bazaar_store::logistics::pickup::MAX_SEND_ATTEMPTS;
                if last {
                    tracing::error!(notification = n.id, kind = %n.kind, channel, error = %e,
                        "notification failed its last attempt: kept for admins");
                } else {
                    tracing::warn!(notification = n.id, kind = %n.kind, channel, error = %e,
                        attempt = n.attempts + 1, "notification failed; tried again later");
                }
            }
            match store
                .notification_sent(n.id, channel, error.as_deref())
                .await
            {
                Ok(()) => error.is_none(),
                Err(e) => {
                    tracing::error!(notification = n.id, error = %e, "recording a sending failed");
                    false
                }
            }
        });
    }
    let mut sent = 0;
    while let Some(r) = running.join_next().await {
        sent += usize::from(r.unwrap_or(false));
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_integrations::sms::SmsGateway;
    use bazaar_integrations::wechat::WeChat;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    /// A one-thread HTTP server answering each request in turn with the next canned answer;
    /// returns its base address and what it was sent (request line, headers and body,
    /// lower-cased).
    fn fake(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", l.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((mut s, _)) = l.accept() else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .to_ascii_lowercase()
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(str::trim)
                                    .and_then(|v| v.parse::<usize>().ok())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                log.lock()
                    .expect("log")
                    .push(String::from_utf8_lossy(&buf).to_lowercase());
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (base, seen)
    }

    fn note(phone: Option<&str>, openid: Option<&str>) -> Notification {
        Notification {
            id: 1,
            kind: "pickup_code".into(),
            user_id: None,
            phone: phone.map(str::to_string),
            parcel_id: Some(7),
            body: "您的包裹已到哈尔恩根村服务站，取件码 123456，货架 A-01。".into(),
            attempts: 0,
            openid: openid.map(str::to_string),
            waybill: Some("YT1000000000002".into()),
            pickup_code: Some("123456".into()),
            place: Some("哈尔恩根村电商物流服务点".into()),
            lang: None,
        }
    }

    fn wechat(base: &str) -> Option<Arc<dyn TemplateChannel>> {
        let w = WeChat::new(
            base,
            "wx0123456789abcdef",
            "s3cr3t-of-the-centre",
            "TPL-pickup",
            "first=title,keyword1=body,keyword2=time",
        )
        .expect("wechat");
        Some(Arc::new(w))
    }

    fn sms(url: &str, token: Option<&str>) -> Option<Arc<dyn TextGateway>> {
        Some(Arc::new(
            SmsGateway::new(url, token.map(str::to_string)).expect("sms"),
        ))
    }

    #[tokio::test]
    async fn the_sms_gateway_gets_phone_text_and_token() {
        let (base, seen) = fake(vec![(200, "{}")]);
        let ch = Channels {
            wechat: None,
            sms: sms(&format!("{base}/sms"), Some("tok")),
        };
        assert_eq!(ch.send(&note(Some("13912345678"), None)).await, Ok("sms"));
        let seen = seen.lock().expect("seen");
        assert!(seen[0].starts_with("post /sms http/1.1"), "{}", seen[0]);
        assert!(seen[0].contains("authorization: bearer tok"));
        assert!(seen[0].contains("\"phone\":\"13912345678\""));
        assert!(seen[0].contains("取件码 123456"));
    }

    #[tokio::test]
    async fn a_gateway_error_is_an_error_and_no_phone_goes_to_the_log() {
        let (base, _) = fake(vec![(503, "busy")]);
        let ch = Channels {
            wechat: None,
            sms: sms(&base, None),
        };
        let e = ch.send(&note(Some("13912345678"), None)).await;
        assert_eq!(e, Err("SMS gateway answered HTTP 503".into()));
        assert_eq!(ch.send(&note(None, None)).await, Ok("log"));
        assert!(SmsGateway::new("ftp://x", None).is_err());
    }

    #[tokio::test]
    async fn wechat_sends_the_template_and_fetches_a_new_token_when_told() {
        let (base, seen) = fake(vec![
            (200, r#"{"access_token":"T1","expires_in":7200}"#),
            (200, r#"{"errcode":42001,"errmsg":"access_token expired"}"#),
            (200, r#"{"access_token":"T2","expires_in":7200}"#),
            (200, r#"{"errcode":0,"errmsg":"ok","msgid":200228332}"#),
            (200, r#"{"errcode":0,"errmsg":"ok","msgid":200228333}"#),
        ]);
        let ch = Channels {
            wechat: wechat(&base),
            sms: None,
        };
        let n = note(Some("13912345678"), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert_eq!(ch.send(&n).await, Ok("wechat"));
        // The token is kept: the next message goes without fetching one.
        assert_eq!(ch.send(&n).await, Ok("wechat"));
        let seen = seen.lock().expect("seen");
        assert_eq!(seen.len(), 5);
        // The stable token: id and secret in the body, never in the URL; forced only after
        // WeChat said the kept one was no longer good.
        assert!(
            seen[0].starts_with("post /cgi-bin/stable_token http/1.1"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("\"appid\":\"wx0123456789abcdef\""));
        assert!(seen[0].contains("\"secret\":\"s3cr3t-of-the-centre\""));
        assert!(seen[0].contains("\"force_refresh\":false"));
        assert!(seen[2].contains("\"force_refresh\":true"));
        assert!(seen[1].starts_with("post /cgi-bin/message/template/send?access_token=t1 "));
        assert!(seen[3].starts_with("post /cgi-bin/message/template/send?access_token=t2 "));
        assert!(seen[4].starts_with("post /cgi-bin/message/template/send?access_token=t2 "));
        let body = &seen[3][seen[3].find("\r\n\r\n").expect("body") + 4..];
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["touser"], "oupf8umuajo_m2pxb1q9znjwes6o");
        assert_eq!(v["template_id"], "tpl-pickup");
        assert_eq!(v["data"]["first"]["value"], "包裹到站取件通知");
        assert!(
            v["data"]["keyword1"]["value"]
                .as_str()
                .is_some_and(|b| b.contains("取件码 123456"))
        );
        assert!(
            v["data"]["keyword2"]["value"]
                .as_str()
                .is_some_and(|t| t.len() == 16)
        );
    }

    #[tokio::test]
    async fn a_wechat_refusal_falls_back_to_sms_and_no_follower_goes_by_sms() {
        let (wx, wx_seen) = fake(vec![
            (200, r#"{"access_token":"T1","expires_in":7200}"#),
            (200, r#"{"errcode":43004,"errmsg":"require subscribe"}"#),
        ]);
        let (gw, gw_seen) = fake(vec![(200, "{}"), (200, "{}")]);
        let ch = Channels {
            wechat: wechat(&wx),
            sms: sms(&gw, None),
        };
        let n = note(Some("13912345678"), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert_eq!(ch.send(&n).await, Ok("sms"));
        assert_eq!(ch.send(&note(Some("13912345678"), None)).await, Ok("sms"));
        assert_eq!(wx_seen.lock().expect("seen").len(), 2);
        assert_eq!(gw_seen.lock().expect("seen").len(), 2);
        // WeChat alone: its refusal is the notification's error, to be retried.
        let (wx, _) = fake(vec![
            (200, r#"{"access_token":"T1","expires_in":7200}"#),
            (200, r#"{"errcode":43004,"errmsg":"require subscribe"}"#),
        ]);
        let ch = Channels {
            wechat: wechat(&wx),
            sms: None,
        };
        assert_eq!(
            ch.send(&n).await,
            Err("WeChat errcode 43004: require subscribe".into())
        );
    }

    #[tokio::test]
    async fn a_failed_token_request_is_not_repeated_and_sms_takes_over() {
        let (wx, wx_seen) = fake(vec![(
            200,
            r#"{"errcode":40125,"errmsg":"invalid appsecret"}"#,
        )]);
        let (gw, gw_seen) = fake(vec![(200, "{}"), (200, "{}")]);
        let ch = Channels {
            wechat: wechat(&wx),
            sms: sms(&gw, None),
        };
        let n = note(Some("13912345678"), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert_eq!(ch.send(&n).await, Ok("sms"));
        assert_eq!(ch.send(&n).await, Ok("sms"));
        // One token request, not one per notification.
        assert_eq!(wx_seen.lock().expect("seen").len(), 1);
        assert_eq!(gw_seen.lock().expect("seen").len(), 2);
    }

    #[test]
    fn codes_and_numbers_are_masked_short_numbers_kept() {
        assert_eq!(
            mask_codes("取件码 123456，货架 A-03，营业时间 09:00"),
            "取件码 ******，货架 A-03，营业时间 09:00"
        );
        assert_eq!(mask_codes("13912345678"), "***********");
    }
}

//! Sending notifications: pickup codes, reminders, returns and the watch's word to sellers
//! are written to an outbox in the same transaction as what caused them; `serve` drains it
//! through a [`Notifier`]. The default writes them to the log (phone numbers and codes
//! masked). Configured, [`Channels`] sends each one by WeChat when its phone or account is
//! bound to a follower of the centre's service account ([`WeChat`], free), else by SMS
//! ([`SmsGateway`]), falling back to SMS when WeChat refuses. Both speak HTTPS through one
//! blocking client run off the async threads (docs/adr/0007-http-client.md).

use bazaar_domain::text::mask_phone;
use bazaar_domain::time::{Zone, now_ms};
use bazaar_store::Store;
use bazaar_store::logistics::pickup::Notification;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The HTTP(S) client every notifier shares: ten seconds for a whole call, statuses
/// returned rather than raised.
fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Runs a blocking HTTP call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

fn check_url(what: &str, url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "the {what} address must start with https:// or http://"
        ))
    }
}

/// HTTPS, or plain HTTP to this machine only (a local relay or a test): what carries a
/// secret must not cross a network in clear.
fn check_secure_url(what: &str, url: &str) -> Result<(), String> {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if url.starts_with("https://") || local {
        Ok(())
    } else {
        Err(format!("the {what} address must start with https://"))
    }
}

/// An SMS gateway: a relay to the carrier's or a cloud SMS service, or a modem gateway on
/// the county's network, over HTTPS or plain HTTP. Each notification with a phone is POSTed
/// as `{"phone", "text", "kind"}` (a bearer token if configured); a 2xx answer means sent.
#[derive(Clone)]
pub struct SmsGateway {
    url: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SmsGateway {
    /// A gateway at `url` (`https://host/path` or `http://host:port/path`), with a bearer
    /// token if it wants one.
    pub fn new(url: &str, token: Option<String>) -> Result<SmsGateway, String> {
        check_url("SMS gateway", url)?;
        Ok(SmsGateway {
            url: url.to_string(),
            token: token.filter(|t| !t.is_empty()),
            agent: http_agent(),
        })
    }

    /// Sends one text (blocking).
    #[tracing::instrument(name = "sms", skip_all)]
    fn post(&self, phone: &str, n: &Notification) -> Result<(), String> {
        let body = serde_json::json!({"phone": phone, "text": n.body, "kind": n.kind}).to_string();
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json; charset=utf-8");
        if let Some(t) = &self.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let resp = req
            .send(body.as_str())
            .map_err(|e| format!("SMS gateway: {e}"))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("SMS gateway answered HTTP {status}"))
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
                return LogNotifier.send(n).await;
            };
            let (me, n) = (self.clone(), n.clone());
            blocking(move || me.post(&phone, &n)).await?;
            Ok("sms")
        })
    }
}

/// What a WeChat template field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The notification's title (取件通知, 取件提醒, 退回通知, 物流异常提醒).
    Title,
    /// Its text.
    Body,
    /// The time it is sent, Beijing time.
    Time,
    /// The parcel's pickup code (while it waits on a shelf).
    Code,
    /// The parcel's waybill.
    Waybill,
    /// The point whose shelf it waits on.
    Place,
}

/// Template fields: `key=part` pairs separated by commas, parts `title`, `body`, `time`,
/// `code`, `waybill`, `place`. The default, `first=title,keyword1=body,keyword2=time`, fits
/// the classic layout; a template of typed fields maps e.g.
/// `thing1=place,character_string2=code,character_string3=waybill,time4=time`. Values are cut
/// to WeChat's limits for `thing…` (20 characters), `character_string…` (32) and `phrase…` (5)
/// keys, which it would refuse whole.
pub fn parse_fields(spec: &str) -> Result<Vec<(String, Part)>, String> {
    let mut out = Vec::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("template field `{pair}`: expected key=part"))?;
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "template field `{pair}`: the key must be letters, digits, _"
            ));
        }
        let part = match v.trim() {
            "title" => Part::Title,
            "body" => Part::Body,
            "time" => Part::Time,
            "code" => Part::Code,
            "waybill" => Part::Waybill,
            "place" => Part::Place,
            other => {
                return Err(format!(
                    "template field `{pair}`: `{other}` is not title, body, time, code, \
                     waybill or place"
                ));
            }
        };
        out.push((k.to_string(), part));
    }
    if out.is_empty() {
        return Err("no template fields".into());
    }
    Ok(out)
}

/// WeChat errors that mean the access token is no longer good: fetch another and retry.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// After a failed token request (a wrong secret, this server's address not allowed), no
/// other is tried for this long: the day's token quota is not spent on retries, and
/// notifications go by SMS meanwhile.
const TOKEN_BACKOFF: Duration = Duration::from_secs(300);

/// The access token and until when to use it, or until when not to ask for one.
#[derive(Debug, Default)]
struct TokenState {
    token: Option<(String, Instant)>,
    failed_until: Option<Instant>,
}

/// The centre's WeChat service account (服务号): template messages to followers bound to a
/// phone or account (`wechat_bindings`). The access token comes from WeChat's stable-token
/// endpoint (the app id and secret in a POST body, never in a URL; several Bazaar nodes
/// asking get the same token instead of revoking each other's), is kept until five minutes
/// before it expires, and is fetched again when WeChat says it is no longer good.
#[derive(Clone)]
pub struct WeChat {
    api: String,
    appid: String,
    secret: String,
    template: String,
    fields: Vec<(String, Part)>,
    token: Arc<Mutex<TokenState>>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for WeChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChat")
            .field("api", &self.api)
            .field("appid", &self.appid)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// The default WeChat API address.
pub const WECHAT_API: &str = "https://api.weixin.qq.com";

impl WeChat {
    /// A service account: the API address ([`WECHAT_API`]; another for a relay or a test),
    /// its app id and secret, the template's id and its fields (see [`parse_fields`]).
    pub fn new(
        api: &str,
        appid: &str,
        secret: &str,
        template: &str,
        fields: &str,
    ) -> Result<WeChat, String> {
        check_secure_url("WeChat API", api)?;
        for (what, v) in [
            ("app id (--wechat-appid)", appid),
            ("app secret (BAZAAR_WECHAT_SECRET)", secret),
            ("template id (--wechat-template)", template),
        ] {
            if v.trim().is_empty() {
                return Err(format!("WeChat needs its {what}"));
            }
        }
        Ok(WeChat {
            api: api.trim_end_matches('/').to_string(),
            appid: appid.trim().to_string(),
            secret: secret.trim().to_string(),
            template: template.trim().to_string(),
            fields: parse_fields(fields)?,
            token: Arc::new(Mutex::new(TokenState::default())),
            agent: http_agent(),
        })
    }

    /// An error's text with the secret and the access token taken out (the token travels in
    /// the send URL, which a transport error may quote).
    pub fn clean(&self, e: impl std::fmt::Display) -> String {
        let mut text = e.to_string().replace(&self.secret, "***");
        if let Ok(t) = self.token.lock()
            && let Some((tok, _)) = &t.token
            && !tok.is_empty()
        {
            text = text.replace(tok.as_str(), "***");
        }
        text
    }

    /// POSTs JSON, the answer as JSON (blocking).
    fn post_json(&self, url: &str, body: &str) -> Result<serde_json::Value, String> {
        let mut resp = self
            .agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .send(body)
            .map_err(|e| self.clean(e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!("WeChat answered HTTP {status}"));
        }
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| self.clean(e))?;
        serde_json::from_str(&text).map_err(|e| format!("WeChat answer: {e}"))
    }

    /// The access token: the kept one, or a new one from the stable-token endpoint unless a
    /// request failed in the last [`TOKEN_BACKOFF`].
    #[tracing::instrument(name = "wechat_token", skip_all)]
    fn token(&self, force: bool) -> Result<String, String> {
        if let Ok(t) = self.token.lock() {
            if !force
                && let Some((tok, until)) = &t.token
                && Instant::now() < *until
            {
                return Ok(tok.clone());
            }
            if t.failed_until.is_some_and(|u| Instant::now() < u) {
                return Err(
                    "WeChat token unavailable (the last request failed); retrying later".into(),
                );
            }
        }
        let body = serde_json::json!({"grant_type": "client_credential", "appid": self.appid,
            "secret": self.secret, "force_refresh": force})
        .to_string();
        let got = self
            .post_json(&format!("{}/cgi-bin/stable_token", self.api), &body)
            .and_then(|v| match v["access_token"].as_str() {
                Some(tok) => Ok((
                    tok.to_string(),
                    v["expires_in"].as_u64().unwrap_or(7200).saturating_sub(300),
                )),
                None => Err(format!(
                    "WeChat token: errcode {}: {}",
                    v["errcode"],
                    v["errmsg"].as_str().unwrap_or("")
                )),
            });
        if let Ok(mut t) = self.token.lock() {
            match &got {
                Ok((tok, ttl)) => {
                    t.token = Some((tok.clone(), Instant::now() + Duration::from_secs(*ttl)));
                    t.failed_until = None;
                }
                Err(_) => {
                    t.token = None;
                    t.failed_until = Some(Instant::now() + TOKEN_BACKOFF);
                }
            }
        }
        got.map(|(tok, _)| tok)
    }

    /// The template message for a notification.
    pub fn message(&self, openid: &str, n: &Notification, now: i64) -> serde_json::Value {
        let title = match n.kind.as_str() {
            "pickup_code" => "包裹到站取件通知",
            "pickup_reminder" => "取件提醒",
            "returned" => "包裹退回通知",
            "stalled" => "物流异常提醒",
            _ => "通知",
        };
        let mut data = serde_json::Map::new();
        for (k, part) in &self.fields {
            let value = match part {
                Part::Title => title.to_string(),
                Part::Body => n.body.clone(),
                Part::Time => Zone::Shanghai.format_ms(now),
                Part::Code => n.pickup_code.clone().unwrap_or_default(),
                Part::Waybill => n.waybill.clone().unwrap_or_default(),
                Part::Place => n.place.clone().unwrap_or_default(),
            };
            let limit = [("thing", 20), ("character_string", 32), ("phrase", 5)]
                .iter()
                .find(|(prefix, _)| k.starts_with(prefix))
                .map(|(_, n)| *n);
            let value = match limit {
                Some(max) if value.chars().count() > max => {
                    let mut cut: String = value.chars().take(max - 1).collect();
                    cut.push('…');
                    cut
                }
                _ => value,
            };
            data.insert(k.clone(), serde_json::json!({ "value": value }));
        }
        serde_json::json!({"touser": openid, "template_id": self.template, "data": data})
    }

    /// Sends a template message (blocking), fetching a new token once if WeChat says so.
    #[tracing::instrument(name = "wechat", skip_all)]
    fn post(&self, openid: &str, n: &Notification) -> Result<(), String> {
        let body = self.message(openid, n, now_ms()).to_string();
        for attempt in 0..2 {
            let url = format!(
                "{}/cgi-bin/message/template/send?access_token={}",
                self.api,
                self.token(attempt > 0)?
            );
            let v = self.post_json(&url, &body)?;
            let code = v["errcode"].as_i64().unwrap_or(0);
            if code == 0 {
                return Ok(());
            }
            if TOKEN_ERRORS.contains(&code) && attempt == 0 {
                continue;
            }
            return Err(format!(
                "WeChat errcode {code}: {}",
                v["errmsg"].as_str().unwrap_or("")
            ));
        }
        Err("WeChat refused the token twice".into())
    }
}

/// The configured channels, tried in order for each notification: WeChat when it has a
/// bound follower, else (or when WeChat refuses) SMS when it has a phone; the log for what
/// neither can take (and for everything when neither is configured).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// The service account, if configured.
    pub wechat: Option<WeChat>,
    /// The SMS gateway, if configured.
    pub sms: Option<SmsGateway>,
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
                let (w, m) = (w.clone(), n.clone());
                match blocking(move || w.post(&openid, &m)).await {
                    Ok(()) => return Ok("wechat"),
                    Err(e) => {
                        tracing::warn!(notification = n.id, error = %e, "WeChat refused");
                        failed = Some(e);
                    }
                }
            }
            match (&self.sms, &n.phone) {
                (Some(sms), Some(_)) => sms.send(n).await,
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
    use std::io::{Read, Write};
    use std::net::TcpListener;

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
        }
    }

    fn wechat(base: &str) -> WeChat {
        WeChat::new(
            base,
            "wx0123456789abcdef",
            "s3cr3t-of-the-centre",
            "TPL-pickup",
            "first=title,keyword1=body,keyword2=time",
        )
        .expect("wechat")
    }

    #[tokio::test]
    async fn the_sms_gateway_gets_phone_text_and_token() {
        let (base, seen) = fake(vec![(200, "{}")]);
        let sms = SmsGateway::new(&format!("{base}/sms"), Some("tok".into())).expect("sms");
        let ch = Channels {
            wechat: None,
            sms: Some(sms),
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
            sms: Some(SmsGateway::new(&base, None).expect("sms")),
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
            wechat: Some(wechat(&base)),
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
            wechat: Some(wechat(&wx)),
            sms: Some(SmsGateway::new(&gw, None).expect("sms")),
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
            wechat: Some(wechat(&wx)),
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
            wechat: Some(wechat(&wx)),
            sms: Some(SmsGateway::new(&gw, None).expect("sms")),
        };
        let n = note(Some("13912345678"), Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"));
        assert_eq!(ch.send(&n).await, Ok("sms"));
        assert_eq!(ch.send(&n).await, Ok("sms"));
        // One token request, not one per notification.
        assert_eq!(wx_seen.lock().expect("seen").len(), 1);
        assert_eq!(gw_seen.lock().expect("seen").len(), 2);
    }

    #[test]
    fn the_secret_and_the_token_never_show_in_an_error() {
        let w = wechat("https://api.weixin.qq.com");
        if let Ok(mut t) = w.token.lock() {
            t.token = Some(("TOKEN-abc".into(), Instant::now() + Duration::from_secs(60)));
        }
        let e =
            w.clean("bad uri https://x/send?access_token=TOKEN-abc&secret=s3cr3t-of-the-centre");
        assert_eq!(e, "bad uri https://x/send?access_token=***&secret=***");
        assert!(!format!("{w:?}").contains("s3cr3t"));
        let sms = SmsGateway::new("https://sms.example", Some("gw-token".into())).expect("sms");
        assert!(!format!("{sms:?}").contains("gw-token"));
        // The secret crosses no network in clear.
        assert!(WeChat::new("http://wx-relay.county", "wx1", "s", "t", "first=body").is_err());
        assert!(WeChat::new("http://127.0.0.1:9000", "wx1", "s", "t", "first=body").is_ok());
    }

    #[test]
    fn a_template_of_typed_fields_gets_the_code_and_the_point_in_their_limits() {
        let w = WeChat::new(
            "https://api.weixin.qq.com",
            "wx1",
            "s",
            "TPL",
            "thing1=place,character_string2=code,character_string3=waybill,thing4=body,time5=time",
        )
        .expect("wechat");
        let m = w.message("oX", &note(None, Some("oX")), 1_795_500_000_000);
        assert_eq!(m["data"]["thing1"]["value"], "哈尔恩根村电商物流服务点");
        assert_eq!(m["data"]["character_string2"]["value"], "123456");
        assert_eq!(m["data"]["character_string3"]["value"], "YT1000000000002");
        let body = m["data"]["thing4"]["value"].as_str().expect("body");
        assert_eq!(body.chars().count(), 20);
        assert!(body.ends_with('…'));
        assert_eq!(m["data"]["time5"]["value"].as_str().map(str::len), Some(16));
    }

    #[test]
    fn template_fields_are_checked() {
        assert_eq!(
            parse_fields("thing1=title, character_string2=body,time3=time"),
            Ok(vec![
                ("thing1".into(), Part::Title),
                ("character_string2".into(), Part::Body),
                ("time3".into(), Part::Time)
            ])
        );
        assert!(parse_fields("").is_err());
        assert!(parse_fields("first").is_err());
        assert!(parse_fields("first=name").is_err());
        assert!(parse_fields("fi rst=body").is_err());
        assert!(WeChat::new(WECHAT_API, "wx1", "", "t", "first=body").is_err());
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

//! The centre's WeChat service account (服务号): template messages to the followers bound to
//! a phone or an account.

use crate::http::{agent, check_secure_url};
use bazaar_domain::time::{Zone, now_ms};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a template message says; the caller composes the title and the body in the
/// recipient's language.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateMessage<'a> {
    /// Its title (取件通知, …).
    pub title: &'a str,
    /// Its text.
    pub body: &'a str,
    /// The parcel's pickup code (while it waits on a shelf).
    pub code: Option<&'a str>,
    /// The parcel's waybill.
    pub waybill: Option<&'a str>,
    /// The point whose shelf it waits on.
    pub place: Option<&'a str>,
}

/// Something that sends template messages to a follower.
pub trait TemplateChannel: Send + Sync + std::fmt::Debug {
    /// Sends `m` to the follower `openid` (blocking).
    fn send_template(&self, openid: &str, m: &TemplateMessage<'_>) -> Result<(), String>;
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
            agent: agent(Duration::from_secs(10)),
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

    /// The template message for `m`, sent at `now`.
    pub fn message(&self, openid: &str, m: &TemplateMessage<'_>, now: i64) -> serde_json::Value {
        let mut data = serde_json::Map::new();
        for (k, part) in &self.fields {
            let value = match part {
                Part::Title => m.title.to_string(),
                Part::Body => m.body.to_string(),
                Part::Time => Zone::Shanghai.format_ms(now),
                Part::Code => m.code.unwrap_or_default().to_string(),
                Part::Waybill => m.waybill.unwrap_or_default().to_string(),
                Part::Place => m.place.unwrap_or_default().to_string(),
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
}

impl TemplateChannel for WeChat {
    /// Sends a template message (blocking), fetching a new token once if WeChat says so.
    #[tracing::instrument(name = "wechat", skip_all)]
    fn send_template(&self, openid: &str, m: &TemplateMessage<'_>) -> Result<(), String> {
        let body = self.message(openid, m, now_ms()).to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let m = w.message(
            "oX",
            &TemplateMessage {
                title: "包裹到站取件通知",
                body: "您的包裹已到哈尔恩根村服务站，取件码 123456，货架 A-01。",
                code: Some("123456"),
                waybill: Some("YT1000000000002"),
                place: Some("哈尔恩根村电商物流服务点"),
            },
            1_795_500_000_000,
        );
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
}

//! An SMS gateway: a relay to the carrier's or a cloud SMS service, or a modem gateway on the
//! county's network, over HTTPS or plain HTTP.

use crate::http::{agent, check_url};
use std::time::Duration;

/// Something that sends a text message to a phone.
pub trait TextGateway: Send + Sync + std::fmt::Debug {
    /// Sends `text` to `phone` (blocking); `kind` names what it is (pickup_code, …).
    fn send_text(&self, phone: &str, text: &str, kind: &str) -> Result<(), String>;
}

/// A gateway that takes each text as a POST of `{"phone", "text", "kind"}` (a bearer token
/// if configured); a 2xx answer means sent.
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
            agent: agent(Duration::from_secs(10)),
        })
    }
}

impl TextGateway for SmsGateway {
    #[tracing::instrument(name = "sms", skip_all)]
    fn send_text(&self, phone: &str, text: &str, kind: &str) -> Result<(), String> {
        let body = serde_json::json!({"phone": phone, "text": text, "kind": kind}).to_string();
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

//! 快递100 (kuaidi100.com): its subscription push, checked and read. A push is a form of two
//! fields: `param`, the JSON text of the tracking state (`lastResult`: `com`, `nu`, `state`,
//! `data`), and `sign`, the upper-case hex MD5 of `param` followed by the salt agreed at
//! subscription.

use crate::sign::constant_eq;
use bazaar_domain::time::Zone;
use md5::Digest;

/// Whether `sign` is 快递100's signature of `param` with `salt` (compared in constant time:
/// the signature is a secret's fingerprint).
pub fn verify(param: &str, sign: &str, salt: &str) -> bool {
    let expected = hex::encode_upper(md5::Md5::digest(format!("{param}{salt}").as_bytes()));
    let given = sign.trim().to_ascii_uppercase();
    constant_eq(expected.as_bytes(), given.as_bytes())
}

/// Bazaar's carrier code for a 快递100 company code.
pub fn carrier_of(com: &str) -> Option<&'static str> {
    let ours = match com {
        "youzhengguonei" | "youzhengbk" => "ems",
        c => c,
    };
    bazaar_domain::logistics::carrier(ours).map(|c| c.code)
}

/// One tracking event of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// 快递100's status code of the event (see `bazaar_domain::logistics::kuaidi100_state`).
    pub code: String,
    /// When, UTC milliseconds.
    pub at: i64,
    /// Its text, at most 500 characters.
    pub note: Option<String>,
    /// Where, at most 100 characters.
    pub place: Option<String>,
}

/// A push, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Bazaar's carrier code.
    pub carrier: &'static str,
    /// The waybill number.
    pub waybill: String,
    /// Its events, newest first as 快递100 sends them.
    pub events: Vec<PushEvent>,
}

/// Why a push could not be read (the answer's `message` to 快递100).
pub type Unreadable = &'static str;

/// Reads a verified push's `param`. Event times are Beijing time.
pub fn parse(param: &str) -> Result<Push, Unreadable> {
    let v: serde_json::Value = serde_json::from_str(param).map_err(|_| "param is not JSON")?;
    let last = &v["lastResult"];
    let carrier = last["com"]
        .as_str()
        .and_then(carrier_of)
        .ok_or("unknown carrier")?;
    let waybill = last["nu"].as_str().ok_or("no waybill")?.to_string();
    let newest_state = last["state"].as_str().unwrap_or("").to_string();
    let mut events = Vec::new();
    for (i, d) in last["data"].as_array().into_iter().flatten().enumerate() {
        let time = d["ftime"].as_str().or(d["time"].as_str()).unwrap_or("");
        let at = Zone::Shanghai.parse_local(time).ok_or("bad event time")?;
        let code = match d["statusCode"].as_str().map(str::trim) {
            Some(c) if !c.is_empty() => c.to_string(),
            // Older pushes carry no code per event: the newest (first) has lastResult.state.
            _ if i == 0 => newest_state.clone(),
            _ => "0".to_string(),
        };
        events.push(PushEvent {
            code,
            at,
            note: d["context"].as_str().map(|x| x.chars().take(500).collect()),
            place: d["areaName"]
                .as_str()
                .map(|x| x.chars().take(100).collect()),
        });
    }
    Ok(Push {
        carrier,
        waybill,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_is_verified_and_read() {
        let param = r#"{"status":"polling","lastResult":{"com":"youzhengguonei","nu":"1179","state":"0","data":[{"context":"到达博湖县","ftime":"2026-11-20 10:00:00","areaName":"博湖县"},{"context":"揽收","time":"2026-11-19 18:00:00"}]}}"#;
        let sign = hex::encode_upper(md5::Md5::digest(format!("{param}salt").as_bytes()));
        assert!(verify(param, &sign, "salt"));
        assert!(verify(param, &sign.to_lowercase(), "salt"));
        assert!(!verify(param, &sign, "other"));
        let p = parse(param).expect("push");
        assert_eq!((p.carrier, p.waybill.as_str()), ("ems", "1179"));
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].code, "0");
        assert_eq!(p.events[0].place.as_deref(), Some("博湖县"));
        assert_eq!(p.events[0].at - p.events[1].at, 16 * 3600 * 1000);
        assert_eq!(parse("{"), Err("param is not JSON"));
        assert_eq!(
            parse(r#"{"lastResult":{"com":"nobody"}}"#),
            Err("unknown carrier")
        );
        assert_eq!(
            parse(r#"{"lastResult":{"com":"shunfeng","nu":"1","data":[{"ftime":"yesterday"}]}}"#),
            Err("bad event time")
        );
    }
}

//! Languages: every user-visible string lives in a Fluent catalogue under `locales/`.
//!
//! zh-CN is the default and the fallback; English, Uyghur (written right to left) and Tibetan
//! are complete (a test checks that every zh-CN message has one in each; the Uyghur and
//! Tibetan drafts want a native speaker's review before a release). A message a catalogue
//! lacks would be shown in Chinese, never as its key.
//! The language of a request is an explicit `?lang=` choice, else the sticky `bz_lang`
//! cookie, else the best match of `Accept-Language`, else zh-CN.

use axum::http::{HeaderMap, header};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Simplified Chinese, the default.
    ZhCn,
    /// English.
    En,
    /// Uyghur (Arabic script, right to left).
    Ug,
    /// Tibetan.
    Bo,
}

/// The catalogues, in the order of [`Lang::ALL`].
const SOURCES: [&str; 4] = [
    include_str!("../../locales/zh-CN.ftl"),
    include_str!("../../locales/en.ftl"),
    include_str!("../../locales/ug.ftl"),
    include_str!("../../locales/bo.ftl"),
];

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
}

static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .zip(SOURCES)
        .map(|(lang, src)| {
            // A syntax error is caught by the unit tests; at run time the good messages of a
            // partly broken file still load.
            let res = match FluentResource::try_new(src.to_string()) {
                Ok(r) => r,
                Err((r, errs)) => {
                    tracing::error!(
                        lang = lang.tag(),
                        errors = errs.len(),
                        "catalogue has errors"
                    );
                    r
                }
            };
            let id = lang
                .tag()
                .parse::<unic_langid::LanguageIdentifier>()
                .unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Unicode isolation marks only where the script direction can differ.
            bundle.set_use_isolating(*lang == Lang::Ug);
            if let Err(errs) = bundle.add_resource(res) {
                tracing::error!(lang = lang.tag(), errors = errs.len(), "duplicate messages");
            }
            Catalogue { bundle }
        })
        .collect()
});

impl Lang {
    /// Every language, default first.
    pub const ALL: [Lang; 4] = [Lang::ZhCn, Lang::En, Lang::Ug, Lang::Bo];

    /// The BCP 47 tag, as used in `lang=` and the `bz_lang` cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
            Lang::Ug => "ug",
            Lang::Bo => "bo",
        }
    }

    /// The language's own name, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
            Lang::Ug => "ئۇيغۇرچە",
            Lang::Bo => "བོད་ཡིག",
        }
    }

    /// Text direction: `rtl` for Uyghur, else `ltr`.
    pub fn dir(self) -> &'static str {
        if self == Lang::Ug { "rtl" } else { "ltr" }
    }

    /// A language from a tag such as `en`, `en-US`, `zh`, `zh-Hans-CN`, `ug-CN` or `bo`
    /// (case-insensitive); `None` for a language Bazaar does not speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            "ug" => Some(Lang::Ug),
            "bo" => Some(Lang::Bo),
            _ => None,
        }
    }

    /// The best language of an `Accept-Language` value, honouring q-values (RFC 9110
    /// §12.5.4); a malformed entry is skipped, never an error.
    pub fn from_accept_language(value: &str) -> Option<Lang> {
        let mut best: Option<(u16, usize, Lang)> = None;
        for (pos, entry) in value.split(',').enumerate().take(32) {
            let mut parts = entry.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let mut q = 1000u16;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    // A malformed q-value counts as 0 (not acceptable).
                    q = parse_qvalue(v).unwrap_or_default();
                }
            }
            if q == 0 {
                continue;
            }
            // Higher q wins; among equals, the earlier entry.
            if best.is_none_or(|(bq, bpos, _)| q > bq || (q == bq && pos < bpos)) {
                best = Some((q, pos, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// The language of a request: `?lang=` (from the raw query), else the `bz_lang` cookie,
    /// else `Accept-Language`, else zh-CN.
    pub fn negotiate(h: &HeaderMap, query: Option<&str>) -> Lang {
        if let Some(l) = query.and_then(lang_in_query) {
            return l;
        }
        if let Some(l) = crate::app::session::cookie(h, "bz_lang").and_then(|c| Lang::parse(&c)) {
            return l;
        }
        h.get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::ZhCn)
    }

    /// The language a request chose, when it chose one (`?lang=`, the `bz_lang` cookie or
    /// `Accept-Language`); `None` when [`Lang::negotiate`] would only fall back to zh-CN.
    pub fn chosen(h: &HeaderMap, query: Option<&str>) -> Option<Lang> {
        let any = query.and_then(lang_in_query).is_some()
            || crate::app::session::cookie(h, "bz_lang").is_some_and(|c| Lang::parse(&c).is_some())
            || h.get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
                .is_some();
        any.then(|| Lang::negotiate(h, query))
    }

    /// Remembers, after a sign-in, the language the person chose (messages to them are
    /// written in it); nothing when they chose none. A failure is logged, never fatal.
    pub async fn remember(
        h: &HeaderMap,
        query: Option<&str>,
        store: &bazaar_store::Store,
        user: i64,
    ) {
        if let Some(l) = Lang::chosen(h, query)
            && let Err(e) = store.remember_lang(user, l.tag()).await
        {
            tracing::warn!(error = %e, "the language of a sign-in was not kept");
        }
    }

    /// The message `key` in this language (falling back to zh-CN, then to the key itself).
    pub fn t(self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with arguments, e.g. `lang.ta("results-count", &[("n", 12.into())])`.
    pub fn ta(self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(*k, v.clone());
        }
        self.format(key, Some(&a))
    }

    /// Whether this language's own catalogue has `key` (without fallback).
    pub fn has(self, key: &str) -> bool {
        CATALOGUES[self.index()].bundle.has_message(key)
    }

    fn index(self) -> usize {
        match self {
            Lang::ZhCn => 0,
            Lang::En => 1,
            Lang::Ug => 2,
            Lang::Bo => 3,
        }
    }

    fn format(self, key: &str, args: Option<&FluentArgs>) -> String {
        for lang in [self, Lang::ZhCn] {
            let bundle = &CATALOGUES[lang.index()].bundle;
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = vec![];
                let s = bundle.format_pattern(pattern, args, &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(key, lang = lang.tag(), "message formatted with errors");
                }
                return s.into_owned();
            }
        }
        tracing::warn!(key, "message missing from every catalogue");
        key.to_string()
    }
}

tokio::task_local! {
    static REQUEST_LANG: Lang;
}

/// The language of the request being handled (set by the router's language middleware);
/// zh-CN outside a request.
pub fn current() -> Lang {
    REQUEST_LANG.try_with(|l| *l).unwrap_or(Lang::ZhCn)
}

/// Runs `f` with `lang` as the request's language (see [`current`]).
pub async fn with_lang<F: std::future::Future>(lang: Lang, f: F) -> F::Output {
    REQUEST_LANG.scope(lang, f).await
}

/// `lang=…` in a raw query string.
pub fn lang_in_query(query: &str) -> Option<Lang> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// A q-value in thousandths: `1`, `0.8`, `0.125` (at most three decimals).
fn parse_qvalue(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The catalogues as the store's words for messages to people
/// ([`bazaar_store::notify::Messages`]): `notify-<kind>` in the recipient's language, or
/// `notify-<kind>-no-<value>` when a text value is empty and the catalogue has that form
/// (a point without opening hours).
#[derive(Debug, Default)]
pub struct Catalogues;

impl bazaar_store::notify::Messages for Catalogues {
    fn compose(&self, lang: Option<&str>, m: &bazaar_store::notify::Message<'_>) -> String {
        use bazaar_store::notify::Value;
        let lang = lang.and_then(Lang::parse).unwrap_or(Lang::ZhCn);
        let args = m.args();
        let mut key = format!("notify-{}", m.kind());
        for (name, v) in &args {
            let shorter = format!("notify-{}-no-{name}", m.kind());
            if matches!(v, Value::Text(t) if t.is_empty()) && lang.has(&shorter) {
                key = shorter;
            }
        }
        let values: Vec<(&str, FluentValue<'_>)> = args
            .iter()
            .map(|(name, v)| {
                let v = match v {
                    Value::Text(t) => FluentValue::from(*t),
                    Value::Number(n) => FluentValue::from(*n),
                };
                (*name, v)
            })
            .collect();
        lang.ta(&key, &values)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn messages_to_people_are_composed_in_each_language_with_every_value() {
        use bazaar_store::notify::{Message, Messages};
        let all = [
            Message::PickupCode {
                point: "哈尔恩根村服务站",
                carrier: "圆通",
                waybill: "YT5000000000001",
                code: "123456",
                slot: "A-01",
                hours: "09:00–20:00",
            },
            Message::PickupCode {
                point: "哈尔恩根村服务站",
                carrier: "圆通",
                waybill: "YT5000000000001",
                code: "123456",
                slot: "A-01",
                hours: "",
            },
            Message::PickupReminder {
                point: "哈尔恩根村服务站",
                waybill: "YT5000000000001",
                code: "123456",
                days: 3,
                back_days: 7,
            },
            Message::Returned { days: 7 },
            Message::Stalled { parcels: 12 },
        ];
        for lang in Lang::ALL {
            for m in &all {
                assert!(
                    lang.has(&format!("notify-{}", m.kind())),
                    "{lang:?} {}",
                    m.kind()
                );
                let text = Catalogues.compose(Some(lang.tag()), m);
                for (_, v) in m.args() {
                    let want = match v {
                        bazaar_store::notify::Value::Text(t) => t.to_string(),
                        bazaar_store::notify::Value::Number(n) => n.to_string(),
                    };
                    assert!(text.contains(&want), "{lang:?}: {text}");
                }
                assert!(
                    !text.contains("营业时间 。") && !text.contains("open ."),
                    "{text}"
                );
            }
        }
        // The recipient's language is the one written; an unknown one is Chinese.
        let m = Message::Returned { days: 7 };
        assert!(Catalogues.compose(Some("ug"), &m).contains("قايتۇرۇلدى"));
        assert_eq!(
            Catalogues.compose(Some("xx"), &m),
            Catalogues.compose(None, &m)
        );
        assert!(Catalogues.compose(None, &m).contains("退回寄件人"));
    }

    use super::*;
    use proptest::prelude::*;

    fn keys(src: &str) -> Vec<String> {
        src.lines()
            .filter(|l| {
                l.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_uppercase())
            })
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
            .collect()
    }

    #[test]
    fn catalogues_parse_without_errors() {
        for (lang, src) in Lang::ALL.iter().zip(SOURCES) {
            if let Err((_, errs)) = FluentResource::try_new(src.to_string()) {
                panic!("{}: {errs:?}", lang.tag());
            }
        }
    }

    #[test]
    fn every_catalogue_is_complete_and_none_has_strays() {
        let zh = keys(SOURCES[0]);
        assert!(zh.len() > 80, "zh-CN has {} messages", zh.len());
        for k in &zh {
            for lang in Lang::ALL.iter().skip(1) {
                assert!(lang.has(k), "{} lacks {k}", lang.tag());
            }
        }
        for (lang, src) in Lang::ALL.iter().zip(SOURCES).skip(1) {
            for k in keys(src) {
                assert!(
                    Lang::ZhCn.has(&k),
                    "{} has {k}, which zh-CN lacks",
                    lang.tag()
                );
            }
        }
    }

    /// Every error code and every field reason has its message in every catalogue: an
    /// answer never falls back to "internal error" for want of a message.
    #[test]
    fn every_error_code_and_reason_has_a_message_in_every_language() {
        let mut missing = vec![];
        for lang in Lang::ALL {
            for c in bazaar_domain::ErrorCode::ALL {
                let key = format!("error-{}", c.code());
                if !lang.has(&key) {
                    missing.push(format!("{}: {key}", lang.tag()));
                }
            }
        }
        for r in bazaar_domain::Reason::ALL {
            for lang in Lang::ALL {
                let key = format!("reason-{}", r.code());
                if !lang.has(&key) {
                    missing.push(format!("{}: {key}", lang.tag()));
                }
            }
        }
        assert!(missing.is_empty(), "missing: {missing:?}");
    }

    /// Every key the code asks for exists in zh-CN (a missing one would show as its key).
    #[test]
    fn every_key_used_in_the_code_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut missing = vec![];
        let mut seen = 0;
        let mut files = vec![];
        let mut dirs = vec![std::path::PathBuf::from(dir)];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(d).expect("src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        for path in files {
            let code = std::fs::read_to_string(&path).expect("read");
            for pat in [".t(\"", ".ta(\""] {
                for (i, _) in code.match_indices(pat) {
                    let rest = &code[i + pat.len()..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    seen += 1;
                    if !Lang::ZhCn.has(key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(seen > 50, "only {seen} keys found");
        assert!(missing.is_empty(), "missing: {missing:?}");
    }

    #[test]
    fn fallback_and_arguments() {
        assert_eq!(Lang::En.t("nav-search"), "Search");
        assert_eq!(Lang::ZhCn.t("nav-search"), "搜索");
        let absent = "no-such-key";
        assert_eq!(Lang::ZhCn.t(absent), absent);
        assert_eq!(Lang::En.ta("results-count", &[("n", 1.into())]), "1 result");
        assert_eq!(
            Lang::En.ta("results-count", &[("n", 12.into())]),
            "12 results"
        );
        assert_eq!(
            Lang::ZhCn.ta("results-count", &[("n", 12.into())]),
            "12 个结果"
        );
    }

    #[test]
    fn accept_language_honours_q_values() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("fr;q=1, en;q=0.5, zh-CN;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("ug-CN"), Some(Lang::Ug));
        assert_eq!(
            Lang::from_accept_language("bo;q=0.3,en;q=0"),
            Some(Lang::Bo)
        );
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("en;q=2"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    proptest! {
        /// Any header value, however malformed, gives an answer without panicking, and an
        /// answer is always a language listed in the header.
        #[test]
        fn accept_language_never_panics(v in "\\PC{0,80}") {
            if let Some(l) = Lang::from_accept_language(&v) {
                prop_assert!(v.to_ascii_lowercase().contains(&l.tag()[..2].to_ascii_lowercase()));
            }
        }

        #[test]
        fn qvalue_in_range(v in "[0-9.]{0,6}") {
            if let Some(q) = parse_qvalue(&v) {
                prop_assert!(q <= 1000);
            }
        }
    }
}

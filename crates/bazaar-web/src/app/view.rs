//! Pages from templates (docs/adr/0010-templates.md): every page body is an askama template
//! under `templates/<area>/`, checked at compile time and escaped automatically; this module
//! holds the frame they are shown in and the one type whose HTML is passed through unescaped,
//! [`Markup`], which only a rendered template produces.

use crate::app::assets;
use crate::app::i18n::Lang;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// HTML that a template rendered: the only HTML a frame includes unescaped.
#[derive(Debug, Clone)]
pub struct Markup(String);

impl Markup {
    /// Renders `t`.
    pub fn of(t: &impl Template) -> Result<Markup, askama::Error> {
        t.render().map(Markup)
    }

    /// The HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Markup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Markup {}

/// The frame of every page: the header with the language switch, the cart, orders and back
/// office links, the search box. Uyghur pages are laid out right to left.
#[derive(Template)]
#[template(path = "app/base.html")]
struct Base<'a> {
    lang: Lang,
    title: &'a str,
    q: &'a str,
    body: &'a Markup,
    css: String,
    icon: String,
    /// The Tibetan web font (declared on Tibetan pages only).
    tibetan_font: String,
    /// "བོད་ཡིག" drawn, for the language switch of other pages (a phone without a Tibetan
    /// font shows the word, not boxes, and fetches no font for it).
    bo_label: String,
    langs: &'static [Lang],
    /// Whether to link the back office (for people who work in it).
    staff: bool,
    /// The page's query without `lang`, each pair followed by `&`: the language switch keeps
    /// the page and what it shows.
    keep: &'a str,
}

/// A body of a page that is a heading and a body.
#[derive(Template)]
#[template(path = "app/titled.html")]
pub(crate) struct Titled<'a> {
    /// The heading.
    pub title: &'a str,
    /// What follows it.
    pub body: &'a Markup,
}

/// A page with only a message.
#[derive(Template)]
#[template(path = "app/message.html")]
pub(crate) struct Message<'a> {
    /// The message.
    pub msg: &'a str,
}

/// The whole page around `body`, as HTML; `q` fills the search box; `staff` shows the link
/// to the back office.
pub fn frame(
    lang: Lang,
    title: &str,
    q: &str,
    staff: bool,
    keep: &str,
    body: &Markup,
) -> Result<String, askama::Error> {
    Base {
        staff,
        keep,
        lang,
        title,
        q,
        body,
        css: assets::url("app.css"),
        icon: assets::url("favicon.svg"),
        tibetan_font: assets::url("noto-serif-tibetan.woff2"),
        bo_label: assets::url("bo-label.svg"),
        langs: &Lang::ALL,
    }
    .render()
}

/// A response of the page `body` in its frame. A template that fails to render (only a
/// value's `Display` can make it fail) is logged and answered with a plain 500 page.
pub fn page(
    lang: Lang,
    status: StatusCode,
    title: &str,
    q: &str,
    body: &impl Template,
) -> Response {
    match Markup::of(body).and_then(|b| frame(lang, title, q, false, "", &b)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failed(e),
    }
}

/// [`page_for`] with a body already rendered (a cached one).
pub fn page_of_markup(
    lang: Lang,
    (h, uri): (&axum::http::HeaderMap, &axum::http::Uri),
    status: StatusCode,
    title: &str,
    body: &Markup,
) -> Response {
    let staff = crate::app::session::staff_hint(h);
    match frame(lang, title, "", staff, &keep_query(uri), body) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failed(e),
    }
}

/// The query of `uri` without its `lang` pair (at most 1,000 bytes), each pair followed by
/// `&`, for the language switch to keep: `q=蜂蜜&county=652829&`.
pub fn keep_query(uri: &axum::http::Uri) -> String {
    let Some(q) = uri.query().filter(|q| q.len() <= 1000) else {
        return String::new();
    };
    q.split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("lang"))
        .map(|kv| format!("{kv}&"))
        .collect()
}

/// [`page`] for the request `h`, `uri`: the header links the back office for someone who
/// works in it (see [`crate::app::session::staff_hint`]) and the language switch keeps the
/// page's query.
pub fn page_for(
    lang: Lang,
    (h, uri): (&axum::http::HeaderMap, &axum::http::Uri),
    status: StatusCode,
    title: &str,
    q: &str,
    body: &impl Template,
) -> Response {
    let staff = crate::app::session::staff_hint(h);
    let keep = keep_query(uri);
    match Markup::of(body).and_then(|b| frame(lang, title, q, staff, &keep, &b)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failed(e),
    }
}

/// A time as pages write it (one rule everywhere): Beijing time, and where the place keeps
/// 新疆时间 its local time of day beside it ("2026-12-03 14:05（新疆时间 12:05）").
pub fn when(lang: Lang, utc_ms: i64, local: bazaar_domain::time::Zone) -> String {
    match bazaar_domain::time::beijing_and_local(utc_ms, local) {
        (beijing, None) => beijing,
        (beijing, Some(hm)) => lang.ta(
            "time-with-local",
            &[("beijing", beijing.into()), ("local", hm.into())],
        ),
    }
}

/// The zone a person's place keeps: their region's (the last of their scope), Beijing time
/// when it names none.
pub async fn zone_of(
    store: &bazaar_store::Store,
    actor: &bazaar_domain::people::Actor,
) -> bazaar_domain::time::Zone {
    let Some(code) = actor.region_code() else {
        return bazaar_domain::time::Zone::Shanghai;
    };
    match store.region(code).await {
        Ok(r) => bazaar_domain::time::Zone::parse(&r.timezone).unwrap_or_default(),
        Err(_) => bazaar_domain::time::Zone::Shanghai,
    }
}

/// The answer to a template that failed to render.
pub fn failed(e: askama::Error) -> Response {
    tracing::error!(error = %e, "template failed to render");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(Lang::ZhCn.t("error-internal")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::keep_query;

    #[test]
    fn the_language_switch_keeps_the_query_but_not_the_old_language() {
        let uri = |s: &str| s.parse::<axum::http::Uri>().expect("uri");
        assert_eq!(
            keep_query(&uri("/search?q=%E8%9C%82&lang=ug&county=653122")),
            "q=%E8%9C%82&county=653122&"
        );
        assert_eq!(keep_query(&uri("/search?lang=en")), "");
        assert_eq!(keep_query(&uri("/")), "");
        assert_eq!(keep_query(&uri("/x?language=1&&")), "language=1&");
        let long = format!("/search?q={}", "a".repeat(1200));
        assert_eq!(keep_query(&uri(&long)), "");
    }
}

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
    langs: &'static [Lang],
    /// Whether to link the back office (for people who work in it).
    staff: bool,
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
    body: &Markup,
) -> Result<String, askama::Error> {
    Base {
        staff,
        lang,
        title,
        q,
        body,
        css: assets::url("app.css"),
        icon: assets::url("favicon.svg"),
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
    page_for(lang, false, status, title, q, body)
}

/// [`page`] for a request whose browser may belong to someone who works in the back office
/// (`staff`, see [`crate::app::session::staff_hint`]): the header links it.
pub fn page_for(
    lang: Lang,
    staff: bool,
    status: StatusCode,
    title: &str,
    q: &str,
    body: &impl Template,
) -> Response {
    match Markup::of(body).and_then(|b| frame(lang, title, q, staff, &b)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => failed(e),
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

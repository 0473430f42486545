//! Page sessions: login with a password, an HttpOnly session cookie (the token is stored
//! hashed), CSRF protection on every form (a per-browser random token in an HttpOnly
//! `SameSite=Strict` cookie that each form must echo), and the management page.

use crate::AppState;
use crate::app::i18n::Lang;
use crate::catalog::pages::{message_page, page_lang};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::people::Actor;
use bazaar_store::people::auth::{TokenKind, new_secret};
use std::collections::HashMap;

const SESSION: &str = "bz_session";
const CSRF: &str = "bz_csrf";
/// A hint, not a credential: set at sign-in for people who work in the back office, so the
/// storefront's header can link it without looking the session up. Every back-office page
/// still checks the session and the role.
const STAFF: &str = "bz_staff";

/// Whether this browser signed in as someone who works in the back office (see [`STAFF`]).
pub fn staff_hint(h: &HeaderMap) -> bool {
    cookie(h, STAFF).is_some_and(|v| v == "1")
}

/// A cookie's value from the request headers.
pub fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn set_cookie(res: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The signed-in actor of a page request, if any.
pub async fn page_actor(s: &AppState, h: &HeaderMap) -> Option<Actor> {
    let token = cookie(h, SESSION)?;
    if token.len() > 128 {
        return None;
    }
    s.store
        .actor_by_token(&token, TokenKind::Session)
        .await
        .ok()
        .flatten()
}

/// The CSRF token of this browser, and whether it must be set as a new cookie.
pub(crate) fn csrf_token(h: &HeaderMap) -> (String, bool) {
    match cookie(h, CSRF).filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(c) => (c, false),
        None => (new_secret(), true),
    }
}

/// Whether a state-changing request comes from our own pages: a browser's `Origin` (or,
/// without one, `Sec-Fetch-Site`) must name this host. A request without either (an old
/// browser, a script) is judged by its CSRF token alone.
pub(crate) fn same_origin(h: &HeaderMap) -> bool {
    if let Some(origin) = h.get(header::ORIGIN) {
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    !matches!(
        h.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site" | "same-site")
    )
}

pub(crate) fn csrf_ok(h: &HeaderMap, form: &HashMap<String, String>) -> bool {
    if !same_origin(h) {
        return false;
    }
    match (cookie(h, CSRF), form.get("csrf")) {
        (Some(c), Some(f)) => {
            !c.is_empty() && bazaar_integrations::sign::constant_eq(c.as_bytes(), f.as_bytes())
        }
        _ => false,
    }
}

pub(crate) fn csrf_cookie(token: &str) -> String {
    format!("{CSRF}={token}; Path=/; HttpOnly; SameSite=Strict")
}

/// The 403 page of a form whose CSRF token is missing or wrong.
pub fn forbidden_csrf(lang: Lang) -> Response {
    message_page(lang, StatusCode::FORBIDDEN, &lang.t("csrf-expired"))
}

/// A safe place to go after signing in: a local path (never `//host` or a full URL), with
/// anything outside printable ASCII percent-encoded so it fits a `Location` header.
pub fn local_next(next: Option<&str>) -> Option<String> {
    let n = next?;
    if !n.starts_with('/')
        || n.starts_with("//")
        || n.contains('\\')
        || n.len() > 300
        || n.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return None;
    }
    let mut o = String::with_capacity(n.len());
    for b in n.bytes() {
        if b.is_ascii_graphic() {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    Some(o)
}

/// The login form: the username typed so far, why the last try failed, and where to go
/// after signing in.
#[derive(Template)]
#[template(path = "people/login.html")]
struct LoginPage<'a> {
    lang: Lang,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    next: Option<&'a str>,
}

/// The login page, answered with `status`.
fn login_page(status: StatusCode, page: &LoginPage<'_>) -> Response {
    crate::app::view::page(page.lang, status, &page.lang.t("login-title"), "", page)
}

/// `GET /login`.
pub async fn login_form(
    h: HeaderMap,
    uri: Uri,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&h, &uri);
    let (csrf, new) = csrf_token(&h);
    let next = local_next(q.get("next").map(String::as_str));
    let mut res = login_page(
        StatusCode::OK,
        &LoginPage {
            lang,
            csrf: &csrf,
            username: "",
            error: None,
            next: next.as_deref(),
        },
    );
    if new {
        set_cookie(&mut res, csrf_cookie(&csrf));
    }
    res
}

/// `POST /login`: checks the password (throttled like the API) and opens a session.
pub async fn login(
    State(s): State<AppState>,
    client: crate::app::auth::ClientAddr,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = Lang::negotiate(&h, None);
    if !csrf_ok(&h, &form) {
        return forbidden_csrf(lang);
    }
    let next = local_next(form.get("next").map(String::as_str));
    let username = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let csrf = cookie(&h, CSRF).unwrap_or_default();
    let fail = |status: StatusCode, msg: &str| {
        login_page(
            status,
            &LoginPage {
                lang,
                csrf: &csrf,
                username,
                error: Some(msg),
                next: next.as_deref(),
            },
        )
    };
    if username.trim().is_empty() || password.is_empty() {
        return fail(StatusCode::BAD_REQUEST, &lang.t("login-missing"));
    }
    match s
        .store
        .login(username, password, &client.0, TokenKind::Session)
        .await
    {
        Ok((token, actor)) => {
            tracing::info!(user = actor.username, "signed in");
            crate::app::i18n::Lang::remember(&h, None, &s.store, actor.user_id).await;
            let staff = actor.role != bazaar_domain::people::Role::Buyer;
            let home = if staff { "/manage" } else { "/" };
            let mut res = Redirect::to(next.as_deref().unwrap_or(home)).into_response();
            set_cookie(
                &mut res,
                if staff {
                    format!(
                        "{STAFF}=1; Path=/; SameSite=Lax; Max-Age={}",
                        bazaar_store::people::auth::SESSION_TTL_MS / 1000
                    )
                } else {
                    format!("{STAFF}=; Path=/; SameSite=Lax; Max-Age=0")
                },
            );
            // A new CSRF token with the new session: one planted before sign-in is useless.
            set_cookie(&mut res, csrf_cookie(&new_secret()));
            set_cookie(
                &mut res,
                format!(
                    "{SESSION}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                    bazaar_store::people::auth::SESSION_TTL_MS / 1000
                ),
            );
            res
        }
        Err(e) => {
            let api = crate::app::error::ApiError::from(e);
            let mut res = fail(api.status, &crate::app::error::message(api.code, lang));
            if let Some(secs) = api.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

/// `POST /logout`: revokes the session.
pub async fn logout(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !csrf_ok(&h, &form) {
        return forbidden_csrf(Lang::negotiate(&h, None));
    }
    if let Some(t) = cookie(&h, SESSION)
        && let Err(e) = s.store.revoke_token(&t).await
    {
        tracing::error!(error = %e, "revoking session failed");
    }
    let mut res = Redirect::to("/").into_response();
    set_cookie(
        &mut res,
        format!("{SESSION}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    set_cookie(
        &mut res,
        format!("{STAFF}=; Path=/; SameSite=Lax; Max-Age=0"),
    );
    res
}

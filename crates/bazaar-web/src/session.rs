//! Page sessions: login with a password, an HttpOnly session cookie (the token is stored
//! hashed), CSRF protection on every form (a per-browser random token in an HttpOnly
//! `SameSite=Strict` cookie that each form must echo), and the management page.

use crate::AppState;
use crate::pages::{esc, layout, wants_english};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::catalog::{ProductAction, ProductStatus};
use bazaar_domain::people::{Actor, Role};
use bazaar_store::StoreError;
use bazaar_store::auth::{TokenKind, new_secret};
use bazaar_store::products::ProductFilter;
use std::collections::HashMap;

const SESSION: &str = "bz_session";
const CSRF: &str = "bz_csrf";

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

fn set_cookie(res: &mut Response, value: String) {
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
fn csrf_token(h: &HeaderMap) -> (String, bool) {
    match cookie(h, CSRF).filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(c) => (c, false),
        None => (new_secret(), true),
    }
}

fn csrf_ok(h: &HeaderMap, form: &HashMap<String, String>) -> bool {
    match (cookie(h, CSRF), form.get("csrf")) {
        (Some(c), Some(f)) => !c.is_empty() && c.len() == f.len() && c.as_bytes() == f.as_bytes(),
        _ => false,
    }
}

fn csrf_cookie(token: &str) -> String {
    format!("{CSRF}={token}; Path=/; HttpOnly; SameSite=Strict; Secure")
}

fn forbidden_csrf(en: bool) -> Response {
    (
        StatusCode::FORBIDDEN,
        layout(
            en,
            "403",
            "",
            if en {
                "<p>The form expired or was not sent from this site. Go back, reload and try again.</p>"
            } else {
                "<p>表单已过期或并非来自本站，请返回刷新后重试。</p>"
            },
        ),
    )
        .into_response()
}

fn login_page(en: bool, csrf: &str, username: &str, error: Option<&str>) -> String {
    let t = |zh: &'static str, e: &'static str| if en { e } else { zh };
    format!(
        "<h1>{title}</h1>{err}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<p><label>{u}<br><input name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label></p>\
<p><label>{p}<br><input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label></p>\
<p><button>{b}</button></p></form>",
        title = t("登录", "Sign in"),
        err = error
            .map(|e| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", esc(e)))
            .unwrap_or_default(),
        u = t("用户名", "Username"),
        p = t("密码", "Password"),
        b = t("登录", "Sign in"),
        username = esc(username),
    )
}

/// `GET /login`.
pub async fn login_form(h: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let en = wants_english(&h, &q);
    let (csrf, new) = csrf_token(&h);
    let mut res = layout(
        en,
        if en { "Sign in" } else { "登录" },
        "",
        &login_page(en, &csrf, "", None),
    )
    .into_response();
    if new {
        set_cookie(&mut res, csrf_cookie(&csrf));
    }
    res
}

/// `POST /login`: checks the password (throttled like the API) and opens a session.
pub async fn login(
    State(s): State<AppState>,
    client: crate::auth::ClientAddr,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let en = wants_english(&h, &HashMap::new());
    if !csrf_ok(&h, &form) {
        return forbidden_csrf(en);
    }
    let username = form.get("username").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let csrf = cookie(&h, CSRF).unwrap_or_default();
    let fail = |status: StatusCode, msg: &str| {
        (
            status,
            layout(
                en,
                if en { "Sign in" } else { "登录" },
                "",
                &login_page(en, &csrf, username, Some(msg)),
            ),
        )
            .into_response()
    };
    if username.trim().is_empty() || password.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            if en {
                "Enter your username and password."
            } else {
                "请输入用户名和密码。"
            },
        );
    }
    match s
        .store
        .login(username, password, &client.0, TokenKind::Session)
        .await
    {
        Ok((token, actor)) => {
            tracing::info!(user = actor.username, "signed in");
            let mut res = Redirect::to("/manage").into_response();
            set_cookie(
                &mut res,
                format!(
                    "{SESSION}={token}; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age={}",
                    bazaar_store::auth::SESSION_TTL_MS / 1000
                ),
            );
            res
        }
        Err(e) => {
            let api = crate::error::ApiError::from(e);
            fail(api.status, crate::error::message(&api.code, en))
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
        return forbidden_csrf(wants_english(&h, &HashMap::new()));
    }
    if let Some(t) = cookie(&h, SESSION)
        && let Err(e) = s.store.revoke_token(&t).await
    {
        tracing::error!(error = %e, "revoking session failed");
    }
    let mut res = Redirect::to("/").into_response();
    set_cookie(
        &mut res,
        format!("{SESSION}=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0"),
    );
    res
}

/// `GET /manage`: the back office. Operators see the products waiting for their review;
/// sellers and agents see theirs.
pub async fn manage(
    State(s): State<AppState>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let en = wants_english(&h, &q);
    let Some(actor) = page_actor(&s, &h).await else {
        return Redirect::to("/login").into_response();
    };
    let (csrf, new) = csrf_token(&h);
    let t = |zh: &'static str, e: &'static str| if en { e } else { zh };
    let mut body = format!(
        "<h1>{}</h1><p>{} <b>{}</b> ({})</p><form method=\"post\" action=\"/logout\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button>{}</button></form>",
        t("管理", "Back office"),
        t("当前用户", "Signed in as"),
        esc(&actor.username),
        actor.role.as_str(),
        t("退出登录", "Sign out"),
    );
    let statuses: &[ProductStatus] = match actor.role {
        Role::Admin | Role::Operator => &[ProductStatus::InReview],
        Role::Seller | Role::Agent => &[
            ProductStatus::Draft,
            ProductStatus::InReview,
            ProductStatus::Listed,
            ProductStatus::Delisted,
        ],
        _ => &[],
    };
    for st in statuses {
        let f = ProductFilter {
            status: Some(*st),
            limit: Some(100),
            ..Default::default()
        };
        let page = match s.store.products(Some(&actor), &f).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "manage list failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        body.push_str(&format!(
            "<h2>{} ({})</h2><ul>",
            st.as_str(),
            page.items.len()
        ));
        for p in &page.items {
            let r = &p.row;
            body.push_str(&format!(
                "<li>{} · {} · {}",
                esc(&r.name),
                esc(&r.county),
                esc(&r.seller_name)
            ));
            let actions: &[ProductAction] = match (actor.role, *st) {
                (Role::Admin | Role::Operator, ProductStatus::InReview) => {
                    &[ProductAction::Approve, ProductAction::Reject]
                }
                (_, ProductStatus::Draft | ProductStatus::Delisted) => &[ProductAction::Submit],
                (_, ProductStatus::Listed) => &[ProductAction::Delist],
                _ => &[],
            };
            for a in actions {
                body.push_str(&format!(
                    " <form method=\"post\" action=\"/manage/products/{}/action\" style=\"display:inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"{a}\">{reason}\
<button>{a}</button></form>",
                    r.id,
                    a = a.as_str(),
                    reason = if a.needs_reason() {
                        format!("<input name=\"reason\" placeholder=\"{}\" size=\"10\">", t("原因", "reason"))
                    } else {
                        String::new()
                    },
                ));
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    let mut res = layout(en, t("管理", "Back office"), "", &body).into_response();
    if new {
        set_cookie(&mut res, csrf_cookie(&csrf));
    }
    res
}

/// `POST /manage/products/{id}/action`: a lifecycle action from the back office.
pub async fn manage_action(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let en = wants_english(&h, &HashMap::new());
    if !csrf_ok(&h, &form) {
        return forbidden_csrf(en);
    }
    let Some(actor) = page_actor(&s, &h).await else {
        return Redirect::to("/login").into_response();
    };
    let action = match form.get("action").map(String::as_str) {
        Some("submit") => ProductAction::Submit,
        Some("approve") => ProductAction::Approve,
        Some("reject") => ProductAction::Reject,
        Some("delist") => ProductAction::Delist,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                layout(en, "400", "", "<p>action?</p>"),
            )
                .into_response();
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s
        .store
        .product_action(&actor, id, action, form.get("reason").map(String::as_str))
        .await
    {
        Ok(_) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to("/manage").into_response()
        }
        Err(e) => {
            let field = match &e {
                StoreError::Invalid(errs) => errs.first().map(|f| f.field.clone()),
                _ => None,
            };
            let api = crate::error::ApiError::from(e);
            let msg = format!(
                "<p role=\"alert\">{}{}</p><p><a href=\"/manage\">←</a></p>",
                crate::error::message(&api.code, en),
                field.map(|f| format!(" ({})", esc(&f))).unwrap_or_default()
            );
            (api.status, layout(en, "!", "", &msg)).into_response()
        }
    }
}

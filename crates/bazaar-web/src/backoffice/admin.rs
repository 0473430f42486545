//! Administration pages: CSV import of the region tree and the service network, and accounts.

use super::Ctx;
use super::forms::{FormView, Upload, read_multipart, text};
use crate::AppState;
use crate::i18n::Lang;
use crate::pages::esc;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::FieldError;
use bazaar_domain::people::{Role, UserInput};
use bazaar_store::{Cursor, StoreError};
use std::collections::HashMap;

fn import_form(cx: &Ctx, kind: &str) -> String {
    let lang = cx.lang;
    let mut values = HashMap::new();
    values.insert("kind".to_string(), kind.to_string());
    let f = FormView {
        lang,
        values: &values,
        errors: &[],
    };
    format!(
        "<p>{}</p><form method=\"post\" action=\"/manage/import\" enctype=\"multipart/form-data\">{}{}\
<label>{}<br><input type=\"file\" name=\"file\" accept=\".csv,text/csv\" required></label><p><button>{}</button></p></form>",
        esc(&lang.t("manage-import-hint")),
        cx.csrf_input(),
        f.select(
            "kind",
            "manage-import-kind",
            &[
                ("regions".into(), lang.t("field-region")),
                ("nodes".into(), lang.t("field-node_code")),
            ]
        ),
        esc(&lang.t("field-file")),
        esc(&lang.t("manage-upload")),
    )
}

fn may_import(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Operator)
}

/// `GET /manage/import`.
pub async fn import_page(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_import(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    cx.page(
        StatusCode::OK,
        &cx.lang.t("manage-import"),
        &import_form(&cx, "nodes"),
    )
}

fn reason_text(lang: Lang, code: &str) -> String {
    let key = format!("reason-{code}");
    if Lang::ZhCn.has(&key) {
        lang.t(&key)
    } else {
        code.to_string()
    }
}

/// `POST /manage/import` (multipart: `kind`, `file`): all or nothing; a bad file is shown
/// with every bad row (line, column, reason) and nothing of it is written.
pub async fn import(
    State(s): State<AppState>,
    h: HeaderMap,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = Lang::negotiate(&h, None);
    let up = match m {
        Ok(m) => read_multipart(m).await,
        Err(_) => Err(FieldError::new(
            "file",
            bazaar_domain::Reason::InvalidFormat,
        )),
    };
    let Upload { fields, files } = match up {
        Ok(u) => u,
        Err(e) => {
            return crate::pages::message_page(
                lang,
                StatusCode::BAD_REQUEST,
                &crate::error::field_message(lang, "file", e.reason.code()),
            );
        }
    };
    let file = files.into_iter().next();
    let cx = match Ctx::post(&s, &h, &fields).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_import(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let kind = text(&fields, "kind");
    let title = lang.t("manage-import");
    let Some((_, bytes)) = file else {
        let msg = crate::error::field_message(lang, "file", "required");
        return cx.page(
            StatusCode::BAD_REQUEST,
            &title,
            &format!(
                "<p role=\"alert\" class=\"err\">{}</p>{}",
                esc(&msg),
                import_form(&cx, &kind)
            ),
        );
    };
    let r = match kind.as_str() {
        "regions" => s.store.import_regions(Some(&cx.actor), &bytes).await,
        "nodes" => s.store.import_nodes(Some(&cx.actor), &bytes).await,
        _ => Err(StoreError::Invalid(vec![FieldError::new(
            "kind",
            bazaar_domain::Reason::UnknownChoice,
        )])),
    };
    match r {
        Ok(sum) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            cx.page(
                StatusCode::OK,
                &title,
                &format!(
                    "<p role=\"status\">{}</p>{}",
                    esc(&lang.ta(
                        "manage-import-done",
                        &[("n", (sum.created + sum.updated).into())]
                    )),
                    import_form(&cx, &kind)
                ),
            )
        }
        Err(StoreError::Csv(rows)) => {
            let mut body = format!(
                "<p role=\"alert\" class=\"err\">{}</p><ul class=\"err\">",
                esc(&lang.t("error-invalid_csv"))
            );
            for row in rows.iter().take(500) {
                body.push_str(&format!(
                    "<li>{}</li>",
                    esc(&lang.ta(
                        "manage-row-error",
                        &[
                            ("line", row.line.into()),
                            ("column", row.column.as_str().into()),
                            ("reason", reason_text(lang, &row.reason).into()),
                        ]
                    ))
                ));
            }
            body.push_str("</ul>");
            body.push_str(&import_form(&cx, &kind));
            cx.page(StatusCode::UNPROCESSABLE_ENTITY, &title, &body)
        }
        Err(e) => cx.error_page(e, "/manage/import"),
    }
}

fn user_form(cx: &Ctx, values: &HashMap<String, String>, errors: &[FieldError]) -> String {
    let lang = cx.lang;
    let f = FormView {
        lang,
        values,
        errors,
    };
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .filter(|r| {
            cx.actor
                .can_create_user(**r, cx.actor.region_path.as_deref())
        })
        .map(|r| {
            (
                r.as_str().to_string(),
                lang.t(&format!("role-{}", r.as_str())),
            )
        })
        .collect();
    format!(
        "{}<form method=\"post\" action=\"/manage/users\">{}{}{}{}{}{}{}{}<p><button>{}</button></p></form>",
        f.summary(),
        cx.csrf_input(),
        f.input(
            "username",
            "field-username",
            " required autocomplete=\"off\" maxlength=\"32\""
        ),
        f.input("display_name", "field-display_name", " maxlength=\"60\""),
        f.input(
            "password",
            "field-password",
            " type=\"password\" required autocomplete=\"new-password\" minlength=\"10\""
        ),
        f.select("role", "field-role", &roles),
        f.input("region_code", "field-region_code", " inputmode=\"numeric\""),
        f.input("node_code", "field-node_code", ""),
        f.input("seller_id", "field-seller_id", " inputmode=\"numeric\""),
        esc(&lang.t("manage-save")),
    )
}

async fn users_page(
    s: &AppState,
    cx: &Ctx,
    cursor: Cursor,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let page = match s.store.users(&cx.actor, cursor, Some(100)).await {
        Ok(p) => p,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let mut body = String::from("<table><tr>");
    for k in [
        "field-username",
        "field-display_name",
        "field-role",
        "field-region",
    ] {
        body.push_str(&format!("<th>{}</th>", esc(&lang.t(k))));
    }
    body.push_str("</tr>");
    for u in &page.items {
        let place = u
            .region_code
            .clone()
            .or_else(|| u.node_code.clone())
            .or_else(|| u.seller_id.map(|i| format!("#{i}")))
            .unwrap_or_default();
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.username),
            esc(&u.display_name),
            esc(&lang.t(&format!("role-{}", u.role))),
            esc(&place)
        ));
    }
    body.push_str("</table>");
    if let Some(n) = page.next {
        body.push_str(&format!(
            "<p><a href=\"/manage/users?cursor={}\">{}</a></p>",
            n.encode(),
            esc(&lang.t("manage-next-page"))
        ));
    }
    body.push_str(&user_form(cx, values, errors));
    cx.page(status, &lang.t("manage-users"), &body)
}

/// `GET /manage/users`: the accounts the caller administers, and the form to add one.
pub async fn users(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_import(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let cursor = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("cursor=")))
        .map(|c| Cursor::parse("cursor", Some(c)));
    let cursor = match cursor {
        None => Cursor(0),
        Some(Ok(c)) => c,
        Some(Err(e)) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/users"),
    };
    users_page(&s, &cx, cursor, &HashMap::new(), &[], StatusCode::OK).await
}

/// `POST /manage/users`: creates an account.
pub async fn create_user(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut errs = vec![];
    let seller_id = super::forms::number(&form, "seller_id", &mut errs);
    let opt = |k: &str| Some(text(&form, k)).filter(|v| !v.trim().is_empty());
    let input = UserInput {
        username: text(&form, "username"),
        display_name: text(&form, "display_name"),
        password: text(&form, "password"),
        role: text(&form, "role"),
        region_code: opt("region_code"),
        node_code: opt("node_code"),
        seller_id,
    };
    let r = if errs.is_empty() {
        s.store.create_user_checked(&cx.actor, &input).await
    } else {
        Err(StoreError::Invalid(errs))
    };
    // Never echo the password back into the page.
    let mut values = form.clone();
    values.remove("password");
    match r {
        Ok(_) => Redirect::to("/manage/users").into_response(),
        Err(StoreError::Invalid(errs)) => {
            users_page(&s, &cx, Cursor(0), &values, &errs, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.error_page(e, "/manage/users"),
    }
}

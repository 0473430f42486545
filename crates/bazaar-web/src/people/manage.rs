//! Administration pages: CSV import of the region tree and the service network, and accounts.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::forms::{FormView, Upload, read_multipart, text};
use crate::app::i18n::Lang;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::FieldError;
use bazaar_domain::people::{Role, UserInput};
use bazaar_store::{Cursor, StoreError};
use std::collections::HashMap;

/// The import page: what the last upload did (a message, the refused rows, or the count
/// written), then the form, with `kind` chosen.
#[derive(Template)]
#[template(path = "network/manage_import.html")]
struct ImportPage<'a> {
    lang: Lang,
    csrf: &'a str,
    f: FormView<'a>,
    kinds: Vec<(String, String)>,
    alert: Option<String>,
    rows: Option<Vec<String>>,
    done: Option<String>,
}

/// What an upload came to, shown above the form.
#[derive(Default)]
struct Outcome {
    alert: Option<String>,
    rows: Option<Vec<String>>,
    done: Option<String>,
}

/// The import page with `kind` chosen and `outcome` above the form.
fn import_page_with(cx: &Ctx, status: StatusCode, kind: &str, outcome: Outcome) -> Response {
    let lang = cx.lang;
    let mut values = HashMap::new();
    values.insert("kind".to_string(), kind.to_string());
    cx.render(
        status,
        &lang.t("manage-import"),
        &ImportPage {
            lang,
            csrf: &cx.csrf,
            f: FormView {
                lang,
                values: &values,
                errors: &[],
            },
            kinds: vec![
                ("regions".into(), lang.t("field-region")),
                ("nodes".into(), lang.t("field-node_code")),
            ],
            alert: outcome.alert,
            rows: outcome.rows,
            done: outcome.done,
        },
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
    import_page_with(&cx, StatusCode::OK, "nodes", Outcome::default())
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
            return crate::catalog::pages::message_page(
                lang,
                StatusCode::BAD_REQUEST,
                &crate::app::error::field_message(lang, "file", e.reason.code()),
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
    let Some((_, bytes)) = file else {
        let msg = crate::app::error::field_message(lang, "file", "required");
        return import_page_with(
            &cx,
            StatusCode::BAD_REQUEST,
            &kind,
            Outcome {
                alert: Some(msg),
                ..Default::default()
            },
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
            let done = lang.ta(
                "manage-import-done",
                &[("n", (sum.created + sum.updated).into())],
            );
            import_page_with(
                &cx,
                StatusCode::OK,
                &kind,
                Outcome {
                    done: Some(done),
                    ..Default::default()
                },
            )
        }
        Err(StoreError::Csv(rows)) => {
            let rows = rows
                .iter()
                .take(500)
                .map(|row| {
                    lang.ta(
                        "manage-row-error",
                        &[
                            ("line", row.line.into()),
                            ("column", row.column.as_str().into()),
                            ("reason", reason_text(lang, &row.reason).into()),
                        ],
                    )
                })
                .collect();
            import_page_with(
                &cx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &kind,
                Outcome {
                    alert: Some(lang.t("error-invalid_csv")),
                    rows: Some(rows),
                    done: None,
                },
            )
        }
        Err(e) => cx.error_page(e, "/manage/import"),
    }
}

/// The accounts page: the accounts the caller administers, a page at a time, and the form to
/// add one.
#[derive(Template)]
#[template(path = "people/manage_users.html")]
struct UsersPage<'a> {
    lang: Lang,
    csrf: &'a str,
    users: Vec<UserRow>,
    next: Option<String>,
    f: FormView<'a>,
    roles: Vec<(String, String)>,
    /// The caller's regions, service points and sellers to pick from (value, name), each
    /// led by "—"; one left empty is typed instead (an admin's whole country).
    regions: Vec<(String, String)>,
    nodes: Vec<(String, String)>,
    sellers: Vec<(String, String)>,
}

/// The most choices one picker of the accounts form lists.
const MAX_PICKS: usize = 300;

/// What the accounts form offers to pick, inside the caller's region: the region and two
/// levels below it (townships, villages), its service points, its sellers. An admin without
/// a region types codes instead.
async fn account_picks(
    s: &AppState,
    cx: &Ctx,
) -> (
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
) {
    let none = || (String::new(), "—".to_string());
    let Some(code) = cx.actor.region_code().map(str::to_string) else {
        return (vec![], vec![], vec![]);
    };
    let mut regions = vec![none()];
    if let Ok(r) = s.store.region(&code).await {
        regions.push((r.code.clone(), r.name.clone()));
        for c in s
            .store
            .region_children(Some(&r.code))
            .await
            .unwrap_or_default()
        {
            if regions.len() >= MAX_PICKS {
                break;
            }
            regions.push((c.code.clone(), format!("{} › {}", r.name, c.name)));
            for g in s
                .store
                .region_children(Some(&c.code))
                .await
                .unwrap_or_default()
            {
                if regions.len() >= MAX_PICKS {
                    break;
                }
                regions.push((
                    g.code.clone(),
                    format!("{} › {} › {}", r.name, c.name, g.name),
                ));
            }
        }
    }
    let mut nodes = vec![none()];
    nodes.extend(
        s.store
            .nodes_in(&code, MAX_PICKS)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.code, n.name)),
    );
    nodes.truncate(MAX_PICKS);
    let f = bazaar_store::catalog::sellers::SellerFilter {
        status: None,
        q: None,
        cursor: Default::default(),
        limit: Some(100),
    };
    let mut sellers = vec![none()];
    if let Ok(page) = s.store.sellers(&cx.actor, &f).await {
        sellers.extend(page.items.into_iter().map(|x| (x.id.to_string(), x.name)));
    }
    (regions, nodes, sellers)
}

/// One account in the list.
struct UserRow {
    username: String,
    display_name: String,
    role: String,
    place: String,
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
    let (regions, nodes, sellers) = account_picks(s, cx).await;
    // Each account's place by name where the pickers know it.
    let name_in = |list: &[(String, String)], v: &str| {
        list.iter()
            .find(|(c, _)| c == v)
            .map(|(_, n)| n.rsplit(" › ").next().unwrap_or(n).to_string())
            .unwrap_or_else(|| v.to_string())
    };
    let users = page
        .items
        .into_iter()
        .map(|u| UserRow {
            place: u
                .node_code
                .as_deref()
                .map(|n| name_in(&nodes, n))
                .or_else(|| u.seller_id.map(|i| name_in(&sellers, &i.to_string())))
                .or_else(|| u.region_code.as_deref().map(|r| name_in(&regions, r)))
                .unwrap_or_default(),
            role: lang.t(&format!("role-{}", u.role)),
            username: u.username,
            display_name: u.display_name,
        })
        .collect();
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
    cx.render(
        status,
        &lang.t("manage-users"),
        &UsersPage {
            lang,
            csrf: &cx.csrf,
            users,
            next: page.next.map(|n| n.encode()),
            f: FormView {
                lang,
                values,
                errors,
            },
            roles,
            regions,
            nodes,
            sellers,
        },
    )
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
    let seller_id = crate::app::forms::number(&form, "seller_id", &mut errs);
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

//! The back office (`/manage/…`): server-rendered pages for operators, station agents and
//! sellers. Every form carries the CSRF token; every action goes through the same store
//! use-cases as the API, so the rights are the same.

pub mod admin;
pub mod forms;
pub mod orders;
pub mod products;
pub mod reports;
pub mod sellers;

use crate::AppState;
use crate::error::{ApiError, field_message};
use crate::i18n::Lang;
use crate::pages::{esc, internal, layout, message_page, page_lang};
use crate::session::{csrf_cookie, csrf_ok, csrf_token, forbidden_csrf, page_actor, set_cookie};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::catalog::{ProductAction, ProductStatus};
use bazaar_domain::people::{Actor, Role};
use bazaar_store::StoreError;
use bazaar_store::products::ProductFilter;
use std::collections::HashMap;

/// What a back-office handler starts from: the language, the signed-in actor and the CSRF
/// token of this browser.
pub(crate) struct Ctx {
    pub lang: Lang,
    pub actor: Actor,
    pub csrf: String,
    pub new_csrf: bool,
}

impl Ctx {
    /// The context of a GET page, or the redirect to the login page.
    pub async fn get(s: &AppState, h: &HeaderMap, uri: &Uri) -> Result<Ctx, Response> {
        let lang = page_lang(h, uri);
        let Some(actor) = page_actor(s, h).await else {
            return Err(Redirect::to("/login").into_response());
        };
        let (csrf, new_csrf) = csrf_token(h);
        Ok(Ctx {
            lang,
            actor,
            csrf,
            new_csrf,
        })
    }

    /// Like [`Ctx::get`], but an anonymous visitor is sent to sign in and then back here.
    pub async fn get_or_login(s: &AppState, h: &HeaderMap, uri: &Uri) -> Result<Ctx, Response> {
        match Ctx::get(s, h, uri).await {
            Ok(c) => Ok(c),
            Err(_) => {
                let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                Err(
                    Redirect::to(&format!("/login?next={}", crate::pages::encode(here)))
                        .into_response(),
                )
            }
        }
    }

    /// A storefront page (no back-office navigation), setting the CSRF cookie when needed.
    pub fn plain_page(&self, status: StatusCode, title: &str, body: &str) -> Response {
        let mut res = (
            status,
            layout(
                self.lang,
                title,
                "",
                &format!("<h1>{}</h1>{body}", esc(title)),
            ),
        )
            .into_response();
        if self.new_csrf {
            set_cookie(&mut res, csrf_cookie(&self.csrf));
        }
        res
    }

    /// The context of a form POST: the CSRF token must match, the caller must be signed in.
    pub async fn post(
        s: &AppState,
        h: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<Ctx, Response> {
        let lang = Lang::negotiate(h, None);
        if !csrf_ok(h, form) {
            return Err(forbidden_csrf(lang));
        }
        let Some(actor) = page_actor(s, h).await else {
            return Err(Redirect::to("/login").into_response());
        };
        let (csrf, _) = csrf_token(h);
        Ok(Ctx {
            lang,
            actor,
            csrf,
            new_csrf: false,
        })
    }

    /// The hidden CSRF input of a form.
    pub fn csrf_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            self.csrf
        )
    }

    /// A full page, setting the CSRF cookie when this browser had none.
    pub fn page(&self, status: StatusCode, title: &str, body: &str) -> Response {
        let nav = self.nav();
        let mut res = (
            status,
            layout(
                self.lang,
                title,
                "",
                &format!("{nav}<h1>{}</h1>{body}", esc(title)),
            ),
        )
            .into_response();
        if self.new_csrf {
            set_cookie(&mut res, csrf_cookie(&self.csrf));
        }
        res
    }

    /// An error from a store use-case as a page: the message names the field and the reason.
    pub fn error_page(&self, e: StoreError, back: &str) -> Response {
        let (status, msg) = self.error_text(e);
        self.page(
            status,
            &self.lang.t("manage-title"),
            &format!(
                "<p role=\"alert\" class=\"err\">{}</p><p><a href=\"{}\">{}</a></p>",
                esc(&msg),
                esc(back),
                esc(&self.lang.t("back"))
            ),
        )
    }

    /// Status and translated message of a store error.
    pub fn error_text(&self, e: StoreError) -> (StatusCode, String) {
        if let StoreError::Db(_) | StoreError::Config(_) = e {
            tracing::error!(error = %e, "back-office action failed");
        }
        let all: Vec<String> = match &e {
            StoreError::Invalid(errs) => errs
                .iter()
                .map(|f| field_message(self.lang, &f.field, f.reason.code()))
                .collect(),
            _ => vec![],
        };
        let api = ApiError::from(e).in_lang(self.lang);
        let msg = if all.is_empty() {
            api.message()
        } else {
            all.join("；")
        };
        (api.status, msg)
    }

    fn nav(&self) -> String {
        let mut links = vec![("/manage", "manage-products")];
        match self.actor.role {
            Role::Admin | Role::Operator => {
                links.push(("/manage/sellers", "manage-sellers"));
                links.push(("/manage/sellers/new", "manage-register-seller"));
                links.push(("/manage/products/new", "manage-new-product"));
                links.push(("/manage/import", "manage-import"));
                links.push(("/manage/payments", "payments-title"));
                links.push(("/manage/refunds", "refunds-title"));
                links.push(("/manage/reports", "report-title"));
                links.push(("/manage/plan", "plan-title"));
                links.push(("/manage/runs", "run-title"));
                links.push(("/manage/scan", "scan-title"));
                links.push(("/manage/stalled", "stalled-title"));
                links.push(("/manage/users", "manage-users"));
            }
            Role::Agent => {
                links.push(("/manage/scan", "scan-title"));
                links.push(("/manage/shelf", "shelf-title"));
                links.push(("/manage/station", "station-title"));
                links.push(("/manage/reports", "report-title"));
                links.push(("/manage/sellers", "manage-sellers"));
                links.push(("/manage/sellers/new", "manage-register-seller"));
                links.push(("/manage/products/new", "manage-new-product"));
            }
            Role::Institution => links.push(("/manage/procurement", "procurement-title")),
            Role::Driver => {
                links.push(("/manage/route", "route-title"));
                links.push(("/manage/scan", "scan-title"));
            }
            Role::Seller => {
                links.push(("/manage/products/new", "manage-new-product"));
                links.push(("/manage/orders", "orders-seller-title"));
                links.push(("/manage/stalled", "stalled-title"));
                links.push(("/manage/refunds", "refunds-title"));
                links.push(("/manage/reports", "report-title"));
            }
            _ => {}
        }
        let mut o = String::from("<nav class=\"bo\" style=\"margin-bottom:.6em\">");
        for (i, (href, key)) in links.iter().enumerate() {
            if i > 0 {
                o.push_str(" · ");
            }
            o.push_str(&format!(
                "<a href=\"{href}\">{}</a>",
                esc(&self.lang.t(key))
            ));
        }
        o.push_str(&format!(
            "</nav><form method=\"post\" action=\"/logout\" style=\"margin:.4em 0\">{}<small>{}</small> \
<button>{}</button></form>",
            self.csrf_input(),
            esc(&self.lang.ta(
                "manage-signed-in-as",
                &[
                    ("user", self.actor.username.as_str().into()),
                    ("role", self.lang.t(&format!("role-{}", self.actor.role.as_str())).into()),
                ],
            )),
            esc(&self.lang.t("manage-sign-out")),
        ));
        o
    }
}

/// `GET /manage`: the back office home. Operators see the products waiting for their review;
/// sellers and agents see theirs, by status.
pub async fn manage(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let statuses: &[ProductStatus] = match cx.actor.role {
        Role::Admin | Role::Operator => &[ProductStatus::InReview, ProductStatus::Listed],
        Role::Seller | Role::Agent => &[
            ProductStatus::Draft,
            ProductStatus::InReview,
            ProductStatus::Listed,
            ProductStatus::Delisted,
        ],
        _ => &[],
    };
    let mut body = String::new();
    for st in statuses {
        let f = ProductFilter {
            status: Some(*st),
            limit: Some(100),
            ..Default::default()
        };
        let page = match s.store.products(Some(&cx.actor), &f).await {
            Ok(p) => p,
            Err(e) => return internal(e),
        };
        body.push_str(&format!(
            "<h2>{} ({})</h2><ul>",
            esc(&lang.t(&format!("status-{}", st.as_str()))),
            page.items.len()
        ));
        if page.items.is_empty() {
            body.push_str(&format!("<li>{}</li>", esc(&lang.t("manage-nothing"))));
        }
        for p in &page.items {
            let r = &p.row;
            body.push_str(&format!(
                "<li><a href=\"/manage/products/{}\">{}</a> · {} · {}",
                r.id,
                esc(&r.name),
                esc(&r.county),
                esc(&r.seller_name)
            ));
            let actions: &[ProductAction] = match (cx.actor.role, *st) {
                (Role::Admin | Role::Operator, ProductStatus::InReview) => {
                    &[ProductAction::Approve, ProductAction::Reject]
                }
                (Role::Admin | Role::Operator, ProductStatus::Listed) => &[ProductAction::Delist],
                (_, ProductStatus::Draft | ProductStatus::Delisted) => &[ProductAction::Submit],
                (_, ProductStatus::Listed) => &[ProductAction::Delist],
                _ => &[],
            };
            for a in actions {
                body.push_str(&format!(
                    " <form method=\"post\" action=\"/manage/products/{}/action\" style=\"display:inline\">\
{}<input type=\"hidden\" name=\"action\" value=\"{a}\">{reason}<button>{label}</button></form>",
                    r.id,
                    cx.csrf_input(),
                    a = a.as_str(),
                    label = esc(&lang.t(&format!("action-{}", a.as_str()))),
                    reason = if a.needs_reason() {
                        format!(
                            "<input name=\"reason\" placeholder=\"{r}\" aria-label=\"{r}\" size=\"10\">",
                            r = esc(&lang.t("manage-reason"))
                        )
                    } else {
                        String::new()
                    },
                ));
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    cx.page(StatusCode::OK, &lang.t("manage-title"), &body)
}

/// `POST /manage/products/{id}/action`: a lifecycle action from the back office.
pub async fn manage_action(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let action = match form.get("action").map(String::as_str) {
        Some("submit") => ProductAction::Submit,
        Some("approve") => ProductAction::Approve,
        Some("reject") => ProductAction::Reject,
        Some("delist") => ProductAction::Delist,
        _ => {
            return message_page(
                cx.lang,
                StatusCode::BAD_REQUEST,
                &field_message(cx.lang, "action", "unknown_choice"),
            );
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return message_page(
            cx.lang,
            StatusCode::NOT_FOUND,
            &cx.lang.t("error-not_found"),
        );
    };
    match s
        .store
        .product_action(
            &cx.actor,
            id,
            action,
            form.get("reason").map(String::as_str),
        )
        .await
    {
        Ok(_) => {
            if let Err(e) = s.reindex().await {
                tracing::error!(error = %e, "reindex failed");
            }
            Redirect::to("/manage").into_response()
        }
        Err(e) => cx.error_page(e, "/manage"),
    }
}

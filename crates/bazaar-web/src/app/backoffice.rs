//! The back office (`/manage/…`): server-rendered pages for operators, station agents and
//! sellers. Every form carries the CSRF token; every action goes through the same store
//! use-cases as the API, so the rights are the same.

use crate::AppState;
use crate::app::error::{ApiError, field_message};
use crate::app::i18n::Lang;
use crate::app::session::{
    csrf_cookie, csrf_ok, csrf_token, forbidden_csrf, page_actor, set_cookie,
};
use crate::app::view::{Markup, Titled, failed, frame};
use crate::catalog::pages::{internal, message_page, page_lang};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Html;
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::catalog::{ProductAction, ProductStatus};
use bazaar_domain::people::{Actor, Role};
use bazaar_store::catalog::products::ProductFilter;
use bazaar_store::db::find::Needle;
use bazaar_store::{Cursor, StoreError};
use std::collections::HashMap;

/// What a back-office handler starts from: the language, the signed-in actor and the CSRF
/// token of this browser.
pub(crate) struct Ctx {
    pub lang: Lang,
    pub actor: Actor,
    pub csrf: String,
    pub new_csrf: bool,
    /// The page's query without `lang`, kept by the language switch (empty after a POST).
    pub keep: String,
    /// The page's path (empty after a POST): its navigation link is marked.
    pub path: String,
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
            keep: crate::app::view::keep_query(uri),
            path: uri.path().to_string(),
        })
    }

    /// Like [`Ctx::get`], but an anonymous visitor is sent to sign in and then back here.
    pub async fn get_or_login(s: &AppState, h: &HeaderMap, uri: &Uri) -> Result<Ctx, Response> {
        match Ctx::get(s, h, uri).await {
            Ok(c) => Ok(c),
            Err(_) => {
                let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                Err(Redirect::to(&format!(
                    "/login?next={}",
                    crate::catalog::pages::encode(here)
                ))
                .into_response())
            }
        }
    }

    /// A storefront page (no back-office navigation) with the heading `title`, setting the
    /// CSRF cookie when needed.
    pub fn render_plain(&self, status: StatusCode, title: &str, body: &impl Template) -> Response {
        let html = Markup::of(body).and_then(|body| {
            let titled = Titled { title, body: &body };
            Markup::of(&titled)
                .and_then(|m| frame(self.lang, title, "", self.staff(), &self.keep, &m))
        });
        self.respond(status, html)
    }

    /// The response of a rendered page, setting the CSRF cookie when this browser had none.
    fn respond(&self, status: StatusCode, html: Result<String, askama::Error>) -> Response {
        let mut res = match html {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => return failed(e),
        };
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
            keep: String::new(),
            path: String::new(),
        })
    }

    /// A back-office page: the navigation of the caller's role, the heading `title`, then
    /// `body`; sets the CSRF cookie when this browser had none.
    pub fn render(&self, status: StatusCode, title: &str, body: &impl Template) -> Response {
        let html = Markup::of(body).and_then(|body| self.framed(title, &body));
        self.respond(status, html)
    }

    /// The whole back-office page around `body`.
    fn framed(&self, title: &str, body: &Markup) -> Result<String, askama::Error> {
        let signed_in_as = self.lang.ta(
            "manage-signed-in-as",
            &[
                ("user", self.actor.username.as_str().into()),
                (
                    "role",
                    self.lang
                        .t(&format!("role-{}", self.actor.role.as_str()))
                        .into(),
                ),
            ],
        );
        let links = nav_links(self.actor.role);
        // The page's own link: the longest that the path is or lies under.
        let current = links
            .iter()
            .map(|(href, _)| *href)
            .filter(|href| {
                self.path == *href
                    || (*href != "/manage"
                        && self
                            .path
                            .strip_prefix(href)
                            .is_some_and(|rest| rest.starts_with('/')))
            })
            .max_by_key(|href| href.len())
            .unwrap_or_default();
        let inner = Markup::of(&ManageFrame {
            lang: self.lang,
            current,
            links,
            csrf: &self.csrf,
            signed_in_as: &signed_in_as,
            title,
            body,
        })?;
        frame(self.lang, title, "", self.staff(), &self.keep, &inner)
    }

    /// Whether the caller works in the back office (the header links it).
    fn staff(&self) -> bool {
        self.actor.role != Role::Buyer
    }

    /// An error from a store use-case as a page: the message names the field and the reason.
    pub fn error_page(&self, e: StoreError, back: &str) -> Response {
        let (status, msg) = self.error_text(e);
        self.render(
            status,
            &self.lang.t("manage-title"),
            &ErrorBody {
                lang: self.lang,
                msg: &msg,
                back,
            },
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
}

/// The back office's frame: the navigation, the sign-out form, the heading.
#[derive(Template)]
#[template(path = "app/manage.html")]
struct ManageFrame<'a> {
    lang: Lang,
    /// The link of this page, marked in the navigation.
    current: &'static str,
    links: Vec<(&'static str, &'static str)>,
    csrf: &'a str,
    signed_in_as: &'a str,
    title: &'a str,
    body: &'a Markup,
}

/// The body of an error page: the message and the way back.
#[derive(Template)]
#[template(path = "app/error.html")]
struct ErrorBody<'a> {
    lang: Lang,
    msg: &'a str,
    back: &'a str,
}

/// The back-office pages a role sees in its navigation: address and catalogue key.
fn nav_links(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![("/manage", "manage-home")];
    if !matches!(role, Role::Driver | Role::Institution | Role::Buyer) {
        links.push(("/manage/products", "manage-products"));
    }
    match role {
        Role::Admin | Role::Operator => {
            links.push(("/manage/sellers", "manage-sellers"));
            links.push(("/manage/sellers/new", "manage-register-seller"));
            links.push(("/manage/products/new", "manage-new-product"));
            links.push(("/manage/import", "manage-import"));
            links.push(("/manage/orders", "orders-area-title"));
            links.push(("/manage/live", "live-manage-title"));
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
            links.push(("/manage/live", "live-manage-title"));
            links.push(("/manage/orders", "orders-area-title"));
            links.push(("/manage/reports", "report-title"));
            links.push(("/manage/sellers", "manage-sellers"));
            links.push(("/manage/sellers/new", "manage-register-seller"));
            links.push(("/manage/products/new", "manage-new-product"));
        }
        Role::Institution => links.push(("/manage/procurement", "procurement-title")),
        Role::Host => links.push(("/manage/live", "live-manage-title")),
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
    links
}

/// `GET /manage`: where each person's day starts. The agent lands on the shelf, the driver on
/// today's route, the seller on the orders to ship, a canteen on its procurement and a buyer
/// on their orders; an operator on the queues (payments to confirm, refunds to decide,
/// stalled parcels, today's runs) above the products waiting for review.
pub async fn manage(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let landing = match cx.actor.role {
        Role::Agent => Some("/manage/shelf"),
        Role::Driver => Some("/manage/route"),
        Role::Seller => Some("/manage/orders"),
        Role::Institution => Some("/manage/procurement"),
        Role::Buyer => Some("/orders"),
        // A host's day is the live room.
        Role::Host => Some("/manage/live"),
        Role::Admin | Role::Operator => None,
    };
    if let Some(to) = landing {
        return Redirect::to(to).into_response();
    }
    let now = bazaar_domain::time::now_ms();
    let (payments, refunds, stalled) = match tokio::try_join!(
        s.store.pending_confirmations(&cx.actor),
        s.store.refunds_to_decide(&cx.actor),
        s.store.stalled_summary(&cx.actor, now)
    ) {
        Ok(x) => x,
        Err(e) => return internal(e),
    };
    let lang = cx.lang;
    let queues = vec![
        Queue {
            href: "/manage/payments",
            label: lang.t("payments-title"),
            count: Some(payments.len() as i64),
        },
        Queue {
            href: "/manage/refunds",
            label: lang.t("refunds-title"),
            count: Some(refunds.len() as i64),
        },
        Queue {
            href: "/manage/stalled",
            label: lang.t("stalled-title"),
            count: Some(stalled.total),
        },
        Queue {
            href: "/manage/runs",
            label: lang.t("run-title"),
            count: None,
        },
    ];
    product_lists(&s, &cx, queues, "").await
}

/// `GET /manage/products`: the caller's products by status (an operator's: those waiting for
/// review and those listed), with the actions each allows.
pub async fn products(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    product_lists(&s, &cx, Vec::new(), uri.query().unwrap_or("")).await
}

/// How many products of a status the back office lists at once.
const PRODUCTS_PAGE: i64 = 50;

/// A queue on the operator's first screen: where it is, what it is, how much waits.
struct Queue {
    href: &'static str,
    label: String,
    count: Option<i64>,
}

/// A back-office list's query string: `q` (the search box), `status` (one group only) and
/// `after` (where that group's page starts: an opaque cursor).
pub(crate) struct ListQuery {
    /// The search.
    pub(crate) q: Option<Needle>,
    /// One status only, as sent.
    pub(crate) status: Option<String>,
    /// The page start of that status's list.
    pub(crate) after: Cursor,
}

impl ListQuery {
    /// Reads a query string, naming what is refused.
    pub(crate) fn read(query: &str) -> Result<ListQuery, bazaar_domain::FieldError> {
        let mut l = ListQuery {
            q: None,
            status: None,
            after: Cursor::default(),
        };
        for (k, v) in crate::app::forms::form_pairs(query.as_bytes()) {
            match k.as_str() {
                "q" => l.q = Needle::parse("q", Some(&v))?,
                "status" if !v.is_empty() => l.status = Some(v),
                "after" => l.after = Cursor::parse("after", Some(&v))?,
                _ => {}
            }
        }
        Ok(l)
    }

    /// The search as typed.
    pub(crate) fn q(&self) -> &str {
        self.q.as_ref().map(Needle::as_str).unwrap_or_default()
    }

    /// `path` showing `status` only, from `after`, with the same search.
    pub(crate) fn href(&self, path: &str, status: &str, after: Option<Cursor>) -> String {
        let mut h = format!("{path}?status={status}");
        if let Some(n) = &self.q {
            h.push_str(&format!("&q={}", crate::catalog::pages::encode(n.as_str())));
        }
        if let Some(c) = after {
            h.push_str(&format!("&after={}", c.encode()));
        }
        h
    }
}

async fn product_lists(s: &AppState, cx: &Ctx, queues: Vec<Queue>, query: &str) -> Response {
    let lang = cx.lang;
    let list = match ListQuery::read(query) {
        Ok(l) => l,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/products"),
    };
    let all: &[ProductStatus] = match cx.actor.role {
        Role::Admin | Role::Operator => &[ProductStatus::InReview, ProductStatus::Listed],
        Role::Seller | Role::Agent => &[
            ProductStatus::Draft,
            ProductStatus::InReview,
            ProductStatus::Listed,
            ProductStatus::Delisted,
        ],
        _ => &[],
    };
    // One status when asked for (its next pages), else each a first page.
    let one: Vec<ProductStatus>;
    let statuses: &[ProductStatus] = match &list.status {
        Some(v) => match all.iter().find(|st| st.as_str() == v.as_str()) {
            Some(st) => {
                one = vec![*st];
                &one
            }
            None => {
                return cx.error_page(
                    StoreError::field("status", bazaar_domain::Reason::UnknownChoice),
                    "/manage/products",
                );
            }
        },
        None => all,
    };
    let mut groups = vec![];
    for st in statuses {
        let f = ProductFilter {
            status: Some(*st),
            q: list.q.clone(),
            cursor: if list.status.is_some() {
                list.after
            } else {
                Cursor::default()
            },
            limit: Some(PRODUCTS_PAGE),
            ..Default::default()
        };
        let page = match s.store.products(Some(&cx.actor), &f).await {
            Ok(p) => p,
            Err(e) => return internal(e),
        };
        let actions: &[ProductAction] = match (cx.actor.role, *st) {
            (Role::Admin | Role::Operator, ProductStatus::InReview) => {
                &[ProductAction::Approve, ProductAction::Reject]
            }
            (Role::Admin | Role::Operator, ProductStatus::Listed) => &[ProductAction::Delist],
            (_, ProductStatus::Draft | ProductStatus::Delisted) => &[ProductAction::Submit],
            (_, ProductStatus::Listed) => &[ProductAction::Delist],
            _ => &[],
        };
        let actions: Vec<(ProductAction, String)> = actions
            .iter()
            .map(|a| (*a, lang.t(&format!("action-{}", a.as_str()))))
            .collect();
        groups.push(HomeGroup {
            status: lang.t(&format!("status-{}", st.as_str())),
            more: page
                .next
                .map(|c| list.href("/manage/products", st.as_str(), Some(c))),
            items: page
                .items
                .into_iter()
                .map(|p| HomeItem {
                    id: p.row.id,
                    name: p.row.name,
                    county: p.row.county,
                    seller_name: p.row.seller_name,
                    actions: actions.clone(),
                })
                .collect(),
        });
    }
    let title = if queues.is_empty() {
        lang.t("manage-products")
    } else {
        lang.t("manage-title")
    };
    cx.render(
        StatusCode::OK,
        &title,
        &ManageHome {
            lang,
            csrf: &cx.csrf,
            q: list.q(),
            queues,
            groups,
        },
    )
}

/// The back office home: the caller's products by status, with the actions each allows.
#[derive(Template)]
#[template(path = "catalog/manage_home.html")]
struct ManageHome<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The search as typed.
    q: &'a str,
    /// The operator's queues (none on the product list).
    queues: Vec<Queue>,
    groups: Vec<HomeGroup>,
}

/// Products in one status.
struct HomeGroup {
    status: String,
    /// The next page of this status, when there is one.
    more: Option<String>,
    items: Vec<HomeItem>,
}

/// One product with its actions (and their labels).
struct HomeItem {
    id: i64,
    name: String,
    county: String,
    seller_name: String,
    actions: Vec<(ProductAction, String)>,
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

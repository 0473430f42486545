//! Sellers in the back office: the operator's review of applications, and the registration
//! of a villager as a seller (by a station agent on the villager's behalf, or an operator).

use crate::AppState;
use crate::app::backoffice::{Ctx, ListQuery};
use crate::app::forms::{FormView, text};
use crate::app::i18n::Lang;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::FieldError;
use bazaar_domain::people::Role;
use bazaar_domain::seller::{SellerDecision, SellerInput, SellerStatus};
use bazaar_domain::text::mask_phone;
use bazaar_store::StoreError;
use bazaar_store::catalog::sellers::SellerFilter;
use std::collections::HashMap;

fn may_see_sellers(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Operator | Role::Agent)
}

/// How many sellers of a status the page lists at once.
const SELLERS_PAGE: i64 = 50;

/// `GET /manage/sellers?q=…&status=…&after=…`: applications waiting for review (with approve
/// and reject for operators), then approved and rejected sellers; searched by name, village or
/// phone tail, each status paged.
pub async fn list(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    if !may_see_sellers(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    let reviewer = matches!(cx.actor.role, Role::Admin | Role::Operator);
    let list = match ListQuery::read(uri.query().unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/sellers"),
    };
    let all = [
        SellerStatus::Pending,
        SellerStatus::Approved,
        SellerStatus::Rejected,
    ];
    let statuses: Vec<SellerStatus> = match &list.status {
        Some(v) => match all.into_iter().find(|st| st.as_str() == v.as_str()) {
            Some(st) => vec![st],
            None => {
                return cx.error_page(
                    StoreError::field("status", bazaar_domain::Reason::UnknownChoice),
                    "/manage/sellers",
                );
            }
        },
        None => all.to_vec(),
    };
    let mut groups = vec![];
    for st in statuses {
        let f = SellerFilter {
            status: Some(st),
            q: list.q.clone(),
            cursor: if list.status.is_some() {
                list.after
            } else {
                Default::default()
            },
            limit: Some(SELLERS_PAGE),
        };
        let page = match s.store.sellers(&cx.actor, &f).await {
            Ok(p) => p,
            Err(e) => return cx.error_page(e, "/manage"),
        };
        groups.push(SellerGroup {
            status: lang.t(&format!("seller-status-{}", st.as_str())),
            more: page
                .next
                .map(|c| list.href("/manage/sellers", st.as_str(), Some(c))),
            review: reviewer && st == SellerStatus::Pending,
            items: page
                .items
                .into_iter()
                .map(|sl| SellerItem {
                    id: sl.id,
                    kind: lang.t(&format!("seller-kind-{}", sl.kind)),
                    poverty: lang.t(&format!("poverty-{}", sl.poverty_status)),
                    phone: sl.contact_phone.as_deref().map(mask_phone),
                    name: sl.name,
                    village: sl.village_name,
                    reason: sl.status_reason,
                })
                .collect(),
        });
    }
    cx.render(
        StatusCode::OK,
        &lang.t("manage-sellers"),
        &SellersPage {
            lang,
            csrf: &cx.csrf,
            saved: uri.query().is_some_and(|q| q.contains("saved=1")),
            q: list.q(),
            groups,
        },
    )
}

/// The sellers page: applications waiting for review, then approved and rejected sellers.
#[derive(Template)]
#[template(path = "network/manage_sellers.html")]
struct SellersPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// A change was just saved.
    saved: bool,
    /// The search as typed.
    q: &'a str,
    groups: Vec<SellerGroup>,
}

/// Sellers in one status.
struct SellerGroup {
    status: String,
    /// The caller may approve or reject these.
    review: bool,
    /// The next page of this status, when there is one.
    more: Option<String>,
    items: Vec<SellerItem>,
}

/// One seller in the list (the phone masked).
struct SellerItem {
    id: i64,
    name: String,
    kind: String,
    village: String,
    poverty: String,
    phone: Option<String>,
    reason: Option<String>,
}

/// `POST /manage/sellers/{id}/decision`: approve or reject (a reason is required to reject).
pub async fn decide(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let d = match form.get("decision").map(String::as_str) {
        Some("approve") => SellerDecision::Approve,
        Some("reject") => SellerDecision::Reject,
        _ => {
            return cx.error_page(
                StoreError::Invalid(vec![FieldError::new(
                    "decision",
                    bazaar_domain::Reason::UnknownChoice,
                )]),
                "/manage/sellers",
            );
        }
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/sellers");
    };
    match s
        .store
        .decide_seller(&cx.actor, id, d, form.get("reason").map(String::as_str))
        .await
    {
        Ok(_) => Redirect::to("/manage/sellers?saved=1").into_response(),
        Err(e) => cx.error_page(e, "/manage/sellers"),
    }
}

/// The registration form of a seller.
#[derive(Template)]
#[template(path = "network/manage_seller_form.html")]
struct SellerForm<'a> {
    lang: Lang,
    csrf: &'a str,
    f: FormView<'a>,
    kinds: Vec<(String, String)>,
    villages: Vec<(String, String)>,
    poverty: Vec<(String, String)>,
}

/// The registration page with `values` and the `errors` of the last submission.
async fn seller_form(
    s: &AppState,
    cx: &Ctx,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<Response, StoreError> {
    let lang = cx.lang;
    let villages = s
        .store
        .villages_within(cx.actor.region_path.as_deref())
        .await?;
    let villages: Vec<(String, String)> = std::iter::once((String::new(), "—".into()))
        .chain(villages.into_iter().map(|v| {
            let label = format!("{} · {}", v.name, v.code);
            (v.code, label)
        }))
        .collect();
    let kinds: Vec<(String, String)> = ["household", "cooperative", "enterprise"]
        .iter()
        .map(|k| (k.to_string(), lang.t(&format!("seller-kind-{k}"))))
        .collect();
    let poverty: Vec<(String, String)> = ["none", "lifted", "monitored"]
        .iter()
        .map(|k| (k.to_string(), lang.t(&format!("poverty-{k}"))))
        .collect();
    Ok(cx.render(
        status,
        &lang.t("manage-register-seller"),
        &SellerForm {
            lang,
            csrf: &cx.csrf,
            f: FormView {
                lang,
                values,
                errors,
            },
            kinds,
            villages,
            poverty,
        },
    ))
}

/// `GET /manage/sellers/new`: the registration form.
pub async fn new_form(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !may_see_sellers(cx.actor.role) {
        return cx.error_page(StoreError::Forbidden, "/manage");
    }
    match seller_form(&s, &cx, StatusCode::OK, &HashMap::new(), &[]).await {
        Ok(page) => page,
        Err(e) => cx.error_page(e, "/manage"),
    }
}

/// `POST /manage/sellers/new`: registers the seller (pending for an agent's registration,
/// approved for an operator's); a refused form comes back with the user's values and every
/// error next to its field.
pub async fn create(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let input = SellerInput {
        code: String::new(),
        name: text(&form, "name"),
        kind: text(&form, "kind"),
        village_code: text(&form, "village_code"),
        poverty_status: text(&form, "poverty_status"),
        registration_no: text(&form, "registration_no"),
        contact_name: text(&form, "contact_name"),
        contact_phone: text(&form, "contact_phone"),
        description: text(&form, "description"),
    };
    let result = match input.parse() {
        Ok(new) => s.store.create_seller(&cx.actor, &new).await,
        Err(errs) => Err(StoreError::Invalid(errs)),
    };
    match result {
        Ok(_) => Redirect::to("/manage/sellers?saved=1").into_response(),
        Err(StoreError::Invalid(errs)) => {
            match seller_form(&s, &cx, StatusCode::BAD_REQUEST, &form, &errs).await {
                Ok(page) => page,
                Err(e) => cx.error_page(e, "/manage"),
            }
        }
        Err(e) => cx.error_page(e, "/manage/sellers/new"),
    }
}

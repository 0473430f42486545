//! Sellers in the back office: the operator's review of applications, and the registration
//! of a villager as a seller (by a station agent on the villager's behalf, or an operator).

use super::Ctx;
use super::forms::{FormView, text};
use crate::AppState;
use crate::pages::esc;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::FieldError;
use bazaar_domain::people::Role;
use bazaar_domain::seller::{SellerDecision, SellerInput, SellerStatus};
use bazaar_domain::text::mask_phone;
use bazaar_store::StoreError;
use bazaar_store::sellers::SellerFilter;
use std::collections::HashMap;

fn may_see_sellers(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Operator | Role::Agent)
}

/// `GET /manage/sellers`: applications waiting for review (with approve and reject for
/// operators), then approved and rejected sellers.
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
    let mut body = String::new();
    if uri.query().is_some_and(|q| q.contains("saved=1")) {
        body.push_str(&format!(
            "<p role=\"status\">{}</p>",
            esc(&lang.t("manage-done"))
        ));
    }
    for st in [
        SellerStatus::Pending,
        SellerStatus::Approved,
        SellerStatus::Rejected,
    ] {
        let f = SellerFilter {
            status: Some(st),
            limit: Some(100),
            ..Default::default()
        };
        let page = match s.store.sellers(&cx.actor, &f).await {
            Ok(p) => p,
            Err(e) => return cx.error_page(e, "/manage"),
        };
        body.push_str(&format!(
            "<h2>{} ({})</h2><ul>",
            esc(&lang.t(&format!("seller-status-{}", st.as_str()))),
            page.items.len()
        ));
        if page.items.is_empty() {
            body.push_str(&format!("<li>{}</li>", esc(&lang.t("manage-nothing"))));
        }
        for sl in &page.items {
            body.push_str(&format!(
                "<li><b>{}</b> · {} · {} · {}{}",
                esc(&sl.name),
                esc(&lang.t(&format!("seller-kind-{}", sl.kind))),
                esc(&sl.village_name),
                esc(&lang.t(&format!("poverty-{}", sl.poverty_status))),
                sl.contact_phone
                    .as_deref()
                    .map(|p| format!(" · {}", esc(&mask_phone(p))))
                    .unwrap_or_default(),
            ));
            if let Some(r) = &sl.status_reason {
                body.push_str(&format!(" <small>({})</small>", esc(r)));
            }
            if reviewer && st == SellerStatus::Pending {
                for (d, key) in [("approve", "manage-approve"), ("reject", "manage-reject")] {
                    body.push_str(&format!(
                        " <form method=\"post\" action=\"/manage/sellers/{}/decision\" style=\"display:inline\">\
{}<input type=\"hidden\" name=\"decision\" value=\"{d}\">{}<button>{}</button></form>",
                        sl.id,
                        cx.csrf_input(),
                        if d == "reject" {
                            format!(
                                "<input name=\"reason\" placeholder=\"{r}\" aria-label=\"{r}\" size=\"10\">",
                                r = esc(&lang.t("manage-reason"))
                            )
                        } else {
                            String::new()
                        },
                        esc(&lang.t(key)),
                    ));
                }
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    cx.page(StatusCode::OK, &lang.t("manage-sellers"), &body)
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

async fn seller_form(
    s: &AppState,
    cx: &Ctx,
    values: &HashMap<String, String>,
    errors: &[FieldError],
) -> Result<String, StoreError> {
    let lang = cx.lang;
    let f = FormView {
        lang,
        values,
        errors,
    };
    let villages = s
        .store
        .villages_within(cx.actor.region_path.as_deref())
        .await?;
    let village_options: Vec<(String, String)> = std::iter::once((String::new(), "—".into()))
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
    Ok(format!(
        "{}<form method=\"post\" action=\"/manage/sellers/new\">{}{}{}{}{}{}{}{}{}<p><button>{}</button></p></form>",
        f.summary(),
        cx.csrf_input(),
        f.input("name", "field-name", " required maxlength=\"60\""),
        f.select("kind", "field-kind", &kinds),
        f.select("village_code", "field-village_code", &village_options),
        f.select("poverty_status", "field-poverty_status", &poverty),
        f.input(
            "registration_no",
            "field-registration_no",
            " maxlength=\"40\""
        ),
        f.input("contact_name", "field-contact_name", " maxlength=\"40\""),
        f.input(
            "contact_phone",
            "field-contact_phone",
            " type=\"tel\" inputmode=\"tel\" maxlength=\"20\""
        ),
        f.textarea("description", "field-description"),
        esc(&lang.t("manage-save")),
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
    match seller_form(&s, &cx, &HashMap::new(), &[]).await {
        Ok(body) => cx.page(StatusCode::OK, &cx.lang.t("manage-register-seller"), &body),
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
        Err(StoreError::Invalid(errs)) => match seller_form(&s, &cx, &form, &errs).await {
            Ok(body) => cx.page(
                StatusCode::BAD_REQUEST,
                &cx.lang.t("manage-register-seller"),
                &body,
            ),
            Err(e) => cx.error_page(e, "/manage"),
        },
        Err(e) => cx.error_page(e, "/manage/sellers/new"),
    }
}

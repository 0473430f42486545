//! Server-rendered storefront pages: light, mobile-first, no JavaScript needed.

use crate::AppState;
use crate::i18n::Lang;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use bazaar_domain::money::Fen;
use bazaar_search::Filters;
use bazaar_store::StoreError;
use bazaar_store::products::{Product, ProductFilter};
use std::collections::HashMap;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Display name of a category in `lang`.
pub fn category_name(lang: Lang, code: &str) -> String {
    lang.t(&format!("cat-{code}"))
}

/// Words of a category indexed for search: its Chinese and English names.
pub fn category_words(code: &str) -> String {
    format!(
        "{} {}",
        category_name(Lang::ZhCn, code),
        category_name(Lang::En, code)
    )
}

/// The language of a page request (see [`Lang::negotiate`]).
pub fn page_lang(h: &HeaderMap, uri: &Uri) -> Lang {
    Lang::negotiate(h, uri.query())
}

/// The page frame around a body built by hand (see [`crate::app::view::frame`]); goes when
/// the last page is a template.
pub fn layout(lang: Lang, title: &str, q: &str, body: &str) -> Response {
    match crate::app::view::frame(lang, title, q, &crate::app::view::Markup::legacy(body)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => crate::app::view::failed(e),
    }
}

/// A page with only a message, e.g. a 404.
pub fn message_page(lang: Lang, status: StatusCode, msg: &str) -> Response {
    crate::app::view::page(
        lang,
        status,
        status.as_str(),
        "",
        &crate::app::view::Message { msg },
    )
}

/// The name of a region in `lang` (English name for languages other than Chinese when
/// there is one).
fn region_name(lang: Lang, name: &str, name_en: Option<&str>) -> String {
    match (lang, name_en) {
        (Lang::En, Some(e)) => e.to_string(),
        _ => name.to_string(),
    }
}

fn product_cards(lang: Lang, items: &[Product]) -> String {
    let mut o = String::from("<ul class=\"g\">");
    let from = esc(&lang.t("price-from"));
    for p in items {
        let r = &p.row;
        let price = p.skus.iter().map(|s| s.price_fen).min().unwrap_or(0);
        o.push_str(&format!(
            "<li><a href=\"/products/{}\">{}</a><br><span class=\"p\">{}</span> {from}<br><small>{} · {}</small></li>",
            r.id,
            esc(&r.name),
            Fen(price),
            esc(&r.county),
            esc(&r.seller_name),
        ));
    }
    o.push_str("</ul>");
    o
}

/// Logs an unexpected failure and answers a plain 500 page.
pub fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    message_page(
        Lang::ZhCn,
        StatusCode::INTERNAL_SERVER_ERROR,
        &Lang::ZhCn.t("error-internal"),
    )
}

/// `GET /`: the regional home with one pavilion per county.
pub async fn home(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let lang = page_lang(&h, &uri);
    let pavilions = s.pavilions();
    let mut body = format!(
        "<h1>{}</h1><ul class=\"g\">",
        esc(&lang.t("pavilions-heading"))
    );
    for p in pavilions.iter() {
        body.push_str(&format!(
            "<li><a href=\"/pavilions/{}\">{}</a><br><small>{} · {}</small></li>",
            esc(&p.code),
            esc(&region_name(lang, &p.name, p.name_en.as_deref())),
            esc(&p.prefecture),
            esc(&lang.ta("pavilion-products", &[("n", p.products.into())])),
        ));
    }
    body.push_str("</ul>");
    layout(lang, &lang.t("page-home"), "", &body).into_response()
}

/// `GET /pavilions/{code}`: a county's pavilion.
pub async fn pavilion(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(code): Path<String>,
) -> Response {
    let lang = page_lang(&h, &uri);
    let county = match s.store.region(&code).await {
        Ok(r) if r.level == "county" => r,
        Ok(_) | Err(StoreError::NotFound) => {
            return message_page(lang, StatusCode::NOT_FOUND, &lang.t("pavilion-not-found"));
        }
        Err(e) => return internal(e),
    };
    let f = ProductFilter {
        county: Some(code),
        limit: Some(100),
        ..Default::default()
    };
    let page = match s.store.products(None, &f).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let name = region_name(lang, &county.name, county.name_en.as_deref());
    let title = lang.ta("pavilion-title", &[("name", name.as_str().into())]);
    let body = format!(
        "<h1>{}</h1>{}",
        esc(&title),
        product_cards(lang, &page.items)
    );
    layout(lang, &title, "", &body).into_response()
}

/// `GET /search?q=…&county=…&category=…&gi_brand=…&poverty=1`: ranked results, with
/// suggestions when nothing matches.
pub async fn search(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = page_lang(&h, &uri);
    let text: String = q
        .get("q")
        .map(|s| s.trim().chars().take(100).collect())
        .unwrap_or_default();
    let filters = Filters {
        county: q.get("county").filter(|s| !s.is_empty()).cloned(),
        category: q.get("category").filter(|s| !s.is_empty()).cloned(),
        gi_brand: q.get("gi_brand").filter(|s| !s.is_empty()).cloned(),
        poverty: q.get("poverty").is_some_and(|v| v == "1"),
    };
    let hits = match s.search().search(&text, &filters, 0, 50) {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let items = match s.store.listed_products_by_ids(&hits.ids).await {
        Ok(i) => i,
        Err(e) => return internal(e),
    };
    let mut body = filter_form(&s, lang, &text, &filters);
    if hits.relaxed {
        body.push_str(&format!(
            "<p>{} {}</p>",
            esc(&lang.ta("search-no-match", &[("q", text.as_str().into())])),
            esc(&lang.t("search-did-you-mean"))
        ));
        for sug in &hits.suggestions {
            body.push_str(&format!(
                "<a class=\"tag\" href=\"/search?q={}\">{}</a>",
                esc(&encode(sug)),
                esc(sug)
            ));
        }
    } else if !text.is_empty() {
        body.push_str(&format!(
            "<p>{}</p>",
            esc(&lang.ta("results-count", &[("n", hits.total.into())]))
        ));
    }
    body.push_str(&product_cards(lang, &items));
    layout(lang, &lang.t("nav-search"), &text, &body).into_response()
}

/// The filter controls of the search page (county, category, GI brand, poverty alleviation);
/// a plain GET form, so it works without JavaScript.
fn filter_form(s: &AppState, lang: Lang, q: &str, f: &Filters) -> String {
    let selected = |a: &str, b: &Option<String>| {
        if b.as_deref() == Some(a) {
            " selected"
        } else {
            ""
        }
    };
    let mut o = format!(
        "<form action=\"/search\" style=\"display:flex;flex-wrap:wrap;gap:.4em\">\
<input type=\"hidden\" name=\"q\" value=\"{}\"><select name=\"county\" aria-label=\"{}\"><option value=\"\">{}</option>",
        esc(q),
        esc(&lang.t("filter-county")),
        esc(&lang.t("filter-all-counties")),
    );
    {
        for p in s.pavilions().iter() {
            o.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                esc(&p.code),
                selected(&p.code, &f.county),
                esc(&region_name(lang, &p.name, p.name_en.as_deref()))
            ));
        }
    }
    o.push_str(&format!(
        "</select><select name=\"category\" aria-label=\"{}\"><option value=\"\">{}</option>",
        esc(&lang.t("filter-category")),
        esc(&lang.t("filter-all-categories"))
    ));
    for c in bazaar_domain::catalog::Category::ALL {
        o.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            c.as_str(),
            selected(c.as_str(), &f.category),
            esc(&category_name(lang, c.as_str()))
        ));
    }
    o.push_str(&format!(
        "</select><input name=\"gi_brand\" value=\"{}\" placeholder=\"{gi}\" aria-label=\"{gi}\" size=\"8\">\
<label style=\"display:inline\"><input type=\"checkbox\" name=\"poverty\" value=\"1\"{}> {}</label>\
<button>{}</button></form>",
        esc(f.gi_brand.as_deref().unwrap_or("")),
        if f.poverty { " checked" } else { "" },
        esc(&lang.t("filter-poverty")),
        esc(&lang.t("filter-apply")),
        gi = esc(&lang.t("filter-gi")),
    ));
    o
}

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `GET /products/{id}`: the product page.
pub async fn product(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let lang = page_lang(&h, &uri);
    let not_found = || message_page(lang, StatusCode::NOT_FOUND, &lang.t("product-not-found"));
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let p = match s.store.product_for(None, id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return not_found(),
        Err(e) => return internal(e),
    };
    let r = &p.row;
    let mut body = format!("<h1>{}</h1>", esc(&r.name));
    if let Some(n) = r.name_en.as_ref().filter(|_| lang == Lang::En) {
        body.push_str(&format!("<p><i>{}</i></p>", esc(n)));
    }
    for ph in &p.photos {
        body.push_str(&format!(
            "<img src=\"/media/{}\" width=\"{}\" height=\"{}\" alt=\"{}\" loading=\"lazy\">",
            esc(&ph.storage_key),
            ph.width,
            ph.height,
            esc(&lang.ta("product-photo", &[("name", r.name.as_str().into())])),
        ));
    }
    body.push_str("<p>");
    if let Some(gi) = &r.gi_brand {
        body.push_str(&format!(
            "<span class=\"tag\">{}</span>",
            esc(&lang.ta("tag-gi", &[("brand", gi.as_str().into())]))
        ));
    }
    let mut tag = |key: &str, on: bool| {
        if on {
            body.push_str(&format!("<span class=\"tag\">{}</span>", esc(&lang.t(key))));
        }
    };
    tag("tag-poverty", r.is_poverty_alleviation());
    tag("tag-green", r.green_cert);
    tag("tag-organic", r.organic_cert);
    tag("tag-cold-chain", r.cold_chain);
    body.push_str(&format!(
        "</p><p>{}: {} · {} · {}</p><p>{}: {}</p>",
        esc(&lang.t("product-origin")),
        esc(&r.county),
        esc(&r.township_name),
        esc(&r.village_name),
        esc(&lang.t("product-producer")),
        esc(&r.seller_name),
    ));
    if let Some(d) = &r.description {
        body.push_str(&format!("<p>{}</p>", esc(d)));
    }
    let (csrf, new_csrf) = crate::session::csrf_token(&h);
    body.push_str(&format!("<h2>{}</h2><ul>", esc(&lang.t("product-options"))));
    for sku in &p.skus {
        body.push_str(&format!(
            "<li>{} — <span class=\"p\">{}</span> <small>({} g)</small> {}</li>",
            esc(&sku.spec),
            Fen(sku.price_fen),
            sku.weight_g,
            crate::shop::add_form(lang, &csrf, sku.id),
        ));
    }
    body.push_str("</ul>");
    if let Some(days) = r.shelf_life_days {
        body.push_str(&format!(
            "<p>{}</p>",
            esc(&lang.ta("product-shelf-life", &[("days", days.into())]))
        ));
    }
    if let Some(no) = &r.poverty_cert_no {
        body.push_str(&format!(
            "<p><small>{}</small></p>",
            esc(&lang.ta("product-certificate", &[("no", no.as_str().into())]))
        ));
    }
    let mut res = layout(lang, &r.name, "", &body).into_response();
    if new_csrf {
        crate::session::set_cookie(&mut res, crate::session::csrf_cookie(&csrf));
    }
    res
}

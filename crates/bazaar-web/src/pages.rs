//! Server-rendered storefront pages: light, mobile-first, no JavaScript needed.

use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
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

/// Display words of a category (Chinese and English), also indexed for search.
pub fn category_label(code: &str) -> &'static str {
    match code {
        "honey" => "蜂蜜 Honey",
        "grain_oil" => "粮油 Grain & oil",
        "fresh_produce" => "生鲜果蔬 Fresh produce",
        "dried_fruit_nuts" => "干果坚果 Dried fruit & nuts",
        "meat_dairy" => "肉禽乳品 Meat & dairy",
        "condiment" => "调味品 Condiments",
        "tea_drink" => "茶饮 Tea & drinks",
        "fungi" => "菌菇 Fungi",
        "medicinal" => "滋补药材 Medicinal",
        "craft" => "手工艺品 Crafts",
        _ => "",
    }
}

/// Whether a page request is answered in English: `?lang=` first, then the sticky `bz_lang`
/// cookie, then Accept-Language. Chinese is the default.
pub fn wants_english(h: &HeaderMap, q: &HashMap<String, String>) -> bool {
    english(h, q)
}

fn english(h: &HeaderMap, q: &HashMap<String, String>) -> bool {
    match q.get("lang").map(String::as_str) {
        Some("en") => return true,
        Some("zh-CN") | Some("zh") => return false,
        _ => {}
    }
    match crate::session::cookie(h, "bz_lang").as_deref() {
        Some("en") => return true,
        Some("zh-CN") => return false,
        _ => {}
    }
    h.get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_lowercase().starts_with("en"))
}

fn tr(en: bool, zh: &'static str, e: &'static str) -> &'static str {
    if en { e } else { zh }
}

/// The page frame: header with language switch and search box.
pub fn layout(en: bool, title: &str, q: &str, body: &str) -> Html<String> {
    let lang = if en { "en" } else { "zh-CN" };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · Bazaar</title>\
<style>body{{font-family:sans-serif;margin:0;color:#222}}header{{background:#b5452b;color:#fff;padding:.6em 1em}}\
header a{{color:#fff;text-decoration:none;font-weight:bold}}main{{padding:1em;max-width:60em;margin:auto}}\
form.s{{display:flex;gap:.4em;margin:.6em 0}}form.s input{{flex:1;padding:.5em;font-size:1em}}\
ul.g{{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14em,1fr));gap:.6em}}\
ul.g li{{border:1px solid #ddd;border-radius:6px;padding:.6em}}.p{{color:#b5452b;font-weight:bold}}\
.tag{{font-size:.8em;background:#f3e6d0;border-radius:3px;padding:0 .3em;margin-right:.3em}}</style></head>\
<body><header><a href=\"/\">Bazaar {brand}</a> <nav style=\"float:right\"><a href=\"?lang=zh-CN\">中文</a> · \
<a id=\"lang-en\" href=\"?lang=en\">English</a> · <a href=\"/manage\">{acct}</a></nav></header><main>\
<form class=\"s\" action=\"/search\"><input name=\"q\" value=\"{q}\" placeholder=\"{ph}\" aria-label=\"{ph}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang}\"><button>{btn}</button></form>{body}</main></body></html>",
        title = esc(title),
        brand = tr(en, "乡村好物", "Village goods"),
        q = esc(q),
        ph = tr(en, "搜索：蜂蜜、fengmi、fm…", "Search: 蜂蜜, fengmi, fm…"),
        btn = tr(en, "搜索", "Search"),
        acct = tr(en, "管理", "Back office"),
    ))
}

fn lang_q(en: bool) -> &'static str {
    if en { "?lang=en" } else { "" }
}

fn product_cards(en: bool, items: &[Product]) -> String {
    let mut o = String::from("<ul class=\"g\">");
    for p in items {
        let r = &p.row;
        let price = p.skus.iter().map(|s| s.price_fen).min().unwrap_or(0);
        o.push_str(&format!(
            "<li><a href=\"/products/{}{}\">{}</a><br><span class=\"p\">{}</span> {}<br><small>{} · {}</small></li>",
            r.id,
            lang_q(en),
            esc(&r.name),
            Fen(price),
            tr(en, "起", "from"),
            esc(&r.county),
            esc(&r.seller_name),
        ));
    }
    o.push_str("</ul>");
    o
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// `GET /`: the regional home with one pavilion per county.
pub async fn home(
    State(s): State<AppState>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let en = english(&h, &q);
    let pavilions = match s.store.pavilions().await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let mut body = format!(
        "<h1>{}</h1><ul class=\"g\">",
        tr(en, "地方馆", "County pavilions")
    );
    for p in pavilions {
        let name = if en {
            p.name_en.clone().unwrap_or(p.name.clone())
        } else {
            p.name.clone()
        };
        body.push_str(&format!(
            "<li><a href=\"/pavilions/{}{}\">{}</a><br><small>{} · {} {}</small></li>",
            esc(&p.code),
            lang_q(en),
            esc(&name),
            esc(&p.prefecture),
            p.products,
            tr(en, "件商品", "products"),
        ));
    }
    body.push_str("</ul>");
    layout(en, tr(en, "首页", "Home"), "", &body).into_response()
}

/// `GET /pavilions/{code}`: a county's pavilion.
pub async fn pavilion(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let en = english(&h, &q);
    let county = match s.store.region(&code).await {
        Ok(r) if r.level == "county" => r,
        Ok(_) | Err(StoreError::NotFound) => {
            return (
                StatusCode::NOT_FOUND,
                layout(
                    en,
                    "404",
                    "",
                    tr(en, "<p>未找到该地方馆</p>", "<p>No such pavilion</p>"),
                ),
            )
                .into_response();
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
    let name = if en {
        county.name_en.clone().unwrap_or(county.name.clone())
    } else {
        county.name.clone()
    };
    let body = format!(
        "<h1>{} {}</h1>{}",
        esc(&name),
        tr(en, "地方馆", "pavilion"),
        product_cards(en, &page.items)
    );
    layout(en, &name, "", &body).into_response()
}

/// `GET /search?q=…&county=…&category=…`: ranked results, with suggestions when nothing
/// matches.
pub async fn search(
    State(s): State<AppState>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let en = english(&h, &q);
    let text = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
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
    let mut body = filter_form(&s, en, &text, &filters).await;
    if hits.relaxed {
        body.push_str(&format!(
            "<p>{} “{}”。{}</p>",
            tr(en, "没有找到", "Nothing matches"),
            esc(&text),
            tr(en, "您是不是要找：", "Did you mean:")
        ));
        for sug in &hits.suggestions {
            body.push_str(&format!(
                "<a class=\"tag\" href=\"/search?q={}{}\">{}</a>",
                esc(&encode(sug)),
                if en { "&amp;lang=en" } else { "" },
                esc(sug)
            ));
        }
    } else if !text.is_empty() {
        body.push_str(&format!(
            "<p>{} {}</p>",
            hits.total,
            tr(en, "个结果", "results")
        ));
    }
    body.push_str(&product_cards(en, &items));
    layout(en, tr(en, "搜索", "Search"), &text, &body).into_response()
}

/// The filter controls of the search page (county, category, GI brand, poverty alleviation);
/// a plain GET form, so it works without JavaScript.
async fn filter_form(s: &AppState, en: bool, q: &str, f: &Filters) -> String {
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
        tr(en, "县", "County"),
        tr(en, "全部县", "All counties"),
    );
    if let Ok(pavilions) = s.store.pavilions().await {
        for p in pavilions {
            let name = if en {
                p.name_en.clone().unwrap_or(p.name.clone())
            } else {
                p.name.clone()
            };
            o.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                esc(&p.code),
                selected(&p.code, &f.county),
                esc(&name)
            ));
        }
    }
    o.push_str(&format!(
        "</select><select name=\"category\" aria-label=\"{}\"><option value=\"\">{}</option>",
        tr(en, "类目", "Category"),
        tr(en, "全部类目", "All categories")
    ));
    for c in bazaar_domain::catalog::Category::ALL {
        let label = category_label(c.as_str());
        let label = if en {
            label.split_once(' ').map(|x| x.1).unwrap_or(label)
        } else {
            label.split(' ').next().unwrap_or(label)
        };
        o.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            c.as_str(),
            selected(c.as_str(), &f.category),
            esc(label)
        ));
    }
    o.push_str(&format!(
        "</select><input name=\"gi_brand\" value=\"{}\" placeholder=\"{}\" size=\"8\">\
<label><input type=\"checkbox\" name=\"poverty\" value=\"1\"{}> {}</label>\
<input type=\"hidden\" name=\"lang\" value=\"{}\"><button>{}</button></form>",
        esc(f.gi_brand.as_deref().unwrap_or("")),
        tr(en, "地理标志", "GI brand"),
        if f.poverty { " checked" } else { "" },
        tr(en, "扶贫产品", "Poverty alleviation"),
        if en { "en" } else { "zh-CN" },
        tr(en, "筛选", "Filter"),
    ));
    o
}

fn encode(s: &str) -> String {
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
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let en = english(&h, &q);
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            layout(
                en,
                "404",
                "",
                tr(en, "<p>未找到该商品</p>", "<p>No such product</p>"),
            ),
        )
            .into_response()
    };
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
    if let Some(n) = r.name_en.as_ref().filter(|_| en) {
        body.push_str(&format!("<p><i>{}</i></p>", esc(n)));
    }
    if let Some(gi) = &r.gi_brand {
        body.push_str(&format!(
            "<span class=\"tag\">{} {}</span>",
            tr(en, "地理标志", "GI brand"),
            esc(gi)
        ));
    }
    if r.is_poverty_alleviation() {
        body.push_str(&format!(
            "<span class=\"tag\">{}</span>",
            tr(en, "扶贫产品", "Poverty alleviation")
        ));
    }
    if r.cold_chain {
        body.push_str(&format!(
            "<span class=\"tag\">{}</span>",
            tr(en, "冷链", "Cold chain")
        ));
    }
    body.push_str(&format!(
        "<p>{}: {} · {} · {}</p><p>{}: {}</p>",
        tr(en, "产地", "Origin"),
        esc(&r.county),
        esc(&r.township_name),
        esc(&r.village_name),
        tr(en, "生产者", "Producer"),
        esc(&r.seller_name),
    ));
    if let Some(d) = &r.description {
        body.push_str(&format!("<p>{}</p>", esc(d)));
    }
    body.push_str(&format!("<h2>{}</h2><ul>", tr(en, "规格", "Options")));
    for sku in &p.skus {
        body.push_str(&format!(
            "<li>{} — <span class=\"p\">{}</span> <small>({} g)</small></li>",
            esc(&sku.spec),
            Fen(sku.price_fen),
            sku.weight_g
        ));
    }
    body.push_str("</ul>");
    if let Some(days) = r.shelf_life_days {
        body.push_str(&format!(
            "<p>{}: {} {}</p>",
            tr(en, "保质期", "Shelf life"),
            days,
            tr(en, "天", "days")
        ));
    }
    layout(en, &r.name, "", &body).into_response()
}

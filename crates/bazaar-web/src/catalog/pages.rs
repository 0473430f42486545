//! Server-rendered storefront pages: light, mobile-first, no JavaScript needed.

use crate::AppState;
use crate::app::i18n::Lang;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bazaar_domain::money::Fen;
use bazaar_domain::orders::ItemInput;
use bazaar_search::Filters;
use bazaar_store::StoreError;
use bazaar_store::catalog::products::{Product, ProductFilter};
use std::collections::HashMap;

/// Display name of a category in `lang`.
pub fn category_name(lang: Lang, code: &str) -> String {
    lang.t(&format!("cat-{code}"))
}

/// Words of a category indexed for search: its names in every language of the pages.
pub fn category_words(code: &str) -> String {
    Lang::ALL
        .iter()
        .map(|l| category_name(*l, code))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The language of a page request (see [`Lang::negotiate`]).
pub fn page_lang(h: &HeaderMap, uri: &Uri) -> Lang {
    Lang::negotiate(h, uri.query())
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

/// The cards of a list of products (home, a pavilion, search results): picture, name, lowest
/// price, origin, badges and how much is left, read in one query for the whole list.
pub(crate) async fn product_cards(
    s: &AppState,
    lang: Lang,
    items: &[Product],
) -> Result<Vec<ProductCard>, StoreError> {
    let ids: Vec<i64> = items
        .iter()
        .flat_map(|p| p.skus.iter().map(|k| k.id))
        .collect();
    let left = s.glance.available(&s.store, &ids).await?;
    let names = if lang == Lang::ZhCn {
        Default::default()
    } else {
        let pids: Vec<i64> = items.iter().map(|p| p.row.id).collect();
        s.store.product_names(&pids, lang.tag()).await?
    };
    Ok(items
        .iter()
        .map(|p| {
            let r = &p.row;
            let name = names.get(&r.id).cloned().or_else(|| {
                r.name_en
                    .clone()
                    .filter(|n| lang == Lang::En && !n.is_empty())
            });
            let units: i64 = p
                .skus
                .iter()
                .map(|k| left.get(&k.id).copied().unwrap_or(0).max(0))
                .sum();
            let mut badges = Vec::new();
            if r.is_poverty_alleviation() {
                badges.push(lang.t("tag-poverty"));
            }
            if r.gi_brand.is_some() {
                badges.push(lang.t("tag-gi-short"));
            }
            ProductCard {
                id: r.id,
                translated: name.is_some() || lang == Lang::ZhCn,
                name: name.unwrap_or_else(|| r.name.clone()),
                picture: Picture::of(lang, p),
                price: Fen(p.skus.iter().map(|k| k.price_fen).min().unwrap_or(0)),
                origin: format!("{} · {}", r.county, r.village_name),
                badges,
                sold_out: units == 0,
                stock: stock_note(lang, units),
            }
        })
        .collect())
}

/// One product card (`catalog/cards.html`).
pub(crate) struct ProductCard {
    pub(crate) id: i64,
    pub(crate) name: String,
    /// The name is in the page's language (else it is the Chinese one).
    pub(crate) translated: bool,
    pub(crate) picture: Picture,
    pub(crate) price: Fen,
    /// County and village.
    pub(crate) origin: String,
    /// 扶贫, 地理标志.
    pub(crate) badges: Vec<String>,
    /// Nothing left.
    pub(crate) sold_out: bool,
    /// "仅剩 3 件" or "已售完".
    pub(crate) stock: Option<String>,
}

/// What a card shows as its picture: the thumbnail of the first photo, or the category's
/// drawing when there is none.
pub(crate) struct Picture {
    /// The thumbnail's address, when the product has a photo.
    pub photo: Option<String>,
    /// The category drawing (`/assets/cats.….svg#honey`).
    pub drawing: String,
    /// What it shows, for a screen reader.
    pub alt: String,
}

impl Picture {
    /// The picture of `p`.
    pub fn of(lang: Lang, p: &Product) -> Picture {
        Picture {
            photo: p.photos.first().map(|ph| {
                format!(
                    "/media/{}",
                    crate::catalog::media::thumb_key(&ph.storage_key)
                )
            }),
            drawing: category_drawing(&p.row.category),
            alt: lang.ta("product-photo", &[("name", p.row.name.as_str().into())]),
        }
    }
}

/// The address of a category's drawing in the embedded sprite.
pub fn category_drawing(code: &str) -> String {
    format!("{}#{code}", crate::app::assets::url("cats.svg"))
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

/// `GET /`: the regional home: featured products, then one picture card per county
/// pavilion.
pub async fn home(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let lang = page_lang(&h, &uri);
    let title = lang.t("page-home");
    let kept = {
        let home = s.home.lock().unwrap_or_else(|p| p.into_inner());
        home.get(&lang)
            .filter(|(at, _)| at.elapsed() < crate::catalog::glance::TTL)
            .map(|(_, m)| m.clone())
    };
    if let Some(body) = kept {
        return crate::app::view::page_of_markup(lang, (&h, &uri), StatusCode::OK, &title, &body);
    }
    let pavilions = s
        .pavilions()
        .iter()
        .map(|p| PavilionCard {
            code: p.code.clone(),
            name: region_name(lang, &p.name, p.name_en.as_deref()),
            prefecture: p.prefecture.clone(),
            products: lang.ta("pavilion-products", &[("n", p.products.into())]),
            photo: p
                .photo
                .as_deref()
                .map(|k| format!("/media/{}", crate::catalog::media::thumb_key(k))),
            drawing: category_drawing(&p.category),
        })
        .collect();
    let featured = match product_cards(&s, lang, &s.featured()).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    // The live rooms on air: a buyer on the home page goes straight to them.
    let live = s
        .store
        .sessions_on_air(3)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|x| (x.id, x.title))
        .collect();
    let body = match crate::app::view::Markup::of(&Home {
        lang,
        live,
        pavilions,
        cards: featured,
    }) {
        Ok(b) => b,
        Err(e) => return crate::app::view::failed(e),
    };
    s.home
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(lang, (std::time::Instant::now(), body.clone()));
    crate::app::view::page_of_markup(lang, (&h, &uri), StatusCode::OK, &title, &body)
}

/// The regional home: featured products, then one card per county pavilion.
#[derive(Template)]
#[template(path = "catalog/home.html")]
struct Home {
    lang: Lang,
    /// Sessions on air: id and title.
    live: Vec<(i64, String)>,
    pavilions: Vec<PavilionCard>,
    /// The featured products.
    cards: Vec<ProductCard>,
}

/// A county's pavilion on the home page: its code, name, prefecture, how many products, and
/// its picture (a product's photo, else a category drawing).
struct PavilionCard {
    code: String,
    name: String,
    prefecture: String,
    products: String,
    photo: Option<String>,
    drawing: String,
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
    let cards = match product_cards(&s, lang, &page.items).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let body = Pavilion {
        lang,
        title: &title,
        cards,
    };
    crate::app::view::page_for(lang, (&h, &uri), StatusCode::OK, &title, "", &body)
}

/// A county's pavilion: its listed products.
#[derive(Template)]
#[template(path = "catalog/pavilion.html")]
struct Pavilion<'a> {
    lang: Lang,
    title: &'a str,
    cards: Vec<ProductCard>,
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
    let counties = s
        .pavilions()
        .iter()
        .map(|p| Choice {
            value: p.code.clone(),
            label: region_name(lang, &p.name, p.name_en.as_deref()),
            selected: filters.county.as_deref() == Some(p.code.as_str()),
        })
        .collect();
    let categories = bazaar_domain::catalog::Category::ALL
        .iter()
        .map(|c| Choice {
            value: c.as_str().to_string(),
            label: category_name(lang, c.as_str()),
            selected: filters.category.as_deref() == Some(c.as_str()),
        })
        .collect();
    let (suggestions, count) = if hits.relaxed {
        let sugs = hits
            .suggestions
            .iter()
            .map(|sug| (encode(sug), sug.clone()))
            .collect();
        (Some(sugs), None)
    } else if !text.is_empty() {
        let n = lang.ta("results-count", &[("n", hits.total.into())]);
        (None, Some(n))
    } else {
        (None, None)
    };
    let cards = match product_cards(&s, lang, &items).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let body = Search {
        lang,
        q: &text,
        no_match: lang.ta("search-no-match", &[("q", text.as_str().into())]),
        counties,
        categories,
        gi_brand: filters.gi_brand.as_deref().unwrap_or(""),
        poverty: filters.poverty,
        suggestions,
        count,
        cards,
    };
    crate::app::view::page_for(
        lang,
        (&h, &uri),
        StatusCode::OK,
        &lang.t("nav-search"),
        &text,
        &body,
    )
}

/// The search page: the filter controls (county, category, GI brand, poverty alleviation;
/// a plain GET form, so it works without JavaScript), then the results, or suggestions when
/// nothing matched.
#[derive(Template)]
#[template(path = "catalog/search.html")]
struct Search<'a> {
    lang: Lang,
    /// The query as searched.
    q: &'a str,
    /// "Nothing matches …", shown with the suggestions.
    no_match: String,
    counties: Vec<Choice>,
    categories: Vec<Choice>,
    gi_brand: &'a str,
    poverty: bool,
    /// When nothing matched: the names to suggest (percent-encoded, as shown).
    suggestions: Option<Vec<(String, String)>>,
    /// How many results, when there is a query and it matched.
    count: Option<String>,
    cards: Vec<ProductCard>,
}

/// An option of a choice: its value, what it shows, whether it is chosen.
pub(crate) struct Choice {
    /// The value sent.
    pub value: String,
    /// What it shows.
    pub label: String,
    /// Whether it is the one chosen.
    pub selected: bool,
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
    let tags = [
        ("tag-poverty", r.is_poverty_alleviation()),
        ("tag-green", r.green_cert),
        ("tag-organic", r.organic_cert),
        ("tag-cold-chain", r.cold_chain),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(key, _)| lang.t(key))
    .collect();
    let (csrf, new_csrf) = crate::app::session::csrf_token(&h);
    // `?to=CODE`: the province (or any region) the buyer wants the shipping fee to.
    let to = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, v)| *k == "to" && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
            .map(|(_, v)| v.to_string())
    });
    // The product's words in the page's language, where someone gave them.
    let texts = if lang == Lang::ZhCn {
        None
    } else {
        match s.store.product_texts(id, lang.tag()).await {
            Ok(t) => t,
            Err(e) => return internal(e),
        }
    };
    let words = Words::of(lang, r, texts.as_ref());
    let ids: Vec<i64> = p.skus.iter().map(|k| k.id).collect();
    let left = match s.glance.available(&s.store, &ids).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let provinces = s.provinces();
    let dest = to
        .as_deref()
        .and_then(|c| provinces.iter().find(|r| r.code == c));
    let mut skus = Vec::with_capacity(p.skus.len());
    for k in &p.skus {
        let n = left.get(&k.id).copied().unwrap_or(0).max(0);
        let shipping = match dest {
            Some(d) if n > 0 => {
                let item = ItemInput {
                    sku_id: k.id,
                    quantity: 1,
                    expected_price_fen: None,
                };
                let place = region_name(lang, &d.name, d.name_en.as_deref());
                Some(match s.store.quote_to_region(&[item], &d.code).await {
                    Ok(q) => lang.ta(
                        "product-shipping-to",
                        &[
                            ("place", place.into()),
                            ("fee", Fen(q.shipping_fen).to_string().into()),
                        ],
                    ),
                    Err(StoreError::Db(e)) => return internal(StoreError::Db(e)),
                    Err(_) => lang.ta("product-not-served", &[("place", place.into())]),
                })
            }
            _ => None,
        };
        skus.push(SkuView {
            id: k.id,
            spec: texts
                .as_ref()
                .and_then(|t| t.specs.iter().find(|(i, _)| *i == k.id))
                .map(|(_, sp)| sp.clone())
                .unwrap_or_else(|| k.spec.clone()),
            price: Fen(k.price_fen),
            weight_g: k.weight_g,
            sold_out: n == 0,
            checked: n > 0 && !skus.iter().any(|v: &SkuView| v.checked),
            stock: stock_note(lang, n),
            shipping,
        });
    }
    let any_left = skus.iter().any(|k| k.checked);
    let provinces = provinces
        .iter()
        .map(|r| Choice {
            selected: Some(&r.code) == to.as_ref(),
            value: r.code.clone(),
            label: region_name(lang, &r.name, r.name_en.as_deref()),
        })
        .collect();
    let body = ProductPage {
        lang,
        p: &p,
        skus,
        any_left,
        provinces,
        script: crate::app::assets::url("autosubmit.js"),
        photo_alt: lang.ta("product-photo", &[("name", words.name.as_str().into())]),
        drawing: category_drawing(&r.category),
        gi: r
            .gi_brand
            .as_ref()
            .map(|gi| lang.ta("tag-gi", &[("brand", gi.as_str().into())])),
        tags,
        shelf_life: r
            .shelf_life_days
            .map(|days| lang.ta("product-shelf-life", &[("days", days.into())])),
        certificate: r
            .poverty_cert_no
            .as_ref()
            // The number reads left to right in a right-to-left page (isolated).
            .map(|no| {
                let no = format!("\u{2066}{no}\u{2069}");
                lang.ta("product-certificate", &[("no", no.into())])
            }),
        csrf: &csrf,
        words: &words,
    };
    let mut res =
        crate::app::view::page_for(lang, (&h, &uri), StatusCode::OK, &words.name, "", &body);
    if new_csrf {
        crate::app::session::set_cookie(&mut res, crate::app::session::csrf_cookie(&csrf));
    }
    res
}

/// A product's words as a page in `lang` shows them: translated where someone gave them
/// (English falls back on the product's English name), else the Chinese ones, marked as such
/// (`fallback`), with the Chinese name beside a translated one.
pub(crate) struct Words {
    pub(crate) name: String,
    /// The Chinese name, under a translated one.
    pub(crate) original: Option<String>,
    pub(crate) producer: String,
    pub(crate) description: Option<String>,
    /// Shown in Chinese for want of a translation: the page says so.
    pub(crate) fallback: bool,
}

impl Words {
    fn of(
        lang: Lang,
        r: &bazaar_store::catalog::products::ProductRow,
        t: Option<&bazaar_store::catalog::texts::ProductTexts>,
    ) -> Words {
        let legacy_en = r
            .name_en
            .clone()
            .filter(|n| lang == Lang::En && !n.is_empty());
        match (lang, t) {
            (Lang::ZhCn, _) => Words {
                name: r.name.clone(),
                original: None,
                producer: r.seller_name.clone(),
                description: r.description.clone(),
                fallback: false,
            },
            (_, Some(t)) => Words {
                name: t.name.clone(),
                original: Some(r.name.clone()),
                producer: t.producer.clone().unwrap_or_else(|| r.seller_name.clone()),
                description: t.description.clone().or_else(|| r.description.clone()),
                fallback: false,
            },
            (_, None) => Words {
                original: legacy_en.as_ref().map(|_| r.name.clone()),
                fallback: legacy_en.is_none(),
                name: legacy_en.unwrap_or_else(|| r.name.clone()),
                producer: r.seller_name.clone(),
                description: r.description.clone(),
            },
        }
    }
}

/// The product page: name, photos, tags, origin and producer, and each SKU with its "add to
/// cart" form.
#[derive(Template)]
#[template(path = "catalog/product.html")]
struct ProductPage<'a> {
    lang: Lang,
    p: &'a Product,
    /// Its options with price, stock and shipping.
    skus: Vec<SkuView>,
    /// Whether any option is left to buy (else the buy bar says sold out).
    any_left: bool,
    /// The provinces to price the shipping to.
    provinces: Vec<Choice>,
    /// The address of the script that submits a choice at once.
    script: String,
    /// Its words in the page's language (or the Chinese ones, marked).
    words: &'a Words,
    photo_alt: String,
    /// The category drawing shown when there is no photo.
    drawing: String,
    /// The geographical-indication tag.
    gi: Option<String>,
    /// The other tags (poverty alleviation, certificates, cold chain), as shown.
    tags: Vec<String>,
    shelf_life: Option<String>,
    certificate: Option<String>,
    csrf: &'a str,
}

/// One option of a product as its page shows it.
struct SkuView {
    id: i64,
    spec: String,
    price: Fen,
    weight_g: i64,
    /// Nothing left to sell: shown, not buyable.
    sold_out: bool,
    /// The option chosen when the page opens: the first one left.
    checked: bool,
    /// "仅剩 3 件" when few are left, "已售完" when none.
    stock: Option<String>,
    /// The shipping of one unit to the chosen province, when one is chosen.
    shipping: Option<String>,
}

/// Fewer than this many left and the storefront says how many ("仅剩 3 件").
pub const FEW_LEFT: i64 = 10;

/// What a product list or page says of `n` units left: sold out, only n left, or nothing
/// when there are plenty.
pub fn stock_note(lang: Lang, n: i64) -> Option<String> {
    if n <= 0 {
        Some(lang.t("stock-sold-out"))
    } else if n < FEW_LEFT {
        Some(lang.ta("stock-left", &[("n", n.into())]))
    } else {
        None
    }
}

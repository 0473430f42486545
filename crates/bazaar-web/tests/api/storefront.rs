use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::Value;

fn names(v: &serde_json::Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn search_finds_honey_by_chinese_pinyin_and_initials() {
    let t = TestApp::spawn().await;
    for q in ["%E8%9C%82%E8%9C%9C", "fengmi", "fm"] {
        let (s, v) = t
            .call(Method::GET, &format!("/api/v1/products?q={q}"), None, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        let n = names(&v);
        assert!(n.iter().any(|x| x == "阿西木土蜂蜜"), "{q}: {n:?}");
        assert!(n.iter().any(|x| x.contains("罗布麻蜂蜜")), "{q}: {n:?}");
        assert_eq!(v["relaxed"], false);
    }
    // A typo gives suggestions rather than nothing.
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?q=fengmu", None, None)
        .await;
    assert_eq!(v["relaxed"], true);
    assert!(!v["suggestions"].as_array().expect("suggestions").is_empty());
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let t = TestApp::spawn().await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?county=513325", None, None)
        .await;
    let n = names(&v);
    assert!(n.iter().any(|x| x == "雅江松茸"), "{n:?}");
    for p in v["items"].as_array().expect("items") {
        assert_eq!(p["county_code"], "513325");
        assert!(p["skus"][0]["price_fen"].as_i64().expect("price") > 0);
    }
    let (_, p1) = t
        .call(Method::GET, "/api/v1/products?limit=10", None, None)
        .await;
    assert_eq!(p1["items"].as_array().expect("items").len(), 10);
    let c = p1["next_cursor"].as_str().expect("cursor");
    let (_, p2) = t
        .call(
            Method::GET,
            &format!("/api/v1/products?limit=10&cursor={c}"),
            None,
            None,
        )
        .await;
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    let (_, all) = t
        .call(Method::GET, "/api/v1/products?limit=100", None, None)
        .await;
    assert!(all["items"].as_array().expect("items").len() >= 40);
}

#[tokio::test]
async fn bad_query_strings_are_400_with_the_field() {
    let t = TestApp::spawn().await;
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=zzz", "cursor"),
        ("category=sweets", "category"),
        ("poverty=maybe", "poverty"),
    ] {
        let (s, v) = t
            .call(Method::GET, &format!("/api/v1/products?{q}"), None, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(v["error"]["code"], "invalid_input");
        assert_eq!(v["error"]["field"], field);
        assert!(v["error"]["message"].as_str().is_some());
    }
    let (s, v) = t
        .call(Method::GET, "/api/v1/products/99999999", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
    let (s, _) = t
        .call(Method::GET, "/api/v1/products/abc", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_render_light_and_in_english() {
    let t = TestApp::spawn().await;
    let (s, home) = t.raw(Method::GET, "/", None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let home = String::from_utf8(home).expect("utf8");
    assert!(home.contains("地方馆") && home.contains("博湖县"));
    let id = t.product_id("阿西木土蜂蜜").await;
    let (s, page) = t
        .raw(Method::GET, &format!("/products/{id}"), None, None, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.len() < 100 * 1024,
        "product page is {} bytes",
        page.len()
    );
    let page = String::from_utf8(page).expect("utf8");
    assert!(page.contains("阿西木土蜂蜜") && page.contains("产地"));
    let (_, en) = t
        .raw(
            Method::GET,
            &format!("/products/{id}?lang=en"),
            None,
            None,
            &[],
        )
        .await;
    assert!(String::from_utf8(en).expect("utf8").contains("Origin"));
    let (_, en) = t
        .raw(
            Method::GET,
            &format!("/products/{id}"),
            None,
            None,
            &[("accept-language", "en-US,en")],
        )
        .await;
    assert!(String::from_utf8(en).expect("utf8").contains("Producer"));
    let (s, search) = t
        .raw(Method::GET, "/search?q=fengmi", None, None, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        String::from_utf8(search)
            .expect("utf8")
            .contains("阿西木土蜂蜜")
    );
    let (s, _) = t
        .raw(Method::GET, "/products/424242", None, None, &[])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.raw(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let t = TestApp::spawn().await;
    t.call(Method::GET, "/api/v1/products?limit=1", None, None)
        .await;
    t.call(Method::GET, "/api/v1/products?limit=0", None, None)
        .await;
    // The counters are an admin's (a scraper gets an admin token): not public.
    let (s, _) = t.raw(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .raw(Method::GET, "/metrics", Some(&buyer), None, &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = t.login("admin").await;
    let (s, body) = t
        .raw(Method::GET, "/metrics", Some(&admin), None, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body).expect("utf8");
    assert!(
        text.contains(
            "bazaar_http_requests_total{method=\"GET\",route=\"/api/v1/products\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("route=\"/api/v1/products\",status=\"400\"} 1"));
    assert!(
        text.contains("bazaar_http_request_duration_seconds_count{route=\"/api/v1/products\"} 2")
    );
    let (_, h, _) = t.form(Method::GET, "/healthz", "", None).await;
    assert_eq!(h.get("x-request-id").map(|v| v.len()), Some(16));
}

#[tokio::test]
async fn search_page_filters_by_county_and_category() {
    let t = TestApp::spawn().await;
    let (s, page) = t
        .raw(
            Method::GET,
            "/search?q=%E8%9C%82%E8%9C%9C&county=653122",
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).expect("utf8");
    assert!(page.contains("阿西木土蜂蜜"));
    assert!(!page.contains(">罗布麻蜂蜜<"), "filtered out by county");
    assert!(page.contains("value=\"653122\" selected"));
    let (_, page) = t
        .raw(
            Method::GET,
            "/search?q=%E8%9C%82%E8%9C%9C&category=fungi",
            None,
            None,
            &[],
        )
        .await;
    assert!(
        !String::from_utf8(page)
            .expect("utf8")
            .contains(">阿西木土蜂蜜<")
    );
}

#[tokio::test]
async fn every_error_speaks_the_callers_language() {
    let t = TestApp::spawn().await;
    for (uri, lang, msg) in [
        ("/api/v1/products/999999", "en", "Not found"),
        ("/api/v1/products/999999", "zh-CN", "未找到"),
        ("/api/v1/no-such-route", "en", "Not found"),
        ("/api/v1/products/999999?lang=ug", "en", "تېپىلمىدى"),
    ] {
        let (s, body) = t
            .raw(Method::GET, uri, None, None, &[("accept-language", lang)])
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["message"], msg, "{uri} {lang}");
        assert_eq!(v["error"]["code"], "not_found");
    }
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Any query string on the listing and search endpoints: an answer or a 4xx naming the
/// field, never a 500.
#[test]
fn arbitrary_query_strings_never_cause_a_server_error() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = rt.block_on(TestApp::spawn());
    let keys = prop::sample::select(vec![
        "q", "county", "category", "gi_brand", "poverty", "status", "cursor", "limit", "lang",
        "region", "kind", "parent",
    ]);
    let paths = prop::sample::select(vec![
        "/api/v1/products",
        "/api/v1/nodes",
        "/api/v1/regions",
        "/search",
        "/",
    ]);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(paths, prop::collection::vec((keys, "\\PC{0,12}"), 0..4)),
            |(path, params)| {
                let q: Vec<String> = params
                    .iter()
                    .map(|(k, v)| format!("{k}={}", pct(v)))
                    .collect();
                let uri = format!("{path}?{}", q.join("&"));
                let (s, body) = rt.block_on(t.raw(Method::GET, &uri, None, None, &[]));
                prop_assert!(s.as_u16() < 500, "{uri} → {s}");
                if s.is_client_error() && path.starts_with("/api") {
                    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON error");
                    prop_assert!(v["error"]["code"].is_string());
                }
                Ok(())
            },
        )
        .expect("no server error");
}

#[tokio::test]
async fn an_unknown_page_is_a_page_for_a_browser_and_json_for_a_program() {
    let t = TestApp::spawn().await;
    let browser = [("accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
    let (s, body) = t
        .raw(Method::GET, "/no/such/page?lang=ug", None, None, &browser)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let html = String::from_utf8(body).expect("utf-8");
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("dir=\"rtl\""), "{html}");
    assert!(html.contains("بۇنداق بەت يوق"), "{html}");
    assert!(html.contains("rel=\"icon\"") && html.contains("name=\"description\""));
    // A program (no HTML asked for), and anything under /api, gets the JSON error.
    let (s, body) = t.raw(Method::GET, "/no/such/page", None, None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["error"]["code"], "not_found");
    let (s, body) = t
        .raw(Method::GET, "/api/v1/nothing", None, None, &browser)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(serde_json::from_slice::<Value>(&body).is_ok());
}

#[tokio::test]
async fn the_demo_s_day_under_way_fills_every_first_screen() {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    let d = bazaar_web::demo::load_activity(&t.state)
        .await
        .expect("demo activity");
    assert_eq!((d.orders, d.parcels, d.translations), (3, 6, 8));
    // A Uyghur reader finds the honey by its Uyghur name, or the start of a word of it.
    for q in ["%DA%BE%DB%95%D8%B3%D9%89%D9%84%D9%89", "%DA%BE%DB%95%D8%B3"] {
        let (s, _, page) = t
            .form(Method::GET, &format!("/search?q={q}&lang=ug"), "", None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("ئاسىمنىڭ يەرلىك ھەسىلى"), "{q}: {page}");
    }
    let buyer = Browser::sign_in(&t, "buyer").await;
    for (tab, n) in [("to_pay", 1), ("to_ship", 1), ("to_receive", 1)] {
        let (_, page) = buyer.get(&format!("/orders?tab={tab}")).await;
        assert_eq!(page.matches("href=\"/orders/").count(), n, "{tab}: {page}");
    }
    // The shipped one says where it is, its time read left to right in any language.
    let (_, page) = buyer.get("/orders?tab=to_receive&lang=ug").await;
    assert!(page.contains("class=\"track\"><bdi dir=\"ltr\">"), "{page}");
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (_, page) = seller.get("/manage/orders?lang=zh-CN").await;
    assert!(page.contains("阿西木土蜂蜜"), "{page}");
    // A municipality is named once in the address.
    assert!(
        page.contains("北京市 朝阳区") && !page.contains("北京市 北京市"),
        "{page}"
    );
    let agent = Browser::sign_in(&t, "agent-harengen").await;
    let (_, page) = agent.get("/manage/shelf").await;
    assert!(
        page.contains("YT4100000000001") && page.contains("YT4100000000002"),
        "{page}"
    );
    // The centre has today's parcels to plan a run with.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (s, loc, body) = op
        .post("/manage/runs", &[("depot_node", "DC-652829")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let w = bazaar_web::jobs::Worker::new(
        t.state.store.clone(),
        std::sync::Arc::new(bazaar_web::notify::LogNotifier),
    )
    .with_planning(t.state.planning());
    while w.run_one().await.expect("worker") {}
    let (_, h, _) = op.get_with_headers(&loc).await;
    let run = h
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (_, page) = op.get(&run).await;
    assert!(page.contains("塔温觉肯村"), "{run}: {page}");
    // And a parcel stalled for two and a half days, on the operator's stalled list.
    let (_, page) = op.get("/manage/stalled").await;
    assert!(page.contains("YT4100000000005"), "{page}");
}

#[tokio::test]
async fn pages_and_assets_are_gzipped_for_a_browser_that_takes_it_and_photos_are_not() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let t = TestApp::spawn().await;
    let (_, plain) = t.raw(Method::GET, "/", None, None, &[]).await;
    let css = {
        let page = String::from_utf8_lossy(&plain).to_string();
        page.split("href=\"/assets/app.")
            .nth(1)
            .and_then(|x| x.split('"').next())
            .map(|x| format!("/assets/app.{x}"))
            .expect("style sheet")
    };
    for (uri, plain_len) in [("/", Some(plain.len())), (css.as_str(), None)] {
        let req = axum::http::Request::builder()
            .uri(uri)
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .expect("request");
        let res = t.app.clone().oneshot(req).await.expect("response");
        assert_eq!(
            res.headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "{uri}"
        );
        let body = res.into_body().collect().await.expect("body").to_bytes();
        assert!(body.starts_with(&[0x1f, 0x8b]), "{uri}");
        if let Some(n) = plain_len {
            assert!(body.len() * 2 < n, "{uri}: {} of {n}", body.len());
        }
    }
    // Without the header, as before.
    let req = axum::http::Request::builder()
        .uri("/")
        .body(Body::empty())
        .expect("request");
    let res = t.app.clone().oneshot(req).await.expect("response");
    assert!(res.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn the_language_switch_keeps_the_search() {
    let t = TestApp::spawn().await;
    let (_, _, page) = t
        .form(
            Method::GET,
            "/search?q=%E8%9C%82%E8%9C%9C&county=653122&lang=zh-CN",
            "",
            None,
        )
        .await;
    assert!(
        page.contains("href=\"?q=%E8%9C%82%E8%9C%9C&#38;county=653122&#38;lang=ug\""),
        "{page}"
    );
}

#[tokio::test]
async fn tibetan_pages_bring_their_font_and_others_draw_the_word() {
    let t = TestApp::spawn().await;
    let (s, _, page) = t.form(Method::GET, "/?lang=bo", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let font = page
        .split("src:url(")
        .nth(1)
        .and_then(|x| x.split(')').next())
        .unwrap_or_else(|| panic!("no font on a Tibetan page: {page}"))
        .to_string();
    assert!(
        font.starts_with("/assets/noto-serif-tibetan.")
            && page.contains("unicode-range:U+0F00-0FFF"),
        "{font}"
    );
    let (s, h, body) = t.form(Method::GET, &font, "", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.get("content-type").and_then(|v| v.to_str().ok()),
        Some("font/woff2")
    );
    assert!(body.len() > 10_000);
    // Other pages fetch no font: their language switch draws བོད་ཡིག.
    let (_, _, page) = t.form(Method::GET, "/?lang=zh-CN", "", None).await;
    assert!(!page.contains("noto-serif-tibetan"), "{page}");
    assert!(
        page.contains("class=\"bo-label\"") && page.contains("alt=\"བོད་ཡིག\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_seller_gives_a_product_its_words_in_uyghur_and_pages_in_other_languages_say_what_is_missing()
 {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (_, page) = seller.get(&format!("/manage/products/{id}")).await;
    assert!(
        page.contains("id=\"texts-ug\"") && page.contains("id=\"texts-bo\""),
        "{page}"
    );
    let spec_field = format!("spec-{sku}");
    let ug = [
        ("lang", "ug"),
        ("name", "ئاسىمنىڭ تۇپراق ھەسىلى"),
        ("producer", "ئاسىم"),
        (spec_field.as_str(), "500 گىرام"),
        ("description", "تەڭرىتاغ ئېتىكىدىكى گۈللەردىن"),
    ];
    let (s, loc, body) = seller
        .post(&format!("/manage/products/{id}/texts"), &ug)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert!(loc.ends_with("#texts"), "{loc}");
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}?lang=ug"), "", None)
        .await;
    assert!(
        page.contains("<h1>ئاسىمنىڭ تۇپراق ھەسىلى</h1>")
            && page.contains("<i lang=\"zh-CN\">阿西木土蜂蜜</i>")
            && page.contains("500 گىرام")
            && page.contains("<bdi>ئاسىم</bdi>")
            && page.contains("تەڭرىتاغ"),
        "{page}"
    );
    // The list's card reads it too; the Chinese page is as it was.
    let (_, _, page) = t
        .form(
            Method::GET,
            "/search?q=%E9%98%BF%E8%A5%BF%E6%9C%A8&lang=ug",
            "",
            None,
        )
        .await;
    assert!(page.contains("ئاسىمنىڭ تۇپراق ھەسىلى"), "{page}");
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}?lang=zh-CN"), "", None)
        .await;
    assert!(page.contains("<h1>阿西木土蜂蜜</h1>"), "{page}");
    // Tibetan has none yet: the Chinese, marked as such.
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}?lang=bo"), "", None)
        .await;
    assert!(
        page.contains("<h1 lang=\"zh-CN\">阿西木土蜂蜜</h1>") && page.contains("ད་དུང་ཡིག་སྒྱུར་མེད"),
        "{page}"
    );
    // Refused, naming the field: a name too long, a language not offered.
    let long = "ھ".repeat(121);
    let (s, _, page) = seller
        .post(
            &format!("/manage/products/{id}/texts"),
            &[("lang", "ug"), ("name", &long)],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("role=\"alert\"") && page.contains("名称"),
        "{page}"
    );
    let (s, _, _) = seller
        .post(
            &format!("/manage/products/{id}/texts"),
            &[("lang", "fr"), ("name", "Miel")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A name that would read backwards (a bidi override) is refused like in any field.
    let (s, _, page) = seller
        .post(
            &format!("/manage/products/{id}/texts"),
            &[("lang", "ug"), ("name", "ھەسەل\u{202E}lasah")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    // Another county's operator may not touch it.
    let other = Browser::sign_in(&t, "op-litang").await;
    let (s, _, _) = other
        .post(
            &format!("/manage/products/{id}/texts"),
            &[("lang", "ug"), ("name", "x")],
        )
        .await;
    assert!(s.is_client_error(), "{s}");
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}?lang=ug"), "", None)
        .await;
    assert!(page.contains("ئاسىمنىڭ تۇپراق ھەسىلى"), "unchanged: {page}");
    // All empty removes it: the Chinese again, marked.
    let (s, _, _) = seller
        .post(
            &format!("/manage/products/{id}/texts"),
            &[("lang", "ug"), ("name", "")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}?lang=ug"), "", None)
        .await;
    assert!(
        page.contains("<h1 lang=\"zh-CN\">阿西木土蜂蜜</h1>"),
        "{page}"
    );
}

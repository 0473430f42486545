//! The buyer's pages: cart, checkout, sandbox payment, my orders.

use crate::TestApp;
use crate::backoffice::Browser;
use axum::http::{Method, StatusCode};

fn cookie_from(h: &axum::http::HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn a_buyer_fills_the_cart_checks_out_and_pays_in_the_sandbox() {
    let t = TestApp::spawn().await;
    let b = Browser::sign_in(&t, "buyer").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let (s, page) = b.get(&format!("/products/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("id=\"sku-{sku}\" checked")),
        "{page}"
    );

    // Add twice: quantities add up. A bad quantity is named.
    let form = |q: &str| format!("csrf={}&action=add&sku_id={sku}&quantity={q}", b.csrf);
    let (s, h, _) = t
        .form(Method::POST, "/cart", &form("x"), Some(&b.cookies))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, h2, _) = t
        .form(Method::POST, "/cart", &form("1"), Some(&b.cookies))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{h:?}");
    let cart = cookie_from(&h2, "bz_cart").expect("cart cookie");
    let cookies = format!("{}; {cart}", b.cookies);
    let (_, h3, _) = t
        .form(Method::POST, "/cart", &form("1"), Some(&cookies))
        .await;
    let cart = cookie_from(&h3, "bz_cart").expect("cart cookie");
    let cookies = format!("{}; {cart}", b.cookies);
    let (s, _, page) = t.form(Method::GET, "/cart", "", Some(&cookies)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("阿西木土蜂蜜") && page.contains("value=\"2\""),
        "{page}"
    );

    // Checkout: the demo buyer's Beijing address, the sandbox labelled as such.
    let (s, _, page) = t.form(Method::GET, "/checkout", "", Some(&cookies)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("沙箱支付（演示，不扣款）"), "{page}");
    assert!(page.contains("138****8000") && !page.contains("13800138000"));
    // The total with shipping is there before placing, and the order charges exactly that.
    let quoted = page
        .split("合计 ")
        .nth(1)
        .and_then(|x| x.split('<').next())
        .expect("the total with shipping before placing")
        .to_string();
    let address = page
        .split("name=\"address_id\"")
        .nth(1)
        .and_then(|x| x.split("value=\"").nth(1))
        .and_then(|x| x.split('"').next())
        .expect("address option")
        .to_string();
    let key = page
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("key")
        .to_string();
    let (s, h, _) = t
        .form(
            Method::POST,
            "/checkout",
            &format!(
                "csrf={}&key={key}&address_id={address}&method=sandbox",
                b.csrf
            ),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let pay_url = h
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();
    assert!(pay_url.starts_with("/pay/sandbox/"), "{pay_url}");
    assert!(
        h.get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("bz_cart=;")),
        "the cart is emptied"
    );
    // The same checkout form sent twice places one order.
    let (s, _, _) = t
        .form(
            Method::POST,
            "/checkout",
            &format!(
                "csrf={}&key={key}&address_id={address}&method=sandbox",
                b.csrf
            ),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let token = t.login("buyer").await;
    let (_, mine) = t
        .call(Method::GET, "/api/v1/orders", Some(&token), None)
        .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let total = mine["items"][0]["total_fen"].as_i64().expect("total");
    assert_eq!(quoted, bazaar_domain::money::Fen(total).to_string());
    assert!(mine["items"][0]["shipping_fen"].as_i64() > Some(0));

    let (s, page) = b.get(&pay_url).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("沙箱支付提供方"), "{page}");
    let (s, loc, _) = b.post(&pay_url, &[("outcome", "succeeded")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, page) = b.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("已付款"), "{page}");
    let (_, page) = b.get("/orders").await;
    assert!(page.contains("已付款"));
    // In tabs by state: paid is 待发货, with the count on the tab, the line's name and its
    // picture; nothing under 待付款.
    let (_, page) = b.get("/orders?tab=to_ship").await;
    assert!(
        page.contains("aria-current=\"page\">待发货 1</a>") && page.contains("阿西木土蜂蜜"),
        "{page}"
    );
    assert!(page.contains("cats.") || page.contains(".t.jpg"), "{page}");
    let (_, page) = b.get("/orders?tab=to_pay").await;
    assert!(!page.contains("阿西木土蜂蜜"), "{page}");
    let (s, page) = b.get("/orders?tab=nonsense&before=x").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("阿西木土蜂蜜"),
        "an unknown tab is all orders: {page}"
    );
    // Another buyer cannot open the payment page.
    let other = Browser::sign_in(&t, "seller-asim").await;
    let (s, _) = other.get(&pay_url).await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "{s}"
    );

    // After-sales from the pages: the buyer asks, the seller approves.
    let (_, page) = b.get(&loc).await;
    assert!(page.contains("申请退款"), "{page}");
    // (A multipart form, as the browser sends it with no photo chosen.)
    let (s, _, page) = b
        .multipart(
            &format!("{loc}/refund"),
            &[("reason", "收到时瓶盖漏了")],
            ("photos", "", Vec::new()),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, page) = other.get("/manage/refunds").await;
    assert!(page.contains("收到时瓶盖漏了"), "{page}");
    let decision = page
        .split("action=\"/manage/refunds/")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("decision form")
        .to_string();
    let (s, _, _) = other
        .post(
            &format!("/manage/refunds/{decision}"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = b.get(&loc).await;
    assert!(page.contains("已退款"), "{page}");
}

#[tokio::test]
async fn checkout_needs_a_signed_in_buyer() {
    let t = TestApp::spawn().await;
    let (s, h, _) = t.form(Method::GET, "/checkout", "", None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        h.get("location").and_then(|v| v.to_str().ok()),
        Some("/login?next=%2Fcheckout")
    );
    let (s, _, page) = t
        .form(Method::GET, "/login?next=%2Fcheckout", "", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("name=\"next\" value=\"/checkout\""));
    // Only local paths are followed after signing in.
    let (_, _, page) = t
        .form(
            Method::GET,
            "/login?next=https%3A%2F%2Fevil.example",
            "",
            None,
        )
        .await;
    assert!(!page.contains("evil.example"));
}

#[tokio::test]
async fn the_station_screen_orders_for_a_villager_and_confirms_cash() {
    let t = TestApp::spawn().await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let qty = format!("qty-{sku}");
    let agent = Browser::sign_in(&t, "agent-harengen").await;
    let (s, page) = agent.get("/manage/station").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("搜索商品") && !page.contains("P-0"), "{page}");
    // By name: the search lists the options with a quantity field; no code to know.
    let (s, _, page) = agent
        .post("/manage/station", &[("step", "search"), ("q", "蜂蜜")])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("阿西木土蜂蜜") && page.contains(&format!("name=\"{qty}\"")),
        "{page}"
    );
    let (s, _, page) = agent
        .post(
            "/manage/station",
            &[("step", "search"), ("q", "没有这种东西")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("没有找到这个商品"), "{page}");
    // A bad quantity and a missing name are named; what was picked stays picked.
    let (s, _, page) = agent
        .post(
            "/manage/station",
            &[("step", "review"), ("villager_name", ""), (&qty, "x")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("数量：格式不正确"), "{page}");
    assert!(
        page.contains("已选") && page.contains("value=\"x\""),
        "{page}"
    );
    let (s, _, page) = agent
        .post("/manage/station", &[("step", "review"), (&qty, "2")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("村民姓名：必填") || page.contains("：必填"),
        "{page}"
    );
    // Checking shows goods, shipping and total; placing needs that total.
    let (s, _, page) = agent
        .post(
            "/manage/station",
            &[
                ("step", "review"),
                ("villager_name", "热依汗古丽"),
                ("villager_ref", "0427"),
                (&qty, "2"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("运费") && page.contains("= 合计"), "{page}");
    let total = page
        .split("name=\"total\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("the total to confirm")
        .to_string();
    let key = page
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("key")
        .to_string();
    // Changed after checking (three, not two): shown again to confirm, nothing placed.
    let (s, _, page) = agent
        .post(
            "/manage/station",
            &[
                ("step", "place"),
                ("villager_name", "热依汗古丽"),
                (&qty, "3"),
                ("total", &total),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("金额已变化"), "{page}");
    let (s, loc, _) = agent
        .post(
            "/manage/station",
            &[
                ("step", "place"),
                ("villager_name", "热依汗古丽"),
                ("villager_ref", "0427"),
                (&qty, "2"),
                ("total", &total),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/manage/station?placed="), "{loc}");
    let (_, page) = agent.get(&loc).await;
    assert!(page.contains("已为热依汗古丽下单"), "{page}");
    let total_shown = bazaar_domain::money::Fen(total.parse().expect("fen")).to_string();
    assert!(page.contains(&total_shown), "{page}");
    assert!(page.contains("待付款"), "{page}");
    // The same confirmation sent twice places one order.
    let (s, loc2, _) = agent
        .post(
            "/manage/station",
            &[
                ("step", "place"),
                ("villager_name", "热依汗古丽"),
                (&qty, "2"),
                ("total", &total),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!((s, loc2.as_str()), (StatusCode::SEE_OTHER, loc.as_str()));
    let confirm = page
        .split("action=\"/manage/payments/")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("confirm form")
        .to_string();
    let (s, _, _) = agent
        .post(&format!("/manage/payments/{confirm}"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = agent.get("/manage/station").await;
    assert!(page.contains("已付款"), "{page}");

    // The seller sees what goes in the parcel and where, and ships it with a waybill.
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (s, page) = seller.get("/manage/orders?status=paid").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("阿西木土蜂蜜") && page.contains("× 2"),
        "{page}"
    );
    assert!(
        page.contains("热依汗古丽") && page.contains("快递公司"),
        "{page}"
    );
    let part = page
        .split("name=\"part\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("a part to ship")
        .to_string();
    // A waybill no carrier writes so: refused by name, what was typed kept.
    let (s, _, page) = seller
        .post(
            "/manage/orders/ship",
            &[("part", &part), ("carrier", ""), ("waybill", "HELLO")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("运单号：") && page.contains("value=\"HELLO\""),
        "{page}"
    );
    // A carrier chosen without a waybill is refused too.
    let (s, _, page) = seller
        .post(
            "/manage/orders/ship",
            &[("part", &part), ("carrier", "jd"), ("waybill", "")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("运单号：必填"), "{page}");
    // The carrier recognised from a scanned J&T waybill.
    let (s, loc, _) = seller
        .post(
            "/manage/orders/ship",
            &[
                ("part", &part),
                ("carrier", ""),
                ("waybill", "jt 1234567890123"),
                ("back", "/manage/orders?status=paid"),
            ],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/manage/orders?status=paid")
    );
    let (_, page) = seller.get("/manage/orders?status=shipped").await;
    assert!(page.contains("已发货"), "{page}");
    assert!(
        page.contains("极兔速递") && page.contains("JT1234567890123"),
        "{page}"
    );
    assert!(!page.contains("(已发货)"), "{page}");
    let (s, _) = seller.get("/manage/orders?status=nonsense").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_canteen_orders_in_bulk_from_its_procurement_page() {
    let t = TestApp::spawn().await;
    let bohu = t.login("op-bohu").await;
    let id = t.product_id("沙瓤土西红柿").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let code = p["skus"][0]["code"].as_str().expect("code").to_string();
    t.call(
        Method::PUT,
        &format!("/api/v1/skus/{sku}/stock"),
        Some(&bohu),
        Some(serde_json::json!({"quantity": 200})),
    )
    .await;
    let canteen = Browser::sign_in(&t, "canteen").await;
    let (s, page) = canteen.get("/manage/procurement").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("年已采购"), "{page}");
    let lines = format!("{code} 60");
    let (s, _, page) = canteen
        .post(
            "/manage/procurement",
            &[
                ("lines", &lines),
                ("delivery_date", "2020-02-02"),
                ("invoice_title", ""),
                ("invoice_tax_id", "12652829MB1234567X"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("送达日期：不在允许的时间范围内"), "{page}");
    assert!(page.contains("发票抬头：必填"), "{page}");
    let (s, loc, _) = canteen
        .post(
            "/manage/procurement",
            &[
                ("lines", &lines),
                ("delivery_date", "2099-03-01"),
                ("invoice_title", "博湖县第一中学"),
                ("invoice_tax_id", "12652829MB1234567X"),
            ],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/manage/procurement")
    );
    // The transfer waits in the county operator's queue.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (_, page) = op.get("/manage/payments").await;
    assert!(page.contains("银行转账"), "{page}");
}

#[tokio::test]
async fn the_address_form_picks_from_the_region_tree_down_to_a_village_point() {
    let t = TestApp::spawn().await;
    let b = Browser::sign_in(&t, "buyer").await;
    let (s, page) = b.get("/checkout").await;
    // An empty cart sends the buyer back to it: fill it first.
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let (_, h, _) = t
        .form(
            Method::POST,
            "/cart",
            &format!("csrf={}&action=add&sku_id={sku}&quantity=1", b.csrf),
            Some(&b.cookies),
        )
        .await;
    let cart = cookie_from(&h, "bz_cart").expect("cart cookie");
    let cookies = format!("{}; {cart}", b.cookies);
    let get = |url: String| {
        let t = &t;
        let cookies = cookies.clone();
        async move { t.form(Method::GET, &url, "", Some(&cookies)).await }
    };
    assert!(s == StatusCode::SEE_OTHER || s == StatusCode::OK, "{page}");
    // First the provinces; then, a level at a time, down to the township, whose village
    // points are offered as delivery places.
    let (_, _, page) = get("/checkout".into()).await;
    assert!(
        page.contains("name=\"region\"") && page.contains("新疆维吾尔自治区"),
        "{page}"
    );
    let (_, _, page) = get("/checkout?region=652829".into()).await;
    assert!(page.contains("塔温觉肯乡"), "{page}");
    assert!(
        page.contains("博湖县") && page.contains("巴音郭楞蒙古自治州"),
        "the trail"
    );
    let (_, _, page) = get("/checkout?region=652829200".into()).await;
    assert!(page.contains("哈尔恩根村"), "{page}");
    assert!(
        page.contains("value=\"VP-HARENGEN\""),
        "village points of the township: {page}"
    );
    // Junk in the query is ignored, not an error.
    let (s, _, _) = get("/checkout?region=%3Cscript%3E&x".into()).await;
    assert_eq!(s, StatusCode::OK);
    // Saving with the village point as the delivery place.
    let (s, h, body) = t
        .form(
            Method::POST,
            "/addresses",
            &format!(
                "csrf={}&region_code=652829200201&node_code=VP-HARENGEN&recipient=%E5%A8%9C%E4%BB%81&phone=13900000123&detail=",
                b.csrf
            ),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{h:?} {body}");
    let token = t.login("buyer").await;
    let (_, list) = t
        .call(Method::GET, "/api/v1/addresses", Some(&token), None)
        .await;
    assert!(
        list.as_array()
            .expect("addresses")
            .iter()
            .any(|a| a["node_code"] == "VP-HARENGEN" && a["region_code"] == "652829200201"),
        "{list}"
    );
    // No region chosen: the field is named.
    let (s, _, page) = t
        .form(
            Method::POST,
            "/addresses",
            &format!("csrf={}&region_code=&recipient=x&phone=13900000123", b.csrf),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("区划编码"), "{page}");
}

#[tokio::test]
async fn stock_shows_on_the_product_page_and_a_sold_out_option_cannot_be_bought() {
    let t = TestApp::spawn().await;
    let bohu = t.login("op-bohu").await;
    let id = t.product_id("沙瓤土西红柿").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let url = format!("/api/v1/skus/{sku}/stock");
    let set = |q: i64| {
        t.call(
            Method::PUT,
            &url,
            Some(&bohu),
            Some(serde_json::json!({"quantity": q})),
        )
    };
    let (s, _) = set(3).await;
    assert_eq!(s, StatusCode::OK);
    let b = Browser::sign_in(&t, "buyer").await;
    let (_, page) = b.get(&format!("/products/{id}")).await;
    assert!(page.contains("仅剩 3 件"), "{page}");
    assert!(
        page.contains(&format!("id=\"sku-{sku}\" checked")),
        "{page}"
    );
    // The shipping of one unit to a province, chosen on the page.
    assert!(!page.contains("寄往北京市"));
    let (_, page) = b.get(&format!("/products/{id}?to=110000")).await;
    assert!(page.contains("寄往北京市：运费 ¥"), "{page}");
    // A region that is not a province, or junk, is ignored.
    let (s, page) = b.get(&format!("/products/{id}?to=x%27")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("运费 ¥"));

    // Sold out: shown, no add button, and the cart refuses it by name.
    set(0).await;
    let (_, page) = b.get(&format!("/products/{id}")).await;
    assert!(page.contains("已售完"), "{page}");
    assert!(
        page.contains(&format!("id=\"sku-{sku}\" disabled")),
        "{page}"
    );
    let (s, _, page) = b
        .post(
            "/cart",
            &[
                ("action", "add"),
                ("sku_id", &sku.to_string()),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("库存不足：沙瓤土西红柿"), "{page}");
    // Put in the cart while there was some, sold out since: checkout names it before placing,
    // and placing refuses it by name.
    let price = p["skus"][0]["price_fen"].as_i64().expect("price");
    let cookies = format!("{}; bz_cart={sku}:1:{price}", b.cookies);
    let (s, _, page) = t.form(Method::GET, "/checkout", "", Some(&cookies)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("库存不足：沙瓤土西红柿") && page.contains("已售完"),
        "{page}"
    );
    let (s, _, page) = t
        .form(
            Method::POST,
            "/checkout",
            &format!("csrf={}&key=k1&method=sandbox", b.csrf),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("库存不足：沙瓤土西红柿"), "{page}");
}

#[tokio::test]
async fn a_buyer_anywhere_in_china_gives_an_address_down_to_the_county_and_sees_the_fee() {
    let t = TestApp::spawn().await;
    let b = Browser::sign_in(&t, "buyer").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let price = p["skus"][0]["price_fen"].as_i64().expect("price");
    let cookies = format!("{}; bz_cart={sku}:1:{price}", b.cookies);
    // Every province, down to its counties, with the official codes.
    let (_, _, page) = t.form(Method::GET, "/checkout", "", Some(&cookies)).await;
    assert!(
        page.contains("浙江省") && page.contains("西藏自治区") && page.contains("黑龙江省"),
        "{page}"
    );
    let (_, _, page) = t
        .form(Method::GET, "/checkout?region=330100", "", Some(&cookies))
        .await;
    assert!(page.contains("西湖区") && page.contains("杭州市"), "{page}");
    // A province alone is not an address.
    let (s, _, page) = t
        .form(
            Method::POST,
            "/addresses",
            &format!(
                "csrf={}&region_code=330000&recipient=%E5%BC%A0%E4%B8%89&phone=13812345678&detail=%E6%96%87%E4%B8%89%E8%B7%AF1%E5%8F%B7",
                b.csrf
            ),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("请至少选到区县一级"), "{page}");
    // Nor is a city with counties; a city without counties (东莞) is its own county.
    for (code, want) in [
        ("440300", StatusCode::BAD_REQUEST),
        ("441900", StatusCode::SEE_OTHER),
    ] {
        let (s, _, page) = t
            .form(
                Method::POST,
                "/addresses",
                &format!(
                    "csrf={}&region_code={code}&recipient=%E5%BC%A0%E4%B8%89&phone=13812345678&detail=%E4%B8%9C%E5%9F%8E%E8%B7%AF1%E5%8F%B7",
                    b.csrf
                ),
                Some(&cookies),
            )
            .await;
        assert_eq!(s, want, "{code}: {page}");
    }
    let (s, _, _) = t
        .form(
            Method::POST,
            "/addresses",
            &format!(
                "csrf={}&region_code=330106&recipient=%E5%BC%A0%E4%B8%89&phone=13812345678&detail=%E6%96%87%E4%B8%89%E8%B7%AF1%E5%8F%B7",
                b.csrf
            ),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // The new address comes first (the default), with the order's cost sent there.
    let (_, _, page) = t.form(Method::GET, "/checkout", "", Some(&cookies)).await;
    let card = page
        .split("西湖区")
        .nth(1)
        .and_then(|x| x.split("</label>").next())
        .expect("the Hangzhou address");
    assert!(card.contains("运费 ¥") && card.contains("合计 ¥"), "{card}");
}

#[tokio::test]
async fn a_pasted_address_fills_the_form_down_to_the_county() {
    let t = TestApp::spawn().await;
    let mut b = Browser::sign_in(&t, "buyer").await;
    // Something in the cart (checkout without one goes back to the cart).
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let price = p["skus"][0]["price_fen"].as_i64().expect("price");
    b.cookies = format!("{}; bz_cart={sku}:1:{price}", b.cookies);
    for (pasted, name, phone, region, detail) in [
        (
            "张三 13812345678 浙江省杭州市西湖区文三路 90 号",
            "张三",
            "13812345678",
            "330106",
            "文三路 90 号",
        ),
        // Labels, full-width punctuation, a dashed number, the province left out.
        (
            "收货人：李四，电话：139-1234-5678，地址：杭州市西湖区文三路1号",
            "李四",
            "13912345678",
            "330106",
            "文三路1号",
        ),
        // A municipality: its one prefecture goes without saying.
        (
            "王五 +86 13700001111 北京市朝阳区建国路88号",
            "王五",
            "13700001111",
            "110105",
            "建国路88号",
        ),
        // The name last, a prefecture's short name, a township in the rest.
        (
            "新疆巴音郭楞博湖县本布图镇团结路5号 娜仁 13912345678",
            "娜仁",
            "13912345678",
            "652829",
            "本布图镇团结路5号",
        ),
    ] {
        let (s, _, page) = b
            .post("/addresses", &[("step", "paste"), ("pasted", pasted)])
            .await;
        assert_eq!(s, StatusCode::OK, "{pasted}: {page}");
        for want in [
            format!("name=\"recipient\" value=\"{name}\""),
            format!("name=\"phone\" value=\"{phone}\""),
            format!("name=\"region_code\" value=\"{region}\""),
            format!("name=\"detail\" value=\"{detail}\""),
        ] {
            assert!(page.contains(&want), "{pasted}: {want} in {page}");
        }
    }
    // Nothing recognisable: said, the form empty.
    let (s, _, page) = b
        .post("/addresses", &[("step", "paste"), ("pasted", "你好")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("没有认出手机号或地区"), "{page}");
    // A paste never saves by itself: the buyer has no address until they save one.
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/addresses",
            Some(&t.login("buyer").await),
            None,
        )
        .await;
    assert!(
        !v.to_string().contains("文三路"),
        "nothing saved from a paste: {v}"
    );
    // A paste far too long is read up to its limit, not refused with a 500.
    let long = "浙江省".repeat(2000);
    let (s, _, _) = b
        .post("/addresses", &[("step", "paste"), ("pasted", &long)])
        .await;
    assert!(s.is_success() || s.is_client_error(), "{s}");
}

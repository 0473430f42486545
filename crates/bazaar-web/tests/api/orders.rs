//! Orders: reservation, idempotency, payment, cancellation, expiry, and no overselling under
//! concurrency.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// (SKU id, unit price) of the first SKU of a product.
pub(crate) async fn sku_of(t: &TestApp, name: &str) -> (i64, i64) {
    let id = t.product_id(name).await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    (
        p["skus"][0]["id"].as_i64().expect("sku"),
        p["skus"][0]["price_fen"].as_i64().expect("price"),
    )
}

pub(crate) async fn set_stock(t: &TestApp, token: &str, sku: i64, n: i64) {
    let (s, v) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(token),
            Some(json!({"quantity": n})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["available"], n);
}

async fn order_with_key(
    t: &TestApp,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut headers = vec![];
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    let (s, b) = t
        .raw(
            Method::POST,
            "/api/v1/orders",
            Some(token),
            Some(body),
            &headers,
        )
        .await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

pub(crate) async fn stock_of(t: &TestApp, token: &str, sku: i64) -> Value {
    let (s, v) = t
        .call(
            Method::GET,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

pub(crate) async fn pay_with_sandbox(t: &TestApp, token: &str, order: i64) -> (String, Value) {
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{order}/payments"),
            Some(token),
            Some(json!({"method": "sandbox"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["sandbox"], true);
    let payment = v["payment"].clone();
    let body = json!({
        "id": format!("n-{}", payment["id"]),
        "provider_ref": payment["provider_ref"],
        "amount_fen": payment["amount_fen"],
        "outcome": "succeeded",
    })
    .to_string();
    let secret = t.state.store.sandbox_secret().await.expect("sandbox");
    let sig = bazaar_integrations::payment::Sandbox::new(secret).sign(body.as_bytes());
    (body, json!({"sig": sig}))
}

pub(crate) async fn notify(t: &TestApp, body: &str, sig: &str) -> (StatusCode, Value) {
    let (s, _, b) = t
        .send_bytes(
            "/api/v1/payments/sandbox/notifications",
            None,
            "application/json",
            body.as_bytes().to_vec(),
            &[("x-sandbox-signature", sig)],
        )
        .await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_order_reserves_then_payment_sells_exactly_once() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let (sku, price) = sku_of(&t, "阿西木土蜂蜜").await;
    set_stock(&t, &asim, sku, 5).await;

    let body = json!({"items": [{"sku_id": sku, "quantity": 2}]});
    let (s, o) = order_with_key(&t, &buyer, Some("k-1"), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["status"], "pending_payment");
    // The answer (built from the rows written) is exactly what reading the order gives.
    let (_, read) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{}", o["id"]),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o, read);
    assert_eq!(o["items_fen"], price * 2);
    assert!(o["shipping_fen"].as_i64().expect("shipping") > 0);
    assert_eq!(
        o["total_fen"].as_i64(),
        Some(price * 2 + o["shipping_fen"].as_i64().unwrap_or(0))
    );
    // The line keeps its producer and village.
    assert_eq!(o["lines"][0]["seller_kind"], "household");
    assert!(
        o["lines"][0]["village_code"]
            .as_str()
            .is_some_and(|v| v.len() == 12)
    );
    let id = o["id"].as_i64().expect("id");
    let st = stock_of(&t, &asim, sku).await;
    assert_eq!(
        (
            st["levels"][0]["on_hand"].as_i64(),
            st["levels"][0]["reserved"].as_i64()
        ),
        (Some(5), Some(2))
    );

    // The same key: the same order, nothing more reserved.
    let (s, again) = order_with_key(&t, &buyer, Some("k-1"), body).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again["id"], id);
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["reserved"], 2);

    // Pay with the sandbox: a forged notification is refused; the signed one pays once.
    let (body, sig) = pay_with_sandbox(&t, &buyer, id).await;
    let sig = sig["sig"].as_str().expect("sig").to_string();
    let (s, _) = notify(&t, &body, "deadbeef").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = notify(&t, &body, &sig).await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("paid")));
    let (s, v) = notify(&t, &body, &sig).await;
    assert_eq!(
        (s, v["result"].as_str()),
        (StatusCode::OK, Some("repeated"))
    );
    let st = stock_of(&t, &asim, sku).await;
    assert_eq!(
        (
            st["levels"][0]["on_hand"].as_i64(),
            st["levels"][0]["reserved"].as_i64()
        ),
        (Some(3), Some(0))
    );
    let kinds: Vec<&str> = st["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(kinds[..3], ["sale", "reservation", "adjustment"]);

    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "paid");
    let events: Vec<&str> = o["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["to_status"].as_str())
        .collect();
    assert_eq!(events, ["pending_payment", "paid"]);
    // A paid order cannot be cancelled; strangers cannot see it.
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let litang = t.login("op-litang").await;
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&litang),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The seller sees it; the buyer's list has it.
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&asim),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, mine) = t
        .call(Method::GET, "/api/v1/orders", Some(&buyer), None)
        .await;
    assert_eq!(mine["items"][0]["id"], id);
}

#[tokio::test]
async fn refused_orders_name_the_problem_and_reserve_nothing() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let (sku, price) = sku_of(&t, "阿西木土蜂蜜").await;
    set_stock(&t, &asim, sku, 3).await;

    let (s, v) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 0}, {"sku_id": 99999999, "quantity": 1}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["items[0].quantity"]);
    let (s, v) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": 99999999, "quantity": 1}]}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("items[0].sku_id"))
    );
    let (s, v) = order_with_key(&t, &buyer, None, json!({"items": []})).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("items"))
    );

    let (s, v) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 4}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "out_of_stock");
    assert_eq!(v["error"]["details"][0]["sku_id"], sku);
    let (s, v) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 1, "expected_price_fen": price - 100}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "price_changed");
    assert_eq!(v["error"]["details"][0]["price_fen"], price);
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["reserved"], 0);

    // Cancel releases; cancelling twice is refused.
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 3}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().expect("id");
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["available"], 0);
    let url = format!("/api/v1/orders/{id}/cancel");
    let (s, o) = t
        .call(
            Method::POST,
            &url,
            Some(&buyer),
            Some(json!({"reason": "买错了"})),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["available"], 3);
    let (s, _) = t.call(Method::POST, &url, Some(&buyer), None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Unpaid orders expire after the payment window and give their stock back.
    let (_, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 2}]}),
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    let later = bazaar_domain::time::now_ms() + 31 * 60 * 1000;
    assert_eq!(t.state.store.expire_unpaid(later).await.expect("expire"), 1);
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["available"], 3);
    // A seller cannot set another seller's stock.
    let (other, _) = sku_of(&t, "罗布麻蜂蜜").await;
    let (s, _) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{other}/stock"),
            Some(&asim),
            Some(json!({"quantity": 1})),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_orders_for_fifty_units_sell_exactly_fifty() {
    let t = std::sync::Arc::new(TestApp::spawn().await);
    let asim = t.login("seller-asim").await;
    // Ten buyers (one buyer may hold at most half a SKU's stock unpaid).
    let buyers = t.buyers(10).await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    set_stock(&t, &asim, sku, 50).await;
    let mut tasks = vec![];
    for i in 0..200 {
        let t = t.clone();
        let buyer = buyers[i % buyers.len()].clone();
        tasks.push(tokio::spawn(async move {
            order_with_key(
                &t,
                &buyer,
                None,
                json!({"items": [{"sku_id": sku, "quantity": 1}]}),
            )
            .await
        }));
    }
    let (mut ok, mut sold_out) = (0, 0);
    for task in tasks {
        let (s, v) = task.await.expect("task");
        match s {
            StatusCode::CREATED => ok += 1,
            StatusCode::CONFLICT if v["error"]["code"] == "out_of_stock" => sold_out += 1,
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((ok, sold_out), (50, 150));
    let st = stock_of(&t, &asim, sku).await;
    assert_eq!(
        (
            st["levels"][0]["on_hand"].as_i64(),
            st["levels"][0]["reserved"].as_i64()
        ),
        (Some(50), Some(50))
    );

    // Several SKUs in one order: all lines or none. A has 30, B plenty.
    let (a, _) = sku_of(&t, "罗布麻蜂蜜").await;
    let (b, _) = sku_of(&t, "雅江松茸").await;
    let admin = t.login("admin").await;
    set_stock(&t, &admin, a, 30).await;
    set_stock(&t, &admin, b, 1000).await;
    let mut tasks = vec![];
    for i in 0..80 {
        let t = t.clone();
        let buyer = buyers[i % buyers.len()].clone();
        // Half the orders list the SKUs the other way round.
        let items = if i % 2 == 0 {
            json!([{"sku_id": a, "quantity": 1}, {"sku_id": b, "quantity": 1}])
        } else {
            json!([{"sku_id": b, "quantity": 1}, {"sku_id": a, "quantity": 1}])
        };
        tasks.push(tokio::spawn(async move {
            order_with_key(&t, &buyer, None, json!({"items": items}))
                .await
                .0
        }));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await.expect("task") == StatusCode::CREATED {
            ok += 1;
        }
    }
    assert_eq!(ok, 30);
    assert_eq!(stock_of(&t, &admin, a).await["levels"][0]["reserved"], 30);
    assert_eq!(stock_of(&t, &admin, b).await["levels"][0]["reserved"], 30);
}

#[tokio::test]
async fn an_agent_buys_for_a_villager_takes_cash_and_the_seller_ships() {
    let t = TestApp::spawn().await;
    let agent = t.login("agent-harengen").await;
    let asim = t.login("seller-asim").await;
    let (sku, price) = sku_of(&t, "阿西木土蜂蜜").await;
    set_stock(&t, &asim, sku, 10).await;

    // 代买 needs the villager's name; the parcel goes to the agent's service point.
    let (s, v) = order_with_key(
        &t,
        &agent,
        None,
        json!({"channel": "station", "items": [{"sku_id": sku, "quantity": 1}]}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("villager_name"))
    );
    let (s, o) = order_with_key(&t, &agent, None, json!({"channel": "station", "villager_name": "热依汗古丽", "villager_ref": "0427", "items": [{"sku_id": sku, "quantity": 1}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["node_code"], "VP-HARENGEN");
    assert_eq!(o["channel"], "station");
    assert!(o["buyer_id"].is_null(), "the villager needs no account");
    assert_eq!(o["items_fen"], price);
    let id = o["id"].as_i64().expect("id");

    // A buyer may not place station orders.
    let buyer = t.login("buyer").await;
    let (s, _) = order_with_key(&t, &buyer, None, json!({"channel": "station", "villager_name": "x", "items": [{"sku_id": sku, "quantity": 1}]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Cash at the station: pending until the agent confirms it.
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id}/payments"),
            Some(&agent),
            Some(json!({"method": "station_cash"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["checkout_url"].is_null());
    let payment = v["payment"]["id"].as_i64().expect("payment");
    let (_, pending) = t
        .call(Method::GET, "/api/v1/payments/pending", Some(&agent), None)
        .await;
    assert_eq!(pending[0]["id"], payment);
    let (_, pending) = t
        .call(
            Method::GET,
            "/api/v1/payments/pending",
            Some(&t.login("op-litang").await),
            None,
        )
        .await;
    assert_eq!(
        pending.as_array().map(Vec::len),
        Some(0),
        "not Litang's goods"
    );
    // The seller cannot confirm cash; the agent can, once.
    let url = format!("/api/v1/payments/{payment}/confirm");
    let (s, _) = t.call(Method::POST, &url, Some(&asim), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t.call(Method::POST, &url, Some(&agent), None).await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("paid")));
    let (_, v) = t.call(Method::POST, &url, Some(&agent), None).await;
    assert_eq!(v["result"], "repeated");
    let (_, list) = t
        .call(Method::GET, "/api/v1/station/orders", Some(&agent), None)
        .await;
    assert_eq!(list[0]["villager_name"], "热依汗古丽");
    assert_eq!(list[0]["status"], "paid");

    // The seller sees the part to send and marks it shipped; the order follows.
    let (_, parts) = t
        .call(
            Method::GET,
            "/api/v1/seller/parts?status=paid",
            Some(&asim),
            None,
        )
        .await;
    let part = parts[0]["part_id"].as_i64().expect("part");
    assert_eq!(parts[0]["order_id"], id);
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/seller/shipments",
            Some(&asim),
            Some(json!({"part_ids": [part]})),
        )
        .await;
    assert_eq!((s, v["shipped"][0].as_i64()), (StatusCode::OK, Some(part)));
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(o["status"], "shipped");
    // Shipping again changes nothing; another seller cannot ship it.
    let (_, v) = t
        .call(
            Method::POST,
            "/api/v1/seller/shipments",
            Some(&asim),
            Some(json!({"part_ids": [part]})),
        )
        .await;
    assert_eq!(v["shipped"].as_array().map(Vec::len), Some(0));
    let (s, _) = t
        .call(Method::GET, "/api/v1/seller/parts", Some(&agent), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_canteen_buys_in_bulk_by_transfer_and_sales_are_traced_to_households() {
    let t = TestApp::spawn().await;
    let canteen = t.login("canteen").await;
    let bohu = t.login("op-bohu").await;
    let (tomato, tomato_price) = sku_of(&t, "沙瓤土西红柿").await;
    let (reed, reed_price) = sku_of(&t, "博湖芦苇画").await;
    set_stock(&t, &bohu, tomato, 500).await;
    set_stock(&t, &bohu, reed, 5).await;
    let items = json!([{"sku_id": tomato, "quantity": 40}, {"sku_id": reed, "quantity": 1}]);

    // Delivery date and invoice details are required, and checked.
    let (s, v) = order_with_key(&t, &canteen, None, json!({"channel": "institution", "items": items, "delivery_date": "2020-01-01", "invoice_tax_id": "123"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["delivery_date", "invoice_title", "invoice_tax_id"]);
    // Only institutions use that channel, and they use only that one.
    let (s, _) = order_with_key(
        &t,
        &t.login("buyer").await,
        None,
        json!({"channel": "institution", "items": items}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = order_with_key(&t, &canteen, None, json!({"items": items})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, o) = order_with_key(&t, &canteen, Some("po-2026-118"), json!({"channel": "institution", "items": items, "delivery_date": "2099-09-01", "invoice_title": "博湖县第一中学", "invoice_tax_id": "12652829MB1234567X"})).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["invoice_title"], "博湖县第一中学");
    assert_eq!(o["delivery_date"], "2099-09-01");
    let id = o["id"].as_i64().expect("id");
    // Bank transfer, confirmed by the county operator whose goods these are.
    let (_, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id}/payments"),
            Some(&canteen),
            Some(json!({"method": "bank_transfer"})),
        )
        .await;
    let payment = v["payment"]["id"].as_i64().expect("payment");
    let (_, pending) = t
        .call(Method::GET, "/api/v1/payments/pending", Some(&bohu), None)
        .await;
    assert_eq!(pending[0]["id"], payment);
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/payments/{payment}/confirm"),
            Some(&t.login("agent-harengen").await),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "agents confirm cash, not transfers"
    );
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/payments/{payment}/confirm"),
            Some(&bohu),
            None,
        )
        .await;
    assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("paid")));

    // The canteen's yearly figure: everything bought, and the poverty-alleviation part
    // (the tomatoes carry a certificate; the reed painting's maker is a monitored household).
    let (s, r) = t
        .call(
            Method::GET,
            "/api/v1/reports/institution",
            Some(&canteen),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let goods = tomato_price * 40 + reed_price;
    assert_eq!(
        (
            r["orders"].as_i64(),
            r["total_fen"].as_i64(),
            r["poverty_fen"].as_i64()
        ),
        (Some(1), Some(goods), Some(goods))
    );
    // The operator's county figure: sales, and what reached poverty-alleviation households.
    let (_, c) = t
        .call(
            Method::GET,
            "/api/v1/reports/poverty-sales",
            Some(&bohu),
            None,
        )
        .await;
    assert_eq!(c[0]["county_code"], "652829");
    assert_eq!(c[0]["sales_fen"], goods);
    assert_eq!(
        c[0]["poverty_household_fen"], reed_price,
        "the cooperative is not a household"
    );
    let (_, c) = t
        .call(
            Method::GET,
            "/api/v1/reports/poverty-sales",
            Some(&t.login("op-litang").await),
            None,
        )
        .await;
    assert_eq!(c.as_array().map(Vec::len), Some(0));
    // Per producer and month, for the agent of the village the tomatoes come from.
    let (_, m) = t
        .call(
            Method::GET,
            "/api/v1/reports/sales",
            Some(&t.login("agent-harengen").await),
            None,
        )
        .await;
    let rows = m.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{m}");
    assert_eq!(rows[0]["units"], 40);
    assert_eq!(rows[0]["sales_fen"], tomato_price * 40);
    let (s, _) = t
        .call(
            Method::GET,
            "/api/v1/reports/sales?year=1850",
            Some(&bohu),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = t
        .call(Method::GET, "/api/v1/reports/sales", Some(&canteen), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A paid order of `quantity` units of 阿西木土蜂蜜 for the demo buyer: (order id, SKU).
async fn paid_order(t: &TestApp, quantity: i64) -> (i64, i64) {
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let (sku, _) = sku_of(t, "阿西木土蜂蜜").await;
    set_stock(t, &asim, sku, 10).await;
    let (_, o) = order_with_key(
        t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": quantity}]}),
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    let (body, sig) = pay_with_sandbox(t, &buyer, id).await;
    let (_, v) = notify(t, &body, sig["sig"].as_str().expect("sig")).await;
    assert_eq!(v["result"], "paid");
    (id, sku)
}

#[tokio::test]
async fn refunds_are_decided_by_the_seller_or_arbitrated_and_restock() {
    let t = TestApp::spawn().await;
    let buyer = t.login("buyer").await;
    let asim = t.login("seller-asim").await;
    let admin = t.login("admin").await;
    let (id, sku) = paid_order(&t, 2).await;
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["on_hand"], 8);

    let url = format!("/api/v1/orders/{id}/refund");
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&buyer),
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    let (s, r) = t
        .call(
            Method::POST,
            &url,
            Some(&buyer),
            Some(json!({"reason": "瓶子碎了"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let refund = r["id"].as_i64().expect("refund");
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&buyer),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "one request at a time");

    // The seller sees it; rejecting needs a reason; the order goes back to paid.
    let (_, list) = t
        .call(Method::GET, "/api/v1/refunds", Some(&asim), None)
        .await;
    assert_eq!(list[0]["id"], refund);
    let decide = format!("/api/v1/refunds/{refund}/decision");
    let (s, _) = t
        .call(
            Method::POST,
            &decide,
            Some(&asim),
            Some(json!({"decision": "reject"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, r) = t
        .call(
            Method::POST,
            &decide,
            Some(&asim),
            Some(json!({"decision": "reject", "reason": "照片看不出破损"})),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str()),
        (StatusCode::OK, Some("rejected"))
    );
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "paid");
    // The seller cannot decide twice; the buyer never decides.
    let (s, _) = t
        .call(
            Method::POST,
            &decide,
            Some(&asim),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = t
        .call(
            Method::POST,
            &decide,
            Some(&buyer),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );

    // Arbitration overturns the rejection: refunded by the original method, goods restocked.
    let (s, r) = t
        .call(
            Method::POST,
            &decide,
            Some(&admin),
            Some(json!({"decision": "approve", "reason": "物流破损属实"})),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str(), r["arbitrated"].as_bool()),
        (StatusCode::OK, Some("refunded"), Some(true)),
        "{r}"
    );
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "refunded");
    let st = stock_of(&t, &asim, sku).await;
    assert_eq!(st["levels"][0]["on_hand"], 10);
    assert_eq!(st["moves"][0]["kind"], "return");
    // Refunded orders are no longer sales.
    let (_, m) = t
        .call(Method::GET, "/api/v1/reports/sales", Some(&asim), None)
        .await;
    assert_eq!(m.as_array().map(Vec::len), Some(0), "{m}");

    // A second order: the seller approves directly.
    let (id2, _) = paid_order(&t, 1).await;
    let (_, r) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id2}/refund"),
            Some(&buyer),
            Some(json!({"reason": "不想要了"})),
        )
        .await;
    let (s, r) = t
        .call(
            Method::POST,
            &format!("/api/v1/refunds/{}/decision", r["id"]),
            Some(&asim),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str(), r["arbitrated"].as_bool()),
        (StatusCode::OK, Some("refunded"), Some(false))
    );
    // Unpaid orders are cancelled, not refunded.
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    let (_, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 1}]}),
    )
    .await;
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{}/refund", o["id"]),
            Some(&buyer),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
}

#[tokio::test]
async fn county_operators_set_shipping_rules_that_price_orders() {
    let t = TestApp::spawn().await;
    let bohu = t.login("op-bohu").await;
    let buyer = t.login("buyer").await;
    let (tomato, price) = sku_of(&t, "沙瓤土西红柿").await;
    set_stock(&t, &bohu, tomato, 100).await;
    let rule = json!({"first_weight_g": 1000, "first_fee_fen": 1200, "extra_unit_g": 500, "extra_fee_fen": 300, "cold_chain_fee_fen": 0});
    // Beijing (110000) gets its own rule; Litang's operator cannot touch Bohu's.
    let (s, _) = t
        .call(
            Method::PUT,
            "/api/v1/shipping-rules/652829/110000",
            Some(&t.login("op-litang").await),
            Some(rule.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/shipping-rules/652829/11",
            Some(&bohu),
            Some(rule.clone()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("province"))
    );
    let (s, v) = t
        .call(Method::PUT, "/api/v1/shipping-rules/652829/110000", Some(&bohu), Some(json!({"first_weight_g": 0, "first_fee_fen": -1, "extra_unit_g": 500, "extra_fee_fen": 300})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["details"].as_array().map(Vec::len), Some(2));
    let (s, _) = t
        .call(
            Method::PUT,
            "/api/v1/shipping-rules/652829/110000",
            Some(&bohu),
            Some(rule),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // 2 boxes of tomatoes: the weight decides the fee under the Beijing rule.
    let (_, p) = t
        .call(
            Method::GET,
            &format!("/api/v1/products/{}", t.product_id("沙瓤土西红柿").await),
            None,
            None,
        )
        .await;
    let weight = p["skus"][0]["weight_g"].as_i64().expect("weight") * 2;
    let expected = 1200 + ((weight - 1000).max(0) + 499) / 500 * 300;
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": tomato, "quantity": 2}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["shipping_fen"], expected);
    assert_eq!(o["total_fen"], price * 2 + expected);
}

#[tokio::test]
async fn third_party_orders_import_all_or_nothing() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let code = p["skus"][0]["code"].as_str().expect("code").to_string();
    set_stock(&t, &asim, sku, 10).await;
    let (other, _) = sku_of(&t, "罗布麻蜂蜜").await;
    let (_, op) = t
        .call(
            Method::GET,
            &format!("/api/v1/products/{}", t.product_id("罗布麻蜂蜜").await),
            None,
            None,
        )
        .await;
    let other_code = op["skus"][0]["code"].as_str().expect("code").to_string();
    let _ = other;

    // 拼多多: extra columns are ignored; a bad file lists every bad row and writes nothing.
    let header = "订单号,订单状态,商品总价(元),商品数量(件),商家编码-SKU维度,收货人,手机,省,市,区,详细地址,支付时间";
    let bad = format!(
        "{header}\n\
         250101-001,待发货,136.00,2,{code},张伟,13512345678,广东省,广州市,天河区,体育西路 1 号,2025-01-01\n\
         250101-002,待发货,68.00,0,{code},李娜,13512345679,上海,上海市,浦东新区,,2025-01-01\n\
         250101-003,待发货,68.00,1,NO-SUCH,王强,13512345670,北京,北京市,朝阳区,,2025-01-01\n\
         250101-004,待发货,68.00,1,{other_code},赵敏,13512345671,火星,,,,2025-01-01\n"
    );
    let url = "/api/v1/imports/orders/pinduoduo";
    let (s, _, b) = t
        .send_bytes(url, Some(&asim), "text/csv", bad.into_bytes(), &[])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = serde_json::from_slice(&b).expect("json");
    let rows: Vec<(i64, String)> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap_or(0),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(rows.contains(&(3, "out_of_range".into())), "{rows:?}");
    assert!(rows.contains(&(4, "unknown_reference".into())), "{rows:?}");
    assert!(rows.contains(&(5, "unknown_reference".into())), "{rows:?}");
    assert!(
        rows.contains(&(5, "out_of_scope".into())),
        "another seller's SKU: {rows:?}"
    );
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["on_hand"], 10);

    let good = format!(
        "{header}\n250101-001,待发货,136.00,2,{code},张伟,13512345678,广东省,广州市,天河区,体育西路 1 号,2025-01-01\n"
    );
    let (s, _, b) = t
        .send_bytes(url, Some(&asim), "text/csv", good.clone().into_bytes(), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(
        (v["orders"].as_i64(), v["lines"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(stock_of(&t, &asim, sku).await["levels"][0]["on_hand"], 8);
    // The same file again: refused as already imported.
    let (s, _, b) = t
        .send_bytes(url, Some(&asim), "text/csv", good.into_bytes(), &[])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&b).contains("duplicate"));
    // 抖店 layout; more than the stock is a bad row.
    let douyin = format!(
        "主订单编号,子订单编号,选购商品,商品规格,商品数量,商家编码,商品单价,收件人,收件人手机号,省,市,区,详细地址\n\
         69001,69001-1,阿西木土蜂蜜,500g,3,{code},68.00,陈静,13612345678,四川省,成都市,武侯区,人民南路 4 段\n\
         69002,69002-1,阿西木土蜂蜜,500g,9,{code},68.00,周杰,13612345679,北京市,北京市,东城区,\n"
    );
    let (s, _, b) = t
        .send_bytes(
            "/api/v1/imports/orders/douyin",
            Some(&asim),
            "text/csv",
            douyin.into_bytes(),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(v["error"]["details"][0]["line"], 3);
    assert_eq!(v["error"]["details"][0]["reason"], "out_of_stock");
    assert_eq!(
        stock_of(&t, &asim, sku).await["levels"][0]["on_hand"],
        8,
        "nothing of that file was written"
    );
    // The seller's sales report counts the imported order.
    let (_, m) = t
        .call(Method::GET, "/api/v1/reports/sales", Some(&asim), None)
        .await;
    assert_eq!(m[0]["units"], 2);
    let (s, _, _) = t
        .send_bytes(
            "/api/v1/imports/orders/taobao",
            Some(&asim),
            "text/csv",
            vec![],
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The stock rows of a SKU by node code ("" for the seller's home).
async fn rows_by_place(t: &TestApp, token: &str, sku: i64) -> Vec<(String, i64, i64, i64)> {
    let v = stock_of(t, token, sku).await;
    v["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| {
            (
                l["node_code"].as_str().unwrap_or("").to_string(),
                l["on_hand"].as_i64().unwrap_or(-1),
                l["incoming"].as_i64().unwrap_or(-1),
                l["available"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn stock_moves_between_homes_and_warehouses_and_orders_ship_from_the_nearest() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let agent = t.login("agent-harengen").await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    set_stock(&t, &asim, sku, 5).await;
    let transfer = |body: Value| {
        let t = &t;
        let asim = asim.clone();
        async move {
            t.call(
                Method::POST,
                &format!("/api/v1/skus/{sku}/stock/transfers"),
                Some(&asim),
                Some(body),
            )
            .await
        }
    };
    // Three jars leave the seller's home for the Bohu county warehouse: incoming there.
    let (s, v) = transfer(json!({"to": "DC-652829", "quantity": 3})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v[0]["available"], 2);
    assert_eq!(v[1]["node_code"], "DC-652829");
    assert_eq!(v[1]["incoming"], 3);
    assert_eq!(v[1]["available"], 0);
    // More than is available, an unknown node, the same place: refused, nothing moves.
    let (s, v) = transfer(json!({"to": "DC-652829", "quantity": 3})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "out_of_stock");
    let (s, v) = transfer(json!({"to": "NOPE", "quantity": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "to", "{v}");
    let (s, v) = transfer(json!({"from": "DC-652829", "to": "DC-652829", "quantity": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Someone else's product at a node not theirs: forbidden.
    let (s, v) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(&agent),
            Some(json!({"quantity": 9, "location": "DC-652829"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The Bohu operator books the arrival (its region holds the warehouse); not more than
    // announced.
    let op = t.login("op-bohu").await;
    let arrive = |q: i64| {
        let t = &t;
        let op = op.clone();
        async move {
            t.call(
                Method::POST,
                &format!("/api/v1/skus/{sku}/stock/arrivals"),
                Some(&op),
                Some(json!({"location": "DC-652829", "quantity": q})),
            )
            .await
        }
    };
    let (s, v) = arrive(4).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "more_than_announced");
    let (s, v) = arrive(3).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["on_hand"].as_i64(), v["incoming"].as_i64()),
        (Some(3), Some(0))
    );
    let mut rows = rows_by_place(&t, &asim, sku).await;
    rows.sort();
    assert_eq!(
        rows,
        vec![("".into(), 2, 0, 2), ("DC-652829".into(), 3, 0, 3)]
    );
    // The ledger explains it: adjustment, transfer out and in, arrival.
    let kinds: Vec<String> = stock_of(&t, &asim, sku).await["moves"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or("").to_string())
        .collect();
    for k in ["adjustment", "transfer_out", "transfer_in", "arrival"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    // A buyer in Bohu is served from the Bohu warehouse, a buyer in Beijing from the seller's
    // home; a line goes whole to the first place that has enough.
    let (s, bohu_addr) = t
        .call(
            Method::POST,
            "/api/v1/addresses",
            Some(&buyer),
            Some(json!({"recipient": "其其格", "phone": "13900000099",
                "region_code": "652829200201", "is_default": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bohu_addr}");
    let warehouse_loc = stock_of(&t, &asim, sku).await["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .find(|l| l["node_code"] == "DC-652829")
        .and_then(|l| l["location_id"].as_i64())
        .expect("warehouse location");
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 1}], "address_id": bohu_addr["id"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["lines"][0]["location_id"].as_i64(), Some(warehouse_loc));
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 1}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_ne!(o["lines"][0]["location_id"].as_i64(), Some(warehouse_loc));
    // Home has 1 left, the warehouse 2: an order of 2 from Beijing ships from the warehouse.
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 2}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["lines"][0]["location_id"].as_i64(), Some(warehouse_loc));
    // Nothing left anywhere that holds 2.
    let (s, o) = order_with_key(
        &t,
        &buyer,
        None,
        json!({"items": [{"sku_id": sku, "quantity": 2}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{o}");
    let mut rows = rows_by_place(&t, &asim, sku).await;
    rows.sort();
    assert_eq!(
        rows,
        vec![("".into(), 2, 0, 1), ("DC-652829".into(), 3, 0, 0)]
    );
}

#[tokio::test]
async fn a_refund_request_carries_photos_from_the_page_and_the_api() {
    let t = TestApp::spawn().await;
    let (id, _) = paid_order(&t, 1).await;
    let buyer = t.login("buyer").await;
    let asim = t.login("seller-asim").await;
    // From the order page: reason and a photo in one multipart form; a non-image refuses the
    // whole request and writes nothing.
    let b = crate::backoffice::Browser::sign_in(&t, "buyer").await;
    let (s, _, page) = b
        .multipart(
            &format!("/orders/{id}/refund"),
            &[("reason", "罐子裂了")],
            ("photos", "crack.png", b"not an image".to_vec()),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "paid");
    let (s, loc, page) = b
        .multipart(
            &format!("/orders/{id}/refund"),
            &[("reason", "罐子裂了")],
            ("photos", "crack.png", crate::photos::png(64, 48)),
            true,
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, format!("/orders/{id}").as_str()),
        "{page}"
    );
    // The seller sees the request with its photo, and the photo is served.
    let (_, list) = t
        .call(Method::GET, "/api/v1/refunds", Some(&asim), None)
        .await;
    let r = list
        .as_array()
        .expect("refunds")
        .iter()
        .find(|r| r["order_id"] == id)
        .expect("the request")
        .clone();
    assert_eq!(r["reason"], "罐子裂了");
    let photos = r["photos"].as_array().expect("photos");
    assert_eq!(photos.len(), 1);
    let url = photos[0].as_str().expect("url").to_string();
    let (s, _) = t.raw(Method::GET, &url, None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, page) = crate::backoffice::Browser::sign_in(&t, "seller-asim")
        .await
        .get("/manage/refunds")
        .await;
    assert!(page.contains(&url), "the queue shows the photo");
    // More photos through the API; only the requester; not after the decision.
    let refund = r["id"].as_i64().expect("refund id");
    let upload = |token: String, bytes: Vec<u8>| {
        let t = &t;
        async move {
            let (s, _, b) = t
                .send_bytes(
                    &format!("/api/v1/refunds/{refund}/photos"),
                    Some(&token),
                    "image/png",
                    bytes,
                    &[],
                )
                .await;
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    let (s, v) = upload(buyer.clone(), crate::photos::png(80, 60)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["photos"].as_array().map(Vec::len), Some(2));
    let (s, v) = upload(buyer.clone(), b"GIF89a".to_vec()).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("photo")),
        "{v}"
    );
    let (s, _) = upload(asim.clone(), crate::photos::png(80, 60)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/refunds/{refund}/decision"),
            Some(&asim),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = upload(buyer.clone(), crate::photos::png(30, 30)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("refund_decided")),
        "{v}"
    );
}

#[tokio::test]
async fn delivered_orders_complete_when_the_buyer_confirms_or_the_window_passes() {
    let t = TestApp::spawn().await;
    let buyer = t.login("buyer").await;
    let asim = t.login("seller-asim").await;
    let admin = t.login("admin").await;
    let ship = |id: i64| {
        let t = &t;
        let asim = asim.clone();
        async move {
            let (_, parts) = t
                .call(
                    Method::GET,
                    "/api/v1/seller/parts?status=paid",
                    Some(&asim),
                    None,
                )
                .await;
            let ids: Vec<i64> = parts
                .as_array()
                .expect("parts")
                .iter()
                .filter(|p| p["order_id"] == id)
                .filter_map(|p| p["part_id"].as_i64())
                .collect();
            let (s, v) = t
                .call(
                    Method::POST,
                    "/api/v1/seller/shipments",
                    Some(&asim),
                    Some(json!({"part_ids": ids})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    let (a, _) = paid_order(&t, 1).await;
    // Not before it is shipped.
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{a}/receive"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    ship(a).await;
    // The seller cannot declare its own parcel delivered; another buyer cannot confirm.
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{a}/deliver"),
            Some(&asim),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let canteen = t.login("canteen").await;
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{a}/receive"),
            Some(&canteen),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The buyer confirms receipt of a shipped order: delivered, then completed, both recorded.
    let (s, o) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{a}/receive"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{o}"
    );
    let trail: Vec<&str> = o["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["to_status"].as_str())
        .collect();
    assert!(
        trail.ends_with(&["shipped", "delivered", "completed"]),
        "{trail:?}"
    );
    // Another order: delivered by an admin (logistics will do it from scans), then left
    // unconfirmed: the job completes it only once the 7 days have passed.
    let (b, _) = paid_order(&t, 1).await;
    ship(b).await;
    let (s, o) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{b}/deliver"),
            Some(&admin),
            Some(json!({"reason": "签收"})),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::OK, Some("delivered")),
        "{o}"
    );
    let delivered_at = o["delivered_at"].as_i64().expect("delivered_at");
    let store = &t.state.store;
    assert_eq!(
        store
            .complete_delivered(delivered_at + 1000)
            .await
            .expect("job"),
        0
    );
    let week = bazaar_store::orders::AUTO_COMPLETE_MS;
    assert_eq!(
        store
            .complete_delivered(delivered_at + week + 1000)
            .await
            .expect("job"),
        1
    );
    assert_eq!(
        store
            .complete_delivered(delivered_at + week + 2000)
            .await
            .expect("job"),
        0
    );
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{b}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "completed");
    // A completed order can still ask for a refund within the window.
    let (s, r) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{b}/refund"),
            Some(&buyer),
            Some(json!({"reason": "蜂蜜变质"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

#[tokio::test]
async fn report_pages_show_sales_by_month_and_county_and_download_as_csv() {
    let t = TestApp::spawn().await;
    let (_, _) = paid_order(&t, 2).await;
    let seller = crate::backoffice::Browser::sign_in(&t, "seller-asim").await;
    let (s, page) = seller.get("/manage/reports").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("马木提·阿西木"), "{page}");
    assert!(
        !page.contains("各县销售额"),
        "sellers see their own sales only"
    );
    let (s, h, csv) = t
        .form(
            Method::GET,
            "/manage/reports?format=csv&table=sales",
            "",
            Some(&seller.cookies),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv")),
        "{h:?}"
    );
    assert!(csv.starts_with('\u{feff}'), "a BOM for spreadsheets");
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("月份,生产者,订单数,件数,销售额（元）"));
    let row = lines.next().expect("a row");
    assert!(row.contains("马木提·阿西木,1,2,"), "{row}");
    // The admin also sees the county table (the honey is from 疏勒县).
    let admin = crate::backoffice::Browser::sign_in(&t, "admin").await;
    let (_, page) = admin.get("/manage/reports").await;
    assert!(
        page.contains("各县销售额") && page.contains("疏勒县"),
        "{page}"
    );
    // A year out of range is named; buyers have no reports.
    let (s, page) = admin.get("/manage/reports?year=99999").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("年份"), "{page}");
    let buyer = crate::backoffice::Browser::sign_in(&t, "buyer").await;
    let (s, _) = buyer.get("/manage/reports").await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::SEE_OTHER,
        "{s}"
    );
}

#[tokio::test]
async fn a_shipped_part_with_its_waybill_is_tracked_on_the_buyer_s_order_page() {
    let t = TestApp::spawn().await;
    let (id, _) = paid_order(&t, 1).await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let (_, parts) = t
        .call(
            Method::GET,
            "/api/v1/seller/parts?status=paid",
            Some(&asim),
            None,
        )
        .await;
    let part = parts[0]["part_id"].as_i64().expect("part");
    // Paying created its parcel on the county network's own waybill, waiting to be collected.
    let (_, ps) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}/parcels"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(ps.as_array().map(Vec::len), Some(1), "{ps}");
    assert_eq!(ps[0]["carrier"], "bazaar");
    // The county network's own waybill: its format, but not the part's number (unguessable).
    let own = ps[0]["waybill"].as_str().expect("waybill");
    assert!(
        own.len() == 14 && own.starts_with("BZ") && own[2..].bytes().all(|b| b.is_ascii_digit()),
        "{own}"
    );
    assert_ne!(own, format!("BZ{part:012}"));
    assert_eq!(ps[0]["state"], "awaiting_pickup");
    let parcel = ps[0]["id"].clone();
    // A waybill not in the carrier's format: nothing ships.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/seller/shipments",
            Some(&asim),
            Some(json!({"part_ids": [part], "waybills": [{"part_id": part, "carrier": "zhongtong", "waybill": "SF123"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "waybills[0].waybill");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/seller/shipments",
            Some(&asim),
            Some(json!({"part_ids": [part], "waybills": [{"part_id": part, "carrier": "zhongtong", "waybill": "75 1234 5678 9012"}]})),
        )
        .await;
    assert_eq!(
        (s, v["shipped"][0].as_i64()),
        (StatusCode::OK, Some(part)),
        "{v}"
    );
    // The buyer tracks it: the parcel of its order, its phone masked.
    let (s, ps) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}/parcels"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ps}");
    assert_eq!(
        ps.as_array().map(Vec::len),
        Some(1),
        "the same parcel, re-labelled: {ps}"
    );
    assert_eq!(ps[0]["id"], parcel);
    assert_eq!(ps[0]["waybill"], "75123456789012");
    assert_eq!(ps[0]["state"], "in_transit");
    assert!(
        ps[0]["recipient_phone"]
            .as_str()
            .unwrap_or("")
            .contains("****"),
        "{ps}"
    );
    let other = t.login("canteen").await;
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}/parcels"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The order page shows the timeline.
    let b = crate::backoffice::Browser::sign_in(&t, "buyer").await;
    let (_, page) = b.get(&format!("/orders/{id}")).await;
    assert!(
        page.contains("物流跟踪") && page.contains("75123456789012") && page.contains("运输中"),
        "{page}"
    );
}

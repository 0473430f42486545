//! Live selling: sessions, pins and flash offers through the API, every state change and
//! refusal, and the flash-order path under parallel taps (never past the cap, no buyer over
//! the limit, a refused order reserves nothing).

use crate::TestApp;
use crate::orders::{notify, pay_with_sandbox, sku_of, stock_of};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// Units of a SKU free to sell at 哈尔恩根村's point (the live room): on hand less reserved.
async fn free(t: &TestApp, token: &str, sku: i64) -> i64 {
    let st = stock_of(t, token, sku).await;
    st["levels"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["node_code"] == "VP-HARENGEN"))
        .map(|l| l["on_hand"].as_i64().unwrap_or(0) - l["reserved"].as_i64().unwrap_or(0))
        .unwrap_or(-1)
}

fn at(offset_s: i64) -> String {
    bazaar_domain::time::rfc3339(bazaar_domain::time::now_ms() + offset_s * 1000)
}

async fn post(t: &TestApp, token: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    t.call(Method::POST, uri, Some(token), Some(body)).await
}

/// A flash order with an idempotency key, on the node `app`.
async fn tap_on(
    app: &axum::Router,
    token: &str,
    offer: i64,
    q: i64,
    key: &str,
) -> (StatusCode, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/offers/{offer}/orders"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(json!({"quantity": q}).to_string()))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let s = res.status();
    let b = res.into_body().collect().await.expect("body").to_bytes();
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// A flash order with an idempotency key.
async fn tap(t: &TestApp, token: &str, offer: i64, q: i64, key: &str) -> (StatusCode, Value) {
    let (s, b) = t
        .raw(
            Method::POST,
            &format!("/api/v1/offers/{offer}/orders"),
            Some(token),
            Some(json!({"quantity": q})),
            &[("idempotency-key", key)],
        )
        .await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// A session in 哈尔恩根村's live room, started, with 阿西木土蜂蜜 pinned; its id, the host's
/// token, and the honey's SKU.
async fn live_session(t: &TestApp) -> (i64, String, i64) {
    let host = t.login("host-harengen").await;
    let (s, v) = post(
        t,
        &host,
        "/api/v1/live/sessions",
        json!({"room_node": "VP-HARENGEN", "title": "哈尔恩根村好物直播", "platform": "douyin",
               "stream_url": "https://live.douyin.com/123", "planned_start": at(-60),
               "planned_end": at(7200)}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "scheduled");
    let id = v["id"].as_i64().expect("id");
    let honey = t.product_id("阿西木土蜂蜜").await;
    let (s, v) = post(
        t,
        &host,
        &format!("/api/v1/live/sessions/{id}/actions"),
        json!({"action": "pin", "product_id": honey}),
    )
    .await;
    assert_eq!(
        (s, v["pinned_product_id"].as_i64()),
        (StatusCode::OK, Some(honey)),
        "{v}"
    );
    let (s, v) = post(
        t,
        &host,
        &format!("/api/v1/live/sessions/{id}/actions"),
        json!({"action": "start"}),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("live")),
        "{v}"
    );
    let (sku, _) = sku_of(t, "阿西木土蜂蜜").await;
    (id, host, sku)
}

/// `n` jars of the SKU consigned to 哈尔恩根村's point (the live room), by the admin.
async fn consign(t: &TestApp, sku: i64, n: i64) -> String {
    let admin = t.login("admin").await;
    let (s, v) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(&admin),
            Some(json!({"quantity": n, "location": "VP-HARENGEN"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    admin
}

fn offer_body(sku: i64, cap: i64, limit: i64) -> Value {
    json!({"sku_id": sku, "location": "VP-HARENGEN", "price_fen": 2990, "cap": cap, "per_buyer_limit": limit,
           "per_order_limit": limit, "starts_at": at(-1), "ends_at": at(3600)})
}

#[tokio::test]
async fn a_host_runs_a_session_and_a_flash_offer_to_its_settlement() {
    let t = TestApp::spawn().await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    let asim = consign(&t, sku, 100).await;
    let (session, host, _) = live_session(&t).await;

    // Refused offers, each naming its field; nothing set aside.
    let offers = format!("/api/v1/live/sessions/{session}/offers");
    let (s, v) = post(&t, &host, &offers, offer_body(sku, 101, 2)).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cap")),
        "{v}"
    );
    let mut bad = offer_body(sku, 10, 2);
    bad["ends_at"] = json!(at(-3600));
    let (s, v) = post(&t, &host, &offers, bad).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("ends_at")),
        "{v}"
    );
    let (s, v) = post(&t, &host, &offers, offer_body(sku, 10, 0)).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("per_buyer_limit")),
        "{v}"
    );
    assert_eq!(free(&t, &asim, sku).await, 100);
    // Another county's operator may not write offers in this room.
    let litang = t.login("op-litang").await;
    let (s, _) = post(&t, &litang, &offers, offer_body(sku, 10, 2)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nor may the host lock up the seller's own stock at home, far from the room.
    let mut home = offer_body(sku, 10, 2);
    home["location"] = Value::Null;
    let (s, v) = post(&t, &host, &offers, home).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("location")),
        "{v}"
    );

    // The offer: its 50 units set aside, so ordinary sales cannot eat them.
    let (s, o) = post(&t, &host, &offers, offer_body(sku, 50, 2)).await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::CREATED, Some("scheduled")),
        "{o}"
    );
    let offer = o["id"].as_i64().expect("offer");
    assert_eq!(free(&t, &asim, sku).await, 50);
    let buyer = t.login("buyer").await;
    // An offer that does not exist is a 404, and starts nothing on the node.
    let (s, _) = tap(&t, &buyer, 987_654, 1, "k-none").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.state.flash.counts(), (0, 0));
    let (s, v) = tap(&t, &buyer, offer, 1, "k-0").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("offer_not_live")),
        "{v}"
    );
    let act = format!("/api/v1/offers/{offer}/actions");
    let (s, v) = post(&t, &host, &act, json!({"action": "start"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("live")),
        "{v}"
    );

    // A tap: the order at the offer's price, with shipping; the same key, the same order.
    let (s, a) = tap(&t, &buyer, offer, 2, "k-1").await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(
        (
            a["channel"].as_str(),
            a["lines"][0]["unit_price_fen"].as_i64()
        ),
        (Some("live"), Some(2990))
    );
    assert_eq!(a["items_fen"], 5980);
    assert!(a["shipping_fen"].as_i64().unwrap_or(0) > 0, "{a}");
    let order = a["id"].as_i64().expect("order");
    let (s, again) = tap(&t, &buyer, offer, 2, "k-1").await;
    assert_eq!(
        (s, again["id"].as_i64()),
        (StatusCode::CREATED, Some(order))
    );
    // Over the per-order and the per-buyer limits.
    let (s, v) = tap(&t, &buyer, offer, 3, "k-2").await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        "{v}"
    );
    let (s, v) = tap(&t, &buyer, offer, 1, "k-3").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("limit_exceeded")),
        "{v}"
    );
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (o["held"].as_i64(), o["remaining"].as_i64()),
        (Some(2), Some(48)),
        "{o}"
    );
    // The order reads as any other and pays as any other: held becomes sold.
    let (s, read) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{order}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(
        (s, read["total_fen"].clone()),
        (StatusCode::OK, a["total_fen"].clone())
    );
    let (paid, sig) = pay_with_sandbox(&t, &buyer, order).await;
    let (s, v) = notify(&t, &paid, sig["sig"].as_str().unwrap_or_default()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (o["sold"].as_i64(), o["held"].as_i64()),
        (Some(2), Some(0)),
        "{o}"
    );

    // Pause, resume, stop: an ended offer never reopens, and its unsold units go back.
    let (_, v) = post(&t, &host, &act, json!({"action": "pause"})).await;
    assert_eq!(v["status"], "paused");
    let (s, v) = tap(&t, &buyer, offer, 1, "k-4").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("offer_not_live"))
    );
    let (_, v) = post(&t, &host, &act, json!({"action": "resume"})).await;
    assert_eq!(v["status"], "live");
    let (_, v) = post(&t, &host, &act, json!({"action": "stop"})).await;
    assert_eq!(v["status"], "settled", "nothing held: settled at once: {v}");
    let (s, v) = post(&t, &host, &act, json!({"action": "start"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (s, v) = tap(&t, &buyer, offer, 1, "k-5").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("offer_ended"))
    );
    // 100 on hand, 2 sold: 98 free again.
    assert_eq!(free(&t, &asim, sku).await, 98);
    let (s, v) = post(&t, &host, &act, json!({"action": "launch"})).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("action"))
    );

    // The session: ending it is final.
    let sa = format!("/api/v1/live/sessions/{session}/actions");
    let (s, _) = post(&t, &litang, &sa, json!({"action": "end"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = post(&t, &host, &sa, json!({"action": "end"})).await;
    assert_eq!(v["status"], "ended");
    let (s, _) = post(&t, &host, &sa, json!({"action": "start"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = t
        .call(
            Method::GET,
            &format!("/api/v1/live/sessions/{session}"),
            None,
            None,
        )
        .await;
    assert_eq!(v["pins"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(v["pins"][0]["unpinned_at"].is_string(), "{v}");
}

#[tokio::test]
async fn an_unpaid_flash_order_gives_its_units_back_to_the_offer() {
    let t = TestApp::spawn().await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    let asim = consign(&t, sku, 10).await;
    let (session, host, _) = live_session(&t).await;
    let (_, o) = post(
        &t,
        &host,
        &format!("/api/v1/live/sessions/{session}/offers"),
        offer_body(sku, 2, 2),
    )
    .await;
    let offer = o["id"].as_i64().expect("offer");
    post(
        &t,
        &host,
        &format!("/api/v1/offers/{offer}/actions"),
        json!({"action": "start"}),
    )
    .await;
    let buyer = t.login("buyer").await;
    let (s, a) = tap(&t, &buyer, offer, 2, "x-1").await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (o["status"].as_str(), o["remaining"].as_i64()),
        (Some("sold_out"), Some(0))
    );
    // The payment window passes: the units return to the offer (not to the stock), it is
    // live again, and the buyer may take them again.
    let id = a["id"].as_i64().expect("order");
    t.state
        .store
        .expire_unpaid(a["pay_by"].as_i64().expect("pay_by") + 1)
        .await
        .expect("expire");
    let (_, read) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(read["status"], "cancelled");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (
            o["status"].as_str(),
            o["remaining"].as_i64(),
            o["held"].as_i64()
        ),
        (Some("live"), Some(2), Some(0)),
        "{o}"
    );
    assert_eq!(
        free(&t, &asim, sku).await,
        8,
        "still set aside for the offer"
    );
    let (s, _) = tap(&t, &buyer, offer, 2, "x-2").await;
    assert_eq!(s, StatusCode::CREATED);
    // The clock ends the offer at its end; it settles when its last hold is decided.
    t.state
        .store
        .tick_offers(bazaar_domain::time::now_ms() + 3_700_000)
        .await
        .expect("tick");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(o["status"], "ended", "{o}");
    let (s, _) = post(&t, &buyer, "/api/v1/orders/0/cancel", json!({})).await;
    assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, mine) = t
        .call(Method::GET, "/api/v1/orders?limit=1", Some(&buyer), None)
        .await;
    let last = mine["items"][0]["id"].as_i64().expect("order");
    let (s, v) = post(
        &t,
        &buyer,
        &format!("/api/v1/orders/{last}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(o["status"], "settled", "{o}");
    assert_eq!(free(&t, &asim, sku).await, 10, "everything back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_taps_never_sell_past_the_cap_nor_past_a_buyer_s_limit() {
    let t = std::sync::Arc::new(TestApp::spawn().await);
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    let asim = consign(&t, sku, 500).await;
    let (session, host, _) = live_session(&t).await;
    let (_, o) = post(
        &t,
        &host,
        &format!("/api/v1/live/sessions/{session}/offers"),
        offer_body(sku, 50, 2),
    )
    .await;
    let offer = o["id"].as_i64().expect("offer");
    post(
        &t,
        &host,
        &format!("/api/v1/offers/{offer}/actions"),
        json!({"action": "start"}),
    )
    .await;
    // 40 buyers, every one tapping 5 times at once for one unit: 200 taps for 50 units.
    let tokens = t.buyers(40).await;
    let mut taps = tokio::task::JoinSet::new();
    for (i, tok) in tokens.iter().enumerate() {
        for k in 0..5 {
            let t = t.clone();
            let tok = tok.clone();
            taps.spawn(async move { tap(&t, &tok, offer, 1, &format!("fan-{i}-{k}")).await });
        }
    }
    let (mut won, mut sold_out, mut limited) = (0, 0, 0);
    while let Some(r) = taps.join_next().await {
        let (s, v) = r.expect("tap");
        match (s, v["error"]["code"].as_str()) {
            (StatusCode::CREATED, _) => won += 1,
            (StatusCode::CONFLICT, Some("sold_out")) => sold_out += 1,
            (StatusCode::CONFLICT, Some("limit_exceeded")) => limited += 1,
            other => panic!("unexpected answer {other:?}: {v}"),
        }
    }
    assert_eq!(
        won, 50,
        "exactly the cap ({sold_out} sold out, {limited} over the limit)"
    );
    assert_eq!(won + sold_out + limited, 200);
    // The taps were decided together, not one transaction each.
    let (batches, requests) = t.state.flash.counts();
    assert_eq!(requests, 200);
    assert!(batches < requests, "{batches} batches for {requests} taps");
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (
            o["held"].as_i64(),
            o["remaining"].as_i64(),
            o["status"].as_str()
        ),
        (Some(50), Some(0), Some("sold_out")),
        "{o}"
    );
    // Every buyer holds at most 2, and the orders written are the units held.
    let mut total = 0;
    for tok in &tokens {
        let (_, mine) = t
            .call(Method::GET, "/api/v1/orders?limit=100", Some(tok), None)
            .await;
        let n = mine["items"].as_array().map(Vec::len).unwrap_or(0);
        assert!(n <= 2, "a buyer holds {n}");
        total += n;
    }
    assert_eq!(total, 50);
    // The stock outside the offer is untouched: 500 on hand, 50 set aside.
    assert_eq!(free(&t, &asim, sku).await, 450);
}

/// Two nodes on one PostgreSQL database, each with its own flash desk: their batches take
/// the offer's row in turn, and together they sell exactly the cap. (SQLite is one node's
/// embedded database: there is no second node to run.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgresql_sell_exactly_the_cap() {
    let t = std::sync::Arc::new(TestApp::spawn().await);
    if !t.url.starts_with("postgres") {
        return;
    }
    let (other, other_state) = t.second_node().await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    consign(&t, sku, 500).await;
    let (session, host, _) = live_session(&t).await;
    let (_, o) = post(
        &t,
        &host,
        &format!("/api/v1/live/sessions/{session}/offers"),
        offer_body(sku, 30, 1),
    )
    .await;
    let offer = o["id"].as_i64().expect("offer");
    post(
        &t,
        &host,
        &format!("/api/v1/offers/{offer}/actions"),
        json!({"action": "start"}),
    )
    .await;
    let tokens = t.buyers(40).await;
    let mut taps = tokio::task::JoinSet::new();
    for (i, tok) in tokens.iter().enumerate() {
        for k in 0..3 {
            // Each buyer taps on both nodes.
            let app = if (i + k) % 2 == 0 {
                t.app.clone()
            } else {
                other.clone()
            };
            let tok = tok.clone();
            taps.spawn(async move { tap_on(&app, &tok, offer, 1, &format!("two-{i}-{k}")).await });
        }
    }
    let mut won = 0;
    while let Some(r) = taps.join_next().await {
        let (s, v) = r.expect("tap");
        match (s, v["error"]["code"].as_str()) {
            (StatusCode::CREATED, _) => won += 1,
            (StatusCode::CONFLICT, Some("sold_out" | "limit_exceeded")) => {}
            other => panic!("unexpected answer {other:?}: {v}"),
        }
    }
    assert_eq!(won, 30);
    let (_, o) = t
        .call(Method::GET, &format!("/api/v1/offers/{offer}"), None, None)
        .await;
    assert_eq!(
        (o["held"].as_i64(), o["remaining"].as_i64()),
        (Some(30), Some(0)),
        "{o}"
    );
    let mut total = 0;
    for tok in &tokens {
        let (_, mine) = t
            .call(Method::GET, "/api/v1/orders?limit=100", Some(tok), None)
            .await;
        let n = mine["items"].as_array().map(Vec::len).unwrap_or(0);
        assert!(n <= 1, "a buyer with a limit of 1 holds {n}");
        total += n;
    }
    assert_eq!(total, 30);
    assert!(
        other_state.flash.counts().1 > 0,
        "the second node took taps"
    );
}

#[tokio::test]
async fn a_buyer_takes_an_offer_from_the_session_page_and_the_stream_tells_followers() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let t = TestApp::spawn().await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    consign(&t, sku, 20).await;
    let (session, host, _) = live_session(&t).await;
    let (_, o) = post(
        &t,
        &host,
        &format!("/api/v1/live/sessions/{session}/offers"),
        offer_body(sku, 3, 2),
    )
    .await;
    let offer = o["id"].as_i64().expect("offer");
    post(
        &t,
        &host,
        &format!("/api/v1/offers/{offer}/actions"),
        json!({"action": "start"}),
    )
    .await;

    // Someone follows the session's stream: the current state comes first.
    let req = axum::http::Request::builder()
        .uri(format!("/api/v1/live/sessions/{session}/events"))
        .body(axum::body::Body::empty())
        .expect("request");
    let res = t.app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let mut body = res.into_body();
    let mut next_event = async || -> String {
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
                .await
                .expect("an event within 5 s")
                .expect("a frame")
                .expect("data");
            if let Ok(d) = frame.into_data() {
                let text = String::from_utf8_lossy(&d).to_string();
                if text.contains("event: state") {
                    return text;
                }
            }
        }
    };
    let first = next_event().await;
    assert!(first.contains("\"remaining\":3"), "{first}");

    // The buyer's page: the pinned honey, the offer with what is left.
    let b = crate::backoffice::Browser::sign_in(&t, "buyer").await;
    let (s, page) = b.get(&format!("/live/{session}?lang=zh-CN")).await;
    assert_eq!(s, StatusCode::OK);
    for want in [
        "直播中",
        "去抖音看直播",
        "正在讲解",
        "阿西木土蜂蜜",
        "还剩 3 件",
        "每人限购 2 件",
        "¥29.90",
        "马上抢",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    let key = page
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("a tap key")
        .to_string();
    // A tap: the order, then its page to pay; the same form twice places it once.
    let form = [("quantity", "2"), ("key", key.as_str())];
    let (s, loc, _) = b
        .post(&format!("/live/{session}/offers/{offer}"), &form)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/orders/"), "{loc}");
    let (_, loc2, _) = b
        .post(&format!("/live/{session}/offers/{offer}"), &form)
        .await;
    assert_eq!(loc2, loc);
    // The follower hears of it within a second or two.
    let second = next_event().await;
    assert!(second.contains("\"remaining\":1"), "{second}");
    // Over the limit: said on the page, in words, nothing reserved.
    let (s, _, page) = b
        .post(
            &format!("/live/{session}/offers/{offer}"),
            &[("quantity", "1"), ("key", "other")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("超过每人限购件数"), "{page}");
    // Another session's offer cannot be ordered through this session's page.
    let (s, _, _) = b
        .post(&format!("/live/{}/offers/{offer}", session + 1), &form)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Signed out, the offer leads to signing in.
    let (_, _, page) = t
        .form(Method::GET, &format!("/live/{session}"), "", None)
        .await;
    assert!(page.contains("/login?next=%2Flive%2F"), "{page}");
    let (s, _, _) = t.form(Method::GET, "/live/999999", "", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_host_runs_the_room_from_the_back_office() {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    let (sku, _) = sku_of(&t, "阿西木土蜂蜜").await;
    consign(&t, sku, 30).await;
    let b = Browser::sign_in(&t, "host-harengen").await;
    // A host lands on the live room.
    let (_, h, _) = b.get_with_headers("/manage").await;
    assert_eq!(
        h.get("location").and_then(|v| v.to_str().ok()),
        Some("/manage/live")
    );
    let (s, page) = b.get("/manage/live?lang=zh-CN").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("新建直播场次") && page.contains("哈尔恩根村"),
        "{page}"
    );
    // A session whose end comes before its start is refused by name, what was typed kept.
    let bad = [
        ("room_node", "VP-HARENGEN"),
        ("title", "周末好物"),
        ("platform", "kuaishou"),
        ("stream_url", ""),
        ("planned_start", "2030-01-02T20:00"),
        ("planned_end", "2030-01-02T19:00"),
    ];
    let (s, _, page) = b.post("/manage/live", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("结束时间（北京时间）") && page.contains("value=\"周末好物\""),
        "{page}"
    );
    let mut good = bad;
    good[5] = ("planned_end", "2030-01-02T22:00");
    let (s, loc, _) = b.post("/manage/live", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let id: i64 = loc
        .rsplit('/')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("session id");
    // Go live, pin the honey consigned to the room, and open a 10-unit offer.
    let (s, _, _) = b
        .post(
            &format!("/manage/live/{id}/actions"),
            &[("action", "start")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = b.get(&format!("/manage/live/{id}?lang=zh-CN")).await;
    assert!(
        page.contains("直播中") && page.contains("暂停") && page.contains("阿西木土蜂蜜"),
        "{page}"
    );
    let honey = t.product_id("阿西木土蜂蜜").await;
    let (s, _, _) = b
        .post(
            &format!("/manage/live/{id}/actions"),
            &[("action", "pin"), ("product_id", &honey.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let sku_s = sku.to_string();
    let now = bazaar_domain::time::now_ms();
    let start = bazaar_domain::time::Zone::Shanghai
        .format_ms(now - 60_000)
        .replace(' ', "T");
    let end = bazaar_domain::time::Zone::Shanghai
        .format_ms(now + 3_600_000)
        .replace(' ', "T");
    let offer = |cap: &'static str, price: &'static str| {
        vec![
            ("sku_id", sku_s.clone()),
            ("price", price.to_string()),
            ("cap", cap.to_string()),
            ("per_buyer_limit", "2".to_string()),
            ("per_order_limit", "2".to_string()),
            ("starts_at", start.clone()),
            ("ends_at", end.clone()),
            ("hold_minutes", "10".to_string()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| {
        v.iter().map(|(k, x)| (*k, x.clone())).collect::<Vec<_>>()
    };
    let over = as_refs(&offer("31", "28"));
    let over: Vec<(&str, &str)> = over.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, page) = b.post(&format!("/manage/live/{id}/offers"), &over).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("秒杀件数"),
        "more than the room holds: {page}"
    );
    let ok = as_refs(&offer("10", "28.00"));
    let ok: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, page) = b.post(&format!("/manage/live/{id}/offers"), &ok).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{page}");
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/live/sessions/{id}"),
            None,
            None,
        )
        .await;
    let oid = o["offers"][0]["id"].as_i64().expect("offer");
    assert_eq!(
        (
            o["offers"][0]["price_fen"].as_i64(),
            o["offers"][0]["status"].as_str()
        ),
        (Some(2800), Some("scheduled"))
    );
    let (s, _, _) = b
        .post(
            &format!("/manage/live/{id}/offers/{oid}/actions"),
            &[("action", "start")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // A sale shows in the figures.
    let buyer = t.login("buyer").await;
    let (s, _) = tap(&t, &buyer, oid, 1, "bo-1").await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, page) = b.get(&format!("/manage/live/{id}?lang=zh-CN")).await;
    assert!(page.contains("已售 0 · 待付款 1 · 剩余 9"), "{page}");
    let host = t.login("host-harengen").await;
    let (s, d) = t
        .call(
            Method::GET,
            &format!("/api/v1/live/sessions/{id}/dashboard"),
            Some(&host),
            None,
        )
        .await;
    assert_eq!(
        (s, d["orders"].as_i64(), d["buyers"].as_i64()),
        (StatusCode::OK, Some(1), Some(1)),
        "{d}"
    );
    // Another county's operator sees none of it.
    let litang = Browser::sign_in(&t, "op-litang").await;
    let (s, _) = litang.get(&format!("/manage/live/{id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = litang
        .post(&format!("/manage/live/{id}/actions"), &[("action", "end")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

//! Regression tests of the holes found when Bazaar was attacked (issue 12): each fails on the
//! code before its fix.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// Registers a downstream parcel for `point` as `token`.
async fn parcel_for(t: &TestApp, token: &str, waybill: &str, point: &str) -> Value {
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(token),
            Some(
                json!({"carrier": "yuantong", "waybill": waybill, "direction": "downstream",
                "recipient_name": "根秋", "recipient_phone": "13912345678",
                "destination_node_id": point}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// The first SKU of a product.
async fn first_sku(t: &TestApp, product: i64) -> i64 {
    let (_, p) = t
        .call(
            Method::GET,
            &format!("/api/v1/products/{product}"),
            None,
            None,
        )
        .await;
    p["skus"][0]["id"].as_i64().expect("sku")
}

#[tokio::test]
async fn a_search_cursor_far_past_the_results_is_refused_not_allocated() {
    let t = TestApp::spawn().await;
    // `c1dm4etc` decodes to an offset of about 3×10⁹: it used to abort the process. Now an
    // empty page.
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/products?q=%E8%9C%82%E8%9C%9C&cursor=c1dm4etc",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(0));
    assert!(v["next_cursor"].is_null());
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/products?q=%E8%9C%82%E8%9C%9C&limit=100",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn parcels_outside_the_caller_s_region_do_not_exist_for_it() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let bohu = t.login("op-bohu").await;
    let litang = t.login("op-litang").await;
    let agent = t.login("agent-harengen").await;
    let driver = t.login("driver-bohu").await;
    let buyer = t.login("buyer").await;
    parcel_for(&t, &admin, "YT9000000000001", "VP-513334100201").await;
    let get = |token: String| {
        let t = &t;
        async move {
            t.call(
                Method::GET,
                "/api/v1/parcels?waybill=YT9000000000001",
                Some(&token),
                None,
            )
            .await
        }
    };
    // Its own county's operator sees it with the whole phone.
    let (s, v) = get(litang.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["recipient_phone"], "13912345678");
    // Another county's operator, an agent and a driver elsewhere, a buyer: not found.
    for who in [&bohu, &agent, &driver, &buyer] {
        let (s, v) = get(who.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
    // 博湖's operator cannot move it either (it used to answer 200 `delivered`).
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/tracking/events",
            Some(&bohu),
            Some(json!({"carrier": "yuantong", "waybill": "YT9000000000001",
                "events": [{"code": "3", "at": bazaar_domain::time::now_ms() - 1000}]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (_, v) = get(litang.clone()).await;
    assert_eq!(v["state"], "ordered", "{v}");
    // Nor scan it at its own centre, which would bring it into its scope.
    for (token, node) in [(&bohu, "DC-652829"), (&driver, "DC-652829")] {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(token),
                Some(json!({"scans": [{"client_id": format!("x-{node}"), "waybill": "YT9000000000001",
                    "kind": "arrived_at_county", "node_id": node}]})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["results"][0]["result"], "refused", "{v}");
        assert_eq!(
            v["results"][0]["error"]["reason"], "unknown_reference",
            "{v}"
        );
    }
    let (s, _) = get(bohu.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A time no carrier could have written is refused.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/tracking/events",
            Some(&litang),
            Some(json!({"carrier": "yuantong", "waybill": "YT9000000000001",
                "events": [{"code": "0", "at": i64::MIN}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Nor registers parcels for another county's points.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&bohu),
            Some(json!({"carrier": "yuantong", "waybill": "YT9000000000002",
                "recipient_name": "根秋", "recipient_phone": "13912345678",
                "destination_node_id": "VP-513334100202"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "dest_node");
    // A note on a parcel that does not exist, or outside the region: 404, not 500.
    let id = get(litang.clone()).await.1["id"].as_i64().expect("id");
    for (token, pid) in [(&admin, 999_999), (&bohu, id)] {
        let (s, v) = t
            .call(
                Method::POST,
                &format!("/api/v1/parcels/{pid}/notes"),
                Some(token),
                Some(json!({"body": "看一下"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    }
}

#[tokio::test]
async fn parallel_password_guesses_are_counted_before_the_check() {
    let t = std::sync::Arc::new(TestApp::spawn().await);
    let mut tasks = vec![];
    for i in 0..30 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let password = if i == 17 {
                "bazaar-demo"
            } else {
                "wrong-guess"
            };
            t.call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"username": "asim-not-a-user", "password": password})),
            )
            .await
            .0
        }));
    }
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let evaluated = statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Five free attempts; the rest wait (it used to evaluate all thirty).
    assert!(evaluated <= 5, "{statuses:?}");
    let (s, h, _) = t
        .send_bytes(
            "/api/v1/sessions",
            None,
            "application/json",
            br#"{"username":"asim-not-a-user","password":"x"}"#.to_vec(),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.get("retry-after").is_some());
}

#[tokio::test]
async fn someone_guessing_elsewhere_does_not_shut_the_owner_out() {
    let t = TestApp::spawn().await;
    let store = &t.state.store;
    use bazaar_store::people::auth::TokenKind;
    for _ in 0..10 {
        let _ = store
            .login("buyer", "wrong", "198.51.100.9", TokenKind::Api)
            .await;
    }
    // The guesser waits…
    assert!(matches!(
        store
            .login("buyer", "bazaar-demo", "198.51.100.9", TokenKind::Api)
            .await,
        Err(bazaar_store::StoreError::Throttled(_))
    ));
    // …the owner, from their own phone, signs in; "BUYER " is not the account.
    assert!(
        store
            .login("buyer", "bazaar-demo", "203.0.113.7", TokenKind::Api)
            .await
            .is_ok()
    );
    assert!(matches!(
        store
            .login("BUYER ", "bazaar-demo", "203.0.113.8", TokenKind::Api)
            .await,
        Err(bazaar_store::StoreError::BadCredentials)
    ));
}

#[tokio::test]
async fn the_sandbox_takes_no_payment_unless_enabled() {
    let mut t = TestApp::spawn().await;
    let mut state = t.state.clone();
    state.store = state.store.clone().with_payment_sandbox(Some(false));
    t.app = bazaar_web::router(state);
    let buyer = t.login("buyer").await;
    let sku = first_sku(&t, t.product_id("阿西木土蜂蜜").await).await;
    let (s, o) = t
        .call(
            Method::POST,
            "/api/v1/orders",
            Some(&buyer),
            Some(json!({"items": [{"sku_id": sku, "quantity": 1}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{}/payments", o["id"]),
            Some(&buyer),
            Some(json!({"method": "sandbox"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "method");
    let (s, _, _) = t
        .send_bytes(
            "/api/v1/payments/sandbox/notifications",
            None,
            "application/json",
            b"{}".to_vec(),
            &[("x-sandbox-signature", "00")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn staff_cannot_make_up_stock_or_rules_outside_their_scope() {
    let t = TestApp::spawn().await;
    let bohu = t.login("op-bohu").await;
    let admin = t.login("admin").await;
    // A 理塘 product's SKU.
    let (_, page) = t
        .call(
            Method::GET,
            "/api/v1/products?county=513334&limit=1",
            None,
            None,
        )
        .await;
    let pid = page["items"][0]["id"].as_i64().expect("a 理塘 product");
    let sku = first_sku(&t, pid).await;
    let (s, v) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(&bohu),
            Some(json!({"quantity": 500, "location": "DC-652829"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The 48-hour rules hold for every county: admins only.
    let rule = json!({"carrier": "*", "direction": "*", "hours": 1440});
    let (s, _) = t
        .call(
            Method::PUT,
            "/api/v1/watch/rules",
            Some(&bohu),
            Some(rule.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(Method::PUT, "/api/v1/watch/rules", Some(&admin), Some(rule))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn one_buyer_cannot_hold_a_product_s_stock_unpaid() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let sku = first_sku(&t, t.product_id("阿西木土蜂蜜").await).await;
    let (s, _) = t
        .call(
            Method::PUT,
            &format!("/api/v1/skus/{sku}/stock"),
            Some(&asim),
            Some(json!({"quantity": 40})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let order = |q: i64| {
        let (t, buyer) = (&t, buyer.clone());
        async move {
            t.call(
                Method::POST,
                "/api/v1/orders",
                Some(&buyer),
                Some(json!({"items": [{"sku_id": sku, "quantity": q}]})),
            )
            .await
        }
    };
    // The whole stock in one unpaid order: refused, nothing reserved.
    let (s, v) = order(40).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "unpaid_limit");
    // Half of it, then nothing more while it is unpaid, whatever the number of orders.
    assert_eq!(order(20).await.0, StatusCode::CREATED);
    assert_eq!(order(1).await.0, StatusCode::CONFLICT);
    // Another buyer still can.
    let other = t.buyers(1).await.remove(0);
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/orders",
            Some(&other),
            Some(json!({"items": [{"sku_id": sku, "quantity": 5}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scans_of_the_same_parcels_do_not_deadlock() {
    let t = std::sync::Arc::new(TestApp::spawn().await);
    let admin = t.login("admin").await;
    let mut waybills = vec![];
    for i in 0..6 {
        let w = format!("YT91000000000{i:02}");
        parcel_for(&t, &admin, &w, "VP-HARENGEN").await;
        waybills.push(w);
    }
    let op = t.login("op-bohu").await;
    let mut tasks = vec![];
    for k in 0..12 {
        let (t, op) = (t.clone(), op.clone());
        let mut ws = waybills.clone();
        if k % 2 == 1 {
            ws.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let scans: Vec<Value> = ws
                .iter()
                .enumerate()
                .map(|(j, w)| {
                    json!({"client_id": format!("c{k}-{j}"), "waybill": w,
                    "kind": "arrived_at_county", "node_id": "DC-652829"})
                })
                .collect();
            t.call(
                Method::POST,
                "/api/v1/scans",
                Some(&op),
                Some(json!({"scans": scans})),
            )
            .await
        }));
    }
    for task in tasks {
        let (s, v) = task.await.expect("task");
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

#[tokio::test]
async fn a_wrong_code_and_a_wrong_phone_get_one_answer_and_attempts_are_counted() {
    let t = TestApp::spawn().await;
    let agent = t.login("agent-harengen").await;
    let admin = t.login("admin").await;
    parcel_for(&t, &admin, "YT9200000000001", "VP-HARENGEN").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT9200000000001", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["pickup_code"].as_str().expect("pickup code").to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let try_ = |code: String, last4: &'static str| {
        let (t, agent) = (&t, agent.clone());
        async move {
            t.call(
                Method::POST,
                "/api/v1/pickups",
                Some(&agent),
                Some(json!({"pickup_code": code, "phone_last4": last4, "signature": "根秋"})),
            )
            .await
        }
    };
    let (s1, a) = try_(wrong.to_string(), "5678").await;
    let (s2, b) = try_(code.clone(), "0000").await;
    assert_eq!(
        (s1, s2),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::UNPROCESSABLE_ENTITY
        )
    );
    assert_eq!(
        a["error"], b["error"],
        "the answer tells whether the code exists"
    );
    // The agent's own attempts at its point: free ones, then a wait.
    let mut throttled = false;
    for _ in 0..12 {
        if try_(wrong.to_string(), "5678").await.0 == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled);
    // An operator's hand-over at the same point is not held up by the agent's mistakes.
    let op = t.login("op-bohu").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&op),
            Some(
                json!({"pickup_code": code, "phone_last4": "5678", "signature": "根秋",
                "node_code": "VP-HARENGEN"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let t = TestApp::spawn().await;
    for path in ["/", "/api/v1/products", "/login", "/no-such-page"] {
        let (_, h, _) = t.form(Method::GET, path, "", None).await;
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..])
        );
        assert!(h.get("referrer-policy").is_some());
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
    }
    let (s, h, js) = t.form(Method::GET, "/assets/scan.js", "", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/javascript"))
    );
    assert!(js.contains("localStorage"));
}

#[tokio::test]
async fn sign_in_rotates_the_csrf_token_and_foreign_origins_are_refused() {
    let t = TestApp::spawn().await;
    let (_, h, _) = t.form(Method::GET, "/login", "", None).await;
    let csrf = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("bz_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("csrf cookie")
        .to_string();
    let form = format!("csrf={csrf}&username=buyer&password=bazaar-demo");
    let cookie = format!("bz_csrf={csrf}");
    // From another site's page: refused, even with the right token.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &cookie)
        .header("host", "bazaar.example")
        .header("origin", "https://evil.example")
        .body(axum::body::Body::from(form.clone()))
        .expect("request");
    let res = tower::ServiceExt::oneshot(t.app.clone(), req)
        .await
        .expect("response");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // From our own: signed in, with a new CSRF token.
    let (s, h, _) = t.form(Method::POST, "/login", &form, Some(&cookie)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let fresh = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("bz_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("a new csrf cookie")
        .to_string();
    assert_ne!(fresh, csrf);
}

#[tokio::test]
async fn a_failing_notification_is_logged_kept_and_listed_for_admins() {
    let t = TestApp::spawn().await;
    let agent = t.login("agent-harengen").await;
    let admin = t.login("admin").await;
    parcel_for(&t, &admin, "YT9300000000001", "VP-HARENGEN").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT9300000000001", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    struct Refusing;
    impl bazaar_web::notify::Notifier for Refusing {
        fn channel(&self) -> &'static str {
            "sms"
        }
        fn send<'a>(
            &'a self,
            _: &'a bazaar_store::logistics::pickup::Notification,
        ) -> bazaar_web::notify::Sending<'a> {
            Box::pin(async { Err("gateway said no".to_string()) })
        }
    }
    struct Hanging;
    impl bazaar_web::notify::Notifier for Hanging {
        fn channel(&self) -> &'static str {
            "sms"
        }
        fn send<'a>(
            &'a self,
            _: &'a bazaar_store::logistics::pickup::Notification,
        ) -> bazaar_web::notify::Sending<'a> {
            Box::pin(async {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                Ok("sms")
            })
        }
    }
    // A hanging gateway holds a drain no longer than its budget.
    let hanging: std::sync::Arc<dyn bazaar_web::notify::Notifier> = std::sync::Arc::new(Hanging);
    let started = std::time::Instant::now();
    bazaar_web::notify::drain_within(
        &t.state.store,
        &hanging,
        std::time::Duration::from_millis(300),
    )
    .await
    .expect("drain");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let refusing: std::sync::Arc<dyn bazaar_web::notify::Notifier> = std::sync::Arc::new(Refusing);
    for _ in 0..6 {
        bazaar_web::notify::drain(&t.state.store, &refusing)
            .await
            .expect("drain");
    }
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/notifications?status=failed",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let failed = v.as_array().expect("list");
    assert_eq!(failed.len(), 1, "{v}");
    assert_eq!(failed[0]["error"], "gateway said no");
    assert!(
        !failed[0]["phone"]
            .as_str()
            .unwrap_or("")
            .contains("12345678")
    );
    let (s, _) = t
        .call(
            Method::GET,
            "/api/v1/notifications?status=failed",
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/notifications/{}/retry", failed[0]["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/notifications?status=failed",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(v.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn an_image_claiming_too_many_pixels_is_refused_before_decoding() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let started = std::time::Instant::now();
    let (s, _, body) = t
        .send_bytes(
            &format!("/api/v1/products/{id}/photos"),
            Some(&asim),
            "image/png",
            png_header(12_000, 12_000),
            &[],
        )
        .await;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["details"][0]["reason"], "too_many_pixels", "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

/// The signature, IHDR chunk and a first IDAT chunk of a PNG of `w` × `h` pixels: what a
/// decompression bomb's first bytes look like.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // A first IDAT chunk of a few bytes: the decoder reads up to it for the header.
    let idat = b"IDAT\x78\x9c\x00\x00".to_vec();
    out.extend_from_slice(&4u32.to_be_bytes());
    out.extend_from_slice(&idat);
    out.extend_from_slice(&crc32(&idat).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[tokio::test]
async fn a_seller_decides_only_refunds_of_its_own_goods() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let asim = t.login("seller-asim").await;
    let buyer = t.login("buyer").await;
    let mut skus = vec![];
    for name in ["阿西木土蜂蜜", "罗布麻蜂蜜"] {
        let sku = first_sku(&t, t.product_id(name).await).await;
        let (s, _) = t
            .call(
                Method::PUT,
                &format!("/api/v1/skus/{sku}/stock"),
                Some(&admin),
                Some(json!({"quantity": 10})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        skus.push(sku);
    }
    // One order, two sellers' goods, paid.
    let (s, o) = t
        .call(
            Method::POST,
            "/api/v1/orders",
            Some(&buyer),
            Some(json!({"items": [{"sku_id": skus[0], "quantity": 1}, {"sku_id": skus[1], "quantity": 2}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().expect("id");
    let (body, sig) = crate::orders::pay_with_sandbox(&t, &buyer, id).await;
    let (s, _) = crate::orders::notify(&t, &body, sig["sig"].as_str().expect("sig")).await;
    assert_eq!(s, StatusCode::OK);
    // 阿西木 sees its own line of the shared order and its own parcel, not the other
    // seller's.
    let (s, seen) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&asim),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert_eq!(seen["lines"].as_array().map(Vec::len), Some(1), "{seen}");
    // Its totals are of its own line and part, not of what the other seller sold.
    let whole = o["total_fen"].as_i64().expect("total");
    let own_items = seen["lines"][0]["line_fen"].as_i64().expect("line");
    assert_eq!(seen["items_fen"].as_i64(), Some(own_items), "{seen}");
    assert_eq!(
        seen["total_fen"].as_i64(),
        Some(own_items + seen["shipping_fen"].as_i64().expect("shipping")),
        "{seen}"
    );
    assert!(seen["total_fen"].as_i64() < Some(whole), "{seen} {o}");
    let (_, ps) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}/parcels"),
            Some(&asim),
            None,
        )
        .await;
    assert_eq!(ps.as_array().map(Vec::len), Some(1), "{ps}");
    let (_, all) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}/parcels"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let other = all
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] != ps[0]["id"])
        .and_then(|p| p["waybill"].as_str())
        .expect("the other seller's parcel")
        .to_string();
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/parcels?waybill={other}"),
            Some(&asim),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = t
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id}/refund"),
            Some(&buyer),
            Some(json!({"reason": "不想要了"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let refund = r["id"].as_i64().expect("refund");
    // 阿西木 may not refund (and restock) the other seller's honey: not on its list either.
    let (_, list) = t
        .call(Method::GET, "/api/v1/refunds", Some(&asim), None)
        .await;
    assert!(
        !list
            .as_array()
            .expect("list")
            .iter()
            .any(|x| x["id"] == refund),
        "{list}"
    );
    let decide = format!("/api/v1/refunds/{refund}/decision");
    let (s, v) = t
        .call(
            Method::POST,
            &decide,
            Some(&asim),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The goods come from two counties (尉犁, 伽师): an admin arbitrates.
    let (s, v) = t
        .call(
            Method::POST,
            &decide,
            Some(&admin),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_station_agent_learns_nothing_of_parcels_bound_elsewhere() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    // A parcel for another village of the same county, and one for 哈尔恩根村 itself.
    parcel_for(&t, &op, "YT1000000000071", "VP-652829200202").await;
    parcel_for(&t, &op, "YT1000000000072", "VP-HARENGEN").await;
    let agent = t.login("agent-harengen").await;
    let scan = |waybill: &str, kind: &str| json!({"waybill": waybill, "kind": kind});
    let mut answers = Vec::new();
    for (waybill, kind) in [
        // Bound elsewhere, scanned in or handed over: the same answer as ...
        ("YT1000000000071", "delivered_to_point"),
        ("YT1000000000071", "received_at_township"),
        // ... a waybill that does not exist.
        ("YT1000000000079", "delivered_to_point"),
        ("YT1000000000079", "received_at_township"),
    ] {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(&agent),
                Some(scan(waybill, kind)),
            )
            .await;
        answers.push((
            s,
            v["error"]["field"].as_str().map(String::from),
            v["error"]["details"][0]["reason"]
                .as_str()
                .map(String::from),
        ));
    }
    assert!(
        answers.iter().all(|a| a
            == &(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("waybill".to_string()),
                Some("wrong_place".to_string())
            )),
        "{answers:?}"
    );
    // Nothing moved: the other point's parcel was never at 哈尔恩根村.
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT1000000000071",
            Some(&op),
            None,
        )
        .await;
    assert!(
        v["events"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["node_code"] != "VP-HARENGEN")),
        "{v}"
    );
    // Its own parcel is scanned in as before.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(scan("YT1000000000072", "delivered_to_point")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

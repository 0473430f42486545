use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn bad_patches_name_the_field_and_change_nothing() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{id}"),
            Some(&asim),
            Some(json!({"category": "sweets", "name": "新名字", "shelf_life_days": 99999})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], "invalid_input");
    let fields: Vec<_> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(fields, ["category", "shelf_life_days"]);
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(p["name"], "阿西木土蜂蜜");
    let (s, v) = t
        .raw(
            Method::PATCH,
            &format!("/api/v1/products/{id}"),
            Some(&asim),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&v)
    );
    // English messages on request, same code.
    let (_, v) = t
        .raw(
            Method::GET,
            "/api/v1/products?limit=0",
            None,
            None,
            &[("accept-language", "en")],
        )
        .await;
    let v: serde_json::Value = serde_json::from_slice(&v).expect("json");
    assert_eq!(v["error"]["code"], "invalid_input");
    assert_eq!(v["error"]["field"], "limit");
    assert_eq!(
        v["error"]["message"], "Page size: out of the allowed range",
        "the message names the field and the reason in English"
    );
    // Chinese by default.
    let (_, v) = t
        .raw(Method::GET, "/api/v1/products?limit=0", None, None, &[])
        .await;
    let v: serde_json::Value = serde_json::from_slice(&v).expect("json");
    assert_eq!(v["error"]["message"], "每页条数：超出允许范围");
}

#[tokio::test]
async fn review_lifecycle_delists_and_relists_with_reasons() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?county=652829", None, None)
        .await;
    let id = v["items"][0]["id"].as_i64().expect("id");
    let name = v["items"][0]["name"].as_str().expect("name").to_string();
    let url = format!("/api/v1/products/{id}/actions");
    // An operator must give a reason to delist.
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "delist"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "reason");
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "delist", "reason": "抽检不合格"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "delisted");
    // Gone from the public catalog and search, invisible to anonymous callers.
    let (s, _) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, found) = t
        .call(
            Method::GET,
            &format!("/api/v1/products?q={}", urlencode(&name)),
            None,
            None,
        )
        .await;
    assert!(
        found["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|p| p["id"] != id)
    );
    // Approving from delisted is an illegal transition.
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "invalid_transition");
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "submit"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "reject"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "listed");
    let (s, _) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Another county's operator cannot act on it.
    let litang = t.login("op-litang").await;
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&litang),
            Some(json!({"action": "delist", "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "fly"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn an_agent_registers_a_villager_and_lists_for_them() {
    let t = TestApp::spawn().await;
    let agent = t.login("agent-harengen").await;
    let op = t.login("op-bohu").await;
    let villager = json!({
        "name": "吐尔逊·买买提", "kind": "household", "village_code": "652829200201",
        "poverty_status": "monitored", "registration_no": "PA-6528-2020-00077",
        "contact_phone": "139 0000 9999"
    });
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/sellers",
            Some(&agent),
            Some(villager.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "pending");
    let seller_id = v["id"].as_i64().expect("id");
    // Not outside its own village.
    let mut elsewhere = villager.clone();
    elsewhere["village_code"] = json!("513334100201");
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/sellers",
            Some(&agent),
            Some(elsewhere),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bad fields are all named.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/sellers",
            Some(&agent),
            Some(json!({"kind": "farm", "village_code": "12"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"]["details"].as_array().expect("details").len(),
        3,
        "{v}"
    );

    // The agent lists the villager's product (代卖); the producer stays the villager.
    let product = json!({
        "seller_id": seller_id, "name": "哈尔恩根沙枣蜂蜜", "category": "honey",
        "skus": [{"spec": "500g 瓶装", "price_fen": 5800, "weight_g": 650, "volume_cm3": 900}]
    });
    let (s, p) = t
        .call(
            Method::POST,
            "/api/v1/products",
            Some(&agent),
            Some(product),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "draft");
    assert_eq!(p["seller"]["id"], seller_id);
    let id = p["id"].as_i64().expect("id");
    let url = format!("/api/v1/products/{id}/actions");
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&agent),
            Some(json!({"action": "submit"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Drafts and products in review are not public.
    let (s, _) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The agent cannot approve; the operator cannot list for an unapproved seller.
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&agent),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "seller_not_approved");
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/sellers/{seller_id}/decision"),
            Some(&op),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "approved");
    let (s, _) = t
        .call(
            Method::POST,
            &url,
            Some(&op),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, found) = t
        .call(Method::GET, "/api/v1/products?q=shazao", None, None)
        .await;
    let (_, found_zh) = t
        .call(
            Method::GET,
            "/api/v1/products?q=%E6%B2%99%E6%9E%A3",
            None,
            None,
        )
        .await;
    for f in [found, found_zh] {
        assert!(
            f["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|p| p["id"] == id),
            "{f}"
        );
    }
    // Bad SKU fields are named with their index.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/products",
            Some(&agent),
            Some(json!({"seller_id": seller_id, "name": "x", "category": "honey", "skus": [{"spec": "1kg", "price_fen": -1, "weight_g": 1}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "skus[0].price_fen");
}

#[tokio::test]
async fn options_are_added_and_changed_by_whoever_may_edit_the_product() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let op = t.login("op-bohu").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let url = format!("/api/v1/products/{id}/skus");
    let good = serde_json::json!({"spec": "2kg 家庭装", "price_fen": 19800, "weight_g": 2300, "volume_cm3": 3000});
    // Bad fields are named, all at once.
    let (s, v) = t
        .call(
            Method::POST,
            &url,
            Some(&asim),
            Some(serde_json::json!({"spec": "", "price_fen": 0, "weight_g": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["spec", "price_fen", "weight_g"]);
    // An operator of another county may not.
    let (s, _) = t
        .call(Method::POST, &url, Some(&op), Some(good.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, sku) = t.call(Method::POST, &url, Some(&asim), Some(good)).await;
    assert_eq!(s, StatusCode::CREATED, "{sku}");
    let sku_id = sku["id"].as_i64().expect("id");
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/skus/{sku_id}"),
            Some(&asim),
            Some(serde_json::json!({"spec": "2kg 家庭装", "price_fen": 18800, "weight_g": 2300})),
        )
        .await;
    assert_eq!(
        (s, v["price_fen"].as_i64()),
        (StatusCode::OK, Some(18800)),
        "{v}"
    );
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert!(
        p["skus"]
            .as_array()
            .expect("skus")
            .iter()
            .any(|k| k["id"] == sku_id && k["price_fen"] == 18800),
        "{p}"
    );
    let (s, _) = t
        .call(
            Method::PATCH,
            "/api/v1/skus/999999",
            Some(&asim),
            Some(serde_json::json!({"spec": "x", "price_fen": 1, "weight_g": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Found by schemathesis: a search cursor far past every hit made the index collect that many
/// hits in memory and aborted the server (`memory allocation of … bytes failed`). Any cursor
/// past the end is an empty page.
#[tokio::test]
async fn a_search_cursor_past_every_hit_is_an_empty_page() {
    let t = TestApp::spawn().await;
    for cursor in ["cpu0ajwd7i", "c1y2p0ij32e8e7", "c100"] {
        let (s, v) = t
            .call(
                Method::GET,
                &format!("/api/v1/products?q=%E8%9C%82%E8%9C%9C&cursor={cursor}&limit=70"),
                None,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{cursor}: {v}");
        assert_eq!(
            v["items"].as_array().map(Vec::len),
            Some(0),
            "{cursor}: {v}"
        );
        assert!(v["total"].as_u64().is_some_and(|n| n > 0), "{v}");
        assert!(v["next_cursor"].is_null(), "{v}");
    }
}

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn login_tokens_and_throttling() {
    let t = TestApp::spawn().await;
    let token = t.login("op-bohu").await;
    let (s, me) = t.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], "operator");
    // Revoked tokens stop working.
    let (s, _) = t
        .call(Method::DELETE, "/api/v1/sessions", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"username": "buyer"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "password");
    for _ in 0..5 {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"username": "buyer", "password": "guess"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["code"], "bad_credentials");
    }
    // Even the right password waits while this client must wait on the account.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"username": "buyer", "password": "bazaar-demo"})),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v["error"]["code"], "too_many_attempts");
    // Another account from the same client is not locked out by them.
    t.login("op-bohu").await;
    let (s, _) = t
        .call(Method::GET, "/api/v1/me", Some("not-a-token"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn county_operators_are_confined_to_their_county() {
    let t = TestApp::spawn().await;
    let bohu = t.login("op-bohu").await;
    let litang = t.login("op-litang").await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?county=652829", None, None)
        .await;
    let bohu_product = v["items"][0]["id"].as_i64().expect("a Bohu product");
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?county=513334", None, None)
        .await;
    let litang_product = v["items"][0]["id"].as_i64().expect("a Litang product");

    let patch = json!({"description": "品控复核通过"});
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{bohu_product}"),
            Some(&bohu),
            Some(patch.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["description"], "品控复核通过");
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{litang_product}"),
            Some(&bohu),
            Some(patch.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{bohu_product}"),
            Some(&litang),
            Some(patch.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Sellers: each operator sees only its county's.
    let (_, v) = t
        .call(Method::GET, "/api/v1/sellers?limit=100", Some(&bohu), None)
        .await;
    let items = v["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(items.iter().all(|s| {
        s["village_code"]
            .as_str()
            .is_some_and(|c| c.starts_with("652829"))
    }));
    let (_, lv) = t
        .call(
            Method::GET,
            "/api/v1/sellers?limit=100",
            Some(&litang),
            None,
        )
        .await;
    let litang_seller = lv["items"][0]["id"].as_i64().expect("a Litang seller");
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/sellers/{litang_seller}"),
            Some(&bohu),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Anonymous callers cannot list sellers or change anything.
    let (s, _) = t.call(Method::GET, "/api/v1/sellers", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{bohu_product}"),
            None,
            Some(patch),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sellers_touch_only_their_own_products() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let own = t.product_id("阿西木土蜂蜜").await;
    let other = t.product_id("雅江松茸").await;
    let (s, v) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{own}"),
            Some(&asim),
            Some(json!({"name_en": "Asim Raw Honey"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name_en"], "Asim Raw Honey");
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{other}"),
            Some(&asim),
            Some(json!({"name_en": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(
            Method::PATCH,
            &format!("/api/v1/products/{own}"),
            Some(&buyer),
            Some(json!({"name_en": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

//! Administering accounts: admins create any, operators field staff of their region.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn admins_and_operators_create_accounts_within_their_rights() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let bohu = t.login("op-bohu").await;

    // An admin creates an operator, who can then sign in.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "op-daocheng", "display_name": "稻城县运营", "password": "dao-cheng-2026", "role": "operator", "region_code": "513337"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["role"], "operator");
    assert!(v.get("password_hash").is_none());
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"username": "op-daocheng", "password": "dao-cheng-2026"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // The username is taken now.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "op-daocheng", "password": "dao-cheng-2026", "role": "buyer"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "username");
    assert_eq!(v["error"]["details"][0]["reason"], "duplicate");

    // A county operator creates an agent for a service point of its county...
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&bohu),
            Some(json!({"username": "agent-two", "password": "harengen-2026", "role": "agent", "node_code": "VP-HARENGEN"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // ...but not for Litang's, and never an operator.
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&bohu),
            Some(json!({"username": "agent-x", "password": "harengen-2026", "role": "agent", "node_code": "TS-513334100"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&bohu),
            Some(json!({"username": "op-x", "password": "harengen-2026", "role": "operator", "region_code": "652829"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Sellers and anonymous callers create nothing.
    let asim = t.login("seller-asim").await;
    let body = json!({"username": "buyer-x", "password": "harengen-2026", "role": "buyer"});
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&asim),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(Method::POST, "/api/v1/users", None, Some(body))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Bohu's operator lists the accounts of Bohu only.
    let (s, v) = t
        .call(Method::GET, "/api/v1/users", Some(&bohu), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(
        names.contains(&"agent-harengen") && names.contains(&"agent-two"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"op-litang") && !names.contains(&"admin"),
        "{names:?}"
    );
    let (_, v) = t
        .call(Method::GET, "/api/v1/users?limit=2", Some(&admin), None)
        .await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
    assert!(v["next_cursor"].is_string());
}

#[tokio::test]
async fn bad_account_forms_name_every_field() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let (s, v) = t
        .raw(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "Not Valid", "password": "short", "role": "king"})),
            &[("accept-language", "en")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&v).expect("json");
    let fields: Vec<&str> = v["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["username", "password", "role"]);
    assert_eq!(
        v["error"]["message"],
        "Username: not in the expected format"
    );
    // A place that does not exist.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "agent-y", "password": "long-enough-1", "role": "agent", "node_code": "VP-NOWHERE"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "node_code");
    assert_eq!(v["error"]["details"][0]["reason"], "unknown_reference");
}

#[tokio::test]
async fn every_demo_account_that_serve_lists_signs_in_with_the_demo_password() {
    let t = TestApp::spawn().await;
    for (user, _) in bazaar_store::demo::DEMO_ACCOUNTS {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(json!({"username": user, "password": bazaar_store::demo::DEMO_PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{user}: {v}");
    }
}

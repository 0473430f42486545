//! The OpenAPI document is generated from the code and covers every API route.

use crate::TestApp;
use axum::http::{Method, StatusCode};

/// (path, method) of every `/api/v1` route registered in `router`, read from its source.
fn registered_routes() -> Vec<(String, String)> {
    let src = include_str!("../../src/lib.rs");
    let mut out = vec![];
    let parts: Vec<&str> = src.split(".route(").skip(1).collect();
    for part in parts {
        let Some(start) = part.find('"') else {
            continue;
        };
        let rest = &part[start + 1..];
        let Some(end) = rest.find('"') else { continue };
        let path = &rest[..end];
        if !path.starts_with("/api/v1/") {
            continue;
        }
        // Every `get(handler)`, `.post(handler)`, … of the route, whatever module holds it.
        for m in ["get", "post", "patch", "delete", "put"] {
            let call = format!("{m}(");
            let found = part.match_indices(&call).any(|(i, _)| {
                part[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            });
            if found {
                out.push((path.to_string(), m.to_string()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_describes_every_api_route() {
    let t = TestApp::spawn().await;
    let (s, doc) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let routes = registered_routes();
    assert!(routes.len() >= 16, "{routes:?}");
    for (path, method) in &routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
    // The product schema has the shape the API answers, prices in fen.
    let product = &doc["components"]["schemas"]["ProductView"]["properties"];
    for k in ["id", "name", "county", "skus", "photos", "seller"] {
        assert!(product[k].is_object(), "ProductView lacks {k}");
    }
    assert!(doc["components"]["schemas"]["Sku"]["properties"]["price_fen"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Every documented error answer uses the one error shape.
    let err = &doc["components"]["schemas"]["ErrorDetail"]["properties"];
    for k in ["code", "message", "field"] {
        assert!(err[k].is_object());
    }
}

/// Every error under `/api/` is the JSON error, including those axum answers by itself: a
/// body that is not JSON or of the wrong shape (the optional bodies of cancel and deliver
/// too), a missing content type, a method the path does not take, an unknown path.
#[tokio::test]
async fn every_api_error_is_the_json_error() {
    let t = TestApp::spawn().await;
    let buyer = t.login("buyer").await;
    let json_error = |s: StatusCode, h: &axum::http::HeaderMap, b: &[u8], what: &str| {
        let ct = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("application/json"), "{what}: {s} {ct}");
        let v: serde_json::Value = serde_json::from_slice(b).expect("a JSON body");
        assert!(v["error"]["code"].is_string(), "{what}: {v}");
        assert!(v["error"]["message"].is_string(), "{what}: {v}");
        v
    };
    for path in ["/api/v1/orders/1/cancel", "/api/v1/orders/1/deliver"] {
        // Not JSON at all: 400 invalid_json (was axum's plain-text 400).
        let (s, h, b) = t
            .send_bytes(
                path,
                Some(&buyer),
                "application/json",
                b"\n\xffE".to_vec(),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        let v = json_error(s, &h, &b, path);
        assert_eq!(v["error"]["code"], "invalid_json");
        // The wrong shape: 400 naming the field (was axum's plain-text 422).
        let (s, h, b) = t
            .send_bytes(
                path,
                Some(&buyer),
                "application/json",
                br#"{"reason": {}}"#.to_vec(),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        let v = json_error(s, &h, &b, path);
        assert_eq!(v["error"]["code"], "invalid_input");
        assert_eq!(v["error"]["field"], "reason");
        // Another content type: 415.
        let (s, h, b) = t
            .send_bytes(path, Some(&buyer), "text/plain", b"{}".to_vec(), &[])
            .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
        json_error(s, &h, &b, path);
    }
    // A required field missing names it.
    let (s, h, b) = t
        .send_bytes(
            "/api/v1/addresses",
            Some(&buyer),
            "application/json",
            br#"{"phone": 1}"#.to_vec(),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v = json_error(s, &h, &b, "addresses");
    assert!(v["error"]["field"].is_string(), "{v}");
    // A JSON body without a content type: 415.
    let (s, b) = t
        .raw(Method::POST, "/api/v1/sessions", None, None, &[])
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let v: serde_json::Value = serde_json::from_slice(&b).expect("JSON");
    assert_eq!(v["error"]["code"], "json_content_type");
    // A method the path does not take: 405 with Allow, and the JSON error.
    let (s, h, b) = t
        .send_bytes(
            "/api/v1/me",
            Some(&buyer),
            "application/json",
            b"{}".to_vec(),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(h.get("allow").is_some());
    let v = json_error(s, &h, &b, "POST /api/v1/me");
    assert_eq!(v["error"]["code"], "method_not_allowed");
    // A path axum cannot decode (not UTF-8): 400, JSON.
    let (s, b) = t
        .raw(Method::GET, "/api/v1/products/%FF", None, None, &[])
        .await;
    assert!(s.is_client_error(), "{s}");
    let v: serde_json::Value = serde_json::from_slice(&b).expect("JSON");
    assert!(v["error"]["code"].is_string(), "{v}");
    // An unknown path: 404, JSON.
    let (s, v) = t
        .call(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

/// JSON Schema counts `24.0` as an integer, and so does the API: an integral float is taken
/// where an integer is expected (schemathesis sends them); a fraction is still refused.
#[tokio::test]
async fn integral_floats_are_integers() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let rule = |hours: serde_json::Value| serde_json::json!({"carrier": "ems", "direction": "upstream", "hours": hours});
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/watch/rules",
            Some(&admin),
            Some(rule(serde_json::json!(24.0))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/watch/rules",
            Some(&admin),
            Some(rule(serde_json::json!(24.5))),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "hours", "{v}");
}

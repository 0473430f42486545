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

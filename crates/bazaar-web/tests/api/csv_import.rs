use crate::TestApp;
use bazaar_store::StoreError;

#[tokio::test]
async fn a_bad_file_is_rejected_whole_with_every_bad_row() {
    let t = TestApp::spawn().await;
    let store = &t.state.store;
    let before = store.export_nodes(None).await.expect("export");
    let file = "code,name,kind,region_code,parent_code,lat,lng,opens,closes\n\
                VP-NEW-1,新服务点,village_point,652829200201,TS-652829200,41.9,86.7,09:00,20:00\n\
                VP-NEW-2,坏服务点,village_spot,652829200201,,41.9,86.7,09:00,20:00\n\
                VP-NEW-3,无地区,village_point,999999999999,,91,86.7,20:00,09:00\n";
    match store.import_nodes(None, file.as_bytes()).await {
        Err(StoreError::Csv(rows)) => {
            let got: Vec<_> = rows
                .iter()
                .map(|r| (r.line, r.column.as_str(), r.reason.as_str()))
                .collect();
            assert_eq!(
                got,
                [
                    (3, "kind", "unknown_choice"),
                    (4, "lat", "out_of_range"),
                    (4, "closes", "inconsistent"),
                ]
            );
        }
        other => panic!("expected CSV errors, got {other:?}"),
    }
    assert_eq!(store.export_nodes(None).await.expect("export"), before);
    // Export then import again: the same network, all updates.
    let s = store
        .import_nodes(None, before.as_bytes())
        .await
        .expect("round trip");
    assert_eq!(s.created, 0);
    assert!(s.updated > 100);
    let regions = store.export_regions(None).await.expect("regions");
    let s = store
        .import_regions(None, regions.as_bytes())
        .await
        .expect("round trip");
    assert_eq!(s.created, 0);
    // An operator may not import outside its county.
    let op = store
        .actor_by_token(
            &store
                .login(
                    "op-bohu",
                    "bazaar-demo",
                    "t",
                    bazaar_store::people::auth::TokenKind::Api,
                )
                .await
                .expect("login")
                .0,
            bazaar_store::people::auth::TokenKind::Api,
        )
        .await
        .expect("actor")
        .expect("some");
    let outside = "code,name,kind,region_code\nVP-X,理塘点,village_point,513334\n";
    match store.import_nodes(Some(&op), outside.as_bytes()).await {
        Err(StoreError::Csv(rows)) => assert_eq!(rows[0].reason, "out_of_scope"),
        other => panic!("expected out_of_scope, got {other:?}"),
    }
}

#[tokio::test]
async fn csv_over_http_is_scoped_and_all_or_nothing() {
    use axum::http::{Method, StatusCode};
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let (s, csv) = t
        .raw(Method::GET, "/api/v1/exports/nodes", Some(&op), None, &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).expect("utf8");
    assert!(csv.contains("VP-HARENGEN") && !csv.contains("513334"));
    let bad = "code,name,kind,region_code\nVP-A,点A,village_point,652829200201\nVP-B,点B,nowhere,652829200201\n";
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports/nodes")
        .header("authorization", format!("Bearer {op}"))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(bad))
        .expect("request");
    use tower::ServiceExt;
    let res = t.app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = t
        .call(Method::GET, "/api/v1/nodes?region=652829200201", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|n| n["code"] != "VP-A")
    );
    // Phones are masked for anonymous callers.
    let phone = v["items"][0]["contact_phone"].as_str().unwrap_or("****");
    assert!(phone.contains("****"), "{phone}");
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .raw(
            Method::GET,
            "/api/v1/exports/nodes",
            Some(&buyer),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_nodes_change_reaches_this_nodes_search() {
    let t = TestApp::spawn().await;
    assert!(!t.state.refresh_if_stale().await.expect("refresh"));
    // A change written straight to the store, as another server node would.
    let op = t.state.store.actor(1).await.expect("admin");
    let id = t.product_id("雅江松茸").await;
    t.state
        .store
        .product_action(
            &op,
            id,
            bazaar_domain::catalog::ProductAction::Delist,
            Some("断货"),
        )
        .await
        .expect("delist");
    assert!(t.state.refresh_if_stale().await.expect("refresh"));
    let hits = t
        .state
        .search()
        .search("雅江松茸", &bazaar_search::Filters::default(), 0, 10)
        .expect("search");
    assert!(!hits.ids.contains(&id));
}

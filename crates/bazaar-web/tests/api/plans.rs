//! Route planning from the API and the back office.

use crate::TestApp;
use crate::backoffice::Browser;
use axum::http::{Method, StatusCode};
use serde_json::json;

fn day() -> serde_json::Value {
    json!({
        "depots": [{"id": "DC-513334", "name": "理塘县仓储物流配送中心", "lat": 29.98, "lng": 100.29,
            "vehicles": [{"id": "冷藏车-1", "capacity_kg": 400, "capacity_m3": 3, "cold_chain": true},
                         {"id": "厢货-2", "capacity_kg": 800, "capacity_m3": 6}]}],
        "stops": [
            {"id": "VP-1", "name": "禾尼", "lat": 30.05, "lng": 100.35, "deliver_kg": 60, "pickup_kg": 30},
            {"id": "VP-2", "lat": 29.90, "lng": 100.20, "deliver_kg": 40, "cold_kg": 10, "closes": "11:00"},
            {"id": "VP-3", "lat": 30.10, "lng": 100.10, "deliver_kg": 90},
            {"id": "VP-4", "lat": 30.00, "lng": 100.40, "deliver_kg": 5000}
        ]
    })
}

#[tokio::test]
async fn operators_plan_a_day_through_the_api_and_bad_input_is_named() {
    let t = TestApp::spawn().await;
    let op = t.login("op-litang").await;
    let (s, p) = t
        .call(
            Method::POST,
            "/api/v1/plans?time_limit=1",
            Some(&op),
            Some(day()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["served"], 3, "{p}");
    assert_eq!(p["unserved"][0]["id"], "VP-4");
    assert_eq!(p["unserved"][0]["reason"], "larger_than_any_vehicle");
    assert_eq!(p["feasible"], true);
    // Every route keeps its vehicle's capacity after every stop.
    for r in p["routes"].as_array().expect("routes") {
        for s in r["stops"].as_array().expect("stops") {
            assert!(s["load_kg"].as_f64().unwrap_or(f64::MAX) <= 800.0);
        }
    }
    // A stop without coordinates, a bad time limit, a buyer: refused, named.
    let mut bad = day();
    bad["stops"][1]["lat"] = serde_json::Value::Null;
    let (s, v) = t
        .call(Method::POST, "/api/v1/plans", Some(&op), Some(bad))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["field"].as_str().unwrap_or("").contains("VP-2"),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/plans?time_limit=999",
            Some(&op),
            Some(day()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("time_limit"))
    );
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(Method::POST, "/api/v1/plans", Some(&buyer), Some(day()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/plans",
            Some(&op),
            Some(json!({"depots": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn the_plan_page_builds_an_example_from_the_network_and_draws_the_routes() {
    let t = TestApp::spawn().await;
    let b = Browser::sign_in(&t, "op-litang").await;
    let (s, page) = b.get("/manage/plan?example=1").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("DC-513334"),
        "the county's distribution centre: {page}"
    );
    // The example day, as the page filled it in, planned from the form.
    let json = page
        .split("<textarea name=\"day\"")
        .nth(1)
        .and_then(|x| x.split('>').nth(1))
        .and_then(|x| x.split("</textarea").next())
        .expect("textarea")
        // HTML-decoded, in the named and the numeric forms (askama writes `&#34;`).
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let (s, _, page) = b
        .post(
            "/manage/plan",
            &[("day", &json), ("time_limit", "1"), ("roads", "mountains")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("<svg") && page.contains("<polyline"),
        "{page}"
    );
    assert!(page.contains("公里"), "{page}");
    // Broken JSON: named, the form kept.
    let (s, _, page) = b
        .post(
            "/manage/plan",
            &[("day", "{\"depots\": ["), ("time_limit", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("当天数据") && page.contains("<textarea"),
        "{page}"
    );
    // Sellers have no planning.
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (s, _) = seller.get("/manage/plan").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_plan_page_starts_from_the_county_network_and_names_what_it_refuses() {
    let t = TestApp::spawn().await;
    let b = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = b.get("/manage/plan").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    // The county's points with their figures, the centre's vehicles by name, ticked; the
    // JSON only behind the expert's fold.
    assert!(
        page.contains("服务点的件量")
            && page.contains("name=\"drop.VP-HARENGEN\"")
            && page.contains("厢货-2")
            && page.contains("name=\"vehicle.BH-2\" checked"),
        "{page}"
    );
    assert!(page.contains("<details><summary>专家"), "{page}");
    let fields = [
        ("depot", "DC-652829"),
        ("drop.VP-HARENGEN", "40"),
        ("collect.VP-HARENGEN", "12"),
        ("drop.TS-652829101", "150"),
        ("vehicle.BH-2", "on"),
        ("vehicle.BH-3", "on"),
        ("time_limit", "1"),
        ("roads", "mountains"),
    ];
    let (s, _, page) = b.post("/manage/plan", &fields).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    // The map writes its stops' names and places in the route, and says which colour is
    // which vehicle: nothing needs a hover.
    assert!(
        page.contains("<polyline") && page.contains(">哈尔恩根村</text>"),
        "{page}"
    );
    assert!(
        page.contains("class=\"legend\"") && page.contains("个站点"),
        "{page}"
    );
    assert!(
        page.contains("</span>厢货-") && !page.contains("</span>冷藏车-1 ·"),
        "an unticked vehicle is not used: {page}"
    );
    // A bad figure names the point and keeps what was typed.
    let mut bad = fields.to_vec();
    bad[1] = ("drop.VP-HARENGEN", "四十");
    let (s, _, page) = b.post("/manage/plan", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("role=\"alert\"")
            && page.contains("哈尔恩根")
            && page.contains("value=\"四十\""),
        "{page}"
    );
    // No vehicle ticked.
    let none: Vec<_> = fields
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("vehicle."))
        .collect();
    let (s, _, page) = b.post("/manage/plan", &none).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("请至少选一辆车"), "{page}");
    // Another county's centre is not this operator's to plan from: their own is shown.
    let (s, page) = b.get("/manage/plan?depot=DC-513334").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !page.contains("value=\"DC-513334\"") && page.contains("value=\"DC-652829\""),
        "{page}"
    );
}

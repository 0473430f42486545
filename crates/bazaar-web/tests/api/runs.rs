//! The day's joint delivery: planned from the parcels waiting at the county centre and at the
//! points, reviewed (a stop moved), published, driven (the driver's manifest and scans) and
//! re-planned after a breakdown.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// Stops of the route of `vehicle` in a run's plan.
fn stops_of(run: &Value, vehicle: &str) -> Vec<String> {
    run["plan"]["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["vehicle"] == vehicle)
        .flat_map(|r| r["stops"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn a_county_day_is_planned_from_parcels_reviewed_published_driven_and_replanned() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    // Nothing waits yet: nothing to plan.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/runs",
            Some(&op),
            Some(json!({"depot_node": "DC-652829"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("nothing_to_deliver")),
        "{v}"
    );
    // Three carriers' parcels arrive at the centre for three points; a villager's parcel
    // waits at 哈尔恩根村 to be collected.
    let manifest = "carrier,waybill,recipient_name,recipient_phone,destination_node_id,weight_g\n\
yuantong,YT3000000000001,娜仁,13912345678,VP-HARENGEN,2000\n\
zhongtong,75300000000002,巴图,13987654321,VP-652829200202,1500\n\
yunda,4300000000003,其其格,13911112222,VP-652829101201,800\n";
    let (s, v) = t.csv("/api/v1/parcels/manifest", &op, manifest).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let arrive: Vec<Value> = ["YT3000000000001", "75300000000002", "4300000000003"]
        .iter()
        .enumerate()
        .map(|(i, w)| json!({"client_id": format!("dc-{i}"), "waybill": w, "node_id": "DC-652829", "kind": "arrived_at_county"}))
        .collect();
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"scans": arrive})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["result"] == "recorded"),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&op),
            Some(
                json!({"carrier": "ems", "waybill": "1100000000004", "direction": "upstream",
                "weight_g": 5000, "recipient_name": "王芳", "recipient_phone": "13800000000"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let agent = t.login("agent-harengen").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "1100000000004", "kind": "collected_at_village"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // The run: every point a stop, the parcels of each listed.
    let (s, run) = t
        .call(
            Method::POST,
            "/api/v1/runs",
            Some(&op),
            Some(json!({"depot_node": "DC-652829"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{run}");
    assert_eq!(run["status"], "draft");
    assert_eq!(run["plan"]["served"], 3, "{run}");
    assert_eq!(run["plan"]["feasible"], true);
    let parcels = run["parcels"].as_array().expect("parcels");
    assert_eq!(parcels.iter().filter(|p| p["action"] == "drop").count(), 3);
    assert_eq!(
        parcels.iter().filter(|p| p["action"] == "collect").count(),
        1
    );
    let harengen = run["input"]["stops"]
        .as_array()
        .expect("stops")
        .iter()
        .find(|s| s["id"] == "VP-HARENGEN")
        .cloned()
        .expect("哈尔恩根村 is a stop");
    assert_eq!(harengen["deliver_kg"], 2.0);
    assert_eq!(harengen["pickup_kg"], 5.0);
    let id = run["id"].as_i64().expect("id");
    let act = |body: Value| {
        let t = &t;
        let op = op.clone();
        async move {
            t.call(
                Method::POST,
                &format!("/api/v1/runs/{id}/actions"),
                Some(&op),
                Some(body),
            )
            .await
        }
    };
    // The review puts every stop on the demo driver's van, one by one.
    for stop in ["VP-HARENGEN", "VP-652829200202", "VP-652829101201"] {
        if stops_of(&run, "BH-2").contains(&stop.to_string()) {
            continue;
        }
        let (s, v) = act(json!({"action": "move", "stop": stop, "vehicle": "BH-2"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(stops_of(&v, "BH-2").contains(&stop.to_string()), "{v}");
    }
    let (s, v) = act(json!({"action": "move", "stop": "VP-HARENGEN", "vehicle": "飞机"})).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("vehicle"))
    );
    let (s, _) = act(json!({"action": "fly"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The driver sees nothing until it is published.
    let driver = t.login("driver-bohu").await;
    let (s, _) = t
        .call(Method::GET, "/api/v1/driver/manifest", Some(&driver), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = act(json!({"action": "publish"})).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("published")),
        "{v}"
    );
    let (s, _) = act(json!({"action": "publish"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, m) = t
        .call(Method::GET, "/api/v1/driver/manifest", Some(&driver), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    // One name for a vehicle everywhere people read it; its code for programs.
    assert_eq!(m["vehicle"], "厢货-2");
    assert_eq!(m["vehicle_code"], "BH-2");
    // A published run is no longer rearranged stop by stop.
    let (s, _) = act(json!({"action": "move", "stop": "VP-HARENGEN", "vehicle": "BH-3"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let stops = m["stops"].as_array().expect("stops");
    assert_eq!(stops.len(), 3, "{m}");
    let h = stops
        .iter()
        .find(|s| s["id"] == "VP-HARENGEN")
        .expect("stop");
    assert_eq!(h["drop"][0]["waybill"], "YT3000000000001");
    assert_eq!(h["collect"][0]["waybill"], "1100000000004");
    // Each stop says where it is and whom to call.
    assert!(h["address"].as_str().is_some_and(|a| !a.is_empty()), "{h}");
    assert!(
        h["contact_phone"].as_str().is_some_and(|p| p.len() == 11),
        "{h}"
    );
    assert!(h["lat"].as_f64().is_some(), "{h}");
    // On the driver's phone: the stops in order, a call button, a navigation link.
    let dpage = crate::backoffice::Browser::sign_in(&t, "driver-bohu")
        .await
        .get("/manage/route")
        .await
        .1;
    assert!(
        dpage.contains("厢货-2")
            && dpage.contains("href=\"tel:")
            && dpage.contains("https://uri.amap.com/marker?position=")
            && dpage.contains("哈尔恩根"),
        "{dpage}"
    );
    assert!(
        !dpage.contains("BH-2"),
        "the vehicle by its name only: {dpage}"
    );
    // The driver drops at 哈尔恩根村: the centre sees it visited.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&driver),
            Some(json!({"waybill": "YT3000000000001", "node_id": "VP-HARENGEN", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = t
        .call(Method::GET, &format!("/api/v1/runs/{id}"), Some(&op), None)
        .await;
    assert_eq!(v["visited"], json!(["VP-HARENGEN"]), "{v}");
    // One of the run's parcels is handled (dropped on the shelf); the collection is not yet.
    assert_eq!(v["parcels_done"], 1, "{v}");
    // The van breaks down: the rest of the day goes to the others; 哈尔恩根村 stays done.
    let (s, v) = act(json!({"action": "breakdown", "vehicle": "BH-2"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["broken"], json!(["BH-2"]));
    assert!(stops_of(&v, "BH-2").is_empty(), "{v}");
    let rest: Vec<String> = v["plan"]["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["stops"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect();
    assert!(rest.contains(&"VP-652829200202".to_string()), "{v}");
    assert!(!rest.contains(&"VP-HARENGEN".to_string()), "{v}");
    // Others may not plan here.
    let litang = t.login("op-litang").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/runs",
            Some(&litang),
            Some(json!({"depot_node": "DC-652829"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(
            Method::GET,
            &format!("/api/v1/runs/{id}"),
            Some(&litang),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/runs",
            Some(&op),
            Some(json!({"depot_node": "VP-HARENGEN"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("depot_node"))
    );
}

#[tokio::test]
async fn the_logistics_pages_work_without_javascript() {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    // The centre registers a parcel without a manifest from its label, by scanning it.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = op.get("/manage/scan").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("到达县中心") && page.contains("scan-form"),
        "{page}"
    );
    let (s, _, page) = op
        .post(
            "/manage/scan",
            &[
                ("waybill", "YT4000000000001"),
                ("kind", "arrived_at_county"),
                ("node_code", "DC-652829"),
                ("carrier", "yuantong"),
                ("recipient_name", "娜仁"),
                ("recipient_phone", "13912345678"),
                ("dest_node", "VP-HARENGEN"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("已记录") && page.contains("到达目的地"),
        "{page}"
    );
    // An unknown waybill without a label's details is refused, naming the field.
    let (_, _, page) = op
        .post(
            "/manage/scan",
            &[
                ("waybill", "YT4999999999999"),
                ("kind", "arrived_at_county"),
                ("node_code", "DC-652829"),
            ],
        )
        .await;
    assert!(page.contains("未记录") && page.contains("运单号"), "{page}");
    // The run page: plan today's, review, publish.
    let (s, page) = op.get("/manage/runs").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("规划今天的共同配送"), "{page}");
    let (s, planning, body) = op
        .post("/manage/runs", &[("depot_node", "DC-652829")])
        .await;
    // Planning is a job: the page that follows it answers at once, with a bar and a
    // `refresh`, never waiting on the planner.
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert!(planning.starts_with("/manage/planning/"), "{planning}");
    let (s, h, page) = op.get_with_headers(&planning).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(h.get("refresh").map(|v| v.as_bytes()), Some(&b"1"[..]));
    assert!(
        page.contains("<progress") && page.contains("排队中"),
        "{page}"
    );
    // Nobody else follows it: another county's operator, the county's own agent.
    for other in ["op-litang", "agent-harengen"] {
        let b = Browser::sign_in(&t, other).await;
        let (s, page) = b.get(&planning).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{other}: {page}");
    }
    let w = bazaar_web::jobs::Worker::new(
        t.state.store.clone(),
        std::sync::Arc::new(bazaar_web::notify::LogNotifier),
    )
    .with_planning(t.state.planning());
    while w.run_one().await.expect("worker") {}
    let (s, h, _) = op.get_with_headers(&planning).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let loc = h
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(loc.starts_with("/manage/runs/"), "{loc}");
    let (s, page) = op.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("<svg") && page.contains("哈尔恩根村") && page.contains("发布给司机"),
        "{page}"
    );
    let (s, loc2, _) = op
        .post(&format!("{loc}/actions"), &[("action", "publish")])
        .await;
    assert_eq!((s, loc2.as_str()), (StatusCode::SEE_OTHER, loc.as_str()));
    let (_, page) = op.get(&loc).await;
    assert!(page.contains("已到达 0 / 1 个站点"), "{page}");
    // The agent's shelf after the delivery scan, and a wrong code on the form.
    let agent = Browser::sign_in(&t, "agent-harengen").await;
    let (_, _, page) = agent
        .post(
            "/manage/scan",
            &[
                ("waybill", "YT4000000000001"),
                ("kind", "delivered_to_point"),
            ],
        )
        .await;
    assert!(page.contains("取件码") && page.contains("A-01"), "{page}");
    let (s, page) = agent.get("/manage/shelf").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("YT4000000000001") && page.contains("139****5678"),
        "{page}"
    );
    // In a right-to-left page the masked phone and the waybill read left to right, as the
    // agent compares them with the villager's phone (not `5678****139`).
    let (_, page) = agent.get("/manage/shelf?lang=ug").await;
    assert!(page.contains("dir=\"rtl\""), "{page}");
    assert!(
        page.contains("<bdi dir=\"ltr\">139****5678</bdi>")
            && page.contains("<bdi dir=\"ltr\">YT4000000000001</bdi>"),
        "{page}"
    );
    let (_, _) = agent.get("/manage/shelf?lang=zh-CN").await;
    let (s, _, page) = agent
        .post(
            "/manage/shelf/pickup",
            &[
                ("pickup_code", "12345"),
                ("phone_last4", "5678"),
                ("signature", "娜仁"),
                ("node_code", "VP-HARENGEN"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("取件码"), "{page}");
    // The centre sees the stop visited; the stalled page lists nothing overdue yet.
    let (_, page) = op.get(&loc).await;
    assert!(page.contains("已到达 1 / 1 个站点"), "{page}");
    assert!(page.contains("包裹 1 / 1"), "{page}");
    let (s, page) = op.get("/manage/stalled").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("没有超时的包裹"), "{page}");
    let (s, page) = op.get("/manage/stalled?carrier=nobody").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    let (s, csv) = op.get("/manage/stalled?format=csv").await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.starts_with('\u{feff}'), "{csv}");
    // The driver's route page (no vehicle on this run's route: 厢货-2 may or may not be used).
    let driver = Browser::sign_in(&t, "driver-bohu").await;
    let (s, page) = driver.get("/manage/route").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("我的配送单"), "{page}");
    // A buyer has no scanning page.
    let buyer = Browser::sign_in(&t, "buyer").await;
    let (s, _) = buyer.get("/manage/scan").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A villager without the code gives the phone's last digits: the agent finds the
    // parcel, checks the tail, and hands it over; a wrong tail keeps what was typed.
    let (_, page) = agent.get("/manage/shelf?find=0000").await;
    assert!(page.contains("找到 0 个包裹"), "{page}");
    let (_, page) = agent.get("/manage/shelf?find=5678").await;
    let found = page.split("id=\"found\"").nth(1).expect("found list");
    assert!(found.contains("YT4000000000001"), "{page}");
    let id = found
        .split("name=\"parcel_id\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("parcel id")
        .to_string();
    let hand = |tail: &'static str| {
        let id = id.clone();
        let agent = &agent;
        async move {
            agent
                .post(
                    "/manage/shelf/pickup",
                    &[
                        ("parcel_id", id.as_str()),
                        ("phone_last4", tail),
                        ("signature", "娜仁"),
                        ("find", "5678"),
                    ],
                )
                .await
        }
    };
    let (s, _, page) = hand("1111").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("手机尾号") && page.contains("value=\"娜仁\""),
        "{page}"
    );
    assert!(page.contains("value=\"1111\""), "{page}");
    let (s, loc, _) = hand("5678").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = agent.get(&loc).await;
    assert!(page.contains("已交付 YT4000000000001"), "{page}");
    let (_, page) = agent.get("/manage/shelf?find=5678").await;
    assert!(page.contains("找到 0 个包裹"), "{page}");
}

#[tokio::test]
async fn a_run_that_cannot_be_planned_says_why_on_the_page_that_follows_it() {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    let op = Browser::sign_in(&t, "op-bohu").await;
    // What can be told at once is told at once: no such centre.
    let (s, _, page) = op
        .post("/manage/runs", &[("depot_node", "DC-NOWHERE")])
        .await;
    assert!(s.is_client_error(), "{s} {page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    // A job whose centre is gone by the time it runs ends with the reason, which its page
    // shows in words (not a code), and stops refreshing.
    let store = &t.state.store;
    let actor = store
        .actor(store.user_id("op-bohu").await.expect("id"))
        .await
        .expect("actor");
    let job = store
        .enqueue_owned_job(
            &actor,
            bazaar_web::jobs::DELIVERY_PLAN_RUN,
            &serde_json::json!({"depot": "DC-NOWHERE", "seconds": 5}),
            bazaar_domain::time::now_ms(),
        )
        .await
        .expect("job");
    let w = bazaar_web::jobs::Worker::new(
        store.clone(),
        std::sync::Arc::new(bazaar_web::notify::LogNotifier),
    );
    while w.run_one().await.expect("worker") {}
    let (s, h, page) = op
        .get_with_headers(&format!("/manage/planning/{job}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(h.get("refresh").is_none());
    assert!(
        page.contains("role=\"alert\"") && page.contains("引用的对象不存在"),
        "{page}"
    );
    assert!(!page.contains("unknown_reference"), "{page}");
    // A job id that is not a number, or no job, is a page not found.
    let (s, _) = op.get("/manage/planning/x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = op.get("/manage/planning/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_scan_page_offers_what_the_place_does_and_a_village_point_registers_by_waybill() {
    use crate::backoffice::Browser;
    let t = TestApp::spawn().await;
    let agent = Browser::sign_in(&t, "agent-harengen").await;
    let (s, page) = agent.get("/manage/scan").await;
    assert_eq!(s, StatusCode::OK);
    // A village point receives and collects: no county-centre scans, its own name, not a code.
    assert!(
        page.contains("value=\"delivered_to_point\"")
            && page.contains("value=\"collected_at_village\"")
            && !page.contains("value=\"arrived_at_county\"")
            && !page.contains("value=\"handed_to_trunk_carrier\""),
        "{page}"
    );
    assert!(
        page.contains("哈尔恩根") && !page.contains(">VP-HARENGEN<"),
        "{page}"
    );
    assert!(
        page.contains("scan-new-parcel") || page.contains("recipient_name"),
        "{page}"
    );
    assert!(!page.contains("name=\"dest_node\""), "{page}");
    // A carrier's own van dropped a parcel without a manifest: registered from its label,
    // shelved with a pickup code.
    let label = [
        ("waybill", "YT4300000000001"),
        ("kind", "delivered_to_point"),
        ("carrier", "yuantong"),
        ("recipient_name", "娜仁"),
        ("recipient_phone", "13912345678"),
    ];
    let (s, _, page) = agent.post("/manage/scan", &label).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("已记录") && page.contains("取件码"), "{page}");
    // Bound for another point: not this point's to register.
    let mut other = label.to_vec();
    other[0] = ("waybill", "YT4300000000002");
    other.push(("dest_node", "VP-652829200202"));
    let (_, _, page) = agent.post("/manage/scan", &other).await;
    assert!(page.contains("未记录"), "{page}");
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT4300000000002",
            Some(&t.login("op-bohu").await),
            None,
        )
        .await;
    assert!(
        !v.to_string().contains("YT4300000000002"),
        "nothing registered: {v}"
    );
    // The county's operator picks the place and the destination from lists.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (_, page) = op.get("/manage/scan").await;
    assert!(
        page.contains("<select name=\"node_code\"")
            && page.contains("<option value=\"DC-652829\"")
            && page.contains("<select name=\"dest_node\"")
            && page.contains("<option value=\"VP-HARENGEN\""),
        "{page}"
    );
}

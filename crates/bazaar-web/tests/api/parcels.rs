//! Parcels: waybills checked per carrier, scans recorded once each and placed by time.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn parcel(waybill: &str) -> Value {
    json!({"carrier": "shunfeng", "waybill": waybill, "direction": "downstream",
           "weight_g": 1200, "recipient_name": "其其格", "recipient_phone": "13900000123",
           "dest_node": "VP-HARENGEN"})
}

#[tokio::test]
async fn parcels_are_registered_with_a_checked_waybill_and_the_phone_masked() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&op),
            Some(parcel("SF 1234 5678 9012")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["waybill"], "SF123456789012");
    assert_eq!(v["state"], "ordered");
    // A number not in the carrier's format, a second registration, a bad phone: named.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&op),
            Some(parcel("YT1234567890123")),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("waybill")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("运单号"),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&op),
            Some(parcel("SF123456789012")),
        )
        .await;
    assert_eq!(
        (s, v["error"]["details"][0]["reason"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("duplicate")),
        "{v}"
    );
    let mut bad = parcel("SF123456789013");
    bad["recipient_phone"] = json!("call me");
    let (s, v) = t
        .call(Method::POST, "/api/v1/parcels", Some(&op), Some(bad))
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("recipient_phone"))
    );
    // A buyer may not register parcels, nor see one not of its orders.
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&buyer),
            Some(parcel("SF123456789099")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=SF123456789012",
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The agent of the destination point sees the full number; a driver sees it masked.
    let agent = t.login("agent-harengen").await;
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=SF123456789012",
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(v["recipient_phone"], "13900000123");
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=SF123456789012&carrier=shunfeng",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(v["recipient_phone"], "13900000123");
}

#[tokio::test]
async fn scans_sent_twice_count_once_and_late_arrivals_are_placed_by_time() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let agent = t.login("agent-harengen").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(&op),
            Some(parcel("SF223456789012")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let now = bazaar_domain::time::now_ms();
    let scan = |id: &str, kind: &str, minutes_ago: i64| {
        json!({"client_id": id, "waybill": "SF223456789012", "kind": kind,
               "node_code": "DC-652829", "at": now - minutes_ago * 60_000})
    };
    let batch = json!({"scans": [
        scan("phone1-1", "arrived_at_county", 120),
        scan("phone1-2", "loaded_on_vehicle", 60),
    ]});
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(batch.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["result"], "recorded");
    assert_eq!(v["results"][1]["state"], "out_for_delivery");
    // The network dropped the answer: the phone sends the same queue again; nothing changes.
    let (_, v) = t
        .call(Method::POST, "/api/v1/scans", Some(&op), Some(batch))
        .await;
    assert_eq!(v["results"][0]["result"], "duplicate");
    assert_eq!(v["results"][1]["result"], "duplicate");
    // The agent's delivery scan (its own point by default), then a late-arriving older scan:
    // the timeline is by time and the state stays that of the latest event.
    let (_, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"scans": [{"client_id": "phone2-1", "waybill": "sf223456789012", "kind": "delivered_to_point"}]})),
        )
        .await;
    assert_eq!(v["results"][0]["state"], "in_locker_or_station", "{v}");
    let (_, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"scans": [scan("phone1-0", "sorted_to_route", 90)]})),
        )
        .await;
    assert_eq!(v["results"][0]["result"], "recorded");
    assert_eq!(v["results"][0]["state"], "in_locker_or_station");
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=SF223456789012",
            Some(&op),
            None,
        )
        .await;
    let codes: Vec<&str> = p["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "arrived_at_county",
            "sorted_to_route",
            "loaded_on_vehicle",
            "delivered_to_point"
        ]
    );
    assert_eq!(p["events"][3]["node_code"], "VP-HARENGEN");
    // Bad scans are refused one by one, naming the field; the good ones in the batch count.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"scans": [
                {"client_id": "x-1", "waybill": "SF999999999999", "kind": "arrived_at_county", "node_code": "DC-652829"},
                {"client_id": "x-2", "waybill": "SF223456789012", "kind": "teleported", "node_code": "DC-652829"},
                {"client_id": "x-3", "waybill": "SF223456789012", "kind": "put_in_locker", "at": now + 3_600_000},
                {"client_id": "", "waybill": "SF223456789012", "kind": "put_in_locker"},
                {"client_id": "x-5", "waybill": "SF223456789012", "kind": "picked_up_by_recipient", "node_code": "VP-HARENGEN"}
            ]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = v["results"].as_array().expect("results");
    let fields: Vec<&str> = r[..4]
        .iter()
        .map(|x| x["error"]["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(fields, ["waybill", "kind", "at", "client_id"], "{v}");
    assert!(
        r[1]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(':')
            || r[1]["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains('：')
    );
    // A parcel on a village point's shelf is handed over against its code, not by a scan.
    assert_eq!(r[4]["error"]["field"], "kind", "{v}");
    // Buyers do not scan.
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&buyer),
            Some(json!({"scans": []})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn push_form(param: &str, salt: &str) -> Vec<u8> {
    use md5::Digest;
    let sign = hex::encode_upper(md5::Md5::digest(format!("{param}{salt}").as_bytes()));
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!("param={}&sign={}", enc(param), sign).into_bytes()
}

#[tokio::test]
async fn kuaidi100_pushes_are_verified_idempotent_and_merged_by_time() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let mut p = parcel("YT1234567890123");
    p["carrier"] = json!("yuantong");
    let (s, v) = t
        .call(Method::POST, "/api/v1/parcels", Some(&op), Some(p))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let param = json!({"status": "polling", "message": "", "lastResult": {
        "message": "ok", "state": "5", "status": "200", "com": "yuantong", "nu": "YT1234567890123",
        "data": [
            {"context": "【博湖县】快递员正在派件", "time": "2026-11-20 09:10:00", "ftime": "2026-11-20 09:10:00", "status": "派件", "statusCode": "5", "areaName": "巴音郭楞蒙古自治州"},
            {"context": "【库尔勒转运中心】已发出", "time": "2026-11-19 21:00:00", "ftime": "2026-11-19 21:00:00", "status": "在途", "statusCode": "0"},
            {"context": "【义乌】已揽收", "time": "2026-11-17 16:02:11", "ftime": "2026-11-17 16:02:11", "status": "揽收", "statusCode": "1"}
        ]}})
    .to_string();
    let send = |body: Vec<u8>| {
        let t = &t;
        async move {
            let (s, _, b) = t
                .send_bytes(
                    "/api/v1/tracking/kuaidi100",
                    None,
                    "application/x-www-form-urlencoded",
                    body,
                    &[],
                )
                .await;
            (
                s,
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
            )
        }
    };
    // A forged signature: refused, nothing stored.
    let (s, v) = send(push_form(&param, "wrong-salt")).await;
    assert_eq!(
        (s, v["result"].as_bool()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(false)),
        "{v}"
    );
    let track = || {
        let t = &t;
        let op = op.clone();
        async move {
            t.call(
                Method::GET,
                "/api/v1/parcels?waybill=YT1234567890123",
                Some(&op),
                None,
            )
            .await
            .1
        }
    };
    assert_eq!(track().await["events"].as_array().map(Vec::len), Some(0));
    // The real push, twice: three events once, the state of the newest.
    for _ in 0..2 {
        let (s, v) = send(push_form(&param, crate::KUAIDI100_SALT)).await;
        assert_eq!(
            (s, v["result"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{v}"
        );
    }
    let tr = track().await;
    assert_eq!(tr["events"].as_array().map(Vec::len), Some(3), "{tr}");
    assert_eq!(tr["state"], "out_for_delivery");
    assert_eq!(tr["events"][0]["code"], "1");
    assert_eq!(tr["events"][0]["state"], "picked_up");
    // Our own scan at the village point, then an older carrier event arriving late: the
    // timeline merges both by time and the latest decides the state.
    let agent = t.login("agent-harengen").await;
    let (_, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"scans": [{"client_id": "p-1", "waybill": "YT1234567890123", "kind": "put_in_locker"}]})),
        )
        .await;
    assert_eq!(v["results"][0]["state"], "in_locker_or_station", "{v}");
    let late = json!({"lastResult": {"state": "0", "com": "yuantong", "nu": "YT1234567890123",
        "data": [{"context": "【乌鲁木齐】到达", "ftime": "2026-11-18 08:00:00", "statusCode": "1001"}]}})
    .to_string();
    let (s, _) = send(push_form(&late, crate::KUAIDI100_SALT)).await;
    assert_eq!(s, StatusCode::OK);
    let tr = track().await;
    let sources: Vec<&str> = tr["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["source"].as_str())
        .collect();
    assert_eq!(
        sources,
        ["carrier", "carrier", "carrier", "carrier", "scan"],
        "{tr}"
    );
    assert_eq!(tr["events"][1]["state"], "arrived_destination_city");
    assert_eq!(tr["state"], "in_locker_or_station");
    // Unknown carrier, unknown parcel: refused, nothing stored.
    let other = param.replace("\"yuantong\"", "\"pigeon\"");
    let (s, _) = send(push_form(&other, crate::KUAIDI100_SALT)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = param.replace("YT1234567890123", "YT9999999999999");
    let (s, _) = send(push_form(&unknown, crate::KUAIDI100_SALT)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(track().await["events"].as_array().map(Vec::len), Some(5));
    // The plain JSON feed: same rules, operators only.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/tracking/events",
            Some(&op),
            Some(json!({"carrier": "yuantong", "waybill": "YT1234567890123",
                "events": [{"code": "0", "at": 1_763_400_000_000_i64}, {"code": "0", "at": 1_763_400_000_000_i64}]})),
        )
        .await;
    assert_eq!((s, v["new"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    assert_eq!(v["state"], "in_locker_or_station");
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/tracking/events",
            Some(&buyer),
            Some(json!({"carrier": "yuantong", "waybill": "YT1234567890123", "events": []})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Registers a downstream 圆通 parcel for 哈尔恩根村 the way outside tools do.
async fn register(t: &TestApp, token: &str, waybill: &str, phone: &str) -> Value {
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/parcels",
            Some(token),
            Some(
                json!({"carrier": "yuantong", "waybill": waybill, "direction": "downstream",
                "recipient_name": "娜仁", "recipient_phone": phone,
                "destination_node_id": "VP-HARENGEN"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

#[tokio::test]
async fn nodes_list_by_county_and_kind_with_ids_for_outside_tools() {
    let t = TestApp::spawn().await;
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/nodes?county=652829&kind=village_point&limit=100",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().expect("items");
    assert!(items.len() >= 5, "{v}");
    assert!(items.iter().all(|n| n["kind"] == "village_point"));
    let h = items
        .iter()
        .find(|n| n["id"] == "VP-HARENGEN")
        .expect("哈尔恩根村");
    assert!(h["name"].as_str().unwrap_or("").contains("哈尔恩根"));
    // The id is what a parcel's destination and a scan's node take.
    let op = t.login("op-bohu").await;
    let p = register(&t, &op, "YT1000000000001", "13912345678").await;
    assert_eq!(p["dest_node"], "VP-HARENGEN");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"waybill": "YT1000000000001", "node_id": "DC-652829", "kind": "arrived_at_county"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["state"], "arrived_destination_city");
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT1000000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(v["state"], "arrived_destination_city");
    assert_eq!(v["events"][0]["node_code"], "DC-652829");
    // One bad scan is refused whole with its field.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"waybill": "YT1000000000001", "node_id": "DC-652829", "kind": "flew"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("kind")),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"node_id": "DC-652829", "kind": "arrived_at_county"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("waybill")),
        "{v}"
    );
}

#[tokio::test]
async fn a_parcel_at_the_village_point_gets_a_code_and_is_handed_over_against_it() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let agent = t.login("agent-harengen").await;
    register(&t, &op, "YT1000000000002", "13912345678").await;
    register(&t, &op, "YT1000000000003", "13987654321").await;
    // Delivered to the point: each gets its own code and slot, and its recipient a message.
    let mut codes = Vec::new();
    for w in ["YT1000000000002", "YT1000000000003"] {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(&agent),
                Some(json!({"waybill": w, "kind": "delivered_to_point"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["state"], "in_locker_or_station");
        let code = v["pickup_code"]
            .as_str()
            .expect("a pickup code")
            .to_string();
        assert_eq!(code.len(), 6);
        codes.push((code, v["shelf_slot"].as_str().expect("slot").to_string()));
    }
    assert_ne!(codes[0].0, codes[1].0);
    assert_eq!(codes[0].1, "A-01");
    assert_eq!(codes[1].1, "A-02");
    let sent = t
        .state
        .store
        .unsent_notifications(10)
        .await
        .expect("outbox");
    assert_eq!(sent.len(), 2);
    assert!(sent[0].body.contains(&codes[0].0), "{}", sent[0].body);
    assert_eq!(sent[0].phone.as_deref(), Some("13912345678"));
    // The shelf lists them by slot, phones masked, codes not shown.
    let (s, v) = t
        .call(Method::GET, "/api/v1/shelf", Some(&agent), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["waiting"][0]["shelf_slot"], "A-01");
    assert_eq!(v["waiting"][0]["recipient_phone"], "139****5678");
    assert!(!v.to_string().contains(&codes[0].0));
    // A wrong code and a wrong phone ending are named; the right pair hands it over.
    let wrong = if codes[0].0 == "000000" {
        "000001"
    } else {
        "000000"
    };
    let try_pickup =
        |code: &str, last4: &str| json!({"code": code, "phone_last4": last4, "signature": "娜仁"});
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(try_pickup(wrong, "5678")),
        )
        .await;
    assert_eq!(
        (
            s,
            v["error"]["field"].as_str(),
            v["error"]["details"][0]["reason"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pickup_code"),
            Some("wrong_code")
        ),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(try_pickup(&codes[0].0, "4321")),
        )
        .await;
    // A right code with the wrong phone answers as a wrong code: it tells nothing.
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pickup_code")),
        "{v}"
    );
    // Handing over by a plain scan is refused: it goes through the code.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT1000000000002", "kind": "picked_up_by_recipient"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(try_pickup(&codes[0].0, "5678")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "delivered");
    assert_eq!(v["events"].as_array().map(Vec::len), Some(2));
    // The same code again finds nothing.
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(try_pickup(&codes[0].0, "5678")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Guessing in bulk: after ten attempts (since the last hand-over) the agent must wait,
    // even with a right code.
    for i in 0..9 {
        let (s, _) = t
            .call(
                Method::POST,
                "/api/v1/pickups",
                Some(&agent),
                Some(try_pickup(&format!("99999{i}"), "4321")),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(try_pickup(&codes[1].0, "4321")),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    // Another point's agent may not hand over here.
    let other = t.login("op-litang").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&other),
            Some(json!({"code": codes[1].0, "phone_last4": "4321", "signature": "x", "node_code": "VP-HARENGEN"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn scans_at_a_node_the_parcel_cannot_be_at_are_refused() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    register(&t, &op, "YT1000000000004", "13912345678").await;
    // Another county's village point cannot receive a parcel for 哈尔恩根村.
    let admin = t.login("admin").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"waybill": "YT1000000000004", "node_id": "VP-652828201201", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(
        (
            s,
            v["error"]["field"].as_str(),
            v["error"]["details"][0]["reason"].as_str()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("node_code"),
            Some("wrong_place")
        ),
        "{v}"
    );
    // Nor another village of the same county hand it over as its own.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&admin),
            Some(json!({"waybill": "YT1000000000004", "node_id": "VP-652829200202", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // An agent scans only at its own point.
    let agent = t.login("agent-harengen").await;
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT1000000000004", "node_id": "DC-652829", "kind": "arrived_at_county"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT1000000000004",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(v["events"].as_array().map(Vec::len), Some(0), "{v}");
}

#[tokio::test]
async fn one_scan_of_a_sack_moves_every_parcel_in_it() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    for w in ["YT1000000000005", "YT1000000000006", "YT1000000000007"] {
        register(&t, &op, w, "13912345678").await;
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(&op),
                Some(json!({"waybill": w, "node_id": "DC-652829", "kind": "sorted_to_route", "sack": "sack-hrg-01"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let batch = json!({"scans": [{"client_id": "drv-1", "waybill": "SACK-HRG-01",
        "node_id": "DC-652829", "kind": "loaded_on_vehicle"}]});
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(batch.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["result"], "recorded");
    assert_eq!(v["results"][0]["parcels"], 3);
    // Resent: every parcel recognised, nothing changes.
    let (_, v) = t
        .call(Method::POST, "/api/v1/scans", Some(&op), Some(batch))
        .await;
    assert_eq!(v["results"][0]["result"], "duplicate", "{v}");
    for w in ["YT1000000000005", "YT1000000000006", "YT1000000000007"] {
        let (_, v) = t
            .call(
                Method::GET,
                &format!("/api/v1/parcels?waybill={w}"),
                Some(&op),
                None,
            )
            .await;
        assert_eq!(v["state"], "out_for_delivery", "{v}");
        assert_eq!(v["events"].as_array().map(Vec::len), Some(2));
    }
    // Unpacked at the point: every parcel gets its own code.
    let agent = t.login("agent-harengen").await;
    let (_, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "SACK-HRG-01", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(v["parcels"], 3, "{v}");
    let (_, v) = t
        .call(Method::GET, "/api/v1/shelf", Some(&agent), None)
        .await;
    assert_eq!(v["waiting"].as_array().map(Vec::len), Some(3), "{v}");
}

#[tokio::test]
async fn the_watch_flags_parcels_without_news_and_operators_annotate_them() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    register(&t, &op, "YT1000000000008", "13912345678").await;
    register(&t, &op, "YT1000000000009", "13912345678").await;
    let now = bazaar_domain::time::now_ms();
    let hours = |h: i64| now - h * 3_600_000;
    // Registration counts as news: both were registered 55 hours ago.
    exec(
        &t,
        "UPDATE parcels SET created_at = created_at - 200000000, \
         last_event_at = last_event_at - 200000000",
    )
    .await;
    // One arrived at the county 50 hours ago and nothing since; the other moved an hour ago.
    let store = &t.state.store;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(json!({"scans": [
                {"client_id": "w-1", "waybill": "YT1000000000008", "node_id": "DC-652829", "kind": "arrived_at_county", "at": hours(50)},
                {"client_id": "w-2", "waybill": "YT1000000000009", "node_id": "DC-652829", "kind": "arrived_at_county", "at": hours(1)}
            ]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .call(Method::GET, "/api/v1/parcels/stalled", Some(&op), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["waybill"], "YT1000000000008");
    assert_eq!(items[0]["last_node"], "DC-652829");
    assert_eq!(items[0]["hours_without_news"], 50);
    assert_eq!(v["summary"]["by_carrier"][0]["key"], "yuantong");
    assert_eq!(v["summary"]["by_node"][0]["key"], "DC-652829");
    // The job flags it once; a tighter rule for 圆通 downstream flags the other too.
    assert_eq!(store.flag_stalled(now).await.expect("flag"), 1);
    assert_eq!(store.flag_stalled(now).await.expect("flag"), 0);
    // The rules hold for every county: an admin sets them.
    let admin = t.login("admin").await;
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/watch/rules",
            Some(&admin),
            Some(json!({"carrier": "yuantong", "direction": "downstream", "hours": 0})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("hours"))
    );
    let (s, _) = t
        .call(
            Method::PUT,
            "/api/v1/watch/rules",
            Some(&admin),
            Some(json!({"carrier": "yuantong", "direction": "downstream", "hours": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let later = now + 60_000;
    assert_eq!(store.flag_stalled(later).await.expect("flag"), 1);
    // The operator annotates; news clears the flag.
    let id = items[0]["id"].as_i64().expect("id");
    let (s, v) = t
        .call(
            Method::POST,
            &format!("/api/v1/parcels/{id}/notes"),
            Some(&op),
            Some(json!({"body": "已电话圆通库尔勒分拨，明日补扫"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/parcels/{id}/notes"),
            Some(&op),
            Some(json!({"body": "  "})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels/stalled?carrier=yuantong",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(v["items"][0]["notes"], 1, "{v}");
    assert_eq!(v["items"][0]["last_note"], "已电话圆通库尔勒分拨，明日补扫");
    // Another prefecture's operator sees none of it; a buyer may not look.
    let kashi = t.login("op-litang").await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/parcels/stalled", Some(&kashi), None)
        .await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(0), "{v}");
    let buyer = t.login("buyer").await;
    let (s, _) = t
        .call(Method::GET, "/api/v1/parcels/stalled", Some(&buyer), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/parcels/stalled?carrier=nobody",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("carrier"))
    );
}

#[tokio::test]
async fn carriers_manifests_and_tracking_feeds_are_taken_whole_or_not_at_all() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    // A manifest with bad rows: every one listed, nothing registered.
    let bad = "carrier,waybill,recipient_name,recipient_phone,destination_node_id,weight_g\n\
yuantong,YT2000000000001,娜仁,13912345678,VP-HARENGEN,800\n\
nobody,X1,娜仁,13912345678,VP-HARENGEN,800\n\
yuantong,YT12,娜仁,13912345678,VP-HARENGEN,800\n\
yuantong,YT2000000000001,娜仁,13912345678,VP-HARENGEN,800\n\
yuantong,YT2000000000004,娜仁,13912345678,VP-NOWHERE,800\n\
yuantong,YT2000000000005,娜仁,call me,VP-HARENGEN,-3\n";
    let (s, v) = t.csv("/api/v1/parcels/manifest", &op, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let rows: Vec<(u64, &str)> = v["error"]["details"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (3, "carrier"),
            (4, "waybill"),
            (5, "waybill"),
            (6, "destination_node_id"),
            (7, "recipient_phone"),
            (7, "weight_g")
        ],
        "{v}"
    );
    let (s, _) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT2000000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let good = "carrier,waybill,recipient_name,recipient_phone,destination_node_id,weight_g,cold_chain\n\
yuantong,YT2000000000001,娜仁,13912345678,VP-HARENGEN,800,\n\
zhongtong,75200000000002,巴图,13987654321,VP-652829200202,1500,否\n";
    let (s, v) = t.csv("/api/v1/parcels/manifest", &op, good).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["new"], 2);
    // The same file again: duplicates, listed.
    let (s, _) = t.csv("/api/v1/parcels/manifest", &op, good).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The tracking feed as CSV: times in Beijing time, repeats change nothing, the latest
    // event by time decides.
    let feed = "carrier,waybill,code,time,place,note\n\
yuantong,YT2000000000001,0,2026-11-20 08:00:00,乌鲁木齐转运中心,在途\n\
yuantong,YT2000000000001,5,2026-11-21 09:30:00,库尔勒,派件中\n\
yuantong,YT2000000000001,0,2026-11-20 08:00:00,乌鲁木齐转运中心,在途\n\
zhongtong,75200000000002,1,2026-11-20 10:00:00,乌鲁木齐,揽收\n";
    let (s, v) = t.csv("/api/v1/tracking/batch", &op, feed).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["events"].as_u64(),
            v["new"].as_u64(),
            v["parcels"].as_u64()
        ),
        (Some(4), Some(3), Some(2)),
        "{v}"
    );
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT2000000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(p["state"], "out_for_delivery", "{p}");
    // Each event keeps its own place and note (the batch binds them in order), and the parcel
    // where it was last seen.
    let evs = p["events"].as_array().expect("events");
    assert_eq!(
        evs.iter()
            .map(|e| (e["code"].as_str(), e["place"].as_str(), e["note"].as_str()))
            .collect::<Vec<_>>(),
        vec![
            (Some("0"), Some("乌鲁木齐转运中心"), Some("在途")),
            (Some("5"), Some("库尔勒"), Some("派件中"))
        ],
        "{p}"
    );
    // An older event arriving late is placed by time and leaves the state alone; JSON works too.
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/tracking/batch",
            Some(&op),
            Some(json!({"events": [
                {"carrier": "yuantong", "waybill": "YT2000000000001", "code": "1", "time": "2026-11-19 18:00:00", "place": "上海"},
                {"carrier": "zhongtong", "waybill": "75200000000002", "code": "3", "time": "2026-11-22 12:00:00"}
            ]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["new"], 2);
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT2000000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(p["state"], "out_for_delivery");
    assert_eq!(p["events"][0]["code"], "1");
    assert_eq!(p["events"].as_array().map(Vec::len), Some(3));
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=75200000000002",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(p["state"], "delivered");
    // A bad feed: every bad row named, nothing stored.
    let bad = "carrier,waybill,code,time\n\
yuantong,YT2000000000001,3,2026-11-22 08:00:00\n\
yuantong,YT2999999999999,3,2026-11-22 08:00:00\n\
shunfeng,SF1,3,2026-11-22 08:00:00\n\
yuantong,YT2000000000001,3,yesterday\n";
    let (s, v) = t.csv("/api/v1/tracking/batch", &op, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let rows: Vec<(u64, &str)> = v["error"]["details"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(rows, [(3, "waybill"), (4, "waybill"), (5, "time")], "{v}");
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT2000000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(
        p["state"], "out_for_delivery",
        "nothing of the bad feed stored"
    );
    // Agents do not feed carriers' tracking.
    let agent = t.login("agent-harengen").await;
    let (s, _) = t.csv("/api/v1/tracking/batch", &agent, feed).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The demo's 快递100 salt is kept in the database.
    assert_eq!(
        t.state
            .store
            .setting("kuaidi100_salt")
            .await
            .expect("setting")
            .as_deref(),
        Some("bazaar-demo")
    );
}

/// Runs one SQL statement on the test database (to move time for a parcel).
async fn exec(t: &TestApp, sql: &str) {
    match t.state.store.db() {
        bazaar_store::Db::Sqlite { write, .. } => {
            sqlx::query(sql).execute(write).await.expect("sql");
        }
        bazaar_store::Db::Pg(p) => {
            sqlx::query(sql).execute(p).await.expect("sql");
        }
    }
}

#[tokio::test]
async fn parcels_left_on_the_shelf_are_reminded_then_sent_back() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let agent = t.login("agent-harengen").await;
    register(&t, &op, "YT5000000000001", "13912345678").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT5000000000001", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let store = &t.state.store;
    let now = bazaar_domain::time::now_ms();
    assert_eq!(
        store.pickup_deadlines(now).await.expect("deadlines"),
        (0, 0)
    );
    // Four days on the shelf: one reminder, once.
    let day = 24 * 3_600_000i64;
    exec(
        &t,
        &format!(
            "UPDATE parcels SET waiting_since = waiting_since - {}",
            4 * day
        ),
    )
    .await;
    assert_eq!(
        store.pickup_deadlines(now).await.expect("deadlines"),
        (1, 0)
    );
    assert_eq!(
        store.pickup_deadlines(now).await.expect("deadlines"),
        (0, 0)
    );
    let outbox = store.unsent_notifications(10).await.expect("outbox");
    assert!(
        outbox
            .iter()
            .any(|n| n.kind == "pickup_reminder" && n.body.contains("YT5000000000001")),
        "{outbox:?}"
    );
    // Eight days: back to the sender, off the shelf, on today's outgoing list.
    exec(
        &t,
        &format!(
            "UPDATE parcels SET waiting_since = waiting_since - {}",
            4 * day
        ),
    )
    .await;
    assert_eq!(
        store.pickup_deadlines(now).await.expect("deadlines"),
        (0, 1)
    );
    let (_, v) = t
        .call(Method::GET, "/api/v1/shelf", Some(&agent), None)
        .await;
    assert_eq!(v["waiting"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["outgoing"][0]["waybill"], "YT5000000000001", "{v}");
    assert_eq!(v["outgoing"][0]["state"], "returning");
    // Its code no longer opens anything.
    let (s, _) = t
        .call(
            Method::POST,
            "/api/v1/pickups",
            Some(&agent),
            Some(json!({"pickup_code": "000000", "phone_last4": "5678", "signature": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// What a notifier was given: kind, follower, pickup code, point.
type Seen = (String, Option<String>, Option<String>, Option<String>);

/// Records what it is asked to send, as WeChat when the notification has a follower.
struct Recorder(std::sync::Mutex<Vec<Seen>>);

impl bazaar_web::notify::Notifier for Recorder {
    fn channel(&self) -> &'static str {
        "test"
    }
    fn send<'a>(
        &'a self,
        n: &'a bazaar_store::logistics::pickup::Notification,
    ) -> bazaar_web::notify::Sending<'a> {
        Box::pin(async move {
            self.0.lock().expect("recorder").push((
                n.kind.clone(),
                n.openid.clone(),
                n.pickup_code.clone(),
                n.place.clone(),
            ));
            Ok(if n.openid.is_some() { "wechat" } else { "sms" })
        })
    }
}

#[tokio::test]
async fn a_follower_bound_to_a_phone_gets_its_pickup_code_by_wechat() {
    let t = TestApp::spawn().await;
    let admin = t.login("admin").await;
    let op = t.login("op-bohu").await;
    let agent = t.login("agent-harengen").await;
    let bind = |openid: &str, phone: Option<&str>| json!({"openid": openid, "phone": phone});
    // Bad bindings are named; only admins (the WeChat integration's account) bind: a binding
    // decides where pickup codes go.
    for (body, field, reason) in [
        (bind("o p", Some("13912345678")), "openid", "invalid_format"),
        (bind("oWx000000000000000000000001", None), "phone", "needed"),
        (
            bind("oWx000000000000000000000001", Some("0991-1234567")),
            "phone",
            "invalid_format",
        ),
        (
            json!({"openid": "oWx000000000000000000000001", "user_id": 999999}),
            "user_id",
            "unknown_reference",
        ),
    ] {
        let (s, v) = t
            .call(
                Method::PUT,
                "/api/v1/wechat/bindings",
                Some(&admin),
                Some(body),
            )
            .await;
        // A field out of its shape is 400; one that names nothing is 422.
        let want = if matches!(reason, "unknown_reference" | "needed") {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(s, want, "{v}");
        assert_eq!(v["error"]["details"][0]["field"], field, "{v}");
        assert_eq!(v["error"]["details"][0]["reason"], reason, "{v}");
    }
    for who in [&agent, &op] {
        let (s, _) = t
            .call(
                Method::PUT,
                "/api/v1/wechat/bindings",
                Some(who),
                Some(bind("oWx000000000000000000000001", Some("13912345678"))),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // Bound, then bound again to another follower: the latest wins.
    for openid in ["oWx000000000000000000000001", "oWx000000000000000000000002"] {
        let (s, v) = t
            .call(
                Method::PUT,
                "/api/v1/wechat/bindings",
                Some(&admin),
                Some(bind(openid, Some("139 1234 5678"))),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["phone"], "13912345678");
    }
    let (s, _) = t
        .call(
            Method::GET,
            "/api/v1/wechat/bindings/oWx000000000000000000000001",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t
        .call(
            Method::GET,
            "/api/v1/wechat/bindings/oWx000000000000000000000002",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (s, v["phone"].as_str()),
        (StatusCode::OK, Some("13912345678"))
    );
    // Two parcels reach the point: the bound phone's notice goes by WeChat, the other's not.
    register(&t, &op, "YT1000000000021", "13912345678").await;
    register(&t, &op, "YT1000000000022", "13987654321").await;
    for w in ["YT1000000000021", "YT1000000000022"] {
        let (s, v) = t
            .call(
                Method::POST,
                "/api/v1/scans",
                Some(&agent),
                Some(json!({"waybill": w, "kind": "delivered_to_point"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let rec = std::sync::Arc::new(Recorder(Default::default()));
    let notifier: std::sync::Arc<dyn bazaar_web::notify::Notifier> = rec.clone();
    let sent = bazaar_web::notify::drain(&t.state.store, &notifier)
        .await
        .expect("drain");
    assert_eq!(sent, 2);
    let seen = rec.0.lock().expect("recorder").clone();
    assert_eq!(
        seen.iter()
            .map(|x| (x.0.as_str(), x.1.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            ("pickup_code", Some("oWx000000000000000000000002")),
            ("pickup_code", None)
        ]
    );
    // A template's own fields get the parcel's code and point.
    assert!(seen[0].2.as_ref().is_some_and(|c| c.len() == 6), "{seen:?}");
    assert_eq!(
        seen[0].3.as_deref(),
        Some("哈尔恩根村电商直播间及物流服务点")
    );
    assert!(
        t.state
            .store
            .unsent_notifications(10)
            .await
            .expect("outbox")
            .is_empty()
    );
    // An account bound later joins the follower's phone instead of replacing it.
    let buyer = t.login("buyer").await;
    let buyer_id = t
        .state
        .store
        .actor_by_token(&buyer, bazaar_store::people::auth::TokenKind::Api)
        .await
        .expect("actor")
        .expect("buyer")
        .user_id;
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/wechat/bindings",
            Some(&admin),
            Some(json!({"openid": "oWx000000000000000000000003", "user_id": buyer_id})),
        )
        .await;
    assert_eq!(
        (s, v["user_id"].as_i64()),
        (StatusCode::OK, Some(buyer_id)),
        "{v}"
    );
    let (s, v) = t
        .call(
            Method::PUT,
            "/api/v1/wechat/bindings",
            Some(&admin),
            Some(bind("oWx000000000000000000000003", Some("13987654321"))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["user_id"].as_i64(), v["phone"].as_str()),
        (Some(buyer_id), Some("13987654321"))
    );
    // A message for a phone goes to that phone's follower (the recipient, not the buyer who
    // ordered), the phone typed with dashes or not; one for no phone to the account's.
    exec(
        &t,
        &format!(
            "INSERT INTO notifications (kind, user_id, phone, body, created_at) VALUES \
             ('pickup_code', {buyer_id}, '139-1234-5678', 'a', 1), \
             ('stalled', {buyer_id}, NULL, 'b', 2)"
        ),
    )
    .await;
    let out = t
        .state
        .store
        .unsent_notifications(10)
        .await
        .expect("outbox");
    assert_eq!(
        out.iter().map(|n| n.openid.as_deref()).collect::<Vec<_>>(),
        vec![
            Some("oWx000000000000000000000002"),
            Some("oWx000000000000000000000003")
        ]
    );
    // Unbound, the follower is forgotten; a second unbinding finds nothing.
    let (s, _) = t
        .call(
            Method::DELETE,
            "/api/v1/wechat/bindings/oWx000000000000000000000002",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .call(
            Method::DELETE,
            "/api/v1/wechat/bindings/oWx000000000000000000000002",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_driver_created_by_the_operator_scans_inside_its_region_only() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let user = |region: Option<&str>| {
        json!({"username": "driver-bohu-2", "password": "bohu-driver-2026", "role": "driver",
               "region_code": region})
    };
    // A driver without a region would scan nowhere: the region is asked for.
    let (s, v) = t
        .call(Method::POST, "/api/v1/users", Some(&op), Some(user(None)))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["details"][0]["field"], "region_code", "{v}");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&op),
            Some(user(Some("652829"))),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"username": "driver-bohu-2", "password": "bohu-driver-2026"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let driver = v["token"].as_str().expect("token").to_string();
    register(&t, &op, "YT1000000000031", "13912345678").await;
    let scan = |node: &str| json!({"waybill": "YT1000000000031", "node_id": node, "kind": "loaded_on_vehicle"});
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&driver),
            Some(scan("DC-652829")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&driver),
            Some(scan("DC-513334")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

/// Finding 15 (found by schemathesis): a note on a parcel that does not exist answered 500
/// for an admin (the insert failed its foreign key); it is a 404 for everyone.
#[tokio::test]
async fn a_note_on_a_missing_parcel_is_not_found() {
    let t = TestApp::spawn().await;
    for user in ["admin", "op-bohu"] {
        let token = t.login(user).await;
        for uri in ["/api/v1/parcels/987654321/notes", "/api/v1/parcels/0/notes"] {
            let (s, v) = t
                .call(
                    Method::POST,
                    uri,
                    Some(&token),
                    Some(json!({"body": "补扫"})),
                )
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{user} {uri}: {v}");
            assert_eq!(v["error"]["code"], "not_found", "{v}");
        }
    }
}

#[tokio::test]
async fn a_villager_reached_by_phone_is_told_in_the_language_of_the_point() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    let agent = t.login("agent-harengen").await;
    // The county sets the point's language in the node file (export, change, import).
    let csv = t.state.store.export_nodes(None).await.expect("export");
    let header = csv.lines().next().expect("header");
    assert!(header.ends_with(",lang"), "{header}");
    let changed: String = csv
        .lines()
        .map(|l| {
            if l.starts_with("VP-HARENGEN,") {
                // Its language is the last column, empty until now.
                assert!(l.ends_with(','), "{l}");
                format!("{l}ug\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    t.state
        .store
        .import_nodes(None, changed.as_bytes())
        .await
        .expect("import");
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/nodes?county=652829&kind=village_point&limit=100",
            None,
            None,
        )
        .await;
    let point = v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["code"] == "VP-HARENGEN"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(point["lang"], "ug", "{v}");
    // A wrong language is refused with its field.
    let bad = changed.replace(",ug\n", ",fr\n");
    match t.state.store.import_nodes(None, bad.as_bytes()).await {
        Err(bazaar_store::StoreError::Csv(rows)) => {
            assert!(rows.iter().any(|r| r.column == "lang"), "{rows:?}")
        }
        other => panic!("{other:?}"),
    }
    register(&t, &op, "YT1000000000009", "13912345678").await;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&agent),
            Some(json!({"waybill": "YT1000000000009", "kind": "delivered_to_point"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["pickup_code"].as_str().expect("code").to_string();
    let sent = t
        .state
        .store
        .unsent_notifications(10)
        .await
        .expect("outbox");
    let n = sent
        .iter()
        .find(|n| n.kind == "pickup_code")
        .expect("a pickup message");
    // Uyghur words, with the code and the waybill in them.
    assert!(n.body.contains("ئېلىش نومۇرى"), "{}", n.body);
    assert!(
        n.body.contains(&code) && n.body.contains("YT1000000000009"),
        "{}",
        n.body
    );
    assert!(!n.body.contains("取件码"), "{}", n.body);
}

#[tokio::test]
async fn an_account_s_messages_follow_the_language_it_signs_in_with() {
    let t = TestApp::spawn().await;
    let lang_of = |store: bazaar_store::Store, user: &'static str| async move {
        let l: Option<String> = bazaar_store::on_read!(store, |p| {
            sqlx::query_scalar("SELECT lang FROM users WHERE username = $1")
                .bind(user)
                .fetch_one(p)
                .await
                .expect("lang")
        });
        l
    };
    // No language chosen: nothing is recorded (zh-CN is only the fallback).
    t.login("agent-harengen").await;
    assert_eq!(lang_of(t.state.store.clone(), "agent-harengen").await, None);
    let body = br#"{"username":"agent-harengen","password":"bazaar-demo"}"#.to_vec();
    let (s, _, _) = t
        .send_bytes(
            "/api/v1/sessions",
            None,
            "application/json",
            body,
            &[("accept-language", "ug-CN,ug;q=0.9,zh;q=0.5")],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        lang_of(t.state.store.clone(), "agent-harengen")
            .await
            .as_deref(),
        Some("ug")
    );
}

#[tokio::test]
async fn a_parcel_registered_by_a_late_sent_scan_has_its_news_from_the_scan() {
    let t = TestApp::spawn().await;
    let op = t.login("op-bohu").await;
    // The centre's phone scanned it 60 hours ago, offline, and sends the queue now.
    let at = bazaar_domain::time::now_ms() - 60 * 3_600_000;
    let (s, v) = t
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&op),
            Some(serde_json::json!({"scans": [{
                "client_id": "late-1", "waybill": "YT4200000000001", "kind": "arrived_at_county",
                "node_code": "DC-652829", "carrier": "yuantong", "recipient_name": "阿依古丽",
                "recipient_phone": "13800005555", "dest_node": "VP-HARENGEN", "at": at}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["result"], "recorded", "{v}");
    let (_, p) = t
        .call(
            Method::GET,
            "/api/v1/parcels?waybill=YT4200000000001",
            Some(&op),
            None,
        )
        .await;
    assert_eq!(p["last_event_at"].as_i64(), Some(at), "{p}");
    // No news for more than 48 hours: stalled.
    let (s, v) = t
        .call(Method::GET, "/api/v1/parcels/stalled", Some(&op), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.to_string().contains("YT4200000000001"), "{v}");
}

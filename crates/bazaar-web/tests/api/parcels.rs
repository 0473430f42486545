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
        (StatusCode::BAD_REQUEST, Some("waybill")),
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
        (StatusCode::BAD_REQUEST, Some("duplicate")),
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
                {"client_id": "x-1", "waybill": "SF999999999999", "kind": "arrived_at_county"},
                {"client_id": "x-2", "waybill": "SF223456789012", "kind": "teleported"},
                {"client_id": "x-3", "waybill": "SF223456789012", "kind": "put_in_locker", "at": now + 3_600_000},
                {"client_id": "", "waybill": "SF223456789012", "kind": "put_in_locker"},
                {"client_id": "x-5", "waybill": "SF223456789012", "kind": "picked_up_by_recipient"}
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
    assert_eq!(r[4]["state"], "delivered");
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

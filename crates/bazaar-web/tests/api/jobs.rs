//! The job queue: scheduled jobs run once per interval whatever the number of workers, a
//! failing job backs off and dies visibly, admins see and revive it.

use crate::TestApp;
use axum::http::{Method, StatusCode};
use bazaar_domain::time::now_ms;
use bazaar_web::jobs::{SCHEDULE, Worker};
use bazaar_web::notify::LogNotifier;
use std::sync::Arc;

fn worker(t: &TestApp) -> Worker {
    Worker::new(t.state.store.clone(), Arc::new(LogNotifier))
}

#[tokio::test]
async fn each_scheduled_job_runs_once_per_interval_across_workers() {
    let t = TestApp::spawn().await;
    // Two workers (two nodes), both scheduling at start: one row per kind.
    let (a, b) = (worker(&t), worker(&t));
    a.schedule().await.expect("schedule");
    b.schedule().await.expect("schedule");
    let admin = t.login("admin").await;
    let (s, v) = t
        .call(Method::GET, "/api/v1/jobs", Some(&admin), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let jobs = v.as_array().expect("jobs");
    assert_eq!(jobs.len(), SCHEDULE.len(), "{v}");
    // Every one is due once: the two workers together run each exactly once, then find
    // nothing due until the next interval.
    let mut ran = 0;
    loop {
        let (x, y) = tokio::join!(a.run_one(), b.run_one());
        let n = usize::from(x.expect("run")) + usize::from(y.expect("run"));
        if n == 0 {
            break;
        }
        ran += n;
        assert!(ran <= SCHEDULE.len(), "a job ran twice");
    }
    assert_eq!(ran, SCHEDULE.len());
    let (_, v) = t
        .call(Method::GET, "/api/v1/jobs", Some(&admin), None)
        .await;
    let now = now_ms();
    for j in v.as_array().expect("jobs") {
        assert_eq!(j["state"], "queued", "{j}");
        assert_eq!(j["failures"], 0, "{j}");
        assert!(j["last_run_at"].as_i64().is_some(), "{j}");
        // Next run one interval on.
        let every = j["every_ms"].as_i64().expect("every");
        let next = j["run_at"].as_i64().expect("run_at");
        assert!(next > now && next <= now + every + 1000, "{j}");
    }
    // Only admins look after the queue.
    let op = t.login("op-bohu").await;
    let (s, _) = t.call(Method::GET, "/api/v1/jobs", Some(&op), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.call(Method::GET, "/api/v1/jobs", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_payment_deadline_is_a_job_that_cancels_unpaid_orders() {
    let t = TestApp::spawn().await;
    let buyer = t.login("buyer").await;
    let (_, p) = t
        .call(Method::GET, "/api/v1/products?county=652829", None, None)
        .await;
    let product = p["items"][0]["id"].as_i64().expect("product");
    let (_, p) = t
        .call(
            Method::GET,
            &format!("/api/v1/products/{product}"),
            None,
            None,
        )
        .await;
    let sku = p["skus"][0]["id"].as_i64().expect("sku");
    let (s, o) = t
        .call(
            Method::POST,
            "/api/v1/orders",
            Some(&buyer),
            Some(serde_json::json!({"items": [{"sku_id": sku, "quantity": 1}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_i64().expect("id");
    // Its deadline passes; the scheduled job, due now, cancels it.
    let past = now_ms() - 1;
    t.exec(&format!(
        "UPDATE orders SET pay_by = {past} WHERE id = {id}"
    ))
    .await;
    let w = worker(&t);
    w.schedule().await.expect("schedule");
    while w.run_one().await.expect("run") {}
    let (_, o) = t
        .call(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(o["status"], "cancelled", "{o}");
}

#[tokio::test]
async fn a_failing_job_backs_off_dies_visibly_and_is_sent_again_by_an_admin() {
    let t = TestApp::spawn().await;
    let store = &t.state.store;
    let id = store
        .enqueue_job("no.such.kind", &serde_json::json!({}), now_ms(), now_ms())
        .await
        .expect("enqueue");
    let w = worker(&t);
    assert!(w.run_one().await.expect("run"));
    let admin = t.login("admin").await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/jobs", Some(&admin), None)
        .await;
    let j = v
        .as_array()
        .and_then(|a| a.iter().find(|j| j["id"] == id))
        .cloned()
        .expect("the failing job is listed");
    assert_eq!(
        (j["state"].as_str(), j["failures"].as_i64()),
        (Some("queued"), Some(1))
    );
    assert!(
        j["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("no.such.kind")),
        "{j}"
    );
    // Backed off: not due again at once.
    assert!(j["run_at"].as_i64().expect("run_at") > now_ms());
    assert!(!w.run_one().await.expect("run"));
    // Past its attempts it is dead, and stays so until an admin sends it again.
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only a dead job is sent again");
    for _ in 0..8 {
        t.exec(&format!("UPDATE jobs SET run_at = 0 WHERE id = {id}"))
            .await;
        w.run_one().await.expect("run");
    }
    let (_, v) = t
        .call(Method::GET, "/api/v1/jobs", Some(&admin), None)
        .await;
    let j = v
        .as_array()
        .and_then(|a| a.iter().find(|j| j["id"] == id))
        .cloned()
        .expect("listed");
    assert_eq!(j["state"], "dead", "{j}");
    t.exec(&format!("UPDATE jobs SET run_at = 0 WHERE id = {id}"))
        .await;
    assert!(
        !w.run_one().await.expect("run"),
        "a dead job is not claimed"
    );
    let op = t.login("op-bohu").await;
    let (s, _) = t
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, j) = t
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{id}/retry"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (s, j["state"].as_str()),
        (StatusCode::OK, Some("queued")),
        "{j}"
    );
    assert!(w.run_one().await.expect("run"));
}

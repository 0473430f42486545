//! Tests that run the real `bazaar` binary: an order that got 201 survives `kill -9` of the
//! server right after the reply; two `bazaar serve` processes sharing one PostgreSQL database
//! never sell more than there is.

mod common;

use common::{Killed, free_port, http, wait_http};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The tests here start servers on ports picked as free: run them one at a time so they never
/// pick the same port or talk to each other's server.
static SERIAL: Mutex<()> = Mutex::new(());

fn serve(url: &str, port: u16, demo: bool, media: &std::path::Path) -> Killed {
    let mut args = vec![
        "--database-url".to_string(),
        url.to_string(),
        "serve".into(),
        "--addr".into(),
        format!("127.0.0.1:{port}"),
        "--media-dir".into(),
        media.display().to_string(),
    ];
    if demo {
        args.push("--demo".into());
    }
    let child = Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bazaar");
    let k = Killed(child);
    wait_http(port, "bazaar");
    k
}

fn json_of(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let body = body.map(|b| b.to_string());
    let (s, text) = http(port, method, path, &headers, body.as_deref());
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn login(port: u16, user: &str) -> String {
    let (s, v) = json_of(
        port,
        "POST",
        "/api/v1/sessions",
        None,
        Some(json!({"username": user, "password": "bazaar-demo"})),
    );
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().expect("token").to_string()
}

/// Tokens of `n` new buyers with a default address (one buyer may hold at most half a SKU's
/// stock unpaid: a sale is many buyers).
fn buyers(port: u16, n: usize) -> Vec<String> {
    let admin = login(port, "admin");
    (0..n)
        .map(|i| {
            let name = format!("proc-buyer-{i}");
            let (s, v) = json_of(
                port,
                "POST",
                "/api/v1/users",
                Some(&admin),
                Some(
                    json!({"username": name, "display_name": name, "password": "bazaar-demo",
                    "role": "buyer"}),
                ),
            );
            assert_eq!(s, 201, "{v}");
            let token = login(port, &name);
            let (s, v) = json_of(
                port,
                "POST",
                "/api/v1/addresses",
                Some(&token),
                Some(json!({"recipient": name, "phone": "13900000099",
                    "region_code": "652829200201", "is_default": true})),
            );
            assert_eq!(s, 201, "{v}");
            token
        })
        .collect()
}

/// The first SKU of 阿西木土蜂蜜.
fn asim_sku(port: u16) -> i64 {
    let (_, v) = json_of(
        port,
        "GET",
        "/api/v1/products?q=%E9%98%BF%E8%A5%BF%E6%9C%A8%E5%9C%9F%E8%9C%82%E8%9C%9C",
        None,
        None,
    );
    let p = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["name"] == "阿西木土蜂蜜")
        .expect("阿西木土蜂蜜")
        .clone();
    p["skus"][0]["id"].as_i64().expect("sku")
}

/// The units of `sku` held by orders at its first stock location, as its seller reads them.
fn reserved(port: u16, sku: i64, seller: &str) -> i64 {
    let (_, st) = json_of(
        port,
        "GET",
        &format!("/api/v1/skus/{sku}/stock"),
        Some(seller),
        None,
    );
    st["levels"][0]["reserved"].as_i64().expect("reserved")
}

#[test]
fn an_acknowledged_order_survives_kill_9() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("bazaar-kill9-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite:{}?mode=rwc", dir.join("k.db").display());
    let port = free_port();
    let mut server = serve(&url, port, true, &dir);
    let seller = login(port, "seller-asim");
    let buyer = login(port, "buyer");
    let sku = asim_sku(port);
    let (s, _) = json_of(
        port,
        "PUT",
        &format!("/api/v1/skus/{sku}/stock"),
        Some(&seller),
        Some(json!({"quantity": 7})),
    );
    assert_eq!(s, 200);
    // The demo's own orders may hold some already.
    let held = reserved(port, sku, &seller);
    let (s, order) = json_of(
        port,
        "POST",
        "/api/v1/orders",
        Some(&buyer),
        Some(json!({"items": [{"sku_id": sku, "quantity": 3}]})),
    );
    assert_eq!(s, 201, "{order}");
    // SIGKILL right after the reply: no shutdown, no flush.
    server.0.kill().expect("kill -9");
    let _ = server.0.wait();
    drop(server);

    let port = free_port();
    let _server = serve(&url, port, false, &dir);
    let buyer = login(port, "buyer");
    let id = order["id"].as_i64().expect("id");
    let (s, again) = json_of(
        port,
        "GET",
        &format!("/api/v1/orders/{id}"),
        Some(&buyer),
        None,
    );
    assert_eq!(s, 200, "the acknowledged order is still there");
    assert_eq!(again["status"], "pending_payment");
    assert_eq!(again["total_fen"], order["total_fen"]);
    let seller = login(port, "seller-asim");
    assert_eq!(
        reserved(port, sku, &seller),
        held + 3,
        "and so is its reservation"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_servers_on_one_postgresql_never_oversell() {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let Ok(base) = std::env::var("BAZAAR_TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: set BAZAAR_TEST_DATABASE_URL to run the two-server test on PostgreSQL");
        return;
    };
    // A fresh database next to the test one.
    let name = format!("bazaar_two_{}", std::process::id());
    let cut = base.rfind('/').expect("database URL has a path");
    let admin_url = base.clone();
    let url = format!("{}/{name}", &base[..cut]);
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([admin_url.as_str(), "-q", "-c", sql])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "psql {sql}");
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let dir = std::env::temp_dir().join(format!("bazaar-two-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (pa, pb) = (free_port(), free_port());
    let a = serve(&url, pa, true, &dir);
    let b = serve(&url, pb, false, &dir);
    let seller = login(pa, "seller-asim");
    let sku = asim_sku(pa);
    let (s, _) = json_of(
        pa,
        "PUT",
        &format!("/api/v1/skus/{sku}/stock"),
        Some(&seller),
        Some(json!({"quantity": 50})),
    );
    assert_eq!(s, 200);
    // The demo's own orders may hold some already.
    let held = reserved(pa, sku, &seller);
    let buyers = buyers(pb, 10);
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let buyer = buyers[i % buyers.len()].clone();
            let port = if i % 2 == 0 { pa } else { pb };
            std::thread::spawn(move || {
                json_of(
                    port,
                    "POST",
                    "/api/v1/orders",
                    Some(&buyer),
                    Some(json!({"items": [{"sku_id": sku, "quantity": 1}]})),
                )
            })
        })
        .collect();
    let (mut ok, mut sold_out) = (0, 0);
    for h in handles {
        let (s, v) = h.join().expect("thread");
        match s {
            201 => ok += 1,
            409 if v["error"]["code"] == "out_of_stock" => sold_out += 1,
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((ok, sold_out), (50, 150));
    assert_eq!(reserved(pb, sku, &seller), held + 50);
    drop(a);
    drop(b);
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    let _ = std::fs::remove_dir_all(&dir);
}

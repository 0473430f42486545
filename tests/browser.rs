//! The buyer's journey in headless Chromium (Debian's `chromium` and `chromium-driver`): open
//! the home page, search 蜂蜜, open 阿西木土蜂蜜, switch to English, see the page in English; then
//! sign in, put it in the cart, check out with the sandbox provider and see the order paid.
//!
//! Without Chromium the test is skipped and says so, unless `BAZAAR_REQUIRE_BROWSER=1` (set by
//! `.ci/run`), which turns a missing browser into a failure.

mod common;

use common::{Killed, free_port, wait_http};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One WebDriver call over plain HTTP/1.1 (`Connection: close`, so the body ends at EOF).
fn wd(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect chromedriver");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    // Read the head, then exactly the body its Content-Length (or chunked framing) announces:
    // chromedriver keeps the connection open.
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let (head, body_start) = loop {
        let n = s.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "chromedriver closed the connection on {method} {path}"
        );
        out.extend_from_slice(&buf[..n]);
        if let Some(i) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            break (
                String::from_utf8_lossy(&out[..i]).to_ascii_lowercase(),
                i + 4,
            );
        }
    };
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &out[body_start..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&out[body_start..]).to_string();
    let json = if chunked {
        String::from_utf8_lossy(&common::dechunk(&out[body_start..])).into_owned()
    } else {
        text.clone()
    };
    serde_json::from_str(&json).unwrap_or_else(|_| panic!("bad WebDriver answer: {text}"))
}

#[test]
fn buyer_finds_honey_reads_it_in_english_and_buys_it() {
    let required = std::env::var("BAZAAR_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let (chrome, driver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
    if !std::path::Path::new(chrome).exists() || !std::path::Path::new(driver).exists() {
        assert!(
            !required,
            "BAZAAR_REQUIRE_BROWSER=1 but {chrome} or {driver} is missing"
        );
        eprintln!("SKIPPED browser test: install Debian's chromium and chromium-driver to run it");
        return;
    }
    let dir = std::env::temp_dir().join(format!("bazaar-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("b.db");
    let app_port = free_port();
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_bazaar"))
            .args([
                "--database-url",
                &format!("sqlite:{}?mode=rwc", db.display()),
                "serve",
                "--demo",
                "--addr",
                &format!("127.0.0.1:{app_port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bazaar"),
    );
    let wd_port = free_port();
    let _driver = Killed(
        Command::new(driver)
            .arg(format!("--port={wd_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    wait_http(app_port, "bazaar");
    wait_http(wd_port, "chromedriver");

    let session = wd(
        wd_port,
        "POST",
        "/session",
        Some(
            json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                "binary": chrome,
            "prefs": {"intl.accept_languages": "zh-CN,zh"},
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-quic", "--lang=zh-CN", "--no-first-run", "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", dir.join("profile").display())]
            }}}}),
        ),
    );
    let sid = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{session}"))
        .to_string();
    let base = format!("/session/{sid}");
    let find = |using: &str, value: &str| -> String {
        let start = Instant::now();
        loop {
            let r = wd(
                wd_port,
                "POST",
                &format!("{base}/element"),
                Some(json!({"using": using, "value": value})),
            );
            // The W3C element reference key; an error answer has none.
            if let Some(id) = r["value"]["element-6066-11e4-a52e-4f735466cecf"].as_str() {
                return id.to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no element {value}: {r}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let source = || {
        wd(wd_port, "GET", &format!("{base}/source"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // Waits until the current page contains every one of `texts` (navigation is asynchronous).
    let wait_for = |texts: &[&str]| {
        let start = Instant::now();
        loop {
            let page = source();
            if texts.iter().all(|t| page.contains(t)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "page lacks {texts:?}: {page}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    wd(
        wd_port,
        "POST",
        &format!("{base}/url"),
        Some(json!({"url": format!("http://127.0.0.1:{app_port}/")})),
    );
    wait_for(&["地方馆"]);
    let input = find("css selector", "input[name=q]");
    wd(
        wd_port,
        "POST",
        &format!("{base}/element/{input}/value"),
        Some(json!({"text": "蜂蜜"})),
    );
    let button = find("css selector", "form.s button");
    wd(
        wd_port,
        "POST",
        &format!("{base}/element/{button}/click"),
        Some(json!({})),
    );
    let link = find("xpath", "//a[text()='阿西木土蜂蜜']");
    wd(
        wd_port,
        "POST",
        &format!("{base}/element/{link}/click"),
        Some(json!({})),
    );
    wait_for(&["产地", "阿西木土蜂蜜"]);
    let en = find("css selector", "#lang-en");
    wd(
        wd_port,
        "POST",
        &format!("{base}/element/{en}/click"),
        Some(json!({})),
    );
    wait_for(&["Origin", "Producer", "阿西木土蜂蜜"]);
    // The choice sticks: the home page is now in English too.
    wd(
        wd_port,
        "POST",
        &format!("{base}/url"),
        Some(json!({"url": format!("http://127.0.0.1:{app_port}/")})),
    );
    wait_for(&["County pavilions"]);

    // A buyer signs in, puts 阿西木土蜂蜜 in the cart, checks out with the sandbox provider
    // and finds the order paid in "my orders".
    let go = |path: &str| {
        wd(
            wd_port,
            "POST",
            &format!("{base}/url"),
            Some(json!({"url": format!("http://127.0.0.1:{app_port}{path}")})),
        );
    };
    let click = |using: &str, value: &str| {
        let el = find(using, value);
        wd(
            wd_port,
            "POST",
            &format!("{base}/element/{el}/click"),
            Some(json!({})),
        );
    };
    let type_in = |selector: &str, text: &str| {
        let el = find("css selector", selector);
        wd(
            wd_port,
            "POST",
            &format!("{base}/element/{el}/value"),
            Some(json!({"text": text})),
        );
    };
    go("/login?lang=zh-CN&next=%2Fsearch%3Fq%3D%E9%98%BF%E8%A5%BF%E6%9C%A8");
    wait_for(&["登录"]);
    type_in("input[name=username]", "buyer");
    type_in("input[name=password]", "bazaar-demo");
    click("css selector", "form[action='/login'] button");
    wait_for(&["个结果", "阿西木土蜂蜜"]);
    click("xpath", "//a[text()='阿西木土蜂蜜']");
    wait_for(&["加入购物车"]);
    click("css selector", "button[id^='add-']");
    wait_for(&["去结算", "阿西木土蜂蜜"]);
    click("css selector", "#checkout");
    wait_for(&["沙箱支付（演示，不扣款）", "王芳"]);
    click("css selector", "#place-order");
    wait_for(&["沙箱支付提供方"]);
    click("css selector", "#sandbox-pay");
    wait_for(&["已付款", "订单进度"]);
    go("/orders");
    wait_for(&["我的订单", "已付款"]);
    wd(wd_port, "DELETE", &base, None);
    let _ = std::fs::remove_dir_all(&dir);
}

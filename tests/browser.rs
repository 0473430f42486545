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

/// A Bazaar server with demo data and a headless Chromium driving it.
struct Browser {
    wd_port: u16,
    app_port: u16,
    base: String,
    dir: std::path::PathBuf,
    _server: Killed,
    _driver: Killed,
}

impl Browser {
    /// Starts both, or `None` (the test skipped) where Chromium is not installed.
    fn start(name: &str) -> Option<Browser> {
        let required = std::env::var("BAZAAR_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let (chrome, driver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
        if !std::path::Path::new(chrome).exists() || !std::path::Path::new(driver).exists() {
            assert!(
                !required,
                "BAZAAR_REQUIRE_BROWSER=1 but {chrome} or {driver} is missing"
            );
            eprintln!(
                "SKIPPED browser test: install Debian's chromium and chromium-driver to run it"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!("bazaar-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = dir.join("b.db");
        let app_port = free_port();
        let server = Killed(
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
                .stderr(std::fs::File::create(dir.join("server.log")).expect("server log"))
                .spawn()
                .expect("start bazaar"),
        );
        let wd_port = free_port();
        let driver = Killed(
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
        Some(Browser {
            wd_port,
            app_port,
            base: format!("/session/{sid}"),
            dir,
            _server: server,
            _driver: driver,
        })
    }

    fn find(&self, using: &str, value: &str) -> String {
        let start = Instant::now();
        loop {
            let r = wd(
                self.wd_port,
                "POST",
                &format!("{}/element", self.base),
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
    }

    fn source(&self) -> String {
        wd(self.wd_port, "GET", &format!("{}/source", self.base), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the current page contains every one of `texts` (navigation is
    /// asynchronous) and returns it.
    fn wait_for(&self, texts: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let page = self.source();
            if texts.iter().all(|t| page.contains(t)) {
                return page;
            }
            if start.elapsed() >= Duration::from_secs(20) {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
                panic!("page lacks {texts:?}: {page}\n--- server log, newest first:\n{tail}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn go(&self, path: &str) {
        wd(
            self.wd_port,
            "POST",
            &format!("{}/url", self.base),
            Some(json!({"url": format!("http://127.0.0.1:{}{path}", self.app_port)})),
        );
    }

    fn click(&self, using: &str, value: &str) {
        let el = self.find(using, value);
        wd(
            self.wd_port,
            "POST",
            &format!("{}/element/{el}/click", self.base),
            Some(json!({})),
        );
    }

    fn type_in(&self, selector: &str, text: &str) {
        let el = self.find("css selector", selector);
        wd(
            self.wd_port,
            "POST",
            &format!("{}/element/{el}/value", self.base),
            Some(json!({"text": text})),
        );
    }

    fn login(&self, user: &str, next: &str) {
        self.go(&format!("/login?lang=zh-CN&next={next}"));
        self.wait_for(&["登录"]);
        self.type_in("input[name=username]", user);
        self.type_in("input[name=password]", "bazaar-demo");
        self.click("css selector", "form[action='/login'] button");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        wd(self.wd_port, "DELETE", &self.base, None);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn buyer_finds_honey_reads_it_in_english_and_buys_it() {
    let Some(b) = Browser::start("buyer") else {
        return;
    };
    b.go("/");
    b.wait_for(&["地方馆"]);
    b.type_in("input[name=q]", "蜂蜜");
    b.click("css selector", "form.s button");
    b.click("xpath", "//a[.//span[text()='阿西木土蜂蜜']]");
    b.wait_for(&["产地", "阿西木土蜂蜜"]);
    b.click("css selector", "#lang-en");
    b.wait_for(&["Origin", "Producer", "阿西木土蜂蜜"]);
    // The choice sticks: the home page is now in English too.
    b.go("/");
    b.wait_for(&["County pavilions"]);

    // A buyer signs in, puts 阿西木土蜂蜜 in the cart, checks out with the sandbox provider
    // and finds the order paid in "my orders".
    b.login("buyer", "%2Fsearch%3Fq%3D%E9%98%BF%E8%A5%BF%E6%9C%A8");
    b.wait_for(&["个结果", "阿西木土蜂蜜"]);
    b.click("xpath", "//a[.//span[text()='阿西木土蜂蜜']]");
    b.wait_for(&["加入购物车"]);
    b.click("css selector", "#add");
    b.wait_for(&["去结算", "阿西木土蜂蜜"]);
    b.click("css selector", "#checkout");
    b.wait_for(&["沙箱支付（演示，不扣款）", "王芳"]);
    b.click("css selector", "#place-order");
    b.wait_for(&["沙箱支付提供方"]);
    b.click("css selector", "#sandbox-pay");
    b.wait_for(&["已付款", "订单进度"]);
    b.go("/orders");
    b.wait_for(&["我的订单", "已付款"]);
}

/// One JSON call to the app's API over plain HTTP.
fn api(port: u16, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let body = body.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect bazaar");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let i = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP answer");
    let head = String::from_utf8_lossy(&out[..i]).to_ascii_lowercase();
    let raw = if head.contains("transfer-encoding: chunked") {
        common::dechunk(&out[i + 4..])
    } else {
        out[i + 4..].to_vec()
    };
    serde_json::from_slice(&raw).unwrap_or(Value::Null)
}

#[test]
fn agent_scans_an_arriving_parcel_and_hands_it_over_against_its_code() {
    let Some(b) = Browser::start("agent") else {
        return;
    };
    // The county centre registers a 圆通 parcel for a villager of 哈尔恩根村.
    let op = api(
        b.app_port,
        "POST",
        "/api/v1/sessions",
        None,
        json!({"username": "op-bohu", "password": "bazaar-demo"}),
    );
    let token = op["token"].as_str().unwrap_or_else(|| panic!("{op}"));
    let p = api(
        b.app_port,
        "POST",
        "/api/v1/parcels",
        Some(token),
        json!({"carrier": "yuantong", "waybill": "YT8800000000001", "direction": "downstream",
               "recipient_name": "娜仁", "recipient_phone": "13912345678",
               "destination_node_id": "VP-HARENGEN"}),
    );
    assert_eq!(p["state"], "ordered", "{p}");

    // The village agent signs in, scans it as delivered to the point and reads its code.
    b.login("agent-harengen", "%2Fmanage%2Fscan");
    b.wait_for(&["扫描", "送达服务点"]);
    b.type_in("#waybill", "YT8800000000001");
    b.click("css selector", "#scan-form button:not([type=button])");
    let page = b.wait_for(&["已记录", "取件码"]);
    let code = page
        .split("取件码 ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect::<String>())
        .filter(|c| c.len() == 6 && c.bytes().all(|d| d.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no pickup code on the page: {page}"));

    // The shelf lists it; the villager reads out the code and the phone's last four digits.
    b.go("/manage/shelf");
    b.wait_for(&["取件货架", "YT8800000000001", "A-01"]);
    b.type_in("input[name=pickup_code]", &code);
    b.type_in("input[name=phone_last4]", "5678");
    b.type_in("input[name=signature]", "娜仁");
    b.click("css selector", "#pickup-form button");
    b.wait_for(&["已交付 YT8800000000001"]);
    let p = api(
        b.app_port,
        "GET",
        "/api/v1/parcels?waybill=YT8800000000001",
        Some(token),
        json!(null),
    );
    assert_eq!(p["state"], "delivered", "{p}");
}

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
        Browser::start_with(name, false)
    }

    /// [`Browser::start`] on a 360×740 phone (Chromium's mobile emulation) when `phone`.
    fn start_with(name: &str, phone: bool) -> Option<Browser> {
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
        let mut options = json!({
            "binary": chrome,
            "prefs": {"intl.accept_languages": "zh-CN,zh"},
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-quic", "--lang=zh-CN", "--no-first-run", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", dir.join("profile").display())]
        });
        if phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2, "touch": true},
                "userAgent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
            });
        }
        let session = wd(
            wd_port,
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})),
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
            if start.elapsed() >= Duration::from_secs(20) {
                let text = self.js("return location.pathname + ' | ' + document.body.innerText");
                panic!("no element {value} on {text}");
            }
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

    /// Clicks what sends a form and waits until the next page has replaced this one (a mark
    /// left on this document is gone), so that what follows reads the answer, not the form.
    fn submit(&self, using: &str, value: &str) {
        self.js("window.bzOldPage = 1; return 1");
        self.click(using, value);
        let start = Instant::now();
        loop {
            let v = self
                .js("return window.bzOldPage === undefined && document.readyState === 'complete'");
            if v == json!(true) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no new page after clicking {value}: {}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
        self.login_in(user, next, "zh-CN");
    }

    /// Signs in as `user` on the sign-in page in `lang`, going on to `next` (URL-encoded).
    fn login_in(&self, user: &str, next: &str, lang: &str) {
        self.go(&format!("/login?lang={lang}&next={next}"));
        self.type_in("input[name=username]", user);
        self.type_in("input[name=password]", "bazaar-demo");
        self.click("css selector", "form[action='/login'] button");
    }

    /// Forgets every cookie: the next person signs in afresh.
    fn sign_out(&self) {
        wd(
            self.wd_port,
            "DELETE",
            &format!("{}/cookie", self.base),
            None,
        );
    }

    /// Runs `script` in the page and returns its value.
    fn js(&self, script: &str) -> Value {
        wd(
            self.wd_port,
            "POST",
            &format!("{}/execute/sync", self.base),
            Some(json!({"script": script, "args": []})),
        )["value"]
            .clone()
    }

    /// Waits until the page's path starts with `prefix` (a redirect, a refreshing page).
    fn wait_path(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let path = self.js("return location.pathname + location.search");
            let path = path.as_str().unwrap_or_default().to_string();
            if path.starts_with(prefix) {
                return path;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "still on {path}, not {prefix}…: {}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What every page of a journey must be on a phone: nothing wider than the screen (no
    /// sideways scrolling), written in `lang` (the page says so), and no code or message key
    /// where a person reads: no catalogue key (`run-title`), no status code (`pending_payment`),
    /// no unfilled placeholder.
    fn check(&self, step: &str, lang: &str) {
        let v = self.js(
            "return [document.documentElement.scrollWidth, window.innerWidth, \
             document.body.innerText, document.documentElement.lang]",
        );
        let (sw, iw) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
        let text = v[2].as_str().unwrap_or_default();
        assert!(
            sw <= iw,
            "{step} ({lang}): the page is {sw} px wide on a {iw} px screen"
        );
        assert_eq!(v[3].as_str(), Some(lang), "{step}: the page's language");
        let keys = catalogue_keys();
        assert!(keys.len() > 300, "the catalogue's keys: {}", keys.len());
        for key in keys {
            assert!(
                !text.contains(key),
                "{step} ({lang}): the message key {key} shows: {text}"
            );
        }
        let code = text
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .find(|w| {
                w.contains('_')
                    && !w.starts_with('_')
                    && !w.ends_with('_')
                    && w.split('_').all(|p| p.len() > 1)
            });
        assert!(
            code.is_none(),
            "{step} ({lang}): the code {code:?} shows: {text}"
        );
        assert!(
            !text.contains("{ $") && !text.contains('\u{fffd}'),
            "{step} ({lang}): {text}"
        );
    }
}

/// The message keys of the Chinese catalogue that a person must never read (those with a
/// hyphen: `run-title`, `pay-station_cash`).
fn catalogue_keys() -> Vec<&'static str> {
    include_str!("../crates/bazaar-web/locales/zh-CN.ftl")
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter(|k| k.contains('-') && !k.starts_with('#') && !k.starts_with(' '))
        .collect()
}

/// The two languages each phone journey is walked in.
const PHONE_LANGS: [&str; 2] = ["zh-CN", "ug"];

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

/// A buyer on a phone buys 阿西木土蜂蜜: home, search, the product, the cart, checkout, the
/// sandbox payment, the order and its tracking, my orders.
fn buy_honey(b: &Browser, lang: &str) {
    b.login_in("buyer", "%2F", lang);
    b.wait_path("/");
    b.find("css selector", "ul.g a");
    b.check("home", lang);
    // Searched in the reader's language, found by the name in it (the seller gave the honey
    // a Uyghur name).
    let (word, name) = match lang {
        "ug" => ("ھەسەل", "ئاسىمنىڭ يەرلىك ھەسىلى"),
        _ => ("蜂蜜", "阿西木土蜂蜜"),
    };
    b.type_in("header input[name=q], form.s input[name=q]", word);
    b.click("css selector", "form.s button");
    b.wait_path("/search");
    b.check("search", lang);
    b.click("xpath", &format!("//a[.//span[text()='{name}']]"));
    b.find("css selector", "#add");
    b.check("product", lang);
    b.click("css selector", "#add");
    b.find("css selector", "#checkout");
    b.check("cart", lang);
    b.click("css selector", "#checkout");
    b.find("css selector", "#place-order");
    b.check("checkout", lang);
    b.click("css selector", "#place-order");
    b.find("css selector", "#sandbox-pay");
    b.click("css selector", "#sandbox-pay");
    b.wait_path("/orders/");
    b.find("css selector", ".order-status");
    b.check("order", lang);
    b.go("/orders");
    b.find("css selector", "nav.tabs, .tabs");
    b.check("my orders", lang);
}

#[test]
fn on_a_phone_a_buyer_goes_from_home_to_a_paid_order_in_chinese_and_uyghur() {
    let Some(b) = Browser::start_with("phone-buyer", true) else {
        return;
    };
    for lang in PHONE_LANGS {
        buy_honey(&b, lang);
        b.sign_out();
    }
}

#[test]
fn on_a_phone_an_agent_hands_over_by_phone_tail_and_buys_for_a_villager_by_name() {
    let Some(b) = Browser::start_with("phone-agent", true) else {
        return;
    };
    // The demo's two parcels on 哈尔恩根村's shelf: 娜仁 (…5678) and 巴特尔 (…1234).
    for (lang, tail) in [("zh-CN", "5678"), ("ug", "1234")] {
        b.login_in("agent-harengen", "%2Fmanage", lang);
        // The agent lands on the shelf.
        b.wait_path("/manage/shelf");
        b.check("shelf", lang);
        b.type_in("form[action='/manage/shelf'] input[name=find]", tail);
        b.click("css selector", "form[action='/manage/shelf'] button");
        b.find("css selector", "#found input[name=signature]");
        b.check("shelf found", lang);
        b.type_in("#found input[name=signature]", "本人");
        b.click("css selector", "#found button");
        b.find("css selector", "p.ok[role=status]");
        b.check("handed over", lang);
        // 代买: a product found by name, the total with shipping, then the order.
        b.go("/manage/station");
        b.type_in("input[name=villager_name]", "王大妈");
        b.type_in("fieldset.choices input[name=q]", "蜂蜜");
        b.click("css selector", "#station-search");
        b.find("css selector", "input[name^='qty-']");
        b.check("station search", lang);
        b.type_in("input[name^='qty-']", "1");
        b.click("css selector", "#station-review");
        b.find("css selector", "#station-place");
        b.check("station review", lang);
        b.click("css selector", "#station-place");
        b.find("css selector", "p.ok[role=status]");
        b.check("station placed", lang);
        b.sign_out();
    }
}

#[test]
fn on_a_phone_a_seller_ships_with_a_waybill_and_a_driver_reads_the_route() {
    let Some(b) = Browser::start_with("phone-seller", true) else {
        return;
    };
    // A second paid order beside the demo's, so that there is one to ship in each language.
    buy_honey(&b, "zh-CN");
    b.sign_out();
    for (lang, waybill) in [("zh-CN", "78800000000101"), ("ug", "78800000000102")] {
        b.login_in("seller-asim", "%2Fmanage", lang);
        // The seller lands on orders to ship.
        b.wait_path("/manage/orders");
        b.find("css selector", "article.card button[id^='ship-']");
        b.check("seller orders", lang);
        b.type_in("article.card input[name=waybill]", waybill);
        b.click("css selector", "article.card button[id^='ship-']");
        b.wait_for(&[waybill]);
        b.check("shipped", lang);
        b.sign_out();
    }
    // The county plans and publishes today's run; the driver reads it on the phone.
    let op = api(
        b.app_port,
        "POST",
        "/api/v1/sessions",
        None,
        json!({"username": "op-bohu", "password": "bazaar-demo"}),
    );
    let token = op["token"].as_str().unwrap_or_else(|| panic!("{op}"));
    let run = api(
        b.app_port,
        "POST",
        "/api/v1/runs",
        Some(token),
        json!({"depot_node": "DC-652829"}),
    );
    let id = run["id"].as_i64().unwrap_or_else(|| panic!("{run}"));
    // Every stop on the driver's van.
    for r in run["plan"]["routes"].as_array().into_iter().flatten() {
        for st in r["stops"].as_array().into_iter().flatten() {
            api(
                b.app_port,
                "POST",
                &format!("/api/v1/runs/{id}/actions"),
                Some(token),
                json!({"action": "move", "stop": st["id"], "vehicle": "BH-2"}),
            );
        }
    }
    let published = api(
        b.app_port,
        "POST",
        &format!("/api/v1/runs/{id}/actions"),
        Some(token),
        json!({"action": "publish"}),
    );
    assert_eq!(published["status"], "published", "{published}");
    for lang in PHONE_LANGS {
        b.login_in("driver-bohu", "%2Fmanage", lang);
        b.wait_path("/manage/route");
        b.find("css selector", "ol.stops a[href^='tel:']");
        b.find("css selector", "ol.stops a[href^='https://uri.amap.com/']");
        b.check("route", lang);
        b.sign_out();
    }
}

#[test]
fn on_a_phone_an_operator_plans_a_run_and_follows_it() {
    let Some(b) = Browser::start_with("phone-operator", true) else {
        return;
    };
    for lang in PHONE_LANGS {
        b.login_in("op-bohu", "%2Fmanage", lang);
        b.wait_path("/manage");
        b.check("operator's first screen", lang);
        b.go("/manage/runs");
        b.check("runs", lang);
        b.click("css selector", "#plan-DC-652829");
        // The job's page, then the run once it is planned.
        b.wait_path("/manage/runs/");
        b.find("css selector", "svg text");
        b.find("css selector", "ul.legend");
        b.check("run review", lang);
        b.go("/manage/plan");
        b.find("css selector", "#plan-go");
        b.check("plan form", lang);
        // The demo's stalled parcel, as a card a phone shows whole.
        b.go("/manage/stalled");
        b.wait_for(&["YT4100000000005"]);
        b.check("stalled", lang);
        b.sign_out();
    }
}

#[test]
fn a_buyer_picks_a_region_without_reloads_and_fills_an_address_by_pasting() {
    let Some(b) = Browser::start_with("region", true) else {
        return;
    };
    // Something in the cart, then the checkout page's new address.
    b.login("buyer", "%2Fsearch%3Fq%3D%E9%98%BF%E8%A5%BF%E6%9C%A8");
    b.click("xpath", "//a[.//span[text()='阿西木土蜂蜜']]");
    b.click("css selector", "#add");
    b.find("css selector", "#checkout");
    b.go("/checkout");
    b.find("css selector", "form[data-region-picker] select");
    // A mark on this page: a reload would wipe it.
    b.js("window.stillHere = 1; return 1");
    for place in ["浙江省", "杭州市", "西湖区"] {
        b.click(
            "xpath",
            &format!("//form[@data-region-picker]//option[text()='{place}']"),
        );
        b.wait_for(&[&format!(">{place}</a>")]);
    }
    let v = b.js(
        "return [window.stillHere, document.querySelector('form[action=\"/addresses\"] input[name=region_code]').value]",
    );
    assert_eq!(v, json!([1, "330106"]), "chosen without a reload");
    b.check("region picked", "zh-CN");
    b.type_in("form[action='/addresses'] input[name=recipient]", "张三");
    b.type_in("form[action='/addresses'] input[name=phone]", "13812345678");
    b.type_in(
        "form[action='/addresses'] input[name=detail]",
        "文三路 90 号",
    );
    b.submit("css selector", "form[action='/addresses'] button");
    b.wait_for(&["西湖区", "文三路 90 号"]);
    // Pasting a whole address fills the form for the buyer to check and save.
    b.type_in(
        "textarea[name=pasted]",
        "李四 13912345678 北京市朝阳区建国路88号",
    );
    b.submit("css selector", "#paste-fill");
    b.find("css selector", "input[name=recipient][value='李四']");
    b.check("pasted", "zh-CN");
    b.submit("css selector", "form[action='/addresses'] button");
    b.wait_for(&["朝阳区", "建国路88号"]);
}

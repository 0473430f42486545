//! The back office as a person uses it: forms with CSRF tokens, refused forms that name each
//! field, uploads, and the same rights as the API.

use crate::TestApp;
use axum::http::{Method, StatusCode};

/// A signed-in browser: its cookies and CSRF token.
pub(crate) struct Browser<'a> {
    pub t: &'a TestApp,
    pub cookies: String,
    pub csrf: String,
}

fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

impl<'a> Browser<'a> {
    pub async fn sign_in(t: &'a TestApp, user: &str) -> Browser<'a> {
        let (_, h, _) = t.form(Method::GET, "/login", "", None).await;
        let csrf_cookie = h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .find(|c| c.starts_with("bz_csrf="))
            .expect("csrf cookie");
        let csrf = csrf_cookie.trim_start_matches("bz_csrf=").to_string();
        let (s, h, _) = t
            .form(
                Method::POST,
                "/login",
                &format!("csrf={csrf}&username={user}&password=bazaar-demo"),
                Some(&csrf_cookie),
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{user} signs in");
        let session = h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .find(|c| c.starts_with("bz_session="))
            .expect("session");
        // The hint that links the back office from the storefront, when set.
        let staff = h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_string())
            .find(|c| c == "bz_staff=1")
            .map(|c| format!("; {c}"))
            .unwrap_or_default();
        Browser {
            t,
            cookies: format!("{csrf_cookie}; {session}{staff}"),
            csrf,
        }
    }

    pub async fn get(&self, url: &str) -> (StatusCode, String) {
        let (s, _, b) = self.t.form(Method::GET, url, "", Some(&self.cookies)).await;
        (s, b)
    }

    /// A page with its headers (a redirect's `location`, a `refresh`).
    pub async fn get_with_headers(&self, url: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        self.t.form(Method::GET, url, "", Some(&self.cookies)).await
    }

    pub async fn post(&self, url: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut body = format!("csrf={}", self.csrf);
        for (k, v) in fields {
            body.push_str(&format!("&{k}={}", enc(v)));
        }
        let (s, h, b) = self
            .t
            .form(Method::POST, url, &body, Some(&self.cookies))
            .await;
        let loc = h
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (s, loc, b)
    }

    pub(crate) async fn multipart(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Vec<u8>),
        with_csrf: bool,
    ) -> (StatusCode, String, String) {
        let boundary = "----bazaar-test-boundary";
        let mut body = Vec::new();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if with_csrf {
            all.push(("csrf", &self.csrf));
        }
        for (k, v) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                file.0, file.1
            )
            .as_bytes(),
        );
        body.extend_from_slice(&file.2);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (s, h, b) = self
            .t
            .send_bytes(
                url,
                None,
                &format!("multipart/form-data; boundary={boundary}"),
                body,
                &[("cookie", &self.cookies)],
            )
            .await;
        let loc = h
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (s, loc, String::from_utf8_lossy(&b).into_owned())
    }
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 200) as u8, 120, 60]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

#[tokio::test]
async fn an_agent_registers_a_villager_lists_for_them_and_the_operator_approves() {
    let t = TestApp::spawn().await;
    let agent = Browser::sign_in(&t, "agent-harengen").await;

    // The registration form offers the agent's own village.
    let (s, page) = agent.get("/manage/sellers/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("哈尔恩根村"), "{page}");
    let village = page
        .split("<option value=\"")
        .filter_map(|o| o.split('"').next())
        .find(|v| v.len() == 12)
        .expect("a village code")
        .to_string();

    // A refused form: every bad field named next to it, the typed values kept.
    let (s, _, page) = agent
        .post(
            "/manage/sellers/new",
            &[
                ("name", ""),
                ("kind", "household"),
                ("village_code", &village),
                ("poverty_status", "lifted"),
                ("contact_phone", "12ab"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("名称：必填"), "{page}");
    assert!(page.contains("联系电话：格式不正确"), "{page}");
    assert!(page.contains("value=\"12ab\""));

    let (s, loc, _) = agent
        .post(
            "/manage/sellers/new",
            &[
                ("name", "买买提·托合提"),
                ("kind", "household"),
                ("village_code", &village),
                ("poverty_status", "lifted"),
                ("registration_no", "TP-652829-0099"),
                ("contact_phone", "13912345678"),
            ],
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/manage/sellers?saved=1")
    );

    // The county operator sees the application (phone masked) and approves it.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (_, page) = op.get("/manage/sellers").await;
    assert!(page.contains("买买提·托合提"), "{page}");
    assert!(page.contains("139****5678") && !page.contains("13912345678"));
    let api = t.login("op-bohu").await;
    let (_, v) = t
        .call(
            Method::GET,
            "/api/v1/sellers?status=pending",
            Some(&api),
            None,
        )
        .await;
    let seller = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["name"] == "买买提·托合提")
        .expect("pending seller")["id"]
        .as_i64()
        .expect("id");
    let (s, _, page) = op
        .post(
            &format!("/manage/sellers/{seller}/decision"),
            &[("decision", "reject")],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a rejection needs a reason: {page}"
    );
    assert!(page.contains("原因：必填"), "{page}");
    let (s, _, _) = op
        .post(
            &format!("/manage/sellers/{seller}/decision"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Litang's operator cannot decide on Bohu's sellers.
    let litang = Browser::sign_in(&t, "op-litang").await;
    let (s, _, _) = litang
        .post(
            &format!("/manage/sellers/{seller}/decision"),
            &[("decision", "reject"), ("reason", "x")],
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );

    // The agent lists a product for the villager (代卖): a bad price is named...
    let sid = seller.to_string();
    let base = [
        ("seller_id", sid.as_str()),
        ("name", "哈尔恩根土鸡蛋"),
        ("category", "meat_dairy"),
        ("spec", "30枚/箱"),
        ("weight_g", "1800"),
        ("shelf_life_days", "30"),
    ];
    let mut bad = base.to_vec();
    bad.push(("price", "四十"));
    let (s, _, page) = agent.post("/manage/products/new", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("价格：格式不正确"), "{page}");
    assert!(page.contains("哈尔恩根土鸡蛋"), "values kept");
    // ...a good one creates the draft and opens its page.
    let mut good = base.to_vec();
    good.push(("price", "45.00"));
    let (s, loc, _) = agent.post("/manage/products/new", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/manage/products/"), "{loc}");
    let (s, page) = agent.get(&loc).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("草稿") && page.contains("¥45.00"), "{page}");

    // A photo through the page form: without the CSRF token refused, with it stored.
    let photo_url = format!("{loc}/photos");
    let (s, _, _) = agent
        .multipart(&photo_url, &[], ("photo", "egg.png", png(1600, 900)), false)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, page) = agent
        .multipart(
            &photo_url,
            &[],
            ("photo", "egg.png", b"not an image".to_vec()),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("图片：不是 JPEG、PNG 或 WebP 图片"), "{page}");
    let (s, back, _) = agent
        .multipart(&photo_url, &[], ("photo", "egg.png", png(1600, 900)), true)
        .await;
    assert_eq!((s, back.as_str()), (StatusCode::SEE_OTHER, loc.as_str()));
    let (_, page) = agent.get(&loc).await;
    assert!(page.contains("width=\"1200\" height=\"675\""), "{page}");

    // Edit: a bad shelf life is named; a good edit is saved.
    let (s, _, page) = agent
        .post(
            &loc,
            &[
                ("name", "哈尔恩根土鸡蛋"),
                ("category", "meat_dairy"),
                ("shelf_life_days", "x"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("保质期：格式不正确"), "{page}");
    let (s, _, _) = agent
        .post(
            &loc,
            &[
                ("name", "哈尔恩根散养土鸡蛋"),
                ("category", "meat_dairy"),
                ("shelf_life_days", "25"),
                ("cold_chain", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Submit; the operator approves from the product page; the store shows it.
    let (s, _, _) = agent
        .post(&format!("{loc}/action"), &[("action", "submit")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = op.get(&loc).await;
    assert!(page.contains("value=\"approve\""), "{page}");
    let (s, _, _) = op
        .post(&format!("{loc}/action"), &[("action", "approve")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let id = loc.rsplit('/').next().expect("id");
    let (s, _, page) = t
        .form(Method::GET, &format!("/products/{id}"), "", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("哈尔恩根散养土鸡蛋") && page.contains("<img src=\"/media/"));
    // Another county's operator may not even open it in the back office.
    let (s, _) = litang.get(&loc).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
}

#[tokio::test]
async fn csv_upload_and_accounts_from_the_back_office() {
    let t = TestApp::spawn().await;
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = op.get("/manage/import").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("enctype=\"multipart/form-data\""));

    let header = "code,name,kind,region_code,parent_code,lat,lng,opens,closes,contact_name,contact_phone,address\n";
    let bad = format!(
        "{header}LB-HARENGEN-2,哈尔恩根村智能柜,locker_bank,652829200201,VP-HARENGEN,41.9x,87.0,00:00,24:00,,,\n\
LB-X,理塘的柜子,locker_bank,513334100201,,29.9,100.2,08:00,20:00,,,\n"
    );
    let (s, _, page) = op
        .multipart(
            "/manage/import",
            &[("kind", "nodes")],
            ("file", "nodes.csv", bad.into_bytes()),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("第 2 行"), "{page}");
    assert!(page.contains("第 3 行"), "{page}");
    let good = format!(
        "{header}LB-HARENGEN-2,哈尔恩根村智能柜,locker_bank,652829200201,VP-HARENGEN,41.9,87.0,07:00,23:00,,,村委会门口\n"
    );
    let (s, _, page) = op
        .multipart(
            "/manage/import",
            &[("kind", "nodes")],
            ("file", "nodes.csv", good.into_bytes()),
            true,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("已导入 1 行"), "{page}");

    // Accounts: the operator adds an agent for a Bohu service point; a bad form names the
    // fields and never echoes the password.
    let (s, page) = op.get("/manage/users").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("agent-harengen") && !page.contains("op-litang"));
    // Pickers of the operator's county, not codes to type; places named in the list.
    assert!(
        page.contains("<select name=\"region_code\"")
            && page.contains("<option value=\"652829\"")
            && page.contains("<select name=\"node_code\"")
            && page.contains("<option value=\"VP-HARENGEN\"")
            && page.contains("<select name=\"seller_id\""),
        "{page}"
    );
    assert!(
        !page.contains("<option value=\"VP-513334") && !page.contains("<td>VP-HARENGEN</td>"),
        "{page}"
    );
    let (s, _, page) = op
        .post(
            "/manage/users",
            &[
                ("username", "Bad Name"),
                ("password", "secret-short"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("用户名：格式不正确"), "{page}");
    assert!(page.contains("服务网点：必填"), "{page}");
    assert!(!page.contains("secret-short"));
    let (s, loc, _) = op
        .post(
            "/manage/users",
            &[
                ("username", "agent-harengen-2"),
                ("password", "harengen-2026"),
                ("role", "agent"),
                ("node_code", "VP-HARENGEN"),
            ],
        )
        .await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, "/manage/users"));
    // Sellers have no such pages.
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (s, _) = seller.get("/manage/users").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = seller.get("/manage/import").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn each_person_lands_on_their_day_s_work_and_buyers_have_no_back_office_link() {
    let t = TestApp::spawn().await;
    for (user, landing) in [
        ("agent-harengen", "/manage/shelf"),
        ("driver-bohu", "/manage/route"),
        ("seller-asim", "/manage/orders"),
        ("buyer", "/orders"),
    ] {
        let b = Browser::sign_in(&t, user).await;
        let (s, h, _) = t.form(Method::GET, "/manage", "", Some(&b.cookies)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{user}");
        assert_eq!(
            h.get("location").and_then(|v| v.to_str().ok()),
            Some(landing),
            "{user}"
        );
        let (s, _) = b.get(landing).await;
        assert_eq!(s, StatusCode::OK, "{user} opens {landing}");
        // The storefront links the back office for those who work in it only.
        let (_, home) = b.get("/").await;
        assert_eq!(
            home.contains("href=\"/manage\""),
            user != "buyer",
            "{user}: {home}"
        );
    }
    // The operator's first screen: the queues with their counts, then the reviews; the
    // products have their own page.
    let op = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = op.get("/manage").await;
    assert_eq!(s, StatusCode::OK);
    for q in [
        "/manage/payments",
        "/manage/refunds",
        "/manage/stalled",
        "/manage/runs",
    ] {
        assert!(
            page.contains(&format!("<a href=\"{q}\"><b"))
                || page.contains(&format!("<a href=\"{q}\"><span")),
            "{q}: {page}"
        );
    }
    let (s, page) = op.get("/manage/products").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("待审核 (") && !page.contains("class=\"queues\""),
        "{page}"
    );
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (_, page) = seller.get("/manage/products").await;
    assert!(page.contains("阿西木土蜂蜜"), "{page}");
}

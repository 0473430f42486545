use crate::TestApp;
use axum::http::{Method, StatusCode};

fn set_cookies(res: &axum::http::HeaderMap) -> Vec<String> {
    res.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn operator_signs_in_and_reviews_with_csrf() {
    let t = TestApp::spawn().await;
    let (s, h, body) = t.form(Method::GET, "/login", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let csrf_cookie = set_cookies(&h)
        .into_iter()
        .find(|c| c.starts_with("bz_csrf="))
        .expect("csrf cookie");
    let csrf = csrf_cookie.trim_start_matches("bz_csrf=").to_string();
    assert!(body.contains(&csrf));
    // Without the token: refused.
    let (s, _, _) = t
        .form(
            Method::POST,
            "/login",
            "username=op-bohu&password=bazaar-demo",
            Some(&csrf_cookie),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Wrong password: the form again with a message.
    let (s, _, body) = t
        .form(
            Method::POST,
            "/login",
            &format!("csrf={csrf}&username=op-bohu&password=nope"),
            Some(&csrf_cookie),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("用户名或密码错误"));
    let (s, h, _) = t
        .form(
            Method::POST,
            "/login",
            &format!("csrf={csrf}&username=op-bohu&password=bazaar-demo"),
            Some(&csrf_cookie),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let raw: Vec<_> = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    // Over plain HTTP (nothing says HTTPS: no public https URL, no trusted proxy) the
    // cookies are not `Secure`, or a browser on a county LAN would drop them (issue 13).
    assert!(
        raw.iter().any(|c| c.starts_with("bz_session=")
            && c.contains("HttpOnly")
            && !c.contains("Secure"))
    );
    let session = set_cookies(&h)
        .into_iter()
        .find(|c| c.starts_with("bz_session="))
        .expect("session");
    let cookies = format!("{csrf_cookie}; {session}");

    // Put a Bohu product into review through the API, then approve it from the page.
    let op = t.login("op-bohu").await;
    let (_, v) = t
        .call(Method::GET, "/api/v1/products?county=652829", None, None)
        .await;
    let id = v["items"][0]["id"].as_i64().expect("id");
    let url = format!("/api/v1/products/{id}/actions");
    t.call(
        Method::POST,
        &url,
        Some(&op),
        Some(serde_json::json!({"action": "delist", "reason": "复检"})),
    )
    .await;
    t.call(
        Method::POST,
        &url,
        Some(&op),
        Some(serde_json::json!({"action": "submit"})),
    )
    .await;
    let (s, _, body) = t.form(Method::GET, "/manage", "", Some(&cookies)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("待审核 (1)"), "{body}");
    let action = format!("/manage/products/{id}/action");
    let (s, _, _) = t
        .form(Method::POST, &action, "action=approve", Some(&cookies))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token");
    let (s, _, _) = t
        .form(
            Method::POST,
            &action,
            &format!("csrf={csrf}&action=approve"),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(p["status"], "listed");
    // Sign out: the session stops working.
    let (s, _, _) = t
        .form(
            Method::POST,
            "/logout",
            &format!("csrf={csrf}"),
            Some(&cookies),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, h, _) = t.form(Method::GET, "/manage", "", Some(&cookies)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        h.get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );
}

#[tokio::test]
async fn the_language_choice_sticks() {
    let t = TestApp::spawn().await;
    let (_, h, body) = t.form(Method::GET, "/?lang=en", "", None).await;
    assert!(body.contains("County pavilions"));
    let lang = set_cookies(&h)
        .into_iter()
        .find(|c| c.starts_with("bz_lang="))
        .expect("lang cookie");
    let (_, _, body) = t.form(Method::GET, "/", "", Some(&lang)).await;
    assert!(body.contains("County pavilions"));
    let (_, _, body) = t.form(Method::GET, "/", "", None).await;
    assert!(body.contains("地方馆"));
}

#[tokio::test]
async fn uyghur_is_right_to_left_and_tibetan_is_selectable() {
    let t = TestApp::spawn().await;
    let (_, h, body) = t.form(Method::GET, "/?lang=ug", "", None).await;
    assert!(body.contains("<html lang=\"ug\" dir=\"rtl\">"), "{body}");
    assert!(body.contains("ناھىيە كۆرگەزمىخانىلىرى"));
    let lang = set_cookies(&h)
        .into_iter()
        .find(|c| c.starts_with("bz_lang=ug"))
        .expect("lang cookie");
    // The choice sticks on the next page, e.g. a product page.
    let (_, _, body) = t
        .form(Method::GET, "/search?q=%E8%9C%82%E8%9C%9C", "", Some(&lang))
        .await;
    assert!(body.contains("dir=\"rtl\""));
    // The search page's own strings are Uyghur too (the catalogue is complete), not Chinese
    // and never the key.
    assert!(body.contains("نامراتلارنى يۆلەش مەھسۇلاتى"), "{body}");
    assert!(!body.contains("扶贫产品") && !body.contains("filter-poverty"));
    let (_, _, body) = t.form(Method::GET, "/?lang=bo", "", None).await;
    assert!(body.contains("<html lang=\"bo\" dir=\"ltr\">"));
    assert!(body.contains("རྫོང་གི་འགྲེམས་སྟོན་ཁང་།"));
    // Accept-Language with q-values picks the best language Bazaar speaks.
    let (_, body) = t
        .raw(
            Method::GET,
            "/",
            None,
            None,
            &[("accept-language", "fr;q=1, ug;q=0.9, en;q=0.5")],
        )
        .await;
    assert!(String::from_utf8_lossy(&body).contains("dir=\"rtl\""));
}

/// The raw `Set-Cookie` headers of `GET /login` through a router over `state`, as if from
/// `peer` with these headers.
async fn login_cookies(
    state: bazaar_web::AppState,
    peer: &str,
    headers: &[(&str, &str)],
) -> Vec<String> {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().uri("/login");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(axum::body::Body::empty()).expect("request");
    let addr: std::net::SocketAddr = peer.parse().expect("peer");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let res = bazaar_web::router(state)
        .oneshot(req)
        .await
        .expect("response");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect()
}

#[tokio::test]
async fn cookies_are_secure_exactly_when_the_site_is_served_over_https() {
    use bazaar_web::SecureCookies;
    let t = TestApp::spawn().await;
    let secure = |c: &[String]| !c.is_empty() && c.iter().all(|c| c.ends_with("; Secure"));
    let plain = |c: &[String]| !c.is_empty() && c.iter().all(|c| !c.contains("Secure"));
    let mut st = t.state.clone();
    st.trusted_proxies = std::sync::Arc::new(vec!["10.0.0.0/8".parse().expect("net")]);
    // By default: Secure only when a trusted proxy says HTTPS.
    let https = [("x-forwarded-proto", "https")];
    assert!(plain(
        &login_cookies(st.clone(), "192.168.1.20:5000", &[]).await
    ));
    assert!(plain(
        &login_cookies(st.clone(), "192.168.1.20:5000", &https).await
    ));
    assert!(secure(
        &login_cookies(st.clone(), "10.0.0.2:5000", &https).await
    ));
    assert!(plain(
        &login_cookies(
            st.clone(),
            "10.0.0.2:5000",
            &[("x-forwarded-proto", "http")]
        )
        .await
    ));
    // A public https:// URL: always; an http:// one: never.
    st.secure_cookies = SecureCookies::Always;
    assert!(secure(
        &login_cookies(st.clone(), "192.168.1.20:5000", &[]).await
    ));
    st.secure_cookies = SecureCookies::Never;
    assert!(plain(
        &login_cookies(st.clone(), "10.0.0.2:5000", &https).await
    ));
}

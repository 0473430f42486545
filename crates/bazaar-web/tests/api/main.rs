//! HTTP integration tests: one binary, run on SQLite by default and on PostgreSQL when
//! `BAZAAR_TEST_DATABASE_URL` is set (each test gets its own fresh database with demo data).

mod backoffice;
mod catalog;
mod csv_import;
mod jobs;
mod lists;
mod live;
mod openapi;
mod orders;
mod pages_session;
mod parcels;
mod photos;
mod plans;
mod rights;
mod runs;
mod security;
mod server;
mod shop;
mod storefront;
mod users;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use bazaar_store::Store;
use bazaar_web::{AppState, router};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

static N: AtomicU32 = AtomicU32::new(0);

/// A running app on a fresh database.
/// The 快递100 salt of every test app.
pub const KUAIDI100_SALT: &str = "bazaar-test-salt";

pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    /// The database's URL (a second node connects to it).
    pub url: String,
    drop_db: Option<(String, String)>,
    sqlite_file: Option<std::path::PathBuf>,
    media_dir: std::path::PathBuf,
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let (url, drop_db, sqlite_file) = match std::env::var("BAZAAR_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                let name = format!("bazaar_t_{}", unique());
                let mut c = sqlx::PgConnection::connect(&base)
                    .await
                    .expect("BAZAAR_TEST_DATABASE_URL is set but PostgreSQL is not reachable");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let cut = base.rfind('/').expect("database URL has a path");
                let url = format!("{}/{name}", &base[..cut]);
                (url, Some((base, name)), None)
            }
            _ => {
                let f = std::env::temp_dir().join(format!("bazaar-test-{}.db", unique()));
                (format!("sqlite:{}", f.display()), None, Some(f))
            }
        };
        let store = Store::connect(&url, true).await.expect("connect");
        store.migrate().await.expect("migrate");
        store.load_demo().await.expect("demo");
        let media_dir = std::env::temp_dir().join(format!("bazaar-media-{}", unique()));
        let mut state = AppState::new(store)
            .await
            .expect("state")
            .with_media(std::sync::Arc::new(
                bazaar_web::catalog::media::DiskPhotos::new(&media_dir),
            ));
        state.kuaidi100_salt = Some(KUAIDI100_SALT.into());
        // Re-plans start mid-morning, whatever the hour the suite runs at.
        state.replan_time = Some("10:30".into());
        TestApp {
            app: router(state.clone()),
            state,
            url: url.clone(),
            drop_db,
            sqlite_file,
            media_dir,
        }
    }

    /// Another node on the same database: its own state (its own flash desk) and router.
    pub async fn second_node(&self) -> (Router, AppState) {
        let store = Store::connect(&self.url, false).await.expect("connect");
        let state = AppState::new(store).await.expect("state");
        (router(state.clone()), state)
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.raw(method, uri, token, body, &[]).await;
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    /// POSTs a CSV body; the JSON answer.
    pub async fn csv(&self, uri: &str, token: &str, csv: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv.to_string()))
            .expect("request");
        let res = self.app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>) {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        let res = self.app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, bytes)
    }

    /// A request with a raw body (an upload); returns status, headers and body.
    pub async fn send_bytes(
        &self,
        uri: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Body::from(body)).expect("request");
        let res = self.app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let h = res.headers().clone();
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, h, bytes)
    }

    /// A form or page request with cookies; returns status, headers and body text.
    pub async fn form(
        &self,
        method: Method,
        uri: &str,
        form: &str,
        cookies: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut b = Request::builder().method(method.clone()).uri(uri);
        if let Some(c) = cookies {
            b = b.header(header::COOKIE, c);
        }
        let req = if method == Method::POST {
            b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_string()))
        } else {
            b.body(Body::empty())
        }
        .expect("request");
        let res = self.app.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).to_string())
    }

    /// Runs one statement on the test database (for moving a clock the API does not move).
    pub async fn exec(&self, sql: &str) {
        match self.state.store.db() {
            bazaar_store::Db::Sqlite { write, .. } => {
                sqlx::query(sql).execute(write).await.expect("sql");
            }
            bazaar_store::Db::Pg(p) => {
                sqlx::query(sql).execute(p).await.expect("sql");
            }
        }
    }

    pub async fn login(&self, user: &str) -> String {
        let (s, v) = self
            .call(
                Method::POST,
                "/api/v1/sessions",
                None,
                Some(serde_json::json!({"username": user, "password": "bazaar-demo"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().expect("token").to_string()
    }

    /// Tokens of `n` new consumer accounts (a sale is many buyers: one buyer's unpaid orders
    /// are capped).
    pub async fn buyers(&self, n: usize) -> Vec<String> {
        let admin = self.login("admin").await;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("test-buyer-{i}");
            let (s, v) = self
                .call(
                    Method::POST,
                    "/api/v1/users",
                    Some(&admin),
                    Some(serde_json::json!({"username": name, "display_name": name,
                        "password": "bazaar-demo", "role": "buyer"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            let token = self.login(&name).await;
            let (s, v) = self
                .call(
                    Method::POST,
                    "/api/v1/addresses",
                    Some(&token),
                    Some(
                        serde_json::json!({"recipient": name, "phone": "13900000099",
                        "region_code": "652829200201", "is_default": true}),
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            out.push(token);
        }
        out
    }

    /// The id of the listed product with this exact name.
    pub async fn product_id(&self, name: &str) -> i64 {
        let mut cursor = String::new();
        loop {
            let (_, v) = self
                .call(
                    Method::GET,
                    &format!("/api/v1/products?limit=100&cursor={cursor}"),
                    None,
                    None,
                )
                .await;
            for p in v["items"].as_array().expect("items") {
                if p["name"] == name {
                    return p["id"].as_i64().expect("id");
                }
            }
            match v["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => panic!("no product named {name}"),
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.media_dir);
        if let Some(f) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        if let Some((base, name)) = self.drop_db.take() {
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

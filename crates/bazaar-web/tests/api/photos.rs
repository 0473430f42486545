//! Photo uploads: checked to be images, scaled, stored behind the storage trait, served.

use crate::TestApp;
use axum::http::{Method, StatusCode};

pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

#[tokio::test]
async fn a_seller_uploads_a_photo_that_is_scaled_stored_and_shown() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let url = format!("/api/v1/products/{id}/photos");

    let (s, _, body) = t
        .send_bytes(&url, Some(&asim), "image/png", png(2400, 1200), &[])
        .await;
    assert_eq!(s, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (v["width"].as_i64(), v["height"].as_i64()),
        (Some(1200), Some(600))
    );
    let media = v["url"].as_str().expect("url").to_string();
    assert!(media.starts_with(&format!("/media/p/{id}/")));

    // Served as JPEG, cacheable for ever.
    let (s, img) = t.raw(Method::GET, &media, None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(img.starts_with(&[0xFF, 0xD8, 0xFF]));

    // The product carries it, and its page shows it.
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(p["photos"][0]["url"], media.as_str());
    let (_, _, page) = t
        .form(Method::GET, &format!("/products/{id}"), "", None)
        .await;
    assert!(page.contains(&format!("<img src=\"{media}\"")), "{page}");

    // Lists show its thumbnail: at most 360 px, on the home page (featured, and the county's
    // card), the pavilion and the search results.
    let thumb = media.replace(".jpg", ".t.jpg");
    let (s, img) = t.raw(Method::GET, &thumb, None, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (w, h) = image::load_from_memory(&img)
        .expect("jpeg")
        .to_rgb8()
        .dimensions();
    assert_eq!((w, h), (360, 180));
    for list in ["/", "/pavilions/653122", "/search?q=%E8%9C%82%E8%9C%9C"] {
        let (_, _, page) = t.form(Method::GET, list, "", None).await;
        assert!(
            page.contains(&format!("<img src=\"{thumb}\"")),
            "{list}: {page}"
        );
    }
}

#[tokio::test]
async fn uploads_that_are_not_images_or_not_yours_are_refused() {
    let t = TestApp::spawn().await;
    let asim = t.login("seller-asim").await;
    let id = t.product_id("阿西木土蜂蜜").await;
    let url = format!("/api/v1/products/{id}/photos");

    // A script renamed as a JPEG: refused by its content, naming the field.
    let (s, _, body) = t
        .send_bytes(
            &url,
            Some(&asim),
            "image/jpeg",
            b"<?php echo 1; ?>".to_vec(),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["error"]["field"], "photo");
    assert_eq!(v["error"]["details"][0]["reason"], "not_an_image");
    assert_eq!(v["error"]["message"], "图片：不是 JPEG、PNG 或 WebP 图片");
    // Empty.
    let (s, _, _) = t
        .send_bytes(&url, Some(&asim), "image/png", vec![], &[])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Too large: 413 in the JSON error shape.
    let (s, _, body) = t
        .send_bytes(
            &url,
            Some(&asim),
            "image/png",
            vec![0u8; 11 * 1024 * 1024],
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["error"]["code"], "payload_too_large");

    // Anonymous: 401. Another county's operator: refused. Nothing was stored.
    let (s, _, _) = t
        .send_bytes(&url, None, "image/png", png(10, 10), &[])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let litang = t.login("op-litang").await;
    let (s, _, _) = t
        .send_bytes(&url, Some(&litang), "image/png", png(10, 10), &[])
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (_, p) = t
        .call(Method::GET, &format!("/api/v1/products/{id}"), None, None)
        .await;
    assert_eq!(p["photos"].as_array().map(Vec::len), Some(0));

    // Keys that would leave the storage root are not found.
    for bad in [
        "/media/../Cargo.toml",
        "/media/p/1/%2e%2e/x.jpg",
        "/media/p/1/none.jpg",
    ] {
        let (s, _) = t.raw(Method::GET, bad, None, None, &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
}

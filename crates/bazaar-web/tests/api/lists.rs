//! The back office's lists: search boxes, pages, and an order's own page.

use crate::TestApp;
use crate::backoffice::Browser;
use axum::http::StatusCode;

/// The ids of the orders a list page links to, in its order.
fn order_links(page: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = page
        .split("href=\"/manage/orders/")
        .skip(1)
        .filter_map(|x| x.split('"').next()?.parse().ok())
        .collect();
    ids.dedup();
    ids
}

#[tokio::test]
async fn orders_are_found_by_number_phone_tail_and_name_and_read_in_the_back_office() {
    let t = TestApp::spawn().await;
    bazaar_web::demo::load_activity(&t.state)
        .await
        .expect("demo activity");
    // The admin's list: the demo buyer's three orders, newest first, phones masked.
    let admin = Browser::sign_in(&t, "admin").await;
    let (s, page) = admin.get("/manage/orders?lang=zh-CN").await;
    assert_eq!(s, StatusCode::OK);
    let all = order_links(&page);
    assert_eq!(all.len(), 3, "{page}");
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    assert!(page.contains("138****8000") && !page.contains("13800138000"));
    assert!(
        page.contains("北京市 朝阳区") && page.contains("网店"),
        "{page}"
    );
    // Found by the phone's last digits, the whole phone, the name, the number.
    for q in ["8000", "13800138000", "138-0013-8000", "%E7%8E%8B%E8%8A%B3"] {
        let (_, page) = admin.get(&format!("/manage/orders?q={q}")).await;
        assert_eq!(order_links(&page), all, "{q}");
    }
    let (_, page) = admin.get(&format!("/manage/orders?q={}", all[1])).await;
    assert_eq!(order_links(&page), [all[1]], "{page}");
    // With the status too, and what was typed stays in the box.
    let (_, page) = admin
        .get("/manage/orders?q=%E7%8E%8B%E8%8A%B3&status=pending_payment")
        .await;
    assert_eq!(order_links(&page).len(), 1, "{page}");
    assert!(page.contains("value=\"王芳\""), "{page}");
    // Nothing found says so with the words searched; LIKE's wildcards are only characters.
    let (_, page) = admin.get("/manage/orders?q=%E5%BC%A0%E4%B8%89").await;
    assert!(page.contains("没有符合“张三”的结果"), "{page}");
    let (_, page) = admin.get("/manage/orders?q=%25").await;
    assert!(order_links(&page).is_empty(), "{page}");
    // A search too long is refused by name.
    let long = "%E5%AD%97".repeat(41);
    let (s, page) = admin.get(&format!("/manage/orders?q={long}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("搜索：太长"), "{page}");

    // Another county's operator sees none of them, nor any of their pages.
    let bohu = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = bohu.get("/manage/orders?lang=zh-CN").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        order_links(&page).is_empty() && page.contains("没有订单"),
        "{page}"
    );
    let (s, _) = bohu.get(&format!("/manage/orders/{}", all[0])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The order's page: what was bought from whom, where it goes, how it was paid, its
    // parcel's tracking and its timeline in words.
    let shipped = all[0];
    let (s, page) = admin
        .get(&format!("/manage/orders/{shipped}?lang=zh-CN"))
        .await;
    assert_eq!(s, StatusCode::OK);
    for want in [
        "已发货",
        "阿西木土蜂蜜",
        "卖家：马木提·阿西木",
        "138****8000",
        "北京市 朝阳区",
        "沙箱支付",
        "已支付",
        "中通",
        "订单进度",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    assert!(
        !page.contains("13800138000") && !page.contains("(sandbox)"),
        "{page}"
    );
    // The seller reads its order there, without the amounts paid (a shared order's total is
    // not its business), and is sent to ship the one waiting.
    let seller = Browser::sign_in(&t, "seller-asim").await;
    let (s, page) = seller.get(&format!("/manage/orders/{}", all[1])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("不扣款） · 已支付") && !page.contains("已支付 · ¥"),
        "{page}"
    );
    assert!(page.contains("去发货"), "{page}");
    // The seller's own list searches the same way.
    let (_, page) = seller.get("/manage/orders?q=8000").await;
    assert_eq!(order_links(&page).len(), 3, "{page}");
    let (_, page) = seller.get("/manage/orders?q=%E5%BC%A0%E4%B8%89").await;
    assert!(order_links(&page).is_empty(), "{page}");
    // In Uyghur the page reads right to left, its numbers isolated.
    let (_, page) = admin
        .get(&format!("/manage/orders/{shipped}?lang=ug"))
        .await;
    assert!(page.contains("dir=\"rtl\"") && page.contains("<bdi dir=\"ltr\">138****8000</bdi>"));
    // A buyer has no back-office list.
    let buyer = Browser::sign_in(&t, "buyer").await;
    let (s, _) = buyer.get("/manage/orders").await;
    assert!(s == StatusCode::FORBIDDEN || s.is_redirection(), "{s}");
}

#[tokio::test]
async fn products_and_sellers_are_searched_and_paged() {
    let t = TestApp::spawn().await;
    let bohu = Browser::sign_in(&t, "op-bohu").await;
    let (s, page) = bohu
        .get("/manage/products?q=%E8%A5%BF%E7%BA%A2%E6%9F%BF&lang=zh-CN")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("沙瓤土西红柿") && !page.contains("芦苇画"),
        "{page}"
    );
    assert!(page.contains("value=\"西红柿\""), "{page}");
    // By the producer's name.
    let (_, page) = bohu.get("/manage/products?q=%E5%A5%94%E8%B7%91").await;
    assert!(page.contains("沙瓤土西红柿"), "{page}");
    // Another county's products are not found by an operator.
    let (_, page) = bohu.get("/manage/products?q=%E8%9C%82%E8%9C%9C").await;
    assert!(!page.contains("阿西木土蜂蜜"), "{page}");
    // A made-up page start or status is refused by name.
    let (s, page) = bohu.get("/manage/products?status=listed&after=zz").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("页码：格式不正确"), "{page}");
    let (s, _) = bohu.get("/manage/products?status=nonsense").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The admin's listed products come in pages, the next one from where the first ended.
    let admin = Browser::sign_in(&t, "admin").await;
    let (_, page) = admin.get("/manage/products?lang=zh-CN").await;
    let first: Vec<&str> = page.split("href=\"/manage/products/").skip(1).collect();
    let more = page
        .split("href=\"/manage/products?status=listed&#38;after=")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("a next page of listed products")
        .to_string();
    let (s, page2) = admin
        .get(&format!("/manage/products?status=listed&after={more}"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let second: Vec<&str> = page2.split("href=\"/manage/products/").skip(1).collect();
    // Product pages only (not the navigation's 新建商品).
    let id = |x: &&str| x.split('"').next().and_then(|i| i.parse::<i64>().ok());
    let firsts: Vec<i64> = first.iter().filter_map(id).collect();
    let seconds: Vec<i64> = second.iter().filter_map(id).collect();
    assert!(firsts.len() >= 50, "a first page of 50 listed: {page}");
    assert!(!seconds.is_empty(), "{page2}");
    assert!(seconds.iter().all(|x| !firsts.contains(x)), "pages overlap");

    // Sellers: by name, by village, by the phone's last digits.
    let (_, page) = bohu.get("/manage/sellers?q=%E5%A5%94%E8%B7%91").await;
    assert!(page.contains("博湖县奔跑百菜专业种植合作社"), "{page}");
    assert!(!page.contains("孟克巴雅尔"), "{page}");
    let (_, page) = bohu.get("/manage/sellers?q=0198").await;
    assert!(
        page.contains("孟克巴雅尔") && !page.contains("奔跑百菜"),
        "{page}"
    );
    let (_, page) = bohu
        .get("/manage/sellers?q=%E9%98%BF%E8%A5%BF%E6%9C%A8")
        .await;
    assert!(!page.contains("马木提"), "another county's seller: {page}");
}

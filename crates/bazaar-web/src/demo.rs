//! A day under way on the demo database, so that a newcomer's every page shows something:
//! the buyer's orders at each step (to pay, to ship, on its way), a seller with an order to
//! ship, parcels on a village point's shelf and parcels at the county centre for today's
//! joint delivery run. (None is stalled: a parcel registered today is news today, and the
//! watch waits its carrier's limit, 48 hours by default, from there.) Everything goes through the same calls as
//! the pages and the API (placing, the sandbox payment, shipping with a waybill, scans), as
//! the demo accounts would make them.

use crate::AppState;
use bazaar_domain::logistics::Direction;
use bazaar_domain::orders::{Channel, ItemInput, PaymentMethod};
use bazaar_domain::time::now_ms;
use bazaar_store::StoreError;
use bazaar_store::catalog::products::ProductFilter;
use bazaar_store::logistics::parcels::{NewParcel, ScanInput};
use bazaar_store::orders::{PartWaybill, PlaceOrder};

/// What [`load_activity`] made.
#[derive(Debug, Default, Clone, Copy)]
pub struct Activity {
    /// Orders placed.
    pub orders: usize,
    /// Parcels registered.
    pub parcels: usize,
    /// Products given words in another language.
    pub translations: usize,
    /// Live sessions on air.
    pub sessions: usize,
}

/// A scan as the demo's people make it.
fn scan(waybill: &str, kind: &str, node: &str, at: Option<i64>) -> ScanInput {
    ScanInput {
        client_id: format!("demo-{waybill}-{kind}"),
        waybill: waybill.into(),
        kind: kind.into(),
        node_code: Some(node.into()),
        at,
        ..ScanInput::default()
    }
}

/// Records `scans` as `actor`; a refused scan is an error (the demo must be whole).
async fn scans(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    scans: &[ScanInput],
) -> Result<(), StoreError> {
    for r in s.store.record_scans(actor, scans).await? {
        if let Some(e) = r.error {
            return Err(StoreError::Invalid(vec![e]));
        }
    }
    Ok(())
}

/// Loads the demo's day under way (see the module). Call it once, right after
/// [`bazaar_store::Store::load_demo`] on a new database.
pub async fn load_activity(s: &AppState) -> Result<Activity, StoreError> {
    let store = &s.store;
    let actor = |name: &'static str| async move {
        let id = store.user_id(name).await?;
        store.actor(id).await
    };
    let buyer = actor("buyer").await?;
    let seller = actor("seller-asim").await?;
    let op = actor("op-bohu").await?;
    let agent = actor("agent-harengen").await?;
    let mut done = Activity::default();

    // The buyer in Beijing orders 阿西木土蜂蜜 three times: one still to pay, one paid and
    // waiting for the seller, one shipped and on its way.
    let honey = store
        .products(
            None,
            &ProductFilter {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await?
        .items
        .into_iter()
        .find(|p| p.row.seller_id == seller.seller_id.unwrap_or(-1))
        .ok_or(StoreError::NotFound)?;
    let address = store
        .addresses(&buyer)
        .await?
        .first()
        .map(|a| a.id)
        .ok_or(StoreError::NotFound)?;
    let mut orders = Vec::new();
    for (i, qty) in [1, 2, 1].into_iter().enumerate() {
        let sku = &honey.skus[i % honey.skus.len()];
        let placed = store
            .place_order(
                &buyer,
                &PlaceOrder {
                    items: vec![ItemInput {
                        sku_id: sku.id,
                        quantity: qty,
                        expected_price_fen: Some(sku.price_fen),
                    }],
                    address_id: Some(address),
                    channel: Channel::Storefront,
                    idempotency_key: Some(format!("demo-order-{i}")),
                    villager_name: None,
                    villager_ref: None,
                    pay_window_ms: s.pay_window_ms,
                    institution: None,
                },
            )
            .await?;
        orders.push(placed.order.row.id);
        done.orders += 1;
    }
    // The second and third are paid in the sandbox.
    for id in &orders[1..] {
        let pay = store
            .start_payment(&buyer, *id, PaymentMethod::Sandbox)
            .await?;
        crate::orders::pages::sandbox_pay(s, &pay.provider_ref, pay.amount_fen, "succeeded")
            .await?;
    }
    // The seller ships the third with a 中通 waybill; it leaves the village point.
    let parts = store
        .seller_parts(&seller, None, None, None, 50)
        .await?
        .into_iter()
        .filter(|p| p.order_id == orders[2])
        .map(|p| p.part_id)
        .collect::<Vec<_>>();
    let shipped_waybill = "78800000000001";
    let waybills: Vec<PartWaybill> = parts
        .iter()
        .map(|id| PartWaybill {
            part_id: *id,
            carrier: "zhongtong".into(),
            waybill: shipped_waybill.into(),
        })
        .collect();
    store.ship_parts(&seller, &parts, &waybills).await?;
    done.parcels += waybills.len();

    // Parcels from outside for 博湖县's villages: two wait on 哈尔恩根村's shelf, two are at
    // the county centre for today's run.
    let now = now_ms();
    let incoming = [
        (
            "YT4100000000001",
            "娜仁",
            "13912345678",
            "VP-HARENGEN",
            true,
        ),
        (
            "YT4100000000002",
            "巴特尔",
            "13987651234",
            "VP-HARENGEN",
            true,
        ),
        (
            "YT4100000000003",
            "孙丽娟",
            "13700001111",
            "VP-652829200202",
            false,
        ),
        (
            "YT4100000000004",
            "额尔敦",
            "13600002222",
            "VP-652829200203",
            false,
        ),
    ];
    for (waybill, name, phone, dest, on_shelf) in incoming {
        store
            .create_parcel(
                &op,
                &NewParcel {
                    carrier: "yuantong".into(),
                    waybill: waybill.into(),
                    direction: Direction::Downstream,
                    weight_g: 1200,
                    volume_cm3: 6000,
                    cold_chain: false,
                    sender_name: None,
                    sender_phone: None,
                    recipient_name: name.into(),
                    recipient_phone: phone.into(),
                    dest_region: None,
                    dest_node: Some(dest.into()),
                    order_id: None,
                },
            )
            .await?;
        scans(
            s,
            &op,
            &[scan(
                waybill,
                "arrived_at_county",
                "DC-652829",
                Some(now - 3_600_000),
            )],
        )
        .await?;
        if on_shelf {
            scans(
                s,
                &agent,
                &[scan(waybill, "delivered_to_point", "VP-HARENGEN", None)],
            )
            .await?;
        }
        done.parcels += 1;
    }
    // A parcel the centre's phone registered by its arrival scan two and a half days ago,
    // with no news since: the 48-hour watch lists it as stalled.
    let mut late = scan(
        "YT4100000000005",
        "arrived_at_county",
        "DC-652829",
        Some(now - 60 * 3_600_000),
    );
    late.carrier = Some("yuantong".into());
    late.recipient_name = Some("阿依古丽".into());
    late.recipient_phone = Some("13800005555".into());
    late.dest_node = Some("VP-HARENGEN".into());
    scans(s, &op, &[late]).await?;
    done.parcels += 1;
    // Product words in Uyghur and Tibetan, as a seller (its own honey) and the platform's
    // admin (the others) enter them on the product's page; drafts for a native speaker to check.
    let admin = actor("admin").await?;
    let listed = store
        .products(
            None,
            &ProductFilter {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await?
        .items;
    for (code, lang, name, producer) in DEMO_TEXTS {
        let Some(p) = listed.iter().find(|p| p.row.code.as_deref() == Some(*code)) else {
            continue;
        };
        let who = if p.row.seller_id == seller.seller_id.unwrap_or(-1) {
            &seller
        } else {
            &admin
        };
        store
            .set_product_texts(
                who,
                p.row.id,
                &bazaar_store::catalog::texts::ProductTexts {
                    lang: (*lang).into(),
                    name: (*name).into(),
                    description: None,
                    producer: (!producer.is_empty()).then(|| (*producer).into()),
                    specs: vec![],
                },
            )
            .await?;
        done.translations += 1;
    }
    // 哈尔恩根村's live room is on air: its host presents 阿西木土蜂蜜, twenty jars of it
    // consigned to the village point, and sells them in a flash offer for the next hours.
    let host = actor("host-harengen").await?;
    let now = now_ms();
    let session = store
        .create_session(
            &host,
            &bazaar_store::live::NewSession {
                room_node: "VP-HARENGEN".into(),
                title: "哈尔恩根村好物直播：阿西木土蜂蜜".into(),
                platform: bazaar_domain::live::Platform::Douyin,
                stream_url: Some("https://live.douyin.com/".into()),
                planned_start: now - 10 * 60_000,
                planned_end: now + 3 * 3_600_000,
            },
        )
        .await?;
    let sku = &honey.skus[0];
    store
        .set_stock(
            &admin,
            sku.id,
            &bazaar_store::stock::StockSetting {
                available: 20,
                node: Some("VP-HARENGEN".into()),
                incoming: None,
            },
        )
        .await?;
    use bazaar_domain::live::{OfferAction, SessionAction};
    store
        .session_action(&host, session.id, SessionAction::Pin, Some(honey.row.id))
        .await?;
    store
        .session_action(&host, session.id, SessionAction::Start, None)
        .await?;
    let offer = store
        .create_offer(
            &host,
            session.id,
            &bazaar_store::live::offers::NewOffer {
                sku_id: sku.id,
                location: Some("VP-HARENGEN".into()),
                terms: bazaar_domain::live::OfferTerms {
                    price_fen: sku.price_fen * 4 / 5,
                    cap: 20,
                    per_buyer_limit: 2,
                    per_order_limit: 2,
                    starts_at: now,
                    ends_at: now + 3 * 3_600_000,
                    hold_minutes: bazaar_domain::live::DEFAULT_HOLD_MINUTES,
                },
                schedule: true,
            },
        )
        .await?;
    store
        .offer_action(&host, offer.id, OfferAction::Start)
        .await?;
    done.sessions += 1;
    if let Err(e) = s.reindex().await {
        tracing::error!(error = %e, "reindex failed");
    }
    Ok(done)
}

/// The demo's product words in other languages: product code, language, name, producer.
const DEMO_TEXTS: &[(&str, &str, &str, &str)] = &[
    ("P-015", "ug", "ئاسىمنىڭ يەرلىك ھەسىلى", "مامۇت ئاسىم"),
    ("P-016", "ug", "ئاسىمنىڭ ھەسەل كاتىكى", "مامۇت ئاسىم"),
    ("P-017", "ug", "قايتا تېرىلغان تېرىق", "ئىبراھىم ئابدۇمۆمىن"),
    (
        "P-018",
        "ug",
        "قولدا ياسالغان ئۈجمە ياغىچى قاچا",
        "تۇرغۇن ئابدۇرەھىم",
    ),
    (
        "P-019",
        "ug",
        "قولدا نەقىشلەنگەن مىس چۆگۈن",
        "تۇرغۇن ئابدۇرەھىم",
    ),
    ("P-020", "ug", "قولدا كەشتىلەنگەن دوپپا", "پاتىگۈل ئەخمەت"),
    ("P-021", "ug", "يېڭىشەھەر قىزىل چىلىنى", "مەمتىمىن توختى"),
    ("P-048", "bo", "ཉག་ཆུ་ཁའི་ཤ་མོ།", ""),
];

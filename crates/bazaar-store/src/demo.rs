//! Demo data that looks like the field reports: Bayingolin, Kashgar, Aksu and Ganzi, their
//! service network, sellers and products, and one account per role (password `bazaar-demo`).
//!
//! The region and node files go through the same CSV import as a county's own files.

use crate::catalog::products::NewSku;
use crate::db::csvio::read_csv;
use crate::people::auth::NewUser;
use crate::{Store, StoreError};
use bazaar_domain::catalog::{ProductInput, ProductStatus, SkuInput};
use bazaar_domain::people::Role;
use bazaar_domain::seller::{SellerInput, SellerStatus};
use std::collections::HashMap;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "bazaar-demo";

/// The demo's accounts, one per role (each with [`DEMO_PASSWORD`]), as `serve` lists them on a
/// demo database's start.
pub const DEMO_ACCOUNTS: [(&str, &str); 9] = [
    ("admin", "platform admin"),
    ("op-bohu", "operator of 博湖县"),
    ("op-litang", "operator of 理塘县"),
    ("agent-harengen", "village agent at 哈尔恩根村"),
    ("host-harengen", "live host of 哈尔恩根村's live room"),
    ("seller-asim", "seller 阿西木"),
    ("driver-bohu", "driver of 博湖县"),
    ("buyer", "buyer"),
    ("canteen", "institution (a school canteen)"),
];

const REGIONS: &str = include_str!("../demo/regions.csv");
const NODES: &str = include_str!("../demo/nodes.csv");
const SELLERS: &str = include_str!("../demo/sellers.csv");
const PRODUCTS: &str = include_str!("../demo/products.csv");
const SKUS: &str = include_str!("../demo/skus.csv");

fn bad(what: &str, e: impl std::fmt::Debug) -> StoreError {
    StoreError::Config(format!("demo data {what} is invalid: {e:?}"))
}

fn col(m: &HashMap<String, String>, k: &str) -> String {
    m.get(k).cloned().unwrap_or_default()
}

/// What the demo loader created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// Regions.
    pub regions: u64,
    /// Network nodes.
    pub nodes: u64,
    /// Sellers.
    pub sellers: usize,
    /// Products.
    pub products: usize,
    /// Accounts.
    pub users: usize,
}

impl Store {
    /// Loads the demo data into an empty database. Refuses a database that already holds
    /// regions, so demo accounts never appear in a real one by accident.
    pub async fn load_demo(&self) -> Result<DemoSummary, StoreError> {
        if !self.is_empty().await? {
            return Err(StoreError::Config(
                "the database is not empty; demo data is only loaded into a new database".into(),
            ));
        }
        let regions = self.import_regions(None, REGIONS.as_bytes()).await?;
        // The rest of the country, for buyers' addresses.
        self.load_national_regions().await?;
        let nodes = self.import_nodes(None, NODES.as_bytes()).await?;

        let sellers_csv = read_csv(
            SELLERS.as_bytes(),
            &[
                "code",
                "name",
                "kind",
                "village_code",
                "poverty_status",
                "registration_no",
                "contact_name",
                "contact_phone",
                "description",
            ],
            &["code", "name"],
        )
        .map_err(|e| bad("sellers.csv", e))?;
        let mut seller_ids = HashMap::new();
        for (_, m) in &sellers_csv.rows {
            let input = SellerInput {
                code: col(m, "code"),
                name: col(m, "name"),
                kind: col(m, "kind"),
                village_code: col(m, "village_code"),
                poverty_status: col(m, "poverty_status"),
                registration_no: col(m, "registration_no"),
                contact_name: col(m, "contact_name"),
                contact_phone: col(m, "contact_phone"),
                description: col(m, "description"),
            };
            let s = input.parse().map_err(|e| bad("sellers.csv", e))?;
            let id = self
                .insert_seller(&s, SellerStatus::Approved, None, None)
                .await?;
            seller_ids.insert(col(m, "code"), (id, s.village_code.clone()));
        }

        let skus_csv = read_csv(
            SKUS.as_bytes(),
            &[
                "code",
                "product_code",
                "spec",
                "price_fen",
                "weight_g",
                "volume_cm3",
                "barcode",
                "stock",
            ],
            &["code", "product_code"],
        )
        .map_err(|e| bad("skus.csv", e))?;
        let mut skus: HashMap<String, Vec<NewSku>> = HashMap::new();
        let mut stock: Vec<(String, i64)> = Vec::new();
        for (line, m) in &skus_csv.rows {
            let num = |k: &str| -> Result<i64, StoreError> {
                col(m, k).parse().map_err(|e| bad("skus.csv", (line, k, e)))
            };
            let input = SkuInput {
                code: col(m, "code"),
                spec: col(m, "spec"),
                price_fen: num("price_fen")?,
                weight_g: num("weight_g")?,
                volume_cm3: num("volume_cm3")?,
                barcode: col(m, "barcode"),
            };
            let fields = input.parse().map_err(|e| bad("skus.csv", (line, e)))?;
            stock.push((col(m, "code"), num("stock")?));
            skus.entry(col(m, "product_code"))
                .or_default()
                .push(NewSku {
                    code: Some(col(m, "code")),
                    fields,
                });
        }

        let products_csv = read_csv(
            PRODUCTS.as_bytes(),
            &[
                "code",
                "seller_code",
                "village_code",
                "name",
                "name_en",
                "category",
                "gi_brand",
                "poverty_cert_no",
                "green_cert",
                "organic_cert",
                "shelf_life_days",
                "cold_chain",
                "description",
            ],
            &["code", "seller_code", "name"],
        )
        .map_err(|e| bad("products.csv", e))?;
        let mut products = 0;
        for (line, m) in &products_csv.rows {
            let (seller_id, seller_village) = seller_ids
                .get(&col(m, "seller_code"))
                .cloned()
                .ok_or_else(|| bad("products.csv", (line, "seller_code")))?;
            let flag = |k: &str| col(m, k) == "true";
            let shelf = col(m, "shelf_life_days");
            let input = ProductInput {
                name: col(m, "name"),
                name_en: col(m, "name_en"),
                category: col(m, "category"),
                village_code: col(m, "village_code"),
                gi_brand: col(m, "gi_brand"),
                poverty_cert_no: col(m, "poverty_cert_no"),
                green_cert: flag("green_cert"),
                organic_cert: flag("organic_cert"),
                shelf_life_days: if shelf.is_empty() {
                    None
                } else {
                    Some(shelf.parse().map_err(|e| bad("products.csv", (line, e)))?)
                },
                cold_chain: flag("cold_chain"),
                description: col(m, "description"),
            };
            let fields = input
                .parse(Some(&seller_village))
                .map_err(|e| bad("products.csv", (line, e)))?;
            let code = col(m, "code");
            let product_skus = skus.remove(&code).unwrap_or_default();
            self.insert_product(
                Some(&code),
                seller_id,
                &fields,
                &product_skus,
                ProductStatus::Listed,
                None,
                None,
            )
            .await?;
            products += 1;
        }

        // Stock at each seller's home, and the counties' shipping rules (any province: 10 yuan
        // for the first kilogram, 6 yuan per further kilogram, 20 yuan for the cold chain).
        for (code, qty) in &stock {
            let id: i64 = crate::on_read!(self, |p| {
                sqlx::query_scalar("SELECT id FROM skus WHERE code = $1")
                    .bind(code)
                    .fetch_one(p)
                    .await?
            });
            self.seed_stock(id, *qty).await?;
        }
        for county in self
            .regions_at(bazaar_domain::region::RegionLevel::County)
            .await?
        {
            self.set_shipping_rule(
                None,
                &county.code,
                "*",
                &bazaar_domain::orders::ShippingRule {
                    first_weight_g: 1000,
                    first_fee_fen: 1000,
                    extra_unit_g: 1000,
                    extra_fee_fen: 600,
                    cold_chain_fee_fen: 2000,
                },
            )
            .await?;
        }

        let asim = seller_ids
            .get("S-ASIM")
            .map(|s| s.0)
            .ok_or_else(|| bad("sellers.csv", "S-ASIM missing"))?;
        let users = [
            ("admin", "平台管理员", Role::Admin, None, None, None),
            (
                "op-bohu",
                "博湖县运营",
                Role::Operator,
                Some("652829"),
                None,
                None,
            ),
            (
                "op-litang",
                "理塘县运营",
                Role::Operator,
                Some("513334"),
                None,
                None,
            ),
            (
                "agent-harengen",
                "哈尔恩根村代办员",
                Role::Agent,
                None,
                Some("VP-HARENGEN"),
                None,
            ),
            (
                "host-harengen",
                "哈尔恩根村直播间主播",
                Role::Host,
                None,
                Some("VP-HARENGEN"),
                None,
            ),
            (
                "seller-asim",
                "马木提·阿西木",
                Role::Seller,
                None,
                None,
                Some(asim),
            ),
            (
                "driver-bohu",
                "博湖县配送司机",
                Role::Driver,
                Some("652829"),
                None,
                None,
            ),
            ("buyer", "买家", Role::Buyer, None, None, None),
            (
                "canteen",
                "博湖县第一中学食堂",
                Role::Institution,
                None,
                None,
                None,
            ),
        ];
        let mut buyer_id = 0;
        let mut driver_id = 0;
        let mut canteen_id = 0;
        for (username, name, role, region, node, seller) in users {
            let id = self
                .create_user(&NewUser {
                    username: username.into(),
                    display_name: name.into(),
                    password: DEMO_PASSWORD.into(),
                    role,
                    region_code: region.map(String::from),
                    node_code: node.map(String::from),
                    seller_id: seller,
                })
                .await?;
            match username {
                "driver-bohu" => driver_id = id,
                "buyer" => buyer_id = id,
                "canteen" => canteen_id = id,
                _ => {}
            }
        }
        // The demo buyer lives in Beijing.
        let buyer = self.actor(buyer_id).await?;
        self.add_address(
            &buyer,
            &crate::orders::NewAddress {
                recipient: "王芳".into(),
                phone: "13800138000".into(),
                region_code: "110105".into(),
                node_code: None,
                detail: Some("建国路 88 号 3 号楼 1201".into()),
                is_default: true,
            },
        )
        .await?;
        let canteen = self.actor(canteen_id).await?;
        self.add_address(
            &canteen,
            &crate::orders::NewAddress {
                recipient: "李建华（食堂采购）".into(),
                phone: "13999000111".into(),
                region_code: "652829".into(),
                node_code: None,
                detail: Some("博湖镇团结路 1 号 博湖县第一中学".into()),
                is_default: true,
            },
        )
        .await?;
        // 博湖县's fleet for the joint delivery run; the demo driver drives 厢货-2.
        for (code, name, kg, litres, cold, driver) in [
            ("BH-1", "冷藏车-1", 800, 4000, true, None),
            ("BH-2", "厢货-2", 1500, 8000, false, Some(driver_id)),
            ("BH-3", "厢货-3", 1500, 8000, false, None),
        ] {
            self.add_vehicle(&crate::delivery::runs::Vehicle {
                code: code.into(),
                depot_node: "DC-652829".into(),
                name: name.into(),
                capacity_kg: kg,
                capacity_l: litres,
                cold_chain: cold,
                driver_id: driver,
                shift_start: "07:30".into(),
                shift_end: "19:30".into(),
            })
            .await?;
        }
        // The demo's 快递100 subscription salt, so the push endpoint can be tried.
        self.put_setting("kuaidi100_salt", DEMO_PASSWORD).await?;
        // The sandbox payment provider (labelled as such wherever it appears) takes payments
        // on the demo database only.
        self.put_setting("payments_sandbox", "on").await?;
        Ok(DemoSummary {
            regions: regions.created,
            nodes: nodes.created,
            sellers: seller_ids.len(),
            products,
            users: 9,
        })
    }
}

//! Orders sold on third-party shops, imported from their CSV exports (channel `import`).
//!
//! Two layouts are read, by header name (other columns of the export are ignored):
//!
//! | field | 拼多多 (Pinduoduo merchant backend, 订单查询 → 导出) | 抖店 (Douyin shop, 订单管理 → 导出) |
//! | --- | --- | --- |
//! | order number | `订单号` | `主订单编号` |
//! | SKU (our SKU code) | `商家编码-SKU维度` | `商家编码` |
//! | quantity | `商品数量(件)` | `商品数量` |
//! | unit price, yuan | `商品总价(元)` ÷ quantity | `商品单价` |
//! | recipient | `收货人` | `收件人` |
//! | phone | `手机` | `收件人手机号` |
//! | province | `省` | `省` |
//! | address | `详细地址` (optional) | `详细地址` (optional) |
//!
//! A file is imported whole or not at all: every bad row is listed (line, column, reason), and
//! nothing is written. Imported orders are paid on the other platform, so they arrive `paid` and
//! their stock is taken straight from the seller's home location (a `sale` move); a line whose
//! stock does not suffice is a bad row.

use crate::db::csvio::read_csv;
use crate::error::RowError;
use crate::orders::OrderWrites;
use crate::stock::{LedgerEntry, MoveKind, StockWrites};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::money::Fen;
use bazaar_domain::people::Actor;
use bazaar_domain::time::now_ms;
use serde::Serialize;
use std::collections::BTreeMap;

/// A third-party shop whose order export Bazaar reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// 拼多多 merchant backend.
    Pinduoduo,
    /// 抖店 (Douyin shop).
    Douyin,
}

struct Columns {
    order: &'static str,
    sku: &'static str,
    quantity: &'static str,
    price: &'static str,
    price_is_total: bool,
    recipient: &'static str,
    phone: &'static str,
}

impl Platform {
    /// Parses a platform name (`pinduoduo`, `douyin`).
    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "pinduoduo" => Some(Platform::Pinduoduo),
            "douyin" => Some(Platform::Douyin),
            _ => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Pinduoduo => "pinduoduo",
            Platform::Douyin => "douyin",
        }
    }

    fn columns(self) -> Columns {
        match self {
            Platform::Pinduoduo => Columns {
                order: "订单号",
                sku: "商家编码-sku维度",
                quantity: "商品数量(件)",
                price: "商品总价(元)",
                price_is_total: true,
                recipient: "收货人",
                phone: "手机",
            },
            Platform::Douyin => Columns {
                order: "主订单编号",
                sku: "商家编码",
                quantity: "商品数量",
                price: "商品单价",
                price_is_total: false,
                recipient: "收件人",
                phone: "收件人手机号",
            },
        }
    }
}

/// What an order import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderImportSummary {
    /// Orders created.
    pub orders: usize,
    /// Lines created.
    pub lines: usize,
}

struct Line {
    line: u64,
    sku_id: i64,
    product_id: i64,
    seller_id: i64,
    seller_kind: String,
    poverty_status: String,
    poverty_product: bool,
    village_code: String,
    name: String,
    spec: String,
    weight_g: i64,
    quantity: i64,
    unit_fen: i64,
}

#[derive(sqlx::FromRow)]
struct SkuRow {
    sku_id: i64,
    product_id: i64,
    seller_id: i64,
    seller_kind: String,
    poverty_status: String,
    poverty_cert_no: Option<String>,
    village_code: String,
    name: String,
    spec: String,
    weight_g: i64,
    path: String,
}

struct Header {
    recipient: String,
    phone: String,
    region_code: String,
    detail: Option<String>,
}

impl Store {
    /// Imports a third-party shop's order export (see the module documentation). The caller
    /// must be allowed to edit every product it names (its seller, the listing agent, an
    /// operator in scope, an admin).
    pub async fn import_orders(
        &self,
        actor: &Actor,
        platform: Platform,
        bytes: &[u8],
    ) -> Result<OrderImportSummary, StoreError> {
        let c = platform.columns();
        // The exports carry many columns; read the ones named above and ignore the rest.
        let header_names: Vec<String> = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .headers()
            .map(|h| h.iter().map(|n| n.trim().to_lowercase()).collect())
            .unwrap_or_default();
        let known: Vec<&str> = header_names.iter().map(String::as_str).collect();
        let required = [
            c.order,
            c.sku,
            c.quantity,
            c.price,
            c.recipient,
            c.phone,
            "省",
        ];
        let parsed = read_csv(bytes, &known, &required).map_err(StoreError::Csv)?;
        let provinces: Vec<(String, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT code, name FROM regions WHERE level = 'province'")
                .fetch_all(p)
                .await?
        });
        let mut errors: Vec<RowError> = vec![];
        let bad = |errors: &mut Vec<RowError>, line: u64, column: &str, reason: &str| {
            errors.push(RowError {
                line,
                column: column.to_string(),
                reason: reason.to_string(),
            });
        };
        let mut orders: BTreeMap<String, (Header, Vec<Line>)> = BTreeMap::new();
        for (line, m) in &parsed.rows {
            let get = |k: &str| m.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
            let order_no = get(c.order);
            if order_no.is_empty() || order_no.len() > 64 {
                bad(&mut errors, *line, c.order, "required");
            }
            let qty = get(c.quantity)
                .parse::<i64>()
                .ok()
                .filter(|q| (1..=9_999).contains(q));
            if qty.is_none() {
                bad(&mut errors, *line, c.quantity, "out_of_range");
            }
            let price = Fen::parse_yuan(c.price, &get(c.price))
                .ok()
                .filter(|f| f.0 > 0);
            if price.is_none() {
                bad(&mut errors, *line, c.price, "invalid_format");
            }
            let recipient = get(c.recipient);
            if recipient.is_empty() {
                bad(&mut errors, *line, c.recipient, "required");
            }
            let phone = get(c.phone);
            if phone.is_empty() {
                bad(&mut errors, *line, c.phone, "required");
            }
            let province = get("省");
            let region = provinces
                .iter()
                .find(|(_, n)| !province.is_empty() && (n == &province || n.starts_with(&province)))
                .map(|(code, _)| code.clone());
            if region.is_none() {
                bad(&mut errors, *line, "省", "unknown_reference");
            }
            let sku_code = get(c.sku);
            let info: Option<SkuRow> = on_read!(self, |p| {
                sqlx::query_as(
                    "SELECT k.id AS sku_id, p.id AS product_id, s.id AS seller_id, \
                     s.kind AS seller_kind, s.poverty_status, p.poverty_cert_no, p.village_code, \
                     p.name, k.spec, k.weight_g, v.path \
                     FROM skus k JOIN products p ON p.id = k.product_id \
                     JOIN sellers s ON s.id = p.seller_id JOIN regions v ON v.code = p.village_code \
                     WHERE k.code = $1",
                )
                .bind(&sku_code)
                .fetch_optional(p)
                .await?
            });
            let Some(SkuRow {
                sku_id,
                product_id,
                seller_id,
                seller_kind,
                poverty_status,
                poverty_cert_no: cert,
                village_code,
                name,
                spec,
                weight_g,
                path,
            }) = info
            else {
                bad(&mut errors, *line, c.sku, "unknown_reference");
                continue;
            };
            let target = bazaar_domain::people::Target {
                region_path: &path,
                seller_id: Some(seller_id),
                agent_id: None,
            };
            if !actor.can_edit(target) {
                bad(&mut errors, *line, c.sku, "out_of_scope");
                continue;
            }
            let (Some(q), Some(price), Some(region)) = (qty, price, region) else {
                continue;
            };
            let unit_fen = if c.price_is_total {
                price.0 / q
            } else {
                price.0
            };
            let entry = orders.entry(order_no).or_insert_with(|| {
                (
                    Header {
                        recipient: recipient.chars().take(40).collect(),
                        phone: phone.chars().take(20).collect(),
                        region_code: region,
                        detail: Some(get("详细地址")).filter(|d| !d.is_empty()),
                    },
                    vec![],
                )
            });
            entry.1.push(Line {
                line: *line,
                sku_id,
                product_id,
                seller_id,
                poverty_product: cert.is_some() || poverty_status != "none",
                seller_kind,
                poverty_status,
                village_code,
                name,
                spec,
                weight_g,
                quantity: q,
                unit_fen: unit_fen.max(1),
            });
        }
        // Orders imported before are refused, not doubled.
        for (no, (_, lines)) in &orders {
            let seen: Option<i64> = on_read!(self, |p| {
                sqlx::query_scalar(
                    "SELECT id FROM orders WHERE channel = 'import' AND idempotency_key = $1",
                )
                .bind(format!("{}:{no}", platform.as_str()))
                .fetch_optional(p)
                .await?
            });
            if seen.is_some() {
                bad(&mut errors, lines[0].line, c.order, "duplicate");
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Csv(errors));
        }
        let now = now_ms();
        let user = actor.user_id;
        let counts = in_tx!(self, |tx| {
            let mut short: Vec<RowError> = vec![];
            let mut n_lines = 0;
            for (no, (h, lines)) in &orders {
                let items_fen: i64 = lines.iter().map(|l| l.unit_fen * l.quantity).sum();
                let order_id: i64 = sqlx::query_scalar(
                    "INSERT INTO orders (buyer_id, placed_by, idempotency_key, channel, status, \
                     recipient, phone, region_code, address_detail, items_fen, shipping_fen, \
                     total_fen, payment_method, pay_by, paid_at, created_at, updated_at) VALUES \
                     (NULL, $1, $2, 'import', 'paid', $3, $4, $5, $6, $7, 0, $7, 'external', $8, \
                     $8, $8, $8) RETURNING id",
                )
                .bind(user)
                .bind(format!("{}:{no}", platform.as_str()))
                .bind(&h.recipient)
                .bind(&h.phone)
                .bind(&h.region_code)
                .bind(&h.detail)
                .bind(items_fen)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let mut parts: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
                for l in lines {
                    let loc = tx.seller_location(l.seller_id, now).await?;
                    let part = match parts.get(&l.seller_id) {
                        Some((p, _)) => *p,
                        None => {
                            let p: i64 = sqlx::query_scalar(
                                "INSERT INTO order_parts (order_id, seller_id, location_id, weight_g, \
                                 shipping_fen) VALUES ($1, $2, $3, 0, 0) RETURNING id",
                            )
                            .bind(order_id)
                            .bind(l.seller_id)
                            .bind(loc)
                            .fetch_one(&mut *tx)
                            .await?;
                            parts.insert(l.seller_id, (p, loc));
                            p
                        }
                    };
                    let hit = sqlx::query(
                        "UPDATE stock SET on_hand = on_hand - $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
                    )
                    .bind(l.quantity)
                    .bind(now)
                    .bind(l.sku_id)
                    .bind(loc)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if hit == 0 {
                        short.push(RowError {
                            line: l.line,
                            column: c.quantity.into(),
                            reason: "out_of_stock".into(),
                        });
                        continue;
                    }
                    let note = format!("{} {no}", platform.as_str());
                    tx.record_stock_move(&LedgerEntry {
                        sku: l.sku_id,
                        location: loc,
                        kind: MoveKind::Sale,
                        on_hand: -l.quantity,
                        reserved: 0,
                        incoming: 0,
                        order: Some(order_id),
                        actor: Some(user),
                        note: Some(note.as_str()),
                        at: now,
                    })
                    .await?;
                    sqlx::query(
                        "INSERT INTO order_lines (order_id, part_id, sku_id, product_id, seller_id, \
                         seller_kind, poverty_status, village_code, location_id, name, spec, \
                         unit_price_fen, quantity, line_fen, weight_g, poverty_product) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                    )
                    .bind(order_id)
                    .bind(part)
                    .bind(l.sku_id)
                    .bind(l.product_id)
                    .bind(l.seller_id)
                    .bind(&l.seller_kind)
                    .bind(&l.poverty_status)
                    .bind(&l.village_code)
                    .bind(loc)
                    .bind(&l.name)
                    .bind(&l.spec)
                    .bind(l.unit_fen)
                    .bind(l.quantity)
                    .bind(l.unit_fen * l.quantity)
                    .bind(l.weight_g * l.quantity)
                    .bind(l.poverty_product)
                    .execute(&mut *tx)
                    .await?;
                    n_lines += 1;
                }
                let reason = format!("{} {no}", platform.as_str());
                tx.record_new_order(order_id, "paid", Some(user), Some(&reason), now)
                    .await?;
            }
            if !short.is_empty() {
                return Err(StoreError::Csv(short));
            }
            Ok(OrderImportSummary {
                orders: orders.len(),
                lines: n_lines,
            })
        })?;
        Ok(counts)
    }
}

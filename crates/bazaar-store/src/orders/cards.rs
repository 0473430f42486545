//! A buyer's orders as cards: by tab (待付款, 待发货, 待收货, 售后), each with the picture and
//! name of its first line and the latest word on its parcels, in a fixed number of queries for
//! the whole page.

use super::{ORDER_COLS, OrderRow};
use crate::db::page::{Cursor, Page, into_page, page_size};
use crate::{Store, StoreError, on_read};
use bazaar_domain::orders::{BuyerTab, OrderStatus};
use bazaar_domain::people::Actor;
use std::collections::BTreeMap;

/// One order as a card in the buyer's list.
#[derive(Debug, Clone)]
pub struct OrderCard {
    /// The order.
    pub order: OrderRow,
    /// The first line's product name.
    pub first_name: String,
    /// How many lines in all.
    pub lines: i64,
    /// The storage key of the first line's product photo, if it has one.
    pub photo: Option<String>,
    /// The first line's product category (for its drawing when there is no photo).
    pub category: String,
    /// The newest event on its parcels.
    pub latest: Option<LatestEvent>,
}

/// The newest event on an order's parcels.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatestEvent {
    /// The order.
    pub order_id: i64,
    /// When (UTC ms).
    pub at: i64,
    /// The state it moved the parcel to.
    pub state: Option<String>,
    /// The carrier's words, for a carrier event.
    pub note: Option<String>,
    /// Where, as the carrier says it.
    pub place: Option<String>,
    /// The service point it was scanned at.
    pub node_code: Option<String>,
}

/// A line as a card needs it: order, product name, product, category.
type CardLine = (i64, String, i64, String);

/// The orders `actor` may see as theirs: placed or bought.
const MINE: &str = "(placed_by = $1 OR buyer_id = $1)";

impl Store {
    /// The caller's orders under `tab` (all when `None`), newest first, paged, as cards.
    pub async fn my_order_cards(
        &self,
        actor: &Actor,
        tab: Option<BuyerTab>,
        cursor: Cursor,
        limit: Option<i64>,
    ) -> Result<Page<OrderCard>, StoreError> {
        let limit = page_size(limit);
        let before = if cursor.0 == 0 { i64::MAX } else { cursor.0 };
        // The statuses are the domain's own names: safe to inline.
        let status = match tab {
            Some(t) => format!(
                " AND status IN ({})",
                t.statuses()
                    .iter()
                    .map(|s| format!("'{}'", s.as_str()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders WHERE {MINE} AND id < $2{status} \
             ORDER BY id DESC LIMIT $3"
        );
        let rows: Vec<OrderRow> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(actor.user_id)
                .bind(before)
                .bind(limit + 1)
                .fetch_all(p)
                .await?
        });
        let page = into_page(rows, limit, |o| o.id);
        if page.items.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next: page.next,
            });
        }
        // Ids are integers from the database: safe to inline.
        let ids = page
            .items
            .iter()
            .map(|o| o.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let lines_sql = format!(
            "SELECT l.order_id, l.name, l.product_id, p.category FROM order_lines l \
             JOIN products p ON p.id = l.product_id WHERE l.order_id IN ({ids}) ORDER BY l.id"
        );
        let events_sql = format!(
            "SELECT pa.order_id, e.at, e.state, e.note, e.place, e.node_code \
             FROM parcel_events e JOIN parcels pa ON pa.id = e.parcel_id \
             WHERE pa.order_id IN ({ids}) ORDER BY e.at, e.id"
        );
        let (lines, events): (Vec<CardLine>, Vec<LatestEvent>) = on_read!(self, |p| {
            (
                sqlx::query_as(&lines_sql).fetch_all(p).await?,
                sqlx::query_as(&events_sql).fetch_all(p).await?,
            )
        });
        let products = lines
            .iter()
            .map(|l| l.2.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(",");
        let photos_sql = format!(
            "SELECT product_id, storage_key FROM product_photos WHERE product_id IN ({products}) \
             ORDER BY position DESC, id DESC"
        );
        let photos: Vec<(i64, String)> = if products.is_empty() {
            Vec::new()
        } else {
            on_read!(self, |p| {
                sqlx::query_as(&photos_sql).fetch_all(p).await?
            })
        };
        // Later rows overwrite earlier ones: the first photo, the newest event.
        let photo: BTreeMap<i64, String> = photos.into_iter().collect();
        let mut latest: BTreeMap<i64, LatestEvent> = BTreeMap::new();
        for e in events {
            latest.insert(e.order_id, e);
        }
        let items = page
            .items
            .into_iter()
            .map(|order| {
                let mine: Vec<&CardLine> = lines.iter().filter(|l| l.0 == order.id).collect();
                let first = mine.first();
                OrderCard {
                    first_name: first.map(|l| l.1.clone()).unwrap_or_default(),
                    lines: mine.len() as i64,
                    photo: first.and_then(|l| photo.get(&l.2).cloned()),
                    category: first.map(|l| l.3.clone()).unwrap_or_default(),
                    latest: latest.remove(&order.id),
                    order,
                }
            })
            .collect();
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// How many of the caller's orders are under each tab.
    pub async fn my_order_counts(
        &self,
        actor: &Actor,
    ) -> Result<BTreeMap<&'static str, i64>, StoreError> {
        let sql = format!("SELECT status, COUNT(*) FROM orders WHERE {MINE} GROUP BY status");
        let rows: Vec<(String, i64)> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(actor.user_id)
                .fetch_all(p)
                .await?
        });
        let mut counts = BTreeMap::new();
        for (status, n) in rows {
            if let Some(tab) = OrderStatus::from_db(&status).and_then(BuyerTab::of) {
                *counts.entry(tab.as_str()).or_insert(0) += n;
            }
        }
        Ok(counts)
    }
}

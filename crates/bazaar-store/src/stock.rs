//! Inventory: quantities per SKU and stock location, and the ledger of every movement.
//!
//! Available = on_hand − reserved. Placing an order reserves with one conditional UPDATE per
//! line (`… WHERE on_hand - reserved >= q`), never a read followed by a write, so concurrent
//! orders on SQLite's single writer and on PostgreSQL's row locks alike can never reserve more
//! than there is; the table's CHECK constraints back this up.

use crate::{Backend, Store, StoreError, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::people::Actor;
use bazaar_domain::time::now_ms;
use serde::Serialize;

/// Stock of one SKU at one location.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StockLevel {
    /// SKU id.
    pub sku_id: i64,
    /// Location id.
    pub location_id: i64,
    /// Location name.
    pub location: String,
    /// Physically there.
    pub on_hand: i64,
    /// Held by orders waiting for payment.
    pub reserved: i64,
    /// Announced, not yet arrived.
    pub incoming: i64,
    /// on_hand − reserved.
    pub available: i64,
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StockMove {
    /// Id.
    pub id: i64,
    /// adjustment, reservation, sale, release or return.
    pub kind: String,
    /// Change of on_hand.
    pub on_hand_delta: i64,
    /// Change of reserved.
    pub reserved_delta: i64,
    /// Order concerned.
    pub order_id: Option<i64>,
    /// Note.
    pub note: Option<String>,
    /// When (UTC ms).
    pub at: i64,
}

/// Records a ledger entry inside a transaction.
macro_rules! record_move {
    ($c:expr, $sku:expr, $loc:expr, $kind:expr, $on_hand:expr, $reserved:expr, $order:expr, $actor:expr, $note:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO stock_moves (sku_id, location_id, kind, on_hand_delta, reserved_delta, \
             order_id, actor_id, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($sku)
        .bind($loc)
        .bind($kind)
        .bind($on_hand)
        .bind($reserved)
        .bind($order)
        .bind($actor)
        .bind($note)
        .bind($at)
        .execute(&mut *$c)
        .await?
    };
}
pub(crate) use record_move;

/// Finds or creates the home stock location of a seller inside a transaction.
macro_rules! seller_location {
    ($c:expr, $seller_id:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO stock_locations (kind, seller_id, name, region_code, created_at) \
             SELECT 'seller', s.id, s.name, s.village_code, $2 FROM sellers s WHERE s.id = $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind($seller_id)
        .bind($now)
        .execute(&mut *$c)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM stock_locations WHERE seller_id = $1")
            .bind($seller_id)
            .fetch_one(&mut *$c)
            .await?;
        id
    }};
}
pub(crate) use seller_location;

const LEVEL_SELECT: &str = "SELECT st.sku_id, st.location_id, l.name AS location, st.on_hand, \
    st.reserved, st.incoming, st.on_hand - st.reserved AS available FROM stock st \
    JOIN stock_locations l ON l.id = st.location_id";

impl Store {
    /// The stock of a SKU at every location (for whoever may edit the product).
    pub async fn stock_levels(
        &self,
        actor: &Actor,
        sku_id: i64,
    ) -> Result<Vec<StockLevel>, StoreError> {
        let sku = self.sku(sku_id).await?;
        let p = self.product_for(Some(actor), sku.product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let sql = format!("{LEVEL_SELECT} WHERE st.sku_id = $1 ORDER BY st.location_id");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(sku_id).fetch_all(p).await?
        }))
    }

    /// Sets the available quantity of a SKU at its default location (the seller's home):
    /// on_hand becomes reserved + `available`, recorded as an adjustment. Allowed to the
    /// product's seller, the agent who listed it and operators in scope.
    pub async fn set_stock(
        &self,
        actor: &Actor,
        sku_id: i64,
        available: i64,
    ) -> Result<StockLevel, StoreError> {
        if !(0..=10_000_000).contains(&available) {
            return Err(StoreError::field("quantity", Reason::OutOfRange));
        }
        let sku = self.sku(sku_id).await?;
        let p = self.product_for(Some(actor), sku.product_id).await?;
        if !actor.can_edit(p.row.target()) {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        let seller_id = p.row.seller_id;
        let actor_id = actor.user_id;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let loc = in_tx!(self, |c| {
            let loc = seller_location!(c, seller_id, now);
            sqlx::query(
                "INSERT INTO stock (sku_id, location_id, on_hand, reserved, incoming, updated_at) \
                 VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT DO NOTHING",
            )
            .bind(sku_id)
            .bind(loc)
            .bind(now)
            .execute(&mut *c)
            .await?;
            let (on_hand, reserved): (i64, i64) = sqlx::query_as(&format!(
                "SELECT on_hand, reserved FROM stock WHERE sku_id = $1 AND location_id = $2{lock}"
            ))
            .bind(sku_id)
            .bind(loc)
            .fetch_one(&mut *c)
            .await?;
            let new_on_hand = reserved + available;
            sqlx::query(
                "UPDATE stock SET on_hand = $1, updated_at = $2 WHERE sku_id = $3 AND location_id = $4",
            )
            .bind(new_on_hand)
            .bind(now)
            .bind(sku_id)
            .bind(loc)
            .execute(&mut *c)
            .await?;
            if new_on_hand != on_hand {
                record_move!(
                    c,
                    sku_id,
                    loc,
                    "adjustment",
                    new_on_hand - on_hand,
                    0i64,
                    None::<i64>,
                    Some(actor_id),
                    None::<String>,
                    now
                );
            }
            Ok(loc)
        })?;
        let sql = format!("{LEVEL_SELECT} WHERE st.sku_id = $1 AND st.location_id = $2");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(sku_id)
                .bind(loc)
                .fetch_one(p)
                .await?
        }))
    }

    /// Seeds the stock of a SKU at its seller's home without an actor (demo data, imports).
    pub async fn seed_stock(&self, sku_id: i64, on_hand: i64) -> Result<(), StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            let seller_id: i64 = sqlx::query_scalar(
                "SELECT p.seller_id FROM skus k JOIN products p ON p.id = k.product_id WHERE k.id = $1",
            )
            .bind(sku_id)
            .fetch_one(&mut *c)
            .await?;
            let loc = seller_location!(c, seller_id, now);
            sqlx::query(
                "INSERT INTO stock (sku_id, location_id, on_hand, reserved, incoming, updated_at) \
                 VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT DO NOTHING",
            )
            .bind(sku_id)
            .bind(loc)
            .bind(on_hand)
            .bind(now)
            .execute(&mut *c)
            .await?;
            record_move!(
                c,
                sku_id,
                loc,
                "adjustment",
                on_hand,
                0i64,
                None::<i64>,
                None::<i64>,
                Some("initial stock".to_string()),
                now
            );
            Ok(())
        })
    }

    /// The ledger of a SKU at every location, newest first (at most 200 entries).
    pub async fn stock_moves(
        &self,
        actor: &Actor,
        sku_id: i64,
    ) -> Result<Vec<StockMove>, StoreError> {
        // Same rights as reading the levels.
        self.stock_levels(actor, sku_id).await?;
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, on_hand_delta, reserved_delta, order_id, note, at FROM stock_moves \
                 WHERE sku_id = $1 ORDER BY id DESC LIMIT 200",
            )
            .bind(sku_id)
            .fetch_all(p)
            .await?
        }))
    }
}

//! Inventory: quantities per SKU and stock location, and the ledger of every movement.
//!
//! Available = on_hand − reserved. Placing an order reserves with one conditional UPDATE per
//! line (`… WHERE on_hand - reserved >= q`), never a read followed by a write, so concurrent
//! orders on SQLite's single writer and on PostgreSQL's row locks alike can never reserve more
//! than there is; the table's CHECK constraints back this up.

use crate::{Backend, Store, StoreError, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::people::{Actor, Role};
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
    /// The node's code when the location is a village point or warehouse; `None` for a
    /// seller's home.
    pub node_code: Option<String>,
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
    /// adjustment, reservation, sale, release, return, transfer_out, transfer_in, arrival
    /// or expected.
    pub kind: String,
    /// Location id.
    pub location_id: i64,
    /// Change of on_hand.
    pub on_hand_delta: i64,
    /// Change of reserved.
    pub reserved_delta: i64,
    /// Change of incoming.
    pub incoming_delta: i64,
    /// Order concerned.
    pub order_id: Option<i64>,
    /// Note.
    pub note: Option<String>,
    /// When (UTC ms).
    pub at: i64,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MoveKind {
    /// Counted stock set by hand.
    Adjustment,
    /// Held by an order waiting for payment.
    Reservation,
    /// Paid: leaves the shelf.
    Sale,
    /// A reservation given back (cancelled, expired).
    Release,
    /// Back from a refunded order.
    Return,
    /// Sent to another location.
    TransferOut,
    /// Arrived from another location.
    TransferIn,
    /// Announced stock arrived.
    Arrival,
    /// Arrivals announced.
    Expected,
}

impl MoveKind {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MoveKind::Adjustment => "adjustment",
            MoveKind::Reservation => "reservation",
            MoveKind::Sale => "sale",
            MoveKind::Release => "release",
            MoveKind::Return => "return",
            MoveKind::TransferOut => "transfer_out",
            MoveKind::TransferIn => "transfer_in",
            MoveKind::Arrival => "arrival",
            MoveKind::Expected => "expected",
        }
    }
}

/// One entry of the stock ledger, as [`StockWrites::record_stock_move`] writes it.
pub(crate) struct LedgerEntry<'a> {
    /// The SKU.
    pub sku: i64,
    /// Where.
    pub location: i64,
    /// What happened.
    pub kind: MoveKind,
    /// Change of on_hand.
    pub on_hand: i64,
    /// Change of reserved.
    pub reserved: i64,
    /// Change of incoming.
    pub incoming: i64,
    /// The order concerned.
    pub order: Option<i64>,
    /// Who.
    pub actor: Option<i64>,
    /// A note.
    pub note: Option<&'a str>,
    /// When (UTC ms).
    pub at: i64,
}

/// The stock writes several use-cases make, on a transaction's connection of either backend.
pub(crate) trait StockWrites {
    /// Writes a ledger entry.
    async fn record_stock_move(&mut self, e: &LedgerEntry<'_>) -> Result<(), StoreError>;

    /// The home stock location of a seller, created on first use.
    async fn seller_location(&mut self, seller: i64, now: i64) -> Result<i64, StoreError>;

    /// The stock location of a network node (village point, county warehouse), created on
    /// first use; `None` when there is no such node.
    async fn node_location(&mut self, code: &str, now: i64) -> Result<Option<i64>, StoreError>;

    /// Where a stock operation happens: the seller's home (`node` is `None`) or a node;
    /// an unknown node is an `unknown_reference` of `field`.
    async fn location_of(
        &mut self,
        node: Option<&str>,
        seller: i64,
        now: i64,
        field: &'static str,
    ) -> Result<i64, StoreError>;

    /// Makes sure a stock row of the SKU exists at the location.
    async fn ensure_stock_row(
        &mut self,
        sku: i64,
        location: i64,
        now: i64,
    ) -> Result<(), StoreError>;
}

crate::both_dialects! {
    impl StockWrites {
        async fn record_stock_move(&mut self, e: &LedgerEntry<'_>) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO stock_moves (sku_id, location_id, kind, on_hand_delta, reserved_delta, \
                 incoming_delta, order_id, actor_id, note, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(e.sku)
            .bind(e.location)
            .bind(e.kind.as_str())
            .bind(e.on_hand)
            .bind(e.reserved)
            .bind(e.incoming)
            .bind(e.order)
            .bind(e.actor)
            .bind(e.note)
            .bind(e.at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn seller_location(&mut self, seller: i64, now: i64) -> Result<i64, StoreError> {
            sqlx::query(
                "INSERT INTO stock_locations (kind, seller_id, name, region_code, created_at) \
                 SELECT 'seller', s.id, s.name, s.village_code, $2 FROM sellers s WHERE s.id = $1 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(seller)
            .bind(now)
            .execute(&mut *self)
            .await?;
            Ok(
                sqlx::query_scalar("SELECT id FROM stock_locations WHERE seller_id = $1")
                    .bind(seller)
                    .fetch_one(&mut *self)
                    .await?,
            )
        }

        async fn node_location(&mut self, code: &str, now: i64) -> Result<Option<i64>, StoreError> {
            sqlx::query(
                "INSERT INTO stock_locations (kind, node_code, name, region_code, created_at) \
                 SELECT 'node', n.code, n.name, n.region_code, $2 FROM nodes n WHERE n.code = $1 \
                 ON CONFLICT DO NOTHING",
            )
            .bind(code)
            .bind(now)
            .execute(&mut *self)
            .await?;
            Ok(
                sqlx::query_scalar("SELECT id FROM stock_locations WHERE node_code = $1")
                    .bind(code)
                    .fetch_optional(&mut *self)
                    .await?,
            )
        }

        async fn location_of(
            &mut self,
            node: Option<&str>,
            seller: i64,
            now: i64,
            field: &'static str,
        ) -> Result<i64, StoreError> {
            match node {
                None => self.seller_location(seller, now).await,
                Some(code) => self
                    .node_location(code, now)
                    .await?
                    .ok_or_else(|| StoreError::field(field, Reason::UnknownReference)),
            }
        }

        async fn ensure_stock_row(
            &mut self,
            sku: i64,
            location: i64,
            now: i64,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO stock (sku_id, location_id, on_hand, reserved, incoming, updated_at) \
                 VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT DO NOTHING",
            )
            .bind(sku)
            .bind(location)
            .bind(now)
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

/// A stock change asked of `PUT /api/v1/skus/{id}/stock`.
#[derive(Debug, Clone, Default)]
pub struct StockSetting {
    /// Available quantity to set (on_hand becomes reserved + this).
    pub available: i64,
    /// Where: a node code (village point, county warehouse); the seller's home when `None`.
    pub node: Option<String>,
    /// Announced arrivals to set, when given.
    pub incoming: Option<i64>,
}

const LEVEL_SELECT: &str = "SELECT st.sku_id, st.location_id, l.name AS location, l.node_code, st.on_hand, \
    st.reserved, st.incoming, st.on_hand - st.reserved AS available FROM stock st \
    JOIN stock_locations l ON l.id = st.location_id";

impl Store {
    /// Units free to sell of each of `skus` (on hand less reserved, over every place; a SKU
    /// without stock anywhere is absent): what the storefront shows as 仅剩 N 件 or sold out.
    /// At most 500 SKUs are looked at.
    pub async fn available(
        &self,
        skus: &[i64],
    ) -> Result<std::collections::BTreeMap<i64, i64>, StoreError> {
        let skus = &skus[..skus.len().min(500)];
        if skus.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT sku_id, CAST(SUM(on_hand - reserved) AS BIGINT) FROM stock \
             WHERE sku_id IN ({}) GROUP BY sku_id",
            crate::orders::placeholders(skus.len())
        );
        let rows: Vec<(i64, i64)> = on_read!(self, |p| {
            let mut q = sqlx::query_as(&sql);
            for id in skus {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        Ok(rows.into_iter().collect())
    }

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

    /// Whether `actor` may change the stock of the product with `target` at `node` (the
    /// seller's home when `None`): whoever may edit the product (its seller, the agent who listed
    /// it, operators in scope), and for a node that already holds the product also its own agent
    /// and the operators whose region holds it. An unknown node is a field error.
    async fn may_stock(
        &self,
        actor: &Actor,
        product_id: i64,
        node: Option<&str>,
        field: &'static str,
    ) -> Result<i64, StoreError> {
        let p = self.product_for(Some(actor), product_id).await?;
        if actor.can_edit(p.row.target()) {
            if let Some(code) = node {
                self.node(code).await.map_err(|e| match e {
                    StoreError::NotFound => StoreError::field(field, Reason::UnknownReference),
                    e => e,
                })?;
            }
            return Ok(p.row.seller_id);
        }
        let Some(code) = node else {
            return Err(StoreError::Forbidden);
        };
        let n = self.node(code).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field(field, Reason::UnknownReference),
            e => e,
        })?;
        let allowed = match actor.role {
            Role::Agent => actor.node_code.as_deref() == Some(code),
            Role::Operator => match &actor.region_path {
                Some(scope) => self
                    .region(&n.region_code)
                    .await?
                    .path
                    .starts_with(scope.as_str()),
                None => false,
            },
            _ => false,
        };
        // The node's own staff handle only what is already there (goods sent to their point
        // by whoever may edit the product): stock of a product they cannot see is not made
        // up at their node.
        let held: i64 = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM stock st JOIN stock_locations l ON l.id = st.location_id \
                 JOIN skus k ON k.id = st.sku_id WHERE k.product_id = $1 AND l.node_code = $2",
            )
            .bind(product_id)
            .bind(code)
            .fetch_one(p)
            .await?
        });
        if allowed && held > 0 {
            Ok(p.row.seller_id)
        } else {
            Err(StoreError::Forbidden)
        }
    }

    /// Sets the available quantity of a SKU at a location (the seller's home by default, or a
    /// village point or county warehouse by node code): on_hand becomes reserved + `available`,
    /// recorded as an adjustment; `incoming`, when given, sets the announced arrivals
    /// (recorded as `expected`). See [`Store::may_stock`] for who may.
    pub async fn set_stock(
        &self,
        actor: &Actor,
        sku_id: i64,
        set: &StockSetting,
    ) -> Result<StockLevel, StoreError> {
        if !(0..=10_000_000).contains(&set.available) {
            return Err(StoreError::field("quantity", Reason::OutOfRange));
        }
        if let Some(i) = set.incoming
            && !(0..=10_000_000).contains(&i)
        {
            return Err(StoreError::field("incoming", Reason::OutOfRange));
        }
        let sku = self.sku(sku_id).await?;
        let node = set.node.as_deref();
        let seller_id = self
            .may_stock(actor, sku.product_id, node, "location")
            .await?;
        let now = now_ms();
        let actor_id = actor.user_id;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let (available, incoming) = (set.available, set.incoming);
        let loc = in_tx!(self, |c| {
            let loc = c.location_of(node, seller_id, now, "location").await?;
            c.ensure_stock_row(sku_id, loc, now).await?;
            let (on_hand, reserved, was_incoming): (i64, i64, i64) = sqlx::query_as(&format!(
                "SELECT on_hand, reserved, incoming FROM stock \
                 WHERE sku_id = $1 AND location_id = $2{lock}"
            ))
            .bind(sku_id)
            .bind(loc)
            .fetch_one(&mut *c)
            .await?;
            let new_on_hand = reserved + available;
            let new_incoming = incoming.unwrap_or(was_incoming);
            sqlx::query(
                "UPDATE stock SET on_hand = $1, incoming = $2, updated_at = $3 \
                 WHERE sku_id = $4 AND location_id = $5",
            )
            .bind(new_on_hand)
            .bind(new_incoming)
            .bind(now)
            .bind(sku_id)
            .bind(loc)
            .execute(&mut *c)
            .await?;
            if new_on_hand != on_hand {
                c.record_stock_move(&LedgerEntry {
                    sku: sku_id,
                    location: loc,
                    kind: MoveKind::Adjustment,
                    on_hand: new_on_hand - on_hand,
                    reserved: 0,
                    incoming: 0,
                    order: None::<i64>,
                    actor: Some(actor_id),
                    note: None,
                    at: now,
                })
                .await?;
            }
            if new_incoming != was_incoming {
                c.record_stock_move(&LedgerEntry {
                    sku: sku_id,
                    location: loc,
                    kind: MoveKind::Expected,
                    on_hand: 0,
                    reserved: 0,
                    incoming: new_incoming - was_incoming,
                    order: None::<i64>,
                    actor: Some(actor_id),
                    note: None,
                    at: now,
                })
                .await?;
            }
            Ok(loc)
        })?;
        self.stock_level(sku_id, loc).await
    }

    /// One stock row.
    async fn stock_level(&self, sku_id: i64, loc: i64) -> Result<StockLevel, StoreError> {
        let sql = format!("{LEVEL_SELECT} WHERE st.sku_id = $1 AND st.location_id = $2");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(sku_id)
                .bind(loc)
                .fetch_one(p)
                .await?
        }))
    }

    /// Sends `quantity` of a SKU from one location to another (`None` = the seller's home):
    /// the source's on_hand drops at once with one conditional update (only what is available
    /// may leave), the destination counts it as incoming until [`Store::receive_stock`].
    /// The actor needs stock rights at the source. Returns the two rows after the move.
    pub async fn transfer_stock(
        &self,
        actor: &Actor,
        sku_id: i64,
        from: Option<&str>,
        to: Option<&str>,
        quantity: i64,
    ) -> Result<Vec<StockLevel>, StoreError> {
        if !(1..=10_000_000).contains(&quantity) {
            return Err(StoreError::field("quantity", Reason::OutOfRange));
        }
        if from == to {
            return Err(StoreError::field("to", Reason::Inconsistent));
        }
        let sku = self.sku(sku_id).await?;
        let seller_id = self.may_stock(actor, sku.product_id, from, "from").await?;
        if let Some(code) = to {
            self.node(code).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::field("to", Reason::UnknownReference),
                e => e,
            })?;
        }
        let now = now_ms();
        let actor_id = actor.user_id;
        let (src, dst) = in_tx!(self, |c| {
            let src = c.location_of(from, seller_id, now, "from").await?;
            let dst = c.location_of(to, seller_id, now, "to").await?;
            c.ensure_stock_row(sku_id, dst, now).await?;
            let hit = sqlx::query(
                "UPDATE stock SET on_hand = on_hand - $1, updated_at = $2 \
                 WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
            )
            .bind(quantity)
            .bind(now)
            .bind(sku_id)
            .bind(src)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::OutOfStock(vec![sku_id]));
            }
            sqlx::query(
                "UPDATE stock SET incoming = incoming + $1, updated_at = $2 \
                 WHERE sku_id = $3 AND location_id = $4",
            )
            .bind(quantity)
            .bind(now)
            .bind(sku_id)
            .bind(dst)
            .execute(&mut *c)
            .await?;
            let note = Some(format!("{src} → {dst}"));
            c.record_stock_move(&LedgerEntry {
                sku: sku_id,
                location: src,
                kind: MoveKind::TransferOut,
                on_hand: -quantity,
                reserved: 0,
                incoming: 0,
                order: None::<i64>,
                actor: Some(actor_id),
                note: note.as_deref(),
                at: now,
            })
            .await?;
            c.record_stock_move(&LedgerEntry {
                sku: sku_id,
                location: dst,
                kind: MoveKind::TransferIn,
                on_hand: 0,
                reserved: 0,
                incoming: quantity,
                order: None::<i64>,
                actor: Some(actor_id),
                note: note.as_deref(),
                at: now,
            })
            .await?;
            Ok((src, dst))
        })?;
        Ok(vec![
            self.stock_level(sku_id, src).await?,
            self.stock_level(sku_id, dst).await?,
        ])
    }

    /// Books the arrival of `quantity` announced units at a location: incoming drops and
    /// on_hand grows, with one conditional update (never more than was announced).
    pub async fn receive_stock(
        &self,
        actor: &Actor,
        sku_id: i64,
        at: Option<&str>,
        quantity: i64,
    ) -> Result<StockLevel, StoreError> {
        if !(1..=10_000_000).contains(&quantity) {
            return Err(StoreError::field("quantity", Reason::OutOfRange));
        }
        let sku = self.sku(sku_id).await?;
        let seller_id = self
            .may_stock(actor, sku.product_id, at, "location")
            .await?;
        let now = now_ms();
        let actor_id = actor.user_id;
        let loc = in_tx!(self, |c| {
            let loc = c.location_of(at, seller_id, now, "location").await?;
            let hit = sqlx::query(
                "UPDATE stock SET incoming = incoming - $1, on_hand = on_hand + $1, \
                 updated_at = $2 WHERE sku_id = $3 AND location_id = $4 AND incoming >= $1",
            )
            .bind(quantity)
            .bind(now)
            .bind(sku_id)
            .bind(loc)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::Rule(
                    bazaar_domain::ErrorCode::MoreThanAnnounced,
                ));
            }
            c.record_stock_move(&LedgerEntry {
                sku: sku_id,
                location: loc,
                kind: MoveKind::Arrival,
                on_hand: quantity,
                reserved: 0,
                incoming: -quantity,
                order: None::<i64>,
                actor: Some(actor_id),
                note: None,
                at: now,
            })
            .await?;
            Ok(loc)
        })?;
        self.stock_level(sku_id, loc).await
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
            let loc = c.seller_location(seller_id, now).await?;
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
            c.record_stock_move(&LedgerEntry {
                sku: sku_id,
                location: loc,
                kind: MoveKind::Adjustment,
                on_hand,
                reserved: 0,
                incoming: 0,
                order: None::<i64>,
                actor: None::<i64>,
                note: Some("initial stock"),
                at: now,
            })
            .await?;
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
                "SELECT id, kind, location_id, on_hand_delta, reserved_delta, incoming_delta, \
                 order_id, note, at FROM stock_moves WHERE sku_id = $1 ORDER BY id DESC LIMIT 200",
            )
            .bind(sku_id)
            .fetch_all(p)
            .await?
        }))
    }
}

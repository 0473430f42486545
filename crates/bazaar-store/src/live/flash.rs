//! The flash-order path: a batch of requests for one offer, granted in one transaction.
//!
//! A node collects the requests that arrive for an offer while the previous batch commits
//! (the web crate's `live::desk`), then calls [`Store::place_flash_batch`]. In one
//! transaction it takes the offer's row (PostgreSQL locks it: batches of other nodes wait;
//! SQLite has one writer), decides every request in arrival order against what is left and
//! each buyer's limit, writes the granted orders, their hold records and the buyers'
//! counters, and adds the granted units to the offer's held units with one guarded
//! statement. Each request is answered only after that commit: nothing acknowledged is lost,
//! nothing is sold past the cap, no buyer goes over the limit, and a refused request
//! reserves nothing.

use super::offers::Offer;
use crate::bind_params;
use crate::db::page::Param;
use crate::orders::place::{SkuInfo, loads};
use crate::orders::{Order, OrderEventRow, OrderLine, OrderRow, PlaceOrder, Placed};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::live::{FlashRefusal, OfferStatus};
use bazaar_domain::orders::{Channel, OrderStatus, price_parts};
use bazaar_domain::people::Actor;
use bazaar_domain::region::RegionPath;
use bazaar_domain::time::now_ms;
use bazaar_domain::{ErrorCode, Reason};
use std::collections::HashMap;

/// One buyer's request for a flash offer.
#[derive(Debug, Clone)]
pub struct FlashRequest {
    /// Who orders.
    pub buyer: Actor,
    /// Units wanted (1 to the offer's per-order limit).
    pub quantity: i64,
    /// The buyer's address (`None`: their default one).
    pub address_id: Option<i64>,
    /// The `Idempotency-Key`: the same key answers with the same order.
    pub key: Option<String>,
}

/// A request that passed the checks made before the transaction: where its order goes and
/// what the shipping there costs.
struct Ready {
    /// Its place in the batch.
    at: usize,
    buyer: i64,
    quantity: i64,
    address: crate::orders::Address,
    shipping: bazaar_domain::orders::ShippingRule,
    key: Option<String>,
}

impl Store {
    /// Decides a batch of requests for offer `offer_id` in one transaction (see the module);
    /// one answer per request, in order: the order placed (or, for a key seen before, the
    /// order it placed then), or why not (`sold_out`, `limit_exceeded`, `offer_not_live`,
    /// `offer_ended`, a bad quantity or address).
    pub async fn place_flash_batch(
        &self,
        offer_id: i64,
        reqs: &[FlashRequest],
    ) -> Vec<Result<Placed, StoreError>> {
        let mut answers: Vec<Option<Result<Placed, StoreError>>> =
            reqs.iter().map(|_| None).collect();
        match self.flash_batch(offer_id, reqs, &mut answers).await {
            Ok(()) => {}
            Err(e) => {
                // The transaction failed as a whole: every request still open shares it.
                let text = e.to_string();
                let mut first = Some(e);
                for a in answers.iter_mut().filter(|a| a.is_none()) {
                    *a = Some(Err(first.take().unwrap_or_else(|| {
                        StoreError::Db(sqlx::Error::Protocol(format!(
                            "the flash batch failed: {text}"
                        )))
                    })));
                }
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or(Err(StoreError::NotFound)))
            .collect()
    }

    async fn flash_batch(
        &self,
        offer_id: i64,
        reqs: &[FlashRequest],
        answers: &mut [Option<Result<Placed, StoreError>>],
    ) -> Result<(), StoreError> {
        let offer = self.offer(offer_id).await?;
        let sku: SkuInfo = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT k.id AS sku_id, p.id AS product_id, p.status, p.name, k.spec, k.price_fen, \
                 k.weight_g, k.volume_cm3, s.id AS seller_id, s.kind AS seller_kind, \
                 s.poverty_status, p.village_code, p.cold_chain, p.poverty_cert_no \
                 FROM skus k JOIN products p ON p.id = k.product_id \
                 JOIN sellers s ON s.id = p.seller_id WHERE k.id = $1",
            )
            .bind(offer.sku_id)
            .fetch_one(p)
            .await?
        });
        let origin: String = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT r.path FROM stock_locations l JOIN regions r ON r.code = l.region_code \
                 WHERE l.id = $1",
            )
            .bind(offer.location_id)
            .fetch_one(p)
            .await?
        });
        let origin_county = crate::orders::place::county_of(&origin);
        // Before the transaction, a few queries for the whole batch: the keys seen before,
        // the buyers' default addresses, their regions' provinces and the shipping rules.
        let mut ready: Vec<Ready> = Vec::with_capacity(reqs.len());
        let mut rules: HashMap<String, Option<bazaar_domain::orders::ShippingRule>> =
            HashMap::new();
        let mut provinces: HashMap<String, Option<String>> = HashMap::new();
        let mut keys: HashMap<(i64, String), usize> = HashMap::new();
        let seen = self.keys_seen(reqs).await?;
        let defaults = self
            .default_addresses(
                &reqs
                    .iter()
                    .filter(|r| r.address_id.is_none())
                    .map(|r| r.buyer.user_id)
                    .collect::<Vec<_>>(),
            )
            .await?;
        for (i, r) in reqs.iter().enumerate() {
            if let Some(k) = &r.key {
                if keys.contains_key(&(r.buyer.user_id, k.clone())) {
                    // The same key twice in one batch: the second has the first's answer
                    // (filled in below, once the first is decided).
                    answers[i] = Some(Err(StoreError::Rule(ErrorCode::RetryCarefully)));
                    continue;
                }
                keys.insert((r.buyer.user_id, k.clone()), i);
                if let Some(id) = seen.get(&(r.buyer.user_id, k.clone())) {
                    answers[i] = Some(self.replay_flash(*id, offer_id).await);
                    continue;
                }
            }
            if r.quantity < 1 {
                answers[i] = Some(Err(StoreError::field("quantity", Reason::OutOfRange)));
                continue;
            }
            if r.quantity > offer.per_order_limit {
                // Within the document's bounds, over this offer's own limit.
                answers[i] = Some(Err(StoreError::field("quantity", Reason::OverTotal)));
                continue;
            }
            let address = match (r.address_id, defaults.get(&r.buyer.user_id)) {
                (None, Some(a)) => a.clone(),
                (None, None) => {
                    answers[i] = Some(Err(StoreError::Rule(ErrorCode::NoDefaultAddress)));
                    continue;
                }
                (Some(_), _) => {
                    let place = PlaceOrder {
                        items: vec![],
                        address_id: r.address_id,
                        channel: Channel::Live,
                        idempotency_key: None,
                        villager_name: None,
                        villager_ref: None,
                        pay_window_ms: offer.hold_ms,
                        institution: None,
                    };
                    match self.order_address(&r.buyer, &place).await {
                        Ok(a) => a,
                        Err(e) => {
                            answers[i] = Some(Err(e));
                            continue;
                        }
                    }
                }
            };
            let province = match provinces.get(&address.region_code) {
                Some(p) => p.clone(),
                None => {
                    let p = match self.region(&address.region_code).await {
                        Ok(reg) => RegionPath::new(&reg.path)
                            .and_then(|p| p.province().map(str::to_string)),
                        Err(StoreError::NotFound) => None,
                        Err(e) => return Err(e),
                    };
                    provinces.insert(address.region_code.clone(), p.clone());
                    p
                }
            };
            let province = province.unwrap_or_default();
            let rule = match rules.get(&province) {
                Some(r) => *r,
                None => {
                    let r = self.shipping_rule(&origin_county, &province).await?;
                    rules.insert(province.clone(), r);
                    r
                }
            };
            let Some(shipping) = rule else {
                answers[i] = Some(Err(StoreError::Rule(ErrorCode::AddressNotServed)));
                continue;
            };
            ready.push(Ready {
                at: i,
                buyer: r.buyer.user_id,
                quantity: r.quantity,
                address,
                shipping,
                key: r.key.clone(),
            });
        }
        if !ready.is_empty() {
            let now = now_ms();
            let pg = self.backend() == crate::Backend::Postgres;
            let decided = in_tx!(self, |c| {
                // The offer's row, taken for the whole batch (PostgreSQL: locked until the
                // commit; SQLite: the one writer).
                let (status, cap, sold, held, limit, ends_at): (String, i64, i64, i64, i64, i64) =
                    sqlx::query_as(
                        "UPDATE offers SET updated_at = $1 WHERE id = $2 RETURNING status, cap, \
                         sold, held, per_buyer_limit, ends_at",
                    )
                    .bind(now)
                    .bind(offer_id)
                    .fetch_one(&mut *c)
                    .await?;
                let mut out: Vec<(usize, Result<Order, StoreError>)> = Vec::new();
                let mut replays: Vec<(usize, i64)> = Vec::new();
                let status = OfferStatus::from_db(&status).ok_or(StoreError::NotFound)?;
                let closed = if status == OfferStatus::Live && now >= ends_at {
                    Some(FlashRefusal::OfferEnded)
                } else {
                    FlashRefusal::of_status(status)
                };
                if let Some(why) = closed {
                    for r in &ready {
                        out.push((r.at, Err(StoreError::Rule(why.error_code()))));
                    }
                    return Ok((out, replays));
                }
                let buyers: Vec<i64> = ready.iter().map(|r| r.buyer).collect();
                let mut taken: HashMap<i64, i64> = HashMap::new();
                for chunk in buyers.chunks(500) {
                    let sql = format!(
                        "SELECT buyer_id, taken FROM offer_buyers WHERE offer_id = {} AND buyer_id \
                         IN ({})",
                        mark(pg, 1),
                        marks(pg, 2, chunk.len())
                    );
                    let mut q = sqlx::query_as::<_, (i64, i64)>(&sql).bind(offer_id);
                    for b in chunk {
                        q = q.bind(b);
                    }
                    for (b, t) in q.fetch_all(&mut *c).await? {
                        taken.insert(b, t);
                    }
                }
                // Keys another node used since the check above (several nodes on one
                // PostgreSQL): read again under the offer's row, in one query.
                let mut taken_keys: HashMap<(i64, String), i64> = HashMap::new();
                // (SQLite is one writer on one node: nothing can have come between.)
                let keyed: Vec<(i64, &str)> = ready
                    .iter()
                    .filter(|_| pg)
                    .filter_map(|r| r.key.as_deref().map(|k| (r.buyer, k)))
                    .collect();
                for chunk in keyed.chunks(200) {
                    let sql = format!(
                        "SELECT placed_by, idempotency_key, id FROM orders WHERE {}",
                        key_pairs(chunk.len(), pg)
                    );
                    let mut q = sqlx::query_as::<_, (i64, String, i64)>(&sql);
                    for (b, k) in chunk {
                        q = q.bind(*b).bind(*k);
                    }
                    for (b, k, id) in q.fetch_all(&mut *c).await? {
                        taken_keys.insert((b, k), id);
                    }
                }
                let mut grants: Vec<&Ready> = Vec::new();
                let mut left = cap - sold - held;
                let mut granted = 0;
                let mut added: HashMap<i64, i64> = HashMap::new();
                for r in &ready {
                    let has = taken.get(&r.buyer).copied().unwrap_or(0);
                    if has + r.quantity > limit {
                        out.push((r.at, Err(StoreError::Rule(ErrorCode::LimitExceeded))));
                        continue;
                    }
                    if r.quantity > left {
                        out.push((r.at, Err(StoreError::Rule(ErrorCode::SoldOut))));
                        continue;
                    }
                    if let Some(k) = &r.key
                        && let Some(id) = taken_keys.get(&(r.buyer, k.clone()))
                    {
                        // Another node took the same key meanwhile: its order is the answer.
                        replays.push((r.at, *id));
                        continue;
                    }
                    left -= r.quantity;
                    granted += r.quantity;
                    taken.insert(r.buyer, has + r.quantity);
                    *added.entry(r.buyer).or_default() += r.quantity;
                    grants.push(r);
                }
                // Every granted order at once: a few statements for the whole batch, their ids
                // taken ahead (each statement is a round trip to the database).
                let n = grants.len() as i64;
                if n > 0 {
                    let ids = |first: i64| (0..n).map(move |k| first + k).collect::<Vec<_>>();
                    let (order_ids, part_ids, line_ids) = if pg {
                        let mut take = Vec::with_capacity(3);
                        for table in ["orders", "order_parts", "order_lines"] {
                            let v: Vec<i64> = sqlx::query_scalar(&format!(
                                "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) \
                                 FROM generate_series(1, $1)"
                            ))
                            .bind(n)
                            .fetch_all(&mut *c)
                            .await?;
                            take.push(v);
                        }
                        let lines = take.pop().unwrap_or_default();
                        let parts = take.pop().unwrap_or_default();
                        let orders = take.pop().unwrap_or_default();
                        (orders, parts, lines)
                    } else {
                        let mut firsts = Vec::with_capacity(3);
                        for table in ["orders", "order_parts", "order_lines"] {
                            let max: i64 = sqlx::query_scalar(&format!(
                                "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}"
                            ))
                            .fetch_one(&mut *c)
                            .await?;
                            firsts.push(max + 1);
                        }
                        (ids(firsts[0]), ids(firsts[1]), ids(firsts[2]))
                    };
                    let written = FlashRows::new(
                        &offer,
                        &sku,
                        &grants,
                        now,
                        (&order_ids, &part_ids, &line_ids),
                        pg,
                    );
                    for (sql, params) in written.statements() {
                        bind_params!(sqlx::query(&sql), params)
                            .execute(&mut *c)
                            .await?;
                    }
                    for (r, order) in grants.iter().zip(written.orders) {
                        out.push((r.at, Ok(order)));
                    }
                }
                for (b, q) in &added {
                    sqlx::query(
                        "INSERT INTO offer_buyers (offer_id, buyer_id, taken) VALUES ($1, $2, $3) \
                         ON CONFLICT (offer_id, buyer_id) DO UPDATE SET taken = offer_buyers.taken + $3",
                    )
                    .bind(offer_id)
                    .bind(b)
                    .bind(q)
                    .execute(&mut *c)
                    .await?;
                }
                if granted > 0 {
                    // The grant itself: guarded, so the database's own check holds the cap.
                    let hit = sqlx::query(
                        "UPDATE offers SET held = held + $1, status = CASE WHEN cap - sold - held \
                         - $1 = 0 THEN 'sold_out' ELSE status END WHERE id = $2 \
                         AND cap - sold - held >= $1",
                    )
                    .bind(granted)
                    .bind(offer_id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                    if hit == 0 {
                        return Err(StoreError::Rule(ErrorCode::SoldOut));
                    }
                }
                Ok((out, replays))
            })?;
            let (decided, replays) = decided;
            for (at, id) in replays {
                answers[at] = Some(self.replay_flash(id, offer_id).await);
            }
            for (at, r) in decided {
                answers[at] = Some(r.map(|order| Placed {
                    order,
                    replayed: false,
                }));
            }
        }
        // A key sent twice in one batch: the second gets the first's order.
        for (i, r) in reqs.iter().enumerate() {
            let Some(k) = &r.key else { continue };
            let Some(&first) = keys.get(&(r.buyer.user_id, k.clone())) else {
                continue;
            };
            if first == i {
                continue;
            }
            answers[i] = Some(match &answers[first] {
                Some(Ok(p)) => Ok(Placed {
                    order: p.order.clone(),
                    replayed: true,
                }),
                Some(Err(StoreError::Rule(code))) => Err(StoreError::Rule(*code)),
                Some(Err(StoreError::Invalid(e))) => Err(StoreError::Invalid(e.clone())),
                _ => Err(StoreError::Rule(ErrorCode::RetryCarefully)),
            });
        }
        Ok(())
    }

    /// The orders the batch's keys placed before: (buyer, key) → order.
    async fn keys_seen(
        &self,
        reqs: &[FlashRequest],
    ) -> Result<HashMap<(i64, String), i64>, StoreError> {
        let keyed: Vec<(i64, &str)> = reqs
            .iter()
            .filter_map(|r| r.key.as_deref().map(|k| (r.buyer.user_id, k)))
            .collect();
        let pg = self.backend() == crate::Backend::Postgres;
        let mut out = HashMap::new();
        for chunk in keyed.chunks(200) {
            // By buyer and key, as the orders' unique index holds them (a key alone would
            // read the whole table).
            let sql = format!(
                "SELECT placed_by, idempotency_key, id FROM orders WHERE {}",
                key_pairs(chunk.len(), pg)
            );
            let rows: Vec<(i64, String, i64)> = on_read!(self, |p| {
                let mut q = sqlx::query_as(&sql);
                for (b, k) in chunk {
                    q = q.bind(*b).bind(*k);
                }
                q.fetch_all(p).await?
            });
            for (b, k, id) in rows {
                out.insert((b, k), id);
            }
        }
        Ok(out)
    }

    /// Each buyer's default address (their first when none is marked), in one query.
    async fn default_addresses(
        &self,
        buyers: &[i64],
    ) -> Result<HashMap<i64, crate::orders::Address>, StoreError> {
        let pg = self.backend() == crate::Backend::Postgres;
        let mut out: HashMap<i64, crate::orders::Address> = HashMap::new();
        let mut ids: Vec<i64> = buyers.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT user_id, id, recipient, phone, region_code, node_code, detail, is_default \
                 FROM addresses WHERE user_id IN ({}) ORDER BY user_id, is_default DESC, id",
                marks(pg, 1, chunk.len())
            );
            #[allow(clippy::type_complexity)]
            let rows: Vec<(
                i64,
                i64,
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                bool,
            )> = on_read!(self, |p| {
                let mut q = sqlx::query_as(&sql);
                for b in chunk {
                    q = q.bind(*b);
                }
                q.fetch_all(p).await?
            });
            for (user, id, recipient, phone, region_code, node_code, detail, is_default) in rows {
                out.entry(user).or_insert(crate::orders::Address {
                    id,
                    recipient,
                    phone,
                    region_code,
                    node_code,
                    detail,
                    is_default,
                });
            }
        }
        Ok(out)
    }

    /// The earlier answer to a repeated key: the order, if it is this offer's.
    async fn replay_flash(&self, order_id: i64, offer_id: i64) -> Result<Placed, StoreError> {
        let of: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT offer_id FROM offer_orders WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(p)
                .await?
        });
        if of != Some(offer_id) {
            // The key was used for another order: the same key, another request.
            return Err(StoreError::field("idempotency_key", Reason::Duplicate));
        }
        Ok(Placed {
            order: self.order_unchecked(order_id).await?,
            replayed: true,
        })
    }
}

/// The rows of a batch's granted orders, and the answers built from them (no read-back).
struct FlashRows {
    /// The orders as answered.
    orders: Vec<Order>,
    /// Statements and their parameters, in the order they run.
    writes: Vec<(String, Vec<Param>)>,
}

/// Parameter `i` of a statement: numbered on PostgreSQL, anonymous on SQLite (SQLite finds
/// a numbered parameter by walking all of them: binding thousands costs O(n²), most of a
/// batch's time; see `orders::anonymous_marks`).
fn mark(pg: bool, i: usize) -> String {
    if pg { format!("${i}") } else { "?".to_string() }
}

/// `n` parameters from number `first`, as [`mark`] writes them, comma-separated.
fn marks(pg: bool, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| mark(pg, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO table (cols) VALUES (…), (…)` for `rows` rows of `cols.len()` parameters,
/// then each row's constant columns (`consts`: name and SQL value).
fn insert_rows(
    table: &str,
    cols: &[&str],
    consts: &[(&str, &str)],
    rows: usize,
    pg: bool,
) -> String {
    let width = cols.len();
    let names: Vec<&str> = cols
        .iter()
        .copied()
        .chain(consts.iter().map(|(c, _)| *c))
        .collect();
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let mut v: Vec<String> = (0..width).map(|k| mark(pg, r * width + k + 1)).collect();
            v.extend(consts.iter().map(|(_, x)| x.to_string()));
            format!("({})", v.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        names.join(", "),
        values.join(", ")
    )
}

impl FlashRows {
    /// Each granted order (order, its one part from the offer's location with the county's
    /// shipping, its line at the offer's price, its hold and its first event) as rows with the
    /// ids taken for them. The units are the offer's, set aside already: no stock row moves.
    fn new(
        offer: &Offer,
        sku: &SkuInfo,
        grants: &[&Ready],
        now: i64,
        ids: (&[i64], &[i64], &[i64]),
        pg: bool,
    ) -> FlashRows {
        let (order_ids, part_ids, line_ids) = ids;
        let mut orders_p = Vec::new();
        let mut parts_p = Vec::new();
        let mut lines_p = Vec::new();
        let mut holds_p = Vec::new();
        let mut events_p = Vec::new();
        let mut orders = Vec::with_capacity(grants.len());
        let poverty_product = sku.poverty_cert_no.is_some() || sku.poverty_status != "none";
        for (k, r) in grants.iter().enumerate() {
            let (order_id, part_id, line_id) = (order_ids[k], part_ids[k], line_ids[k]);
            let q = r.quantity;
            let mut line_sku = sku_copy(sku);
            line_sku.price_fen = offer.price_fen;
            let priced = price_parts(&loads(&[(line_sku, q)]), &[(offer.location_id, r.shipping)]);
            let (weight_g, volume_cm3, fee_fen) = priced
                .first()
                .map(|p| (p.weight_g, p.volume_cm3, p.fee_fen))
                .unwrap_or((sku.weight_g * q, sku.volume_cm3 * q, 0));
            let items_fen = offer.price_fen * q;
            let pay_by = now + offer.hold_ms;
            let a = &r.address;
            orders_p.extend([
                Param::I(order_id),
                Param::I(r.buyer),
                Param::I(r.buyer),
                Param::OS(r.key.clone()),
                Param::S(a.recipient.clone()),
                Param::S(a.phone.clone()),
                Param::S(a.region_code.clone()),
                Param::OS(a.node_code.clone()),
                Param::OS(a.detail.clone()),
                Param::I(items_fen),
                Param::I(fee_fen),
                Param::I(items_fen + fee_fen),
                Param::I(pay_by),
                Param::I(now),
                Param::I(now),
            ]);
            parts_p.extend([
                Param::I(part_id),
                Param::I(order_id),
                Param::I(sku.seller_id),
                Param::I(offer.location_id),
                Param::I(weight_g),
                Param::I(volume_cm3),
                Param::I(fee_fen),
            ]);
            lines_p.extend([
                Param::I(line_id),
                Param::I(order_id),
                Param::I(part_id),
                Param::I(sku.sku_id),
                Param::I(sku.product_id),
                Param::I(sku.seller_id),
                Param::S(sku.seller_kind.clone()),
                Param::S(sku.poverty_status.clone()),
                Param::S(sku.village_code.clone()),
                Param::I(offer.location_id),
                Param::S(sku.name.clone()),
                Param::S(sku.spec.clone()),
                Param::I(offer.price_fen),
                Param::I(q),
                Param::I(items_fen),
                Param::I(sku.weight_g * q),
                Param::B(poverty_product),
            ]);
            holds_p.extend([
                Param::I(order_id),
                Param::I(offer.id),
                Param::I(r.buyer),
                Param::I(q),
            ]);
            events_p.extend([Param::I(order_id), Param::I(r.buyer), Param::I(now)]);
            orders.push(Order {
                row: OrderRow {
                    id: order_id,
                    buyer_id: Some(r.buyer),
                    placed_by: r.buyer,
                    channel: Channel::Live.as_str().to_string(),
                    status: OrderStatus::PendingPayment.as_str().to_string(),
                    recipient: a.recipient.clone(),
                    phone: a.phone.clone(),
                    region_code: a.region_code.clone(),
                    node_code: a.node_code.clone(),
                    address_detail: a.detail.clone(),
                    villager_name: None,
                    items_fen,
                    shipping_fen: fee_fen,
                    total_fen: items_fen + fee_fen,
                    payment_method: None,
                    pay_by,
                    paid_at: None,
                    delivered_at: None,
                    created_at: now,
                    delivery_date: None,
                    invoice_title: None,
                    invoice_tax_id: None,
                },
                lines: vec![OrderLine {
                    id: line_id,
                    part_id,
                    sku_id: sku.sku_id,
                    product_id: sku.product_id,
                    seller_id: sku.seller_id,
                    seller_kind: sku.seller_kind.clone(),
                    poverty_status: sku.poverty_status.clone(),
                    village_code: sku.village_code.clone(),
                    name: sku.name.clone(),
                    spec: sku.spec.clone(),
                    unit_price_fen: offer.price_fen,
                    quantity: q,
                    line_fen: items_fen,
                    poverty_product,
                    weight_g: sku.weight_g * q,
                    location_id: offer.location_id,
                }],
                events: vec![OrderEventRow {
                    from_status: None,
                    to_status: OrderStatus::PendingPayment.as_str().to_string(),
                    actor_id: Some(r.buyer),
                    reason: None,
                    at: now,
                }],
            });
        }
        let n = grants.len();
        let writes = vec![
            (
                insert_rows(
                    "orders",
                    &[
                        "id",
                        "buyer_id",
                        "placed_by",
                        "idempotency_key",
                        "recipient",
                        "phone",
                        "region_code",
                        "node_code",
                        "address_detail",
                        "items_fen",
                        "shipping_fen",
                        "total_fen",
                        "pay_by",
                        "created_at",
                        "updated_at",
                    ],
                    &[("channel", "'live'"), ("status", "'pending_payment'")],
                    n,
                    pg,
                ),
                orders_p,
            ),
            (
                insert_rows(
                    "order_parts",
                    &[
                        "id",
                        "order_id",
                        "seller_id",
                        "location_id",
                        "weight_g",
                        "volume_cm3",
                        "shipping_fen",
                    ],
                    &[],
                    n,
                    pg,
                ),
                parts_p,
            ),
            (
                insert_rows(
                    "order_lines",
                    &[
                        "id",
                        "order_id",
                        "part_id",
                        "sku_id",
                        "product_id",
                        "seller_id",
                        "seller_kind",
                        "poverty_status",
                        "village_code",
                        "location_id",
                        "name",
                        "spec",
                        "unit_price_fen",
                        "quantity",
                        "line_fen",
                        "weight_g",
                        "poverty_product",
                    ],
                    &[],
                    n,
                    pg,
                ),
                lines_p,
            ),
            (
                insert_rows(
                    "offer_orders",
                    &["order_id", "offer_id", "buyer_id", "quantity"],
                    &[("state", "'held'")],
                    n,
                    pg,
                ),
                holds_p,
            ),
            (
                insert_rows(
                    "order_events",
                    &["order_id", "actor_id", "at"],
                    &[("to_status", "'pending_payment'")],
                    n,
                    pg,
                ),
                events_p,
            ),
        ];
        FlashRows { orders, writes }
    }

    /// The statements to run.
    fn statements(&self) -> impl Iterator<Item = (String, Vec<Param>)> + '_ {
        self.writes.iter().cloned()
    }
}

/// `(placed_by = $1 AND idempotency_key = $2) OR …` for `n` pairs: each an index probe on
/// the orders' unique (buyer, key) index (two `IN` lists would probe every combination).
fn key_pairs(n: usize, pg: bool) -> String {
    (0..n)
        .map(|i| {
            format!(
                "(placed_by = {} AND idempotency_key = {})",
                mark(pg, 2 * i + 1),
                mark(pg, 2 * i + 2)
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A copy of a SKU's facts (the struct is not `Clone`: its rows are read once per batch).
fn sku_copy(s: &SkuInfo) -> SkuInfo {
    SkuInfo {
        sku_id: s.sku_id,
        product_id: s.product_id,
        status: s.status.clone(),
        name: s.name.clone(),
        spec: s.spec.clone(),
        price_fen: s.price_fen,
        weight_g: s.weight_g,
        seller_id: s.seller_id,
        seller_kind: s.seller_kind.clone(),
        poverty_status: s.poverty_status.clone(),
        village_code: s.village_code.clone(),
        volume_cm3: s.volume_cm3,
        cold_chain: s.cold_chain,
        poverty_cert_no: s.poverty_cert_no.clone(),
    }
}

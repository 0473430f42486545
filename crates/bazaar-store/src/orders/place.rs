//! Orders: placing one (every line reserved at the best place that has it, or none; the
//! parts priced by the domain's rules) and the cap on a buyer's unpaid reservations.

use super::*;

/// What to place.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// Items.
    pub items: Vec<ItemInput>,
    /// Delivery address of the placer; the default one when `None`.
    pub address_id: Option<i64>,
    /// Channel.
    pub channel: Channel,
    /// The client's idempotency key: the same key returns the same order.
    pub idempotency_key: Option<String>,
    /// Villager (station-assisted orders).
    pub villager_name: Option<String>,
    /// Villager's ID-card tail or phone.
    pub villager_ref: Option<String>,
    /// How long the order waits for payment, ms.
    pub pay_window_ms: i64,
    /// Institutional orders: the wanted delivery date, invoice title and tax id.
    pub institution: Option<InstitutionDetails>,
}

/// What an institutional buyer adds to an order (消费扶贫).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionDetails {
    /// Wanted delivery date, `YYYY-MM-DD`.
    pub delivery_date: String,
    /// Invoice title (the institution's name).
    pub invoice_title: String,
    /// Taxpayer id of the invoice.
    pub invoice_tax_id: String,
}

/// The outcome of placing: the order, and whether it already existed for this key.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// True when the idempotency key matched an earlier order (nothing new was reserved).
    pub replayed: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SkuInfo {
    pub(crate) sku_id: i64,
    pub(crate) product_id: i64,
    pub(crate) status: String,
    pub(crate) name: String,
    pub(crate) spec: String,
    pub(crate) price_fen: i64,
    pub(crate) weight_g: i64,
    pub(crate) seller_id: i64,
    pub(crate) seller_kind: String,
    pub(crate) poverty_status: String,
    pub(crate) village_code: String,
    pub(crate) volume_cm3: i64,
    pub(crate) cold_chain: bool,
    pub(crate) poverty_cert_no: Option<String>,
}

/// The loads of an order's lines, for [`price_parts`].
pub(crate) fn loads(infos: &[(SkuInfo, i64)]) -> Vec<LineLoad> {
    infos
        .iter()
        .map(|(i, q)| LineLoad {
            seller: i.seller_id,
            weight_g: i.weight_g,
            volume_cm3: i.volume_cm3,
            cold_chain: i.cold_chain,
            quantity: *q,
        })
        .collect()
}

/// An order's lines planned for a destination (see [`Store::plan_lines`]).
pub(crate) struct Planned {
    /// Each line's SKU as it is now, and its quantity, in (seller, SKU) order.
    infos: Vec<(SkuInfo, i64)>,
    /// Where each SKU may ship from, best first.
    sources: BTreeMap<i64, Vec<(i64, ShippingRule)>>,
    /// Each line's first place (in the order of `infos`).
    first: Vec<(i64, ShippingRule)>,
    /// The goods, fen.
    items_fen: i64,
    /// The shipping of the parts as they will most likely be, fen.
    expected_shipping: i64,
}

impl Planned {
    /// What the order costs as planned.
    fn quote(&self) -> Quote {
        let parcels = price_parts(&loads(&self.infos), &self.first)
            .into_iter()
            .map(|p| QuoteParcel {
                seller_id: p.seller,
                weight_g: p.weight_g,
                fee_fen: p.fee_fen,
            })
            .collect();
        Quote {
            items_fen: self.items_fen,
            shipping_fen: self.expected_shipping,
            total_fen: self.items_fen + self.expected_shipping,
            parcels,
        }
    }
}

/// What an order would cost if it were placed now: its goods, the shipping of its parcels
/// (each line from the place it would ship from) and the total, all in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    /// The goods.
    pub items_fen: i64,
    /// The shipping of every parcel.
    pub shipping_fen: i64,
    /// Goods and shipping.
    pub total_fen: i64,
    /// The parcels the order would make: one per seller and ship-from place.
    pub parcels: Vec<QuoteParcel>,
}

/// One parcel of a [`Quote`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuoteParcel {
    /// The seller who sends it.
    pub seller_id: i64,
    /// Its weight, grams.
    pub weight_g: i64,
    /// Its shipping, fen.
    pub fee_fen: i64,
}

/// The fast placement missed: roll back and reserve place by place (never leaves the store).
pub(crate) const RETRY_CAREFULLY: bazaar_domain::ErrorCode =
    bazaar_domain::ErrorCode::RetryCarefully;

/// The county code of a stored region path, or its deepest code when the path is above the
/// county level (see [`RegionPath::county_or_deepest`]).
pub(crate) fn county_of(path: &str) -> String {
    RegionPath::new(path)
        .map(|p| p.county_or_deepest().to_string())
        .unwrap_or_default()
}

/// Units of a SKU any buyer may hold unpaid, however little stock there is.
pub const UNPAID_FLOOR: i64 = 10;

/// Whether one more order (`(sku, quantity, the SKU's stock on hand)` per line) keeps a
/// buyer within the cap on unpaid reservations: of each SKU at most half its stock (at least
/// [`UNPAID_FLOOR`] units) held by the buyer's orders waiting for payment, this one
/// included. One buyer cannot tie up a product's stock, however many orders it places.
pub fn check_unpaid_cap(held: &[(i64, i64)], lines: &[(i64, i64, i64)]) -> Result<(), StoreError> {
    for (sku, q, on_hand) in lines {
        let already: i64 = held.iter().filter(|(s, _)| s == sku).map(|(_, n)| n).sum();
        if already + q > (on_hand / 2).max(UNPAID_FLOOR) {
            return Err(StoreError::Rule(bazaar_domain::ErrorCode::UnpaidLimit));
        }
    }
    Ok(())
}

impl Store {
    pub(crate) async fn order_for_key(
        &self,
        placed_by: i64,
        key: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE placed_by = $1 AND idempotency_key = $2",
            )
            .bind(placed_by)
            .bind(key)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Where an order goes: the address chosen, the placer's default one, or for a station
    /// order without one the agent's own service point.
    pub(crate) async fn order_address(
        &self,
        actor: &Actor,
        o: &PlaceOrder,
    ) -> Result<Address, StoreError> {
        let station = o.channel == Channel::Station;
        let station_address = match (station, o.address_id, &actor.node_code) {
            (true, None, Some(node)) => {
                let n = self.node(node).await?;
                let phone = o
                    .villager_ref
                    .clone()
                    .filter(|r| r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()))
                    .or(n.contact_phone.clone())
                    .unwrap_or_default();
                Some(Address {
                    id: 0,
                    recipient: o.villager_name.clone().unwrap_or_else(|| n.name.clone()),
                    phone,
                    region_code: n.region_code.clone(),
                    node_code: Some(n.code.clone()),
                    detail: Some(format!(
                        "{} {}",
                        n.name,
                        n.address.clone().unwrap_or_default()
                    )),
                    is_default: false,
                })
            }
            _ => None,
        };
        Ok(match (station_address, o.address_id) {
            (Some(a), _) => a,
            (None, Some(id)) => self.address(actor, id).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::field("address_id", Reason::UnknownReference),
                e => e,
            })?,
            (None, None) => self
                .addresses(actor)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::Rule(bazaar_domain::ErrorCode::NoDefaultAddress))?,
        })
    }

    /// Checks an order's lines against the catalogue as it is now and plans them for a
    /// destination (its region path): where each line may ship from, best first, and the parts
    /// and their shipping as they will most likely be (each line from its first place). Refuses
    /// unknown SKUs, unlisted products, changed prices, and lines no place can send.
    pub(crate) async fn plan_lines(
        &self,
        items: &[ItemInput],
        dest_path: &str,
    ) -> Result<Planned, StoreError> {
        let dest_province = RegionPath::new(dest_path)
            .and_then(|p| p.province().map(str::to_string))
            .unwrap_or_default();
        // The SKUs as they are now, in one query.
        let ids: Vec<i64> = items.iter().map(|it| it.sku_id).collect();
        let found: Vec<SkuInfo> = on_read!(self, |p| {
            let sql = format!(
                "SELECT k.id AS sku_id, p.id AS product_id, p.status, p.name, k.spec, k.price_fen, \
                 k.weight_g, k.volume_cm3, s.id AS seller_id, s.kind AS seller_kind, \
                 s.poverty_status, p.village_code, p.cold_chain, p.poverty_cert_no \
                 FROM skus k JOIN products p ON p.id = k.product_id \
                 JOIN sellers s ON s.id = p.seller_id WHERE k.id IN ({})",
                placeholders(ids.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut found: BTreeMap<i64, SkuInfo> = found.into_iter().map(|i| (i.sku_id, i)).collect();
        let mut infos = Vec::with_capacity(items.len());
        let mut errs = vec![];
        let mut changed = vec![];
        for (i, it) in items.iter().enumerate() {
            match found.remove(&it.sku_id) {
                None => errs.push(FieldError::new(
                    format!("items[{i}].sku_id"),
                    Reason::UnknownReference,
                )),
                Some(info) if info.status != "listed" => {
                    return Err(StoreError::Rule(bazaar_domain::ErrorCode::ProductNotListed));
                }
                Some(info) => {
                    if let Some(seen) = it.expected_price_fen
                        && seen != info.price_fen
                    {
                        changed.push((info.sku_id, seen, info.price_fen));
                    }
                    infos.push((info, it.quantity));
                }
            }
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        if !changed.is_empty() {
            return Err(StoreError::PriceChanged(changed));
        }
        // Where each line may ship from: the locations holding some of it, those in the
        // destination's own county first (a village point or county warehouse near the buyer),
        // then the seller's home, then the rest; only those whose county has a shipping rule
        // for the destination.
        let dest_county = county_of(dest_path);
        let candidates: Vec<(i64, i64, bool, String)> = on_read!(self, |p| {
            let sql = format!(
                "SELECT st.sku_id, st.location_id, l.seller_id IS NOT NULL AS home, r.path \
                 FROM stock st JOIN stock_locations l ON l.id = st.location_id \
                 JOIN regions r ON r.code = l.region_code \
                 WHERE st.on_hand - st.reserved > 0 AND st.sku_id IN ({}) \
                 ORDER BY st.sku_id, st.location_id",
                placeholders(ids.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut rules: BTreeMap<String, Option<ShippingRule>> = BTreeMap::new();
        let mut unserved = false;
        let mut ranked = Vec::new();
        for (sku_id, loc, home, path) in candidates {
            let county = county_of(&path);
            let rule = match rules.get(&county) {
                Some(r) => *r,
                None => {
                    let r = self.shipping_rule(&county, &dest_province).await?;
                    rules.insert(county.clone(), r);
                    r
                }
            };
            let Some(rule) = rule else {
                unserved = true;
                continue;
            };
            ranked.push(Source {
                sku: sku_id,
                location: loc,
                rank: ShipFrom::of(&county, &dest_county, home),
                rule,
            });
        }
        let sources = rank_sources(ranked);
        let missing: Vec<i64> = infos
            .iter()
            .map(|(i, _)| i.sku_id)
            .filter(|id| !sources.contains_key(id))
            .collect();
        if !missing.is_empty() {
            return Err(if unserved {
                StoreError::Rule(bazaar_domain::ErrorCode::AddressNotServed)
            } else {
                StoreError::OutOfStock(missing)
            });
        }
        // Lines are reserved in (seller, SKU) order, so two orders never wait for each other's
        // rows in opposite orders (no deadlock on PostgreSQL).
        infos.sort_by_key(|(i, _)| (i.seller_id, i.sku_id));
        let items_fen: i64 = infos.iter().map(|(i, q)| i.price_fen * q).sum();
        // The parts as they will most likely be (each line from its first place): the order is
        // written with their shipping first, so the contended stock rows are locked as briefly
        // as possible; a line that lands elsewhere updates the order's shipping afterwards.
        let first: Vec<(i64, ShippingRule)> = infos
            .iter()
            .filter_map(|(i, _)| sources.get(&i.sku_id).and_then(|l| l.first()).copied())
            .collect();
        let expected_shipping: i64 = price_parts(&loads(&infos), &first)
            .iter()
            .map(|p| p.fee_fen)
            .sum();
        Ok(Planned {
            infos,
            sources,
            first,
            items_fen,
            expected_shipping,
        })
    }

    /// What `o` would cost if it were placed now, by the same rules and to the same address
    /// as [`Store::place_order`], reserving nothing. A line no place can send is refused as
    /// placing would refuse it (out of stock, naming the SKUs; an address not served).
    pub async fn quote_order(&self, actor: &Actor, o: &PlaceOrder) -> Result<Quote, StoreError> {
        let items = check_items(&o.items).map_err(StoreError::Invalid)?;
        let address = self.order_address(actor, o).await?;
        let dest = self.region(&address.region_code).await?;
        Ok(self.plan_lines(&items, &dest.path).await?.quote())
    }

    /// What `items` would cost sent to a region (a province, a county, …) before there is an
    /// address: the product page's "shipping to 浙江". An unknown region is refused as the
    /// field `region_code`.
    pub async fn quote_to_region(
        &self,
        items: &[ItemInput],
        region_code: &str,
    ) -> Result<Quote, StoreError> {
        let items = check_items(items).map_err(StoreError::Invalid)?;
        let dest = self.region(region_code).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("region_code", Reason::UnknownReference),
            e => e,
        })?;
        Ok(self.plan_lines(&items, &dest.path).await?.quote())
    }

    /// Places an order: checks the items, prices and address, splits it by seller and
    /// ship-from location, prices the shipping by the origin county's rules, and reserves every
    /// line with one conditional update each — all lines or none. The same idempotency key
    /// returns the earlier order and reserves nothing more.
    pub async fn place_order(&self, actor: &Actor, o: &PlaceOrder) -> Result<Placed, StoreError> {
        if let Some(key) = &o.idempotency_key
            && let Some(id) = self.order_for_key(actor.user_id, key).await?
        {
            return Ok(Placed {
                order: self.order_unchecked(id).await?,
                replayed: true,
            });
        }
        let items = check_items(&o.items).map_err(StoreError::Invalid)?;
        let station = o.channel == Channel::Station;
        if station && actor.role != Role::Agent {
            return Err(StoreError::Forbidden);
        }
        if (o.channel == Channel::Institution) != (actor.role == Role::Institution) {
            return Err(if actor.role == Role::Institution {
                StoreError::field("channel", Reason::Inconsistent)
            } else {
                StoreError::Forbidden
            });
        }
        if o.channel == Channel::Institution && o.institution.is_none() {
            return Err(StoreError::field("delivery_date", Reason::Needed));
        }
        let address = self.order_address(actor, o).await?;
        let dest = self.region(&address.region_code).await?;
        let Planned {
            infos,
            sources,
            first,
            items_fen,
            expected_shipping,
        } = self.plan_lines(&items, &dest.path).await?;
        let now = now_ms();
        let buyer_id = (!station).then_some(actor.user_id);
        let channel = o.channel.as_str();
        let pay_by = now + o.pay_window_ms;
        // Fast path: write everything for each line's first place, then reserve there, last,
        // just before the commit (a hot SKU's row is locked only for that); if some line does
        // not fit there, roll back and take the careful path: reserve first, trying each place.
        let mut fast = true;
        // A consumer's unpaid orders hold stock for half an hour: how much one buyer may hold
        // is capped (see `check_unpaid_cap`); stations and institutions order for many people.
        let capped = matches!(
            o.channel,
            Channel::Storefront | Channel::Pavilion | Channel::Live
        );
        let lock_buyer = match self.backend() {
            crate::Backend::Postgres => "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            crate::Backend::Sqlite => "SELECT id FROM users WHERE id = $1",
        };
        let res = loop {
            let attempt = in_tx!(self, |c| {
                if capped {
                    // One buyer's orders one at a time (their row locked), so parallel orders
                    // cannot each pass the cap.
                    sqlx::query(lock_buyer)
                        .bind(actor.user_id)
                        .execute(&mut *c)
                        .await?;
                    let held: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT l.sku_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_lines l \
                         JOIN orders o ON o.id = l.order_id WHERE o.placed_by = $1 \
                         AND o.status = 'pending_payment' GROUP BY l.sku_id",
                    )
                    .bind(actor.user_id)
                    .fetch_all(&mut *c)
                    .await?;
                    let mut stock = Vec::with_capacity(infos.len());
                    for (i, q) in &infos {
                        let total: Option<i64> = sqlx::query_scalar(
                            "SELECT CAST(SUM(on_hand) AS BIGINT) FROM stock WHERE sku_id = $1",
                        )
                        .bind(i.sku_id)
                        .fetch_one(&mut *c)
                        .await?;
                        stock.push((i.sku_id, *q, total.unwrap_or(0)));
                    }
                    check_unpaid_cap(&held, &stock)?;
                }
                let order_id: i64 = sqlx::query_scalar(
                "INSERT INTO orders (buyer_id, placed_by, idempotency_key, channel, status, recipient, \
                 phone, region_code, node_code, address_detail, villager_name, villager_ref, \
                 items_fen, shipping_fen, total_fen, pay_by, created_at, updated_at, delivery_date, \
                 invoice_title, invoice_tax_id) VALUES \
                 ($1, $2, $3, $4, 'pending_payment', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $16, $17, $18, $19) RETURNING id",
            )
            .bind(buyer_id)
            .bind(actor.user_id)
            .bind(&o.idempotency_key)
            .bind(channel)
            .bind(&address.recipient)
            .bind(&address.phone)
            .bind(&address.region_code)
            .bind(&address.node_code)
            .bind(&address.detail)
            .bind(&o.villager_name)
            .bind(&o.villager_ref)
            .bind(items_fen)
            .bind(expected_shipping)
            .bind(items_fen + expected_shipping)
            .bind(pay_by)
            .bind(now)
            .bind(o.institution.as_ref().map(|i| i.delivery_date.clone()))
            .bind(o.institution.as_ref().map(|i| i.invoice_title.clone()))
            .bind(o.institution.as_ref().map(|i| i.invoice_tax_id.clone()))
            .fetch_one(&mut *c)
            .await?;
                // The reservations: one conditional update per line and location tried, never
                // read-then-write; the first location that has enough wins.
                let mut chosen: Vec<(i64, ShippingRule)> = Vec::with_capacity(infos.len());
                let mut short = vec![];
                if fast {
                    chosen.clone_from(&first);
                }
                for (info, q) in infos.iter().filter(|_| !fast) {
                    let mut got = None;
                    for (loc, rule) in sources.get(&info.sku_id).map(Vec::as_slice).unwrap_or(&[]) {
                        let hit = sqlx::query(
                            "UPDATE stock SET reserved = reserved + $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
                        )
                        .bind(q)
                        .bind(now)
                        .bind(info.sku_id)
                        .bind(loc)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if hit > 0 {
                            got = Some((*loc, *rule));
                            break;
                        }
                    }
                    match got {
                        Some(g) => chosen.push(g),
                        None => short.push(info.sku_id),
                    }
                }
                if !short.is_empty() {
                    // Rolls back every reservation of this order.
                    return Err(StoreError::OutOfStock(short));
                }
                let parts = price_parts(&loads(&infos), &chosen);
                let shipping_fen: i64 = parts.iter().map(|p| p.fee_fen).sum();
                if shipping_fen != expected_shipping {
                    sqlx::query(
                        "UPDATE orders SET shipping_fen = $1, total_fen = $2 WHERE id = $3",
                    )
                    .bind(shipping_fen)
                    .bind(items_fen + shipping_fen)
                    .bind(order_id)
                    .execute(&mut *c)
                    .await?;
                }
                let mut lines = Vec::with_capacity(infos.len());
                for PricedPart {
                    seller: seller_id,
                    location: loc,
                    lines: idx,
                    weight_g: weight,
                    volume_cm3: volume,
                    fee_fen: fee,
                } in &parts
                {
                    let part_id: i64 = sqlx::query_scalar(
                        "INSERT INTO order_parts (order_id, seller_id, location_id, weight_g, \
                     volume_cm3, shipping_fen) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(order_id)
                    .bind(seller_id)
                    .bind(loc)
                    .bind(weight)
                    .bind(volume)
                    .bind(fee)
                    .fetch_one(&mut *c)
                    .await?;
                    for i in idx {
                        let (info, q) = &infos[*i];
                        c.record_stock_move(&LedgerEntry {
                            sku: info.sku_id,
                            location: *loc,
                            kind: MoveKind::Reservation,
                            on_hand: 0,
                            reserved: *q,
                            incoming: 0,
                            order: Some(order_id),
                            actor: Some(actor.user_id),
                            note: None,
                            at: now,
                        })
                        .await?;
                        let poverty_product =
                            info.poverty_cert_no.is_some() || info.poverty_status != "none";
                        let line_id: i64 = sqlx::query_scalar(
                        "INSERT INTO order_lines (order_id, part_id, sku_id, product_id, seller_id, \
                         seller_kind, poverty_status, village_code, location_id, name, spec, \
                         unit_price_fen, quantity, line_fen, weight_g, poverty_product) VALUES ($1, $2, \
                         $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                    )
                    .bind(order_id)
                    .bind(part_id)
                    .bind(info.sku_id)
                    .bind(info.product_id)
                    .bind(info.seller_id)
                    .bind(&info.seller_kind)
                    .bind(&info.poverty_status)
                    .bind(&info.village_code)
                    .bind(loc)
                    .bind(&info.name)
                    .bind(&info.spec)
                    .bind(info.price_fen)
                    .bind(q)
                    .bind(info.price_fen * q)
                    .bind(info.weight_g * q)
                    .bind(poverty_product)
                    .fetch_one(&mut *c)
                    .await?;
                        lines.push(OrderLine {
                            id: line_id,
                            part_id,
                            sku_id: info.sku_id,
                            product_id: info.product_id,
                            seller_id: info.seller_id,
                            seller_kind: info.seller_kind.clone(),
                            poverty_status: info.poverty_status.clone(),
                            village_code: info.village_code.clone(),
                            name: info.name.clone(),
                            spec: info.spec.clone(),
                            unit_price_fen: info.price_fen,
                            quantity: *q,
                            line_fen: info.price_fen * q,
                            poverty_product,
                            weight_g: info.weight_g * q,
                            location_id: *loc,
                        });
                    }
                }
                if fast {
                    for ((info, q), (loc, _)) in infos.iter().zip(&chosen) {
                        let hit = sqlx::query(
                            "UPDATE stock SET reserved = reserved + $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
                        )
                        .bind(q)
                        .bind(now)
                        .bind(info.sku_id)
                        .bind(loc)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if hit == 0 {
                            return Err(StoreError::Rule(RETRY_CAREFULLY));
                        }
                    }
                }
                c.record_new_order(order_id, "pending_payment", Some(actor.user_id), None, now)
                    .await?;
                // The answer is built from the rows just written: no read-back.
                lines.sort_by_key(|l| l.id);
                let row = OrderRow {
                    id: order_id,
                    buyer_id,
                    placed_by: actor.user_id,
                    channel: channel.to_string(),
                    status: OrderStatus::PendingPayment.as_str().to_string(),
                    recipient: address.recipient.clone(),
                    phone: address.phone.clone(),
                    region_code: address.region_code.clone(),
                    node_code: address.node_code.clone(),
                    address_detail: address.detail.clone(),
                    villager_name: o.villager_name.clone(),
                    items_fen,
                    shipping_fen,
                    total_fen: items_fen + shipping_fen,
                    payment_method: None,
                    pay_by,
                    paid_at: None,
                    delivered_at: None,
                    created_at: now,
                    delivery_date: o.institution.as_ref().map(|i| i.delivery_date.clone()),
                    invoice_title: o.institution.as_ref().map(|i| i.invoice_title.clone()),
                    invoice_tax_id: o.institution.as_ref().map(|i| i.invoice_tax_id.clone()),
                };
                let events = vec![OrderEventRow {
                    from_status: None,
                    to_status: row.status.clone(),
                    actor_id: Some(actor.user_id),
                    reason: None,
                    at: now,
                }];
                Ok(Order { row, lines, events })
            });
            match attempt {
                Err(StoreError::Rule(RETRY_CAREFULLY)) if fast => fast = false,
                other => break other,
            }
        };
        let order = match res {
            Ok(order) => order,
            Err(StoreError::Db(e)) if StoreError::is_unique_violation(&e) => {
                // A concurrent request with the same idempotency key won.
                if let Some(key) = &o.idempotency_key
                    && let Some(id) = self.order_for_key(actor.user_id, key).await?
                {
                    return Ok(Placed {
                        order: self.order_unchecked(id).await?,
                        replayed: true,
                    });
                }
                return Err(StoreError::Db(e));
            }
            Err(e) => return Err(e),
        };
        Ok(Placed {
            order,
            replayed: false,
        })
    }
}

-- Orders: stock per SKU and location with a movement ledger, buyer addresses, shipping rules,
-- orders split into parts by seller and ship-from location, their lines (each keeping its
-- producer and village), the status history, payments and provider notifications.
-- Times are UTC milliseconds (BIGINT); money is integer fen; quantities are whole units.

-- Where stock sits: a seller's home (one per seller) or a network node (village point,
-- county warehouse).
CREATE TABLE stock_locations (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('seller','node')),
    seller_id   BIGINT UNIQUE REFERENCES sellers(id),
    node_code   TEXT UNIQUE REFERENCES nodes(code),
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    created_at  BIGINT NOT NULL,
    CHECK ((kind = 'seller' AND seller_id IS NOT NULL AND node_code IS NULL)
        OR (kind = 'node' AND node_code IS NOT NULL AND seller_id IS NULL))
);

-- Quantities of one SKU at one location. Available = on_hand - reserved. The CHECKs are the
-- last line of defence: a reservation is one conditional UPDATE that never lets reserved pass
-- on_hand.
CREATE TABLE stock (
    sku_id      BIGINT NOT NULL REFERENCES skus(id),
    location_id BIGINT NOT NULL REFERENCES stock_locations(id),
    on_hand     BIGINT NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved    BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    incoming    BIGINT NOT NULL DEFAULT 0 CHECK (incoming >= 0),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CHECK (reserved <= on_hand)
);

-- Every change of a stock row, and why.
CREATE TABLE stock_moves (
    id             INTEGER PRIMARY KEY,
    sku_id         BIGINT NOT NULL,
    location_id    BIGINT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('adjustment','reservation','sale','release','return')),
    on_hand_delta  BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    order_id       BIGINT,
    actor_id       BIGINT,
    note           TEXT,
    at             BIGINT NOT NULL,
    FOREIGN KEY (sku_id, location_id) REFERENCES stock(sku_id, location_id)
);
CREATE INDEX stock_moves_stock ON stock_moves(sku_id, location_id, id);
CREATE INDEX stock_moves_order ON stock_moves(order_id);

-- Delivery addresses of buyers (and of agents ordering for villagers): down to the village,
-- or a village service point.
CREATE TABLE addresses (
    id          INTEGER PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    recipient   TEXT NOT NULL,
    phone       TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions(code),
    node_code   TEXT REFERENCES nodes(code),
    detail      TEXT,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX addresses_user ON addresses(user_id);

-- Shipping fee rules a county operator sets for parcels leaving its county: first weight and
-- each extra unit, per destination province ('*' for any), plus a cold-chain surcharge.
CREATE TABLE shipping_rules (
    id                 INTEGER PRIMARY KEY,
    origin_county      TEXT NOT NULL REFERENCES regions(code),
    dest_province      TEXT NOT NULL,
    first_weight_g     BIGINT NOT NULL CHECK (first_weight_g > 0),
    first_fee_fen      BIGINT NOT NULL CHECK (first_fee_fen >= 0),
    extra_unit_g       BIGINT NOT NULL CHECK (extra_unit_g > 0),
    extra_fee_fen      BIGINT NOT NULL CHECK (extra_fee_fen >= 0),
    cold_chain_fee_fen BIGINT NOT NULL DEFAULT 0 CHECK (cold_chain_fee_fen >= 0),
    updated_at         BIGINT NOT NULL,
    UNIQUE (origin_county, dest_province)
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    buyer_id        BIGINT REFERENCES users(id),
    placed_by       BIGINT NOT NULL REFERENCES users(id),
    idempotency_key TEXT,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    phone           TEXT NOT NULL,
    region_code     TEXT NOT NULL REFERENCES regions(code),
    node_code       TEXT REFERENCES nodes(code),
    address_detail  TEXT,
    villager_name   TEXT,
    villager_ref    TEXT,
    delivery_date   TEXT,
    invoice_title   TEXT,
    invoice_tax_id  TEXT,
    items_fen       BIGINT NOT NULL CHECK (items_fen >= 0),
    shipping_fen    BIGINT NOT NULL CHECK (shipping_fen >= 0),
    total_fen       BIGINT NOT NULL CHECK (total_fen >= 0),
    payment_method  TEXT,
    pay_by          BIGINT NOT NULL,
    paid_at         BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (placed_by, idempotency_key)
);
CREATE INDEX orders_buyer ON orders(buyer_id, id);
CREATE INDEX orders_placed_by ON orders(placed_by, id);
CREATE INDEX orders_status_pay_by ON orders(status, pay_by);

-- One part per seller and ship-from location: what one parcel will carry.
CREATE TABLE order_parts (
    id           INTEGER PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES orders(id),
    seller_id    BIGINT NOT NULL REFERENCES sellers(id),
    location_id  BIGINT NOT NULL REFERENCES stock_locations(id),
    weight_g     BIGINT NOT NULL,
    shipping_fen BIGINT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','shipped')),
    shipped_at   BIGINT
);
CREATE INDEX order_parts_order ON order_parts(order_id);
CREATE INDEX order_parts_seller ON order_parts(seller_id);

-- Order lines keep a snapshot of what was bought and who produced it.
CREATE TABLE order_lines (
    id             INTEGER PRIMARY KEY,
    order_id       BIGINT NOT NULL REFERENCES orders(id),
    part_id        BIGINT NOT NULL REFERENCES order_parts(id),
    sku_id         BIGINT NOT NULL REFERENCES skus(id),
    product_id     BIGINT NOT NULL REFERENCES products(id),
    seller_id      BIGINT NOT NULL REFERENCES sellers(id),
    seller_kind    TEXT NOT NULL,
    poverty_status TEXT NOT NULL,
    poverty_product BOOLEAN NOT NULL DEFAULT FALSE,
    village_code   TEXT NOT NULL REFERENCES regions(code),
    location_id    BIGINT NOT NULL REFERENCES stock_locations(id),
    name           TEXT NOT NULL,
    spec           TEXT NOT NULL,
    unit_price_fen BIGINT NOT NULL CHECK (unit_price_fen > 0),
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    line_fen       BIGINT NOT NULL,
    weight_g       BIGINT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_seller ON order_lines(seller_id);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders(id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor_id    BIGINT,
    reason      TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES orders(id),
    method       TEXT NOT NULL,
    provider_ref TEXT NOT NULL UNIQUE,
    amount_fen   BIGINT NOT NULL CHECK (amount_fen > 0),
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX payments_order ON payments(order_id);

-- After-sales: a buyer's refund request, the seller's decision, an operator's arbitration.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    order_id        BIGINT NOT NULL REFERENCES orders(id),
    status          TEXT NOT NULL CHECK (status IN ('requested','rejected','refunded')),
    reason          TEXT NOT NULL,
    photo_keys      TEXT,
    prior_status    TEXT NOT NULL,
    requested_by    BIGINT NOT NULL,
    decided_by      BIGINT,
    decision_reason TEXT,
    arbitrated      BOOLEAN NOT NULL DEFAULT FALSE,
    amount_fen      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    decided_at      BIGINT
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE INDEX refunds_status ON refunds(status);

-- Every provider notification once: a repeat is recognised by its id and changes nothing.
CREATE TABLE payment_notifications (
    provider        TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    provider_ref    TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (provider, notification_id)
);

-- Secrets generated per database (the sandbox provider's signing key).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Live selling: a live room's sessions (the stream runs on 抖音, 快手 or 视频号; the session,
-- its products, its pins and its flash offers live here), buyers' bookings, and flash offers:
-- a capped quantity of one SKU at a price in a window, set aside from the stock at one
-- location when scheduled. An offer's units are sold (paid), held (ordered, waiting for
-- payment) or remaining; never more than the cap, checked by the database too.
CREATE TABLE live_sessions (
    id            INTEGER PRIMARY KEY,
    room_node     TEXT NOT NULL REFERENCES nodes(code),
    title         TEXT NOT NULL,
    platform      TEXT NOT NULL CHECK (platform IN ('douyin','kuaishou','channels','other')),
    stream_url    TEXT,
    planned_start BIGINT NOT NULL,
    planned_end   BIGINT NOT NULL,
    started_at    BIGINT,
    ended_at      BIGINT,
    status        TEXT NOT NULL CHECK (status IN ('scheduled','live','paused','ended')),
    pinned_product_id BIGINT REFERENCES products(id),
    created_by    BIGINT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CHECK (planned_end > planned_start)
);
CREATE INDEX live_sessions_room ON live_sessions(room_node, planned_start);

CREATE TABLE live_session_products (
    session_id BIGINT NOT NULL REFERENCES live_sessions(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    position   BIGINT NOT NULL,
    on_shelf   BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (session_id, product_id)
);

CREATE TABLE live_pins (
    id          INTEGER PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES live_sessions(id),
    product_id  BIGINT NOT NULL REFERENCES products(id),
    pinned_at   BIGINT NOT NULL,
    unpinned_at BIGINT
);
CREATE INDEX live_pins_session ON live_pins(session_id, pinned_at);

CREATE TABLE live_bookings (
    session_id  BIGINT NOT NULL REFERENCES live_sessions(id),
    user_id     BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    notified_at BIGINT,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE offers (
    id              INTEGER PRIMARY KEY,
    session_id      BIGINT NOT NULL REFERENCES live_sessions(id),
    sku_id          BIGINT NOT NULL REFERENCES skus(id),
    location_id     BIGINT NOT NULL REFERENCES stock_locations(id),
    price_fen       BIGINT NOT NULL CHECK (price_fen > 0),
    cap             BIGINT NOT NULL CHECK (cap > 0),
    sold            BIGINT NOT NULL DEFAULT 0,
    held            BIGINT NOT NULL DEFAULT 0,
    per_buyer_limit BIGINT NOT NULL CHECK (per_buyer_limit > 0),
    per_order_limit BIGINT NOT NULL CHECK (per_order_limit > 0),
    starts_at       BIGINT NOT NULL,
    ends_at         BIGINT NOT NULL,
    hold_ms         BIGINT NOT NULL CHECK (hold_ms > 0),
    status          TEXT NOT NULL CHECK (status IN
                    ('draft','scheduled','live','paused','sold_out','ended','settled')),
    created_by      BIGINT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (sold >= 0 AND held >= 0 AND sold + held <= cap)
);
CREATE INDEX offers_session ON offers(session_id);
CREATE INDEX offers_status ON offers(status, starts_at);

-- How many units of an offer each buyer holds or bought (the per-buyer limit).
CREATE TABLE offer_buyers (
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    buyer_id BIGINT NOT NULL REFERENCES users(id),
    taken    BIGINT NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (offer_id, buyer_id)
);

-- The orders placed on an offer: held until paid (sold) or released (back to the offer).
CREATE TABLE offer_orders (
    order_id BIGINT PRIMARY KEY REFERENCES orders(id),
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    buyer_id BIGINT NOT NULL REFERENCES users(id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    state    TEXT NOT NULL CHECK (state IN ('held','paid','released'))
);
CREATE INDEX offer_orders_offer ON offer_orders(offer_id, state);

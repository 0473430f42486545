-- Stock at village points and county warehouses: transfers between locations pass through
-- "incoming" at the destination until they arrive, so the ledger gains an incoming column and
-- the transfer kinds. Order parts keep their volume (chargeable weight; parcels later). Orders
-- remember when they were delivered (completion after the confirmation window).

CREATE TABLE stock_moves_new (
    id             INTEGER PRIMARY KEY,
    sku_id         BIGINT NOT NULL,
    location_id    BIGINT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('adjustment','reservation','sale','release',
                   'return','transfer_out','transfer_in','arrival','expected')),
    on_hand_delta  BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    incoming_delta BIGINT NOT NULL DEFAULT 0,
    order_id       BIGINT,
    actor_id       BIGINT,
    note           TEXT,
    at             BIGINT NOT NULL,
    FOREIGN KEY (sku_id, location_id) REFERENCES stock(sku_id, location_id)
);
INSERT INTO stock_moves_new (id, sku_id, location_id, kind, on_hand_delta, reserved_delta,
    order_id, actor_id, note, at)
    SELECT id, sku_id, location_id, kind, on_hand_delta, reserved_delta, order_id, actor_id,
    note, at FROM stock_moves;
DROP TABLE stock_moves;
ALTER TABLE stock_moves_new RENAME TO stock_moves;
CREATE INDEX stock_moves_stock ON stock_moves(sku_id, location_id, id);
CREATE INDEX stock_moves_order ON stock_moves(order_id);

ALTER TABLE order_parts ADD COLUMN volume_cm3 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN delivered_at BIGINT;
CREATE INDEX orders_status_delivered ON orders(status, delivered_at);

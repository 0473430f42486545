-- Stock at village points and county warehouses: transfers between locations pass through
-- "incoming" at the destination until they arrive, so the ledger gains an incoming column and
-- the transfer kinds. Order parts keep their volume (chargeable weight; parcels later). Orders
-- remember when they were delivered (completion after the confirmation window).

ALTER TABLE stock_moves ADD COLUMN incoming_delta BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stock_moves DROP CONSTRAINT stock_moves_kind_check;
ALTER TABLE stock_moves ADD CONSTRAINT stock_moves_kind_check CHECK (kind IN ('adjustment',
    'reservation','sale','release','return','transfer_out','transfer_in','arrival','expected'));

ALTER TABLE order_parts ADD COLUMN volume_cm3 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN delivered_at BIGINT;
CREATE INDEX orders_status_delivered ON orders(status, delivered_at);

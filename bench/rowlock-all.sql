\set sku random(1, 97)
BEGIN;
SELECT on_hand, reserved FROM stock WHERE sku_id = :sku FOR UPDATE;
UPDATE stock SET reserved = reserved + 1 WHERE sku_id = :sku;
INSERT INTO orders(buyer, total, status, created_at) VALUES (1, 6800, 'pending_payment', 0) RETURNING id \gset
INSERT INTO lines(order_id, sku_id, qty) VALUES (:id, :sku, 1);
COMMIT;

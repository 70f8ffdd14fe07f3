-- The database ceiling: the SQL of one 3-line order, as pgbench sees it (bench/run.py runs it).
--
-- One transaction: a conditional UPDATE that takes the stock of 3 distinct products (the WHERE
-- refuses to go below zero), then one statement that inserts the order and its 3 items.
-- Variables from the runner (-D): products, width (digits in SKU-00042), hot (1: the first line
-- is always SKU-0..0, the hot product; 0: uniform), min_user, max_user. The three products are
-- distinct: p2 and p3 step forward by 1..products/3 each, so they never wrap back onto p1.
-- The rows are locked in product_id order (ORDER BY ... FOR UPDATE, as the service locks them),
-- so concurrent clients queue instead of deadlocking; a bare `UPDATE ... WHERE product_id IN`
-- locks in heap order and deadlocks under the hot product.

\set p1 random(0, :products - 1) * (1 - :hot)
\set p2 (:p1 + random(1, :products / 3)) % :products
\set p3 (:p2 + random(1, :products / 3)) % :products
\set n1 random(1, 3)
\set n2 random(1, 3)
\set n3 random(1, 3)
\set uid random(:min_user, :max_user)
BEGIN;
WITH line (product_id, item_count) AS (
    VALUES ('SKU-' || lpad(:p1::text, :width, '0'), :n1),
           ('SKU-' || lpad(:p2::text, :width, '0'), :n2),
           ('SKU-' || lpad(:p3::text, :width, '0'), :n3)
), locked AS MATERIALIZED (
    SELECT product.product_id
      FROM inventory_product AS product JOIN line USING (product_id)
     ORDER BY product.product_id
       FOR UPDATE OF product
)
UPDATE inventory_product AS product
   SET product_count = product.product_count - line.item_count, updated_at = now()
  FROM line JOIN locked USING (product_id)
 WHERE product.product_id = line.product_id AND product.product_count >= line.item_count;
WITH new_order AS (
    INSERT INTO orders_order (id, user_id, status, version, created_at, updated_at)
    VALUES ('ord_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24),
            :uid, 'placed', 1, now(), now())
    RETURNING id
)
INSERT INTO orders_orderitem (order_id, product_id, item_count)
SELECT new_order.id, line.product_id, line.item_count
  FROM new_order,
       (VALUES ('SKU-' || lpad(:p1::text, :width, '0'), :n1),
               ('SKU-' || lpad(:p2::text, :width, '0'), :n2),
               ('SKU-' || lpad(:p3::text, :width, '0'), :n3)) AS line (product_id, item_count);
END;

-- The database ceiling: the SQL of one 3-line order, as pgbench sees it (bench/run.py runs it).
--
-- One transaction. First the stock: lock 3 distinct products in product_id order reading their
-- prices, a conditional UPDATE that takes their stock (the WHERE refuses to go below zero) and
-- RETURNs the new counts, and the `order_placed` movements written from those counts, as the
-- service's statement does (inventory/stock_sql.py); the prices come back (\gset). Then one
-- statement that inserts the order and its 3 items at those prices, and its `order.placed` event
-- as the service's statement writes it (orders/placement.py: the order as GET shows it, its
-- user and version, one row in events_event, whose NOTIFY trigger fires as for the service), when
-- the service's EVENTS_ENABLED is on (events=1). The stock-status crossing events the service
-- also checks for are left out: with the benchmark's stock no product crosses a threshold.
-- Variables from the runner (-D): products, width (digits in SKU-00042), hot (1: the first line
-- is always SKU-0..0, the hot product; 0: uniform), min_user, max_user, events (1 or 0) and
-- currency (the service's). The three products are
-- distinct: p2 and p3 step forward by 1..products/3 each, so they never wrap back onto p1.
-- The rows are locked in product_id order (ORDER BY ... FOR UPDATE, as the service locks them),
-- so concurrent clients queue instead of deadlocking; a bare `UPDATE ... WHERE product_id IN`
-- locks in heap order and deadlocks under the hot product. The order id (24 random hex digits,
-- as the service's) is drawn here, so both statements name the same order; the movements' actor
-- is the user's name, as the service writes it. Every variable is cast: with `--protocol prepared`
-- (the runner's default, as the service prepares) a bare parameter has no type.

\set p1 random(0, :products - 1) * (1 - :hot)
\set p2 (:p1 + random(1, :products / 3)) % :products
\set p3 (:p2 + random(1, :products / 3)) % :products
\set n1 random(1, 3)
\set n2 random(1, 3)
\set n3 random(1, 3)
\set uid random(:min_user, :max_user)
\set oid_high random(0, 2147483647)
\set oid_low random(0, 2147483647)
BEGIN;
WITH line (product_id, item_count, ord) AS (
    VALUES ('SKU-' || lpad(:p1::text, :width, '0'), :n1::int, 1),
           ('SKU-' || lpad(:p2::text, :width, '0'), :n2::int, 2),
           ('SKU-' || lpad(:p3::text, :width, '0'), :n3::int, 3)
), locked AS MATERIALIZED (
    SELECT product.product_id, product.price
      FROM inventory_product AS product JOIN line USING (product_id)
     ORDER BY product.product_id
       FOR UPDATE OF product
), moved AS (
    UPDATE inventory_product AS product
       SET product_count = product.product_count - line.item_count, updated_at = now()
      FROM line JOIN locked USING (product_id)
     WHERE product.product_id = line.product_id AND product.product_count >= line.item_count
    RETURNING product.product_id, product.product_count, line.item_count
), movements AS (
    INSERT INTO inventory_stockmovement
           (product_id, delta, count_after, reason, order_id, actor, note, created_at)
    SELECT moved.product_id, -moved.item_count, moved.product_count, 'order_placed',
           'ord_' || lpad(to_hex(:oid_high::int), 12, '0') || lpad(to_hex(:oid_low::int), 12, '0'),
           'bench-' || lpad((:uid::int - :min_user::int)::text, 4, '0'), NULL, now()
      FROM moved
)
SELECT max(locked.price) FILTER (WHERE line.ord = 1) AS price1,
       max(locked.price) FILTER (WHERE line.ord = 2) AS price2,
       max(locked.price) FILTER (WHERE line.ord = 3) AS price3
  FROM locked JOIN line USING (product_id)
\gset
WITH line (product_id, item_count, unit_price, ord) AS (
    VALUES ('SKU-' || lpad(:p1::text, :width, '0'), :n1::int, :price1::numeric, 1),
           ('SKU-' || lpad(:p2::text, :width, '0'), :n2::int, :price2::numeric, 2),
           ('SKU-' || lpad(:p3::text, :width, '0'), :n3::int, :price3::numeric, 3)
), new_order AS (
    INSERT INTO orders_order (id, user_id, status, version, created_at, updated_at)
    VALUES ('ord_' || lpad(to_hex(:oid_high::int), 12, '0') || lpad(to_hex(:oid_low::int), 12, '0'),
            :uid::int, 'placed', 1, now(), now())
    RETURNING id, created_at
), new_items AS (
    INSERT INTO orders_orderitem (order_id, product_id, item_count, unit_price)
    SELECT new_order.id, line.product_id, line.item_count, line.unit_price
      FROM new_order, line
     ORDER BY line.ord
)
-- (The times as ISO 8601 text in UTC: a format string would hold colons, which pgbench reads
-- as variables.)
INSERT INTO events_event (type, created_at, data)
SELECT 'order.placed', new_order.created_at, json_build_object(
        'order_id', new_order.id, 'order_status', 'placed',
        'products', (SELECT json_agg(json_build_object(
                         'product_id', line.product_id, 'item_count', line.item_count,
                         'unit_price', line.unit_price::text,
                         'line_total', (line.unit_price * line.item_count)::text)
                         ORDER BY line.ord)
                     FROM line),
        'total', (SELECT sum(line.unit_price * line.item_count)::text FROM line),
        'currency', :currency::text,
        'created_at', (to_json(new_order.created_at AT TIME ZONE 'UTC') #>> '{}') || 'Z',
        'updated_at', (to_json(new_order.created_at AT TIME ZONE 'UTC') #>> '{}') || 'Z',
        'user', 'bench-' || lpad((:uid::int - :min_user::int)::text, 4, '0'),
        'version', 1)::text
  FROM new_order
 WHERE :events::int = 1;
END;
